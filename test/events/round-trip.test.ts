// Every event type goes through the real broker and registry and comes back equal; and records interoperate
// with Confluent's own serializer library in both directions.
import type { WireEvent } from '@churnscore/events';
import {
  SAMPLE_NOW,
  sampleActivity,
  sampleAlert,
  sampleContract,
  sampleCustomer,
  sampleOpportunity,
  sampleScoreChanged,
} from '@churnscore/events/testing';
import { AvroDeserializer, AvroSerializer, SerdeType, SubjectNameStrategyType } from '@confluentinc/schemaregistry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsTestBed } from './support';

const bed = new EventsTestBed('round-trip');

beforeAll(() => bed.setUp());
afterAll(() => bed.tearDown());

const EVENTS: WireEvent[] = [
  sampleActivity(),
  sampleActivity({ eventId: 'evt-ticket', activityType: 'SUPPORT_TICKET_OPENED', value: null, ticketId: 'T-1', slaBreached: true }),
  sampleOpportunity(),
  sampleOpportunity({ eventId: 'evt-lost', stage: 'CLOSED_LOST', probability: null, openQuotes: null }),
  sampleContract(),
  sampleCustomer(),
  sampleCustomer({ eventId: 'evt-erase', segment: null, erase: true }),
  sampleScoreChanged(),
  sampleScoreChanged({ previous: null, cause: { kind: 'time' }, version: 1 }),
  sampleAlert(),
  sampleAlert({ status: 'RESOLVED', resolvedAt: SAMPLE_NOW + 1000, version: 2 }),
];

describe('every event type through Kafka', () => {
  it('decodes to the event that was encoded', async () => {
    for (const event of EVENTS) {
      await bed.produce(bed.topicOf(event.kind), [{ key: event.customerId, value: await bed.codec.encode(bed.topicOf(event.kind), event) }]);
    }
    const records = await bed.consume([...new Set(EVENTS.map((event) => bed.topicOf(event.kind)))], EVENTS.length);

    const decoded = [];
    for (const { topic, key, value } of records) {
      const kind = bed.codec.kindOf(topic);
      const result =
        kind === 'score-changed' || kind === 'alert'
          ? await bed.codec.decodeOutput(topic, key, value)
          : await bed.codec.decode(topic, key, value, SAMPLE_NOW);
      expect(result.ok, JSON.stringify(result)).toBe(true);
      if (result.ok) decoded.push(result.event);
    }
    const byId = (event: WireEvent) => ('eventId' in event ? event.eventId : `${event.kind}:${event.version}`);
    const sorted = (events: WireEvent[]) => [...events].sort((a, b) => byId(a).localeCompare(byId(b)));
    expect(sorted(decoded)).toEqual(sorted(EVENTS));
  });
});

describe("interoperability with Confluent's serializers", () => {
  // The library's defaults do not suit this registry: the ASSOCIATED subject strategy breaks on Apicurio, and
  // auto-registration would infer a schema from the message instead of using the registered contract.
  const serdeConfig = { subjectNameStrategyType: SubjectNameStrategyType.TOPIC, useLatestVersion: true, autoRegisterSchemas: false };

  it('reads a record written by the Confluent serializer', async () => {
    const topic = bed.topicOf('opportunity');
    const serializer = new AvroSerializer(bed.registry, SerdeType.VALUE, serdeConfig);
    const { kind: _kind, ...record } = sampleOpportunity({ eventId: 'evt-confluent' });
    const value = await serializer.serialize(topic, record);
    expect(await bed.codec.decode(topic, Buffer.from('cust-0001'), value, SAMPLE_NOW)).toEqual({
      ok: true,
      event: sampleOpportunity({ eventId: 'evt-confluent' }),
    });
  });

  it('writes records the Confluent deserializer reads', async () => {
    const topic = bed.topicOf('contract');
    const deserializer = new AvroDeserializer(bed.registry, SerdeType.VALUE, serdeConfig);
    const { kind: _kind, ...expected } = sampleContract();
    const read = (await deserializer.deserialize(topic, await bed.codec.encode(topic, sampleContract()))) as object;
    expect({ ...read }).toEqual({ ...expected, startDate: expected.startDate / 86_400_000, endDate: expected.endDate / 86_400_000 });
  });

});
