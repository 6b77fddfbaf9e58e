// SPEC §3 erasure: a customer event with `erase` removes every key of that customer (rankings and
// due-sets included) but when the erasure occurred, publishes tombstones, is counted; events from before it, however
// late they come, bring nothing back, and later events start from nothing.
import { RANKING_METRICS } from '@churnscore/state';
import { sampleActivity, sampleContract, sampleCustomer } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningScorer } from '../../services/scorer/src/scorer';
import { customerKeysPattern } from '../harness/customer-keys';
import { eventually, ScorerTestBed } from './support';

const DAY = 86_400_000;
const HOUR = 3_600_000;
// The scorer's clock, pinned: the contract below runs through it whatever the date the test runs on.
const now = Date.UTC(2026, 5, 15, 12);
const customerId = 'forget-me';
const bystander = 'keep-me';

const bed = new ScorerTestBed('erasure');
let scorer: RunningScorer;

const historyOf = (id: string) => [
  sampleCustomer({ customerId: id, eventId: `${id}-profile`, segment: 'SMB', occurredAt: now - 50 * DAY }),
  sampleContract({ customerId: id, eventId: `${id}-contract`, occurredAt: now - 40 * DAY, startDate: Date.UTC(2026, 0, 1), endDate: Date.UTC(2027, 0, 1) }),
  ...[1, 2, 3].map((i) => sampleActivity({ customerId: id, eventId: `${id}-call-${i}`, activityType: 'CALL', value: null, occurredAt: now - i * DAY })),
];

async function rankedIn(id: string): Promise<string[]> {
  const keys = RANKING_METRICS.flatMap((metric) => [bed.keys.ranking(metric), bed.keys.ranking(metric, 'SMB')]);
  const scores = await Promise.all(keys.map((key) => bed.redis.zscore(key, id)));
  return keys.filter((_, i) => scores[i] !== null);
}

beforeAll(async () => {
  await bed.setUp();
  scorer = await bed.startScorer({ clock: () => now });
  await bed.publish([...historyOf(customerId), ...historyOf(bystander)]);
  await eventually(
    async () => [await bed.scoreHash(customerId), await bed.scoreHash(bystander)],
    (hashes) => hashes.every((h) => Number(h.revision) === 5),
    30_000,
    'both customers to be scored',
  );
});
afterAll(() => bed.tearDown());

describe('erasure', () => {
  it('leaves no key of the customer but when the erasure occurred, keeps everyone else, and publishes tombstones', async () => {
    expect(await bed.scanKeys(customerKeysPattern(bed.keys, customerId))).not.toHaveLength(0);
    expect(await rankedIn(customerId)).not.toHaveLength(0);

    await bed.publish([sampleCustomer({ customerId, eventId: 'erase-1', segment: null, erase: true, occurredAt: now - HOUR })]);
    // The keys go first (one script), the ranking and due-set entries right after: the erasure is complete
    // once the scorer counts it.
    await eventually(async () => (await scorer.metrics.erasures.get()).values[0]?.value ?? 0, (erased) => erased === 1, 30_000, 'the erasure to complete');
    const stateKey = bed.keys.customer(customerId).state;
    expect(await bed.scanKeys(customerKeysPattern(bed.keys, customerId))).toEqual([stateKey]);
    expect(await bed.redis.hgetall(stateKey)).toEqual({ erasedTo: String(now - HOUR) });

    expect(await rankedIn(customerId)).toEqual([]);
    const dueShard = bed.keys.dueShard(bed.keys.dueShardOf(customerId));
    expect(await bed.redis.zscore(dueShard, customerId)).toBeNull();
    const everyKey = await bed.scanKeys();
    const encodedId = bed.keys.customer(customerId).state.split(':').find((part) => part.includes(customerId));
    expect(everyKey.filter((key) => key.includes(encodedId ?? customerId))).toEqual([stateKey]);

    expect(Number((await bed.scoreHash(bystander)).revision)).toBe(5);
    expect(await rankedIn(bystander)).not.toHaveLength(0);
    expect((await scorer.metrics.erasures.get()).values[0]?.value).toBe(1);

    for (const topic of [bed.topics.scoreChanged, bed.topics.alerts]) {
      const records = await bed.consumeUntil([topic], (rs) => rs.some((r) => r.value === null && r.key?.toString() === customerId));
      expect(records.some((r) => r.value === null && r.key?.toString() === customerId)).toBe(true);
    }
  });

  it('brings nothing back from before the erasure, however late it comes (another topic, a replay), and publishes nothing after the tombstones', async () => {
    await bed.publish([
      sampleActivity({ customerId, eventId: 'late-call', activityType: 'CALL', value: null, occurredAt: now - 2 * HOUR }),
      sampleContract({ customerId, eventId: 'late-contract', occurredAt: now - HOUR, startDate: Date.UTC(2026, 0, 1), endDate: Date.UTC(2027, 0, 1) }),
    ]);
    const predating = async () =>
      (await scorer.metrics.events.get()).values.filter((value) => value.labels.outcome === 'predatesErasure').reduce((sum, value) => sum + value.value, 0);
    await eventually(predating, (count) => count === 2, 30_000, 'the late events to be judged');
    expect(await bed.scanKeys(customerKeysPattern(bed.keys, customerId))).toEqual([bed.keys.customer(customerId).state]);
    expect(await bed.scoreHash(customerId)).toEqual({});
    // The customer's last record on the compacted changelog is still its tombstone.
    const records = await bed.outputs(await bed.topicEnd(bed.topics.scoreChanged), [bed.topics.scoreChanged]);
    expect(records.filter(({ record }) => record.key?.toString() === customerId).at(-1)?.event).toBeNull();
  });

  it('lets later events start from nothing', async () => {
    await bed.publish([sampleActivity({ customerId, eventId: 'after-erasure', activityType: 'MEETING', value: null, occurredAt: now })]);
    const score = await eventually(() => bed.scoreHash(customerId), (s) => s.revision !== undefined, 30_000, 'the new event to be scored');
    expect(Number(score.revision)).toBe(1);
    const insights = await bed.insightsHash(customerId);
    expect(insights['activity.CALL']).toBeUndefined();
    expect(insights['activity.MEETING']).toBe('1,1,1,1');
    expect(insights.segment).toBeUndefined();
  });
});
