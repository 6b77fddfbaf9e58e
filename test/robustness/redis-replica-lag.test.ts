// SPEC §8 names "a failover to a replica that lagged" among the ways Redis loses its last writes. The scorer re-consumes
// from its committed offsets when it sees the failover, which recovers the lost writes only if those offsets were
// committed for writes the replica had. Here a master's replica is cut off from it (its replication link refused, as a
// network partition or a replica stuck in a slow disk would leave it) while the scorer applies more events; the master
// then crashes and the stale replica takes over. Its missing writes must be re-consumed: the scorer may not have
// committed offsets for writes no replica confirmed, however long ago they were made.
import { SAMPLE_NOW } from '@churnscore/events/testing';
import { describe, expect, it } from 'vitest';
import { clusterScorer, dlqTotal, eventually, hourlyMeetings } from '../scorer/support';
import { clusterNodes, hasRedisServer, redisCli, waitFor, waitForFailover } from '../state/local-redis';

const MASTERS = 3;
const CUSTOMERS = 30;
const EVENTS_BEFORE = 20;
const EVENTS_WHILE_CUT_OFF = 10;
/** Short, so that the failover comes soon after the crash; the replica is cut off by refusing its login, not by a timeout. */
const NODE_TIMEOUT_MS = 5_000;
/** Past the scorer's fsync grace (2.5 s) and a few of its commit ticks (1 s): long enough for offsets to be committed. */
const COMMIT_WAIT_MS = 6_000;

describe.skipIf(!hasRedisServer)('a Redis Cluster master failing over to a replica that lagged', () => {
  const t = clusterScorer('replica-lag', MASTERS, { replicasPerMaster: 1, nodeTimeoutMs: NODE_TIMEOUT_MS });

  const customerIds = Array.from({ length: CUSTOMERS }, (_, c) => `replica-lag-${c}`);
  const meetings = (from: number, count: number) => hourlyMeetings(customerIds, from, count);
  // Read while the cluster fails over: a read that fails then counts as nothing applied yet.
  const revisions = () => t.bed.revisions(customerIds).catch(() => [0]);
  const committed = () => t.bed.committedOffsets(t.bed.topics.activity);

  it('commits no offset for writes the replica lacks, and re-consumes them after the failover', async () => {
    await t.bed.publish(meetings(0, EVENTS_BEFORE));
    await eventually(revisions, (r) => r.every((revision) => revision === EVENTS_BEFORE), 60_000, 'the first events applied');
    await eventually(committed, (offset) => offset === CUSTOMERS * EVENTS_BEFORE, 20_000, 'their offsets committed');

    // Cut a master's replica off: it logs in to its master as a user that does not exist, and loses its link.
    const seed = t.cluster.ports[0]!;
    const nodes = clusterNodes(seed);
    const victim = nodes.find((node) => node.servesSlots && node.port !== seed)!;
    const replica = nodes.find((node) => node.masterId === victim.id)!;
    redisCli(replica.port, 'config', 'set', 'masteruser', 'nobody-by-this-name');
    redisCli(replica.port, 'config', 'set', 'masterauth', 'refused');
    redisCli(victim.port, 'client', 'kill', 'type', 'replica');
    await waitFor('the replica to lose its link', () => redisCli(replica.port, 'info', 'replication').includes('master_link_status:down'));

    await t.bed.publish(meetings(EVENTS_BEFORE, EVENTS_WHILE_CUT_OFF));
    const expected = EVENTS_BEFORE + EVENTS_WHILE_CUT_OFF;
    await eventually(revisions, (r) => r.every((revision) => revision === expected), 60_000, 'the later events applied');
    await new Promise((resolve) => setTimeout(resolve, COMMIT_WAIT_MS));
    // The replica that could take over lacks them: their offsets stay uncommitted, however long ago they were applied.
    expect(await committed()).toBe(CUSTOMERS * EVENTS_BEFORE);
    // And the wait shows: the oldest unconfirmed write has waited about as long as the test did.
    expect((await t.scorer.metrics.replicationWait.get()).values[0]?.value).toBeGreaterThanOrEqual((COMMIT_WAIT_MS - 2_000) / 1_000);

    await t.cluster.crashNode(victim.port);
    await waitForFailover(seed, victim.port, MASTERS);
    await eventually(revisions, (r) => r.every((revision) => revision === expected), 120_000, `every customer's ${expected} events applied once`);
    await eventually(committed, (offset) => offset === CUSTOMERS * expected, 20_000, 'every offset committed');
    expect((await t.scorer.metrics.replicationWait.get()).values[0]?.value).toBeLessThan(COMMIT_WAIT_MS / 1_000);
    expect(t.liveness.alive).toBe(true);
    expect(await dlqTotal(t.scorer)).toBe(0);
    expect((await t.scorer.metrics.rewinds.get()).values[0]?.value ?? 0).toBeGreaterThanOrEqual(1);

    await t.bed.expectSubscriberEndsWithRedis(customerIds, SAMPLE_NOW);
  }, 300_000);
});
