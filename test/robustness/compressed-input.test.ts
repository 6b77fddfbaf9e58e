// Issue 9, item 1: producers commonly compress (compression.type lz4, zstd or snappy on Java and
// librdkafka clients), and kafkajs alone reads only gzip: one such batch crashed the consumer for good
// ("LZ4 compression not implemented"). Here Kafka's own Java producer, not the product's code, writes
// valid events in compressed batches of every codec, and the scorer applies and scores each of them,
// then goes on consuming.
import type { InputEvent } from '@churnscore/domain';
import { SAMPLE_NOW, sampleActivity, sampleContract, sampleOpportunity } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningScorer } from '../../services/scorer/src/scorer';
import { testStack } from '../harness/stack';
import { produceWithJavaClient, type KafkaCompressionType } from '../interop/java-producer';
import { dlqTotal, eventually, ManualClock, ScorerTestBed } from '../scorer/support';

const HOUR = 3_600_000;
const ACTIVITIES_PER_CUSTOMER = 20;
const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const satisfies readonly KafkaCompressionType[];

const bed = new ScorerTestBed('compressed-input');
let scorer: RunningScorer;

/** One customer's events, several to a topic so that each topic's batch holds many records. */
function eventsOf(customerId: string): InputEvent[] {
  const activities = Array.from({ length: ACTIVITIES_PER_CUSTOMER }, (_, i) =>
    sampleActivity({ customerId, eventId: `${customerId}-activity-${i}`, activityType: 'MEETING', value: null, occurredAt: SAMPLE_NOW - (i + 1) * HOUR }),
  );
  return [
    ...activities,
    sampleOpportunity({ customerId, eventId: `${customerId}-opportunity` }),
    sampleContract({ customerId, eventId: `${customerId}-contract` }),
  ];
}

async function produceCompressed(events: readonly InputEvent[], compression: KafkaCompressionType): Promise<void> {
  await produceWithJavaClient({ brokers: testStack().kafkaBrokers, records: await bed.records(events), compression });
}

/** Revision of the customer's committed score: how many of its events the score reflects. */
const scoredRevision = async (customerId: string): Promise<number> => Number((await bed.scoreHash(customerId)).revision ?? 0);

const appliedCount = async (): Promise<number> =>
  (await scorer.metrics.events.get()).values.filter((value) => value.labels.outcome === 'applied').reduce((sum, value) => sum + value.value, 0);

beforeAll(async () => {
  await bed.setUp(2);
  scorer = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now });
});
afterAll(() => bed.tearDown());

describe('input compressed by a Java producer', () => {
  it.each(CODECS)('is applied and scored from %s batches', async (compression) => {
    const customerId = `compressed-${compression}`;
    const events = eventsOf(customerId);
    await produceCompressed(events, compression);

    await eventually(() => scoredRevision(customerId), (revision) => revision === events.length, 30_000, `the ${compression} events to be scored`);
    expect((await bed.insights(customerId))?.activity.MEETING.d7).toBe(ACTIVITIES_PER_CUSTOMER);
  });

  it('leaves the consumer consuming: a later event is scored and nothing was rejected', async () => {
    const later = sampleActivity({ customerId: 'after-compressed', eventId: 'after-compressed-1', activityType: 'MEETING', value: null, occurredAt: SAMPLE_NOW - HOUR });
    await bed.publish([later]);

    await eventually(() => scoredRevision(later.customerId), (revision) => revision === 1, 30_000, 'the later event to be scored');
    expect(await appliedCount()).toBe(CODECS.length * eventsOf('any').length + 1);
    expect(await dlqTotal(scorer)).toBe(0);
  });
});
