// SPEC §8 on a Redis Cluster: a master crashes and comes back from its append-only file without its last writes, after
// the scorer committed their offsets (a disk that held fsync back longer than the durability gate's grace). The
// scorer re-consumes each partition from where the data holds it; on a cluster that is where the master that lost the
// most holds it, whichever master keeps the namespace's record of handled offsets. An outside tester cut the file of a
// master that did not keep it: 18 events whose offsets were committed were never applied, silently (2026-12-08).
import { SAMPLE_NOW } from '@churnscore/events/testing';
import { describe, expect, it } from 'vitest';
import { clusterScorer, dlqTotal, eventually, hourlyMeetings } from '../scorer/support';
import { clusterNodes, hasRedisServer, redisCli } from '../state/local-redis';

const MASTERS = 3;
const CUSTOMERS = 30;

describe.skipIf(!hasRedisServer)('a Redis Cluster master back without writes whose offsets were committed', () => {
  const t = clusterScorer('cluster-lost-writes', MASTERS, { appendOnly: true });

  const customerIds = Array.from({ length: CUSTOMERS }, (_, c) => `cluster-lost-writes-${c}`);
  const appliedRevisions = async () => (await t.bed.store.readCustomers(customerIds, SAMPLE_NOW)).map(({ state }) => state.revision);
  const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
  /** Whether the node on `port` holds `key` itself (a node asked for a key of another's slot answers MOVED). */
  const holds = (port: number, key: string) => redisCli(port, 'exists', key) === '1';

  it("re-applies them from where that master holds each partition, though another master keeps the namespace's record", async () => {
    await t.bed.publish(hourlyMeetings(customerIds, 0, 4));
    await eventually(appliedRevisions, (r) => sum(r) === CUSTOMERS * 4, 60_000, 'the first events applied');
    const end = await t.bed.topicEnd(t.bed.topics.activity);
    await eventually(() => t.bed.committedOffsets(t.bed.topics.activity), (committed) => committed === end, 30_000, 'the first events committed');

    const masters = clusterNodes(t.cluster.ports[0]!).filter((node) => node.servesSlots).map((node) => node.port);
    const { keys } = t.bed;
    const victim = masters.find((port) => !holds(port, keys.inputOffsets) && customerIds.some((id) => holds(port, keys.customer(id).state)))!;
    expect(victim).toBeDefined();
    const victimsCustomers = customerIds.filter((id) => holds(victim, keys.customer(id).state));
    // Past everysec's fsync: everything so far is in the file; where it ends is where the crash will cut it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const cut = t.cluster.appendOnlyFileSize(victim);

    await t.bed.publish(hourlyMeetings(customerIds, 4, 1));
    await eventually(appliedRevisions, (r) => sum(r) === CUSTOMERS * 5, 30_000, 'the stretch applied');
    const stretchEnd = await t.bed.topicEnd(t.bed.topics.activity);
    await eventually(() => t.bed.committedOffsets(t.bed.topics.activity), (committed) => committed === stretchEnd, 30_000, 'the stretch committed');

    await t.cluster.restartNodeWithFileCut(victim, cut);
    // The victim's customers lost the stretch; the other masters' kept it.
    await eventually(appliedRevisions, (r) => sum(r) === CUSTOMERS * 5 - victimsCustomers.length, 30_000, "the victim's customers back without the stretch");
    await t.bed.publish(hourlyMeetings(customerIds, 5, 1));

    await eventually(appliedRevisions, (r) => r.every((revision) => revision === 6), 120_000, "every customer's 6 events applied once");
    expect(t.liveness.alive).toBe(true);
    expect(await dlqTotal(t.scorer)).toBe(0);
    expect((await t.scorer.metrics.rewinds.get()).values[0]?.value ?? 0).toBeGreaterThanOrEqual(1);
    await t.bed.expectSubscriberEndsWithRedis(customerIds, SAMPLE_NOW);
  }, 300_000);
});
