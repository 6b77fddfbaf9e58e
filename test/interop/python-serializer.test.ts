// SPEC §1: Confluent's own serializers, in any language, with any of Kafka's compression codecs, must interoperate.
// Here Python's confluent-kafka (librdkafka, not kafkajs or Java's client) writes every kind of input event with its
// schema-registry AvroSerializer, configured as docs/events.md says, in batches of every codec, and the scorer
// applies each event with the values the producer gave (a contract's `date` fields, nullable fields null and set).
import type { ActivityType, InputEvent } from '@churnscore/domain';
import { schemaSource } from '@churnscore/events';
import { SAMPLE_NOW, sampleActivity, sampleContract, sampleCustomer, sampleOpportunity, toAvroRecord } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningScorer } from '../../services/scorer/src/scorer';
import { testStack } from '../harness/stack';
import { dlqTotal, eventually, ManualClock, ScorerTestBed } from '../scorer/support';
import { KAFKA_COMPRESSION_TYPES } from './java-producer';
import { installPythonClient, produceWithPythonSerializer, PYTHON_PRODUCER_TIMEOUT_MS } from './python-producer';

const HOUR = 3_600_000;
const bed = new ScorerTestBed('python-serializer');
let scorer: RunningScorer;

const ACTIVITIES: ReadonlyArray<{ activityType: ActivityType; value: number | null; ticketId?: string; slaBreached?: boolean }> = [
  { activityType: 'EMAIL_SENT', value: null },
  { activityType: 'EMAIL_RECEIVED', value: null },
  { activityType: 'CALL', value: null },
  { activityType: 'MEETING', value: null },
  { activityType: 'FOLLOW_UP_TASK', value: null },
  { activityType: 'SUPPORT_TICKET_OPENED', value: null, ticketId: 'ticket-1', slaBreached: true },
  { activityType: 'PRODUCT_USAGE', value: 12.5 },
  { activityType: 'PRODUCT_USAGE', value: null },
  { activityType: 'NPS_RESPONSE', value: 9 },
  { activityType: 'CSM_SENTIMENT', value: -1 },
];

/** Every kind of input event for one customer, an hour apart, each field of every kind at least once. */
function eventsOf(customerId: string): InputEvent[] {
  const at = (i: number) => ({ customerId, eventId: `${customerId}-${i}`, occurredAt: SAMPLE_NOW - (i + 1) * HOUR });
  return [
    ...ACTIVITIES.map((activity, i) => sampleActivity({ ...at(i), ...activity })),
    sampleOpportunity({ ...at(20), opportunityId: `${customerId}-deal`, probability: null, openQuotes: null }),
    sampleContract({ ...at(21), contractId: `${customerId}-contract`, endDate: Date.UTC(2026, 2, 31) }),
    sampleCustomer({ ...at(22), segment: 'MID_MARKET' }),
  ];
}

/** The client's install from PyPI took over 80 s once on a fresh clone (its first test timed out); usually ~10 s. */
const INSTALL_TIMEOUT_MS = 300_000;
/** How long the scorer may take to apply what the producer sent. */
const SCORED_WITHIN_MS = 30_000;
/** Each test: the producer's bound, then the scorer's (a slow first run of each says which one it was). */
const TEST_TIMEOUT_MS = PYTHON_PRODUCER_TIMEOUT_MS + SCORED_WITHIN_MS + 5_000;

beforeAll(async () => {
  await Promise.all([installPythonClient(), bed.setUp(2)]);
  scorer = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now });
}, INSTALL_TIMEOUT_MS);
afterAll(() => bed.tearDown());

describe("input written by Python's confluent-kafka AvroSerializer", () => {
  it.each(KAFKA_COMPRESSION_TYPES)('is applied with the values it was given from %s batches', async (compression) => {
    const customerId = `python-${compression}`;
    const events = eventsOf(customerId);
    const producing = performance.now();
    await produceWithPythonSerializer({
      brokers: testStack().kafkaBrokers,
      registryUrl: testStack().schemaRegistryUrl,
      compression,
      records: events.map((event) => ({ topic: bed.topicOf(event.kind), key: customerId, value: toAvroRecord(event), schema: schemaSource(event.kind) })),
    });

    const producedInMs = Math.round(performance.now() - producing);
    await eventually(
      () => bed.revisions([customerId]),
      ([revision]) => revision === events.length,
      SCORED_WITHIN_MS,
      `the ${compression} events to be scored (the Python producer took ${producedInMs} ms)`,
    );
    const insights = await bed.insights(customerId);
    expect(insights).toMatchObject({
      openTickets: 1,
      slaBreaches90: 1,
      openOpportunities: 1,
      activeContracts: 1,
      nextRenewalAt: Date.UTC(2026, 2, 31),
      latestNps: 9,
      latestCsmSentiment: -1,
      segment: 'MID_MARKET',
    });
    expect(insights?.usageQuantity.d7).toBe(12.5);
    expect(insights?.activity.MEETING.d7).toBe(1);
  }, TEST_TIMEOUT_MS);

  it('dead-letters none of them', async () => {
    expect(await dlqTotal(scorer)).toBe(0);
  });
});
