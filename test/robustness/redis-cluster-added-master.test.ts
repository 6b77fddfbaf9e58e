// SPEC §8 on a Redis Cluster that grows: a scorer tells a master that lost its data set (restarted empty, flushed) by
// the epoch key the master keeps, and stops rather than re-consume into customers without their history. A master
// added to the cluster after the namespace was claimed, and given slots, held no epoch key: its losing its data set
// went unseen, and the scorer carried on with those customers' histories gone. The scorer now puts an epoch key on
// every master that has none when it sees the cluster change.
import { keySchema } from '@churnscore/state';
import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { clusterScorer, dlqTotal, eventually, hourlyMeetings } from '../scorer/support';
import { clusterNodes, hasRedisServer, redisCli } from '../state/local-redis';

const MASTERS = 3;
const CUSTOMERS = 30;

describe.skipIf(!hasRedisServer)('a master added to the Redis Cluster', () => {
  const t = clusterScorer('added-master', MASTERS);

  const customerIds = Array.from({ length: CUSTOMERS }, (_, c) => `added-master-${c}`);
  const revisions = () => t.bed.revisions(customerIds).catch(() => [0]);
  const seed = () => t.cluster.ports[0]!;
  /** The port of the master serving `key`'s slot, by the cluster's own map. */
  const masterOf = (key: string): number => {
    const slot = calculateSlot(key);
    const range = (JSON.parse(redisCli(seed(), '--json', 'cluster', 'slots')) as Array<[number, number, [string, number]]>).find(([from, to]) => from <= slot && slot <= to)!;
    return range[2][1];
  };

  it('gets an epoch key, and its losing its data set stops the scorer as any master losing its own does', async () => {
    await t.bed.publish(hourlyMeetings(customerIds, 0, 10));
    await eventually(revisions, (r) => r.every((revision) => revision === 10), 60_000, 'the first events applied');

    const added = await t.cluster.addMaster();
    // Events after the slots moved: the scorer meets the new master (a redirection), sees the cluster changed and
    // re-synchronises with it.
    await t.bed.publish(hourlyMeetings(customerIds, 10, 10));
    await eventually(revisions, (r) => r.every((revision) => revision === 20), 60_000, 'the later events applied once, across the slots that moved');
    const keys = keySchema(t.bed.prefix);
    const coveredByAddedTag = async () => (await t.bed.redis.smembers(keys.addedEpochTags)).map((tag) => masterOf(keys.masterEpoch(Number(tag))));
    await eventually(coveredByAddedTag, (masters) => masters.length > 0, 15_000, 'a master without an epoch key to get one');
    // Four masters, three tags listed at the claim: at least one master (the new one, or one whose listed tag's slot
    // moved to it) holds only an added tag.
    const [uncoveredBefore] = await coveredByAddedTag();
    expect(clusterNodes(seed()).filter((node) => node.servesSlots).map((node) => node.port)).toContain(added);
    expect(t.liveness.alive).toBe(true);
    expect(await dlqTotal(t.scorer)).toBe(0);

    await t.cluster.restartNodeEmpty(uncoveredBefore!);
    await t.bed.publish(hourlyMeetings(customerIds, 20, 1)); // a write for the scorer to check Redis's identity with
    await eventually(() => Promise.resolve(t.liveness.alive), (alive) => !alive, 30_000, 'the scorer to see the lost data set');
    expect(t.liveness.failedWith?.reason).toMatch(/lost its whole data set, or a cluster master lost its own/);
  }, 300_000);
});
