// The input topics as `topics:provision` creates them take each record's timestamp from the broker (LogAppendTime),
// and the scorer counts its dedupe window from it: a producer that stamps its records with an old time (a backfill, a
// connector carrying the source's time, a wrong clock) cannot make a copy of an event count again. With the producer's
// own timestamps (CreateTime) a first copy stamped eight days back was forgotten at once, and its copy a second later
// applied again (an outside tester: a call counted twice).
import { sampleActivity } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPIC_SPECS } from '../../infra/src/index';
import { eventually, ScorerTestBed } from '../scorer/support';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const bed = new ScorerTestBed('record-timestamps');

beforeAll(async () => {
  // The bed's activity topic as provisioning makes the SPEC's; the bed creates the others, plain.
  const admin = bed.kafka.admin();
  await admin.connect();
  try {
    const { configs } = TOPIC_SPECS.find((spec) => spec.role === 'activity')!;
    await admin.createTopics({
      topics: [{ topic: bed.topics.activity, numPartitions: 1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
    });
  } finally {
    await admin.disconnect();
  }
  await bed.setUp(1);
}, 60_000);
afterAll(() => bed.tearDown());

describe('an input topic as provisioned', () => {
  it('stamps records with their arrival, so a copy of an event stamped days back by its producer is still a duplicate', async () => {
    const customerId = 'stamped-back';
    const sentAt = Date.now();
    const call = sampleActivity({ customerId, eventId: `${customerId}-call`, activityType: 'CALL', value: null, occurredAt: sentAt - HOUR });
    const { key, value } = (await bed.records([call]))[0]!;
    await bed.produce(bed.topics.activity, [{ key, value, timestamp: String(sentAt - 8 * DAY) }]);
    await bed.produce(bed.topics.activity, [{ key, value }]);
    const stored = await bed.consume([bed.topics.activity], 2);
    expect(stored.every((record) => Number(record.timestamp) >= sentAt)).toBe(true);

    const scorer = await bed.startScorer();
    await eventually(() => bed.committedOffsets(bed.topics.activity), (committed) => committed === 2, 30_000, 'both copies to be consumed');
    expect((await bed.insights(customerId))!.activity.CALL.d7).toBe(1);
    const outcomes = (await scorer.metrics.events.get()).values.filter((sample) => sample.labels.topic === bed.topics.activity);
    expect(Object.fromEntries(outcomes.map((sample) => [sample.labels.outcome, sample.value]))).toMatchObject({ applied: 1, duplicate: 1 });
  }, 60_000);
});
