// Partitions added to an input topic under a running scorer (kafka-topics --alter --partitions: how a team makes room
// for more instances). Producers write to the new partitions as soon as they learn of them; the scorer must consume
// them, from their first record, without a restart: within the scorer's metadata age (TOPICS_CHECK_INTERVAL_MS).
import { SAMPLE_NOW } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS_CHECK_INTERVAL_MS } from '@churnscore/kafka';
import { addPartitions } from '../harness/stack';
import { dlqTotal, eventually, hourlyMeetings, ManualClock, ScorerTestBed } from '../scorer/support';

describe('partitions added to an input topic while the scorer runs', () => {
  const bed = new ScorerTestBed('partitions-added');
  beforeAll(() => bed.setUp(1));
  afterAll(() => bed.tearDown());

  it('consumes the new partitions from their first record', async () => {
    const scorer = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now });
    const before = 'partitions-added-before';
    await bed.publish(hourlyMeetings([before], 0, 2));
    await eventually(async () => (await bed.scoreHash(before)).revision, (revision) => revision === '2', 30_000, 'the first events applied');

    await addPartitions(bed.topics.activity, 3);
    const customers = ['partitions-added-1', 'partitions-added-2'];
    await bed.publish(hourlyMeetings(customers, 0, 1), (event) => customers.indexOf(event.customerId) + 1);
    await eventually(
      async () => Promise.all(customers.map(async (customerId) => (await bed.scoreHash(customerId)).revision)),
      (revisions) => revisions.every((revision) => revision === '1'),
      // Without the scorer's metadataMaxAge, kafkajs's default (five minutes) keeps them waiting past this.
      TOPICS_CHECK_INTERVAL_MS + 60_000,
      'the events of the new partitions applied',
    );
    expect(await dlqTotal(scorer)).toBe(0);
  }, TOPICS_CHECK_INTERVAL_MS + 120_000);
});
