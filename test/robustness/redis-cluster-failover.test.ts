// SPEC §8 on a Redis Cluster: a master crashes while the scorer consumes, and its replica, which may lag (replication
// is asynchronous), takes over. The scorer must see the failover (another run id where its customers live), re-consume
// from the committed offsets what the replica may have missed, and go on: every record applied exactly once, nothing in
// the DLQ, the process alive, and the score-changed events a subscriber reads ending with what the cluster holds.
import { SAMPLE_NOW } from '@churnscore/events/testing';
import { describe, expect, it } from 'vitest';
import { clusterScorer, dlqTotal, eventually, hourlyMeetings } from '../scorer/support';
import { clusterNodes, hasRedisServer, redisCli, waitFor, waitForFailover } from '../state/local-redis';

const MASTERS = 3;
const CUSTOMERS = 30;
const EVENTS_BEFORE = 60;
const EVENTS_AFTER = 10;
/** How long a master may be silent before its replica takes over: Redis's default, so the scorer waits as long as it would in production. */
const NODE_TIMEOUT_MS = 15_000;

describe.skipIf(!hasRedisServer)('a Redis Cluster master failing over to its replica', () => {
  const t = clusterScorer('cluster-failover', MASTERS, { replicasPerMaster: 1, nodeTimeoutMs: NODE_TIMEOUT_MS });

  const customerIds = Array.from({ length: CUSTOMERS }, (_, c) => `cluster-failover-${c}`);
  const meetings = (from: number, count: number) => hourlyMeetings(customerIds, from, count);
  // Read while the cluster fails over: a read that fails then counts as nothing applied yet.
  const revisions = () =>
    t.bed.revisions(customerIds).catch(() => [0]);
  const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

  it('re-consumes what the replica missed and applies every record exactly once', async () => {
    // Published in small sends, so that the scorer commits many units while the master is killed under it.
    const before = meetings(0, EVENTS_BEFORE);
    const publishing = (async () => {
      for (let start = 0; start < before.length; start += CUSTOMERS * 5) await t.bed.publish(before.slice(start, start + CUSTOMERS * 5));
    })();
    await eventually(revisions, (r) => sum(r) >= (CUSTOMERS * EVENTS_BEFORE) / 4, 60_000, 'the scorer to be well into the stream');

    const seed = t.cluster.ports[0]!;
    const victim = clusterNodes(seed).find((node) => node.servesSlots && node.port !== seed)!.port;
    // The replica that takes over may lag, as replication is asynchronous, but is online with the master (as the master
    // itself says: another node's view of who replicates whom follows by gossip): one not yet synced would take over
    // without the data set, which the scorer must refuse (cluster.test.ts, redis-cluster-added-master.test.ts), not
    // re-consume into.
    await waitFor("the victim's replica online", () => /^slave0:.*state=online/m.test(redisCli(victim, 'info', 'replication')));
    await t.cluster.crashNode(victim);
    await waitForFailover(seed, victim, MASTERS);
    await publishing;
    await t.bed.publish(meetings(EVENTS_BEFORE, EVENTS_AFTER));

    const expected = EVENTS_BEFORE + EVENTS_AFTER;
    await eventually(revisions, (r) => r.every((revision) => revision === expected), 120_000, `every customer's ${expected} events applied once`);
    expect(t.liveness.alive).toBe(true);
    expect(await dlqTotal(t.scorer)).toBe(0);
    // It saw the failover (another run id on the cluster) and re-consumed, whether or not the replica had lagged.
    expect((await t.scorer.metrics.rewinds.get()).values[0]?.value ?? 0).toBeGreaterThanOrEqual(1);

    await t.bed.expectSubscriberEndsWithRedis(customerIds, SAMPLE_NOW);
  }, 300_000);
});
