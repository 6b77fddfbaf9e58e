import { DEFAULT_TOPICS } from '@churnscore/config';
import type { InputEvent } from '@churnscore/domain';
import { MockClient } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createEventCodec, type EventCodec } from './codec';
import { EVENT_KINDS, TOPIC_ROLE_OF_KIND, valueSubject, type EventKind } from './event-kinds';
import { EventEncodeError, SchemaRegistryError } from './registry-serde';
import { REJECT_REASONS, type DecodeResult, type RejectReason, type Rejection } from './rejections';
import { schemaSource } from './schemas';
import {
  SAMPLE_NOW,
  sampleActivity,
  sampleAlert,
  sampleContract,
  sampleCustomer,
  sampleOpportunity,
  sampleScoreChanged,
  withEnumSymbol,
  withFieldType,
  withOptionalField,
  withoutField,
} from './testing';
import { frame } from './wire-format';

const topicOf = (kind: EventKind) => DEFAULT_TOPICS[TOPIC_ROLE_OF_KIND[kind]];
const KEY = Buffer.from('cust-0001');

let registry: MockClient;
let codec: EventCodec;

beforeEach(async () => {
  registry = new MockClient({ baseURLs: ['mock://'] });
  for (const kind of EVENT_KINDS) {
    await registry.register(valueSubject(topicOf(kind)), { schemaType: 'AVRO', schema: schemaSource(kind) });
  }
  codec = createEventCodec({ registry, topics: DEFAULT_TOPICS, reportingCurrency: 'USD', maxFutureSkewMs: 3_600_000 });
});

/** Writes `record` with another schema, registered under the kind's subject, as a foreign producer would. */
async function writeWith(kind: EventKind, schema: string, record: object): Promise<Buffer> {
  const id = await registry.register(valueSubject(topicOf(kind)), { schemaType: 'AVRO', schema });
  return frame(id, avro.Type.forSchema(JSON.parse(schema) as avro.Schema).toBuffer(record));
}

const avroActivity = () => {
  const { kind: _kind, ...record } = sampleActivity();
  return record;
};

function rejectionOf(result: DecodeResult<unknown>): Rejection {
  if (result.ok) throw new Error('expected a rejection');
  return result.rejection;
}

const decodeActivity = (value: Buffer | null, key: Buffer | null = KEY) =>
  codec.decode(topicOf('activity'), key, value, SAMPLE_NOW);

/** Encodes an input event as our producers do and decodes it as the scorer does. */
async function roundTrip(event: InputEvent, key = KEY) {
  return codec.decode(topicOf(event.kind), key, await codec.encode(topicOf(event.kind), event), SAMPLE_NOW);
}

describe('encode then decode', () => {
  it.each([sampleActivity(), sampleOpportunity(), sampleContract(), sampleCustomer()])('gives back the $kind event', async (event) => {
    expect(await roundTrip(event)).toEqual({ ok: true, event });
  });

  it.each([sampleScoreChanged(), sampleAlert(), sampleAlert({ status: 'RESOLVED', resolvedAt: SAMPLE_NOW, band: 'yellow' })])(
    'gives back the $kind event',
    async (event) => {
      const value = await codec.encode(topicOf(event.kind), event);
      expect(await codec.decodeOutput(topicOf(event.kind), KEY, value)).toStrictEqual({ ok: true, event });
    },
  );

  it('gives back a time-caused first score', async () => {
    const event = sampleScoreChanged({ previous: null, cause: { kind: 'time' }, segment: null });
    const value = await codec.encode(topicOf('score-changed'), event);
    expect(await codec.decodeOutput(topicOf('score-changed'), KEY, value)).toStrictEqual({ ok: true, event });
  });

  it('writes the Confluent wire format with the registered schema id', async () => {
    const id = await registry.getId(valueSubject(topicOf('contract')), { schemaType: 'AVRO', schema: schemaSource('contract') });
    const value = await codec.encode(topicOf('contract'), sampleContract());
    expect(value[0]).toBe(0);
    expect(value.readInt32BE(1)).toBe(id);
  });

  it('writes contract dates as Avro dates (days since the epoch)', async () => {
    const value = await codec.encode(topicOf('contract'), sampleContract());
    const record = avro.Type.forSchema(JSON.parse(schemaSource('contract')) as avro.Schema).fromBuffer(value.subarray(5));
    expect(record).toMatchObject({ startDate: 20089, endDate: 20453 });
  });
});

describe('encode', () => {
  it('writes with the latest registered version, defaulting the fields the event lacks', async () => {
    const v2 = withOptionalField('activity', 'channel');
    const v2Id = await registry.register(valueSubject(topicOf('activity')), { schemaType: 'AVRO', schema: v2 });
    const value = await codec.encode(topicOf('activity'), sampleActivity());
    expect(value.readInt32BE(1)).toBe(v2Id);
    expect(avro.Type.forSchema(JSON.parse(v2) as avro.Schema).fromBuffer(value.subarray(5))).toMatchObject({ channel: null });
    expect(await decodeActivity(value)).toEqual({ ok: true, event: sampleActivity() });
  });

  it('refuses an event the topic does not carry', async () => {
    await expect(codec.encode(topicOf('activity'), sampleContract())).rejects.toThrow(
      new EventEncodeError('topic crm.activity.v1 does not carry contract events'),
    );
  });

  it('refuses when no schema is registered for the topic', async () => {
    const bare = createEventCodec({
      registry: new MockClient({ baseURLs: ['mock://'] }),
      topics: DEFAULT_TOPICS,
      reportingCurrency: 'USD',
      maxFutureSkewMs: 0,
    });
    await expect(bare.encode(topicOf('customer'), sampleCustomer())).rejects.toThrow(
      /no schema is registered under subject crm\.customer\.v1-value/,
    );
  });

  it('refuses an event that does not fit the schema, naming the field', async () => {
    const event = sampleOpportunity({ openQuotes: 1.5 });
    await expect(codec.encode(topicOf('opportunity'), event)).rejects.toThrow(/bad fields: openQuotes/);
  });

  it('does not judge content: producers may send bad input on purpose', async () => {
    expect(rejectionOf(await roundTrip(sampleOpportunity({ amount: -5 }))).reason).toBe('NEGATIVE_AMOUNT');
  });
});

describe('decode', () => {
  it('reads a record written with an older schema lacking an optional field, using its default', async () => {
    const value = await writeWith('activity', withoutField('activity', 'slaBreached'), avroActivity());
    expect(await decodeActivity(value)).toEqual({ ok: true, event: sampleActivity() });
  });

  it('reads a record written with a newer schema, ignoring the field it added', async () => {
    const value = await writeWith('activity', withOptionalField('activity', 'channel'), { ...avroActivity(), channel: 'web' });
    expect(await decodeActivity(value)).toEqual({ ok: true, event: sampleActivity() });
  });

  const writtenByAnotherProducer = () => writeWith('activity', withOptionalField('activity', 'channel'), avroActivity());

  it('fetches a writer schema once', async () => {
    const value = await writtenByAnotherProducer();
    const fetch = vi.spyOn(registry, 'getBySubjectAndId');
    await decodeActivity(value);
    await decodeActivity(value);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('throws, rather than rejecting the record, when the registry cannot be reached', async () => {
    const value = await writtenByAnotherProducer();
    vi.spyOn(registry, 'getBySubjectAndId').mockRejectedValue(new Error('connect ECONNREFUSED'));
    await expect(decodeActivity(value)).rejects.toThrow(SchemaRegistryError);
  });

  it('decodes an output topic only with decodeOutput, and an input topic only with decode', async () => {
    const alert = await codec.encode(topicOf('alert'), sampleAlert());
    expect(rejectionOf(await codec.decode(topicOf('alert'), KEY, alert, SAMPLE_NOW)).reason).toBe('UNKNOWN_TOPIC');
    const activity = await codec.encode(topicOf('activity'), sampleActivity());
    expect(rejectionOf(await codec.decodeOutput(topicOf('activity'), KEY, activity)).reason).toBe('UNKNOWN_TOPIC');
  });

  it('rejects an output record holding a symbol the domain lacks', async () => {
    const { kind: _kind, ...record } = sampleAlert();
    const value = await writeWith('alert', schemaSource('alert'), { ...record, band: 'UNKNOWN' });
    expect(rejectionOf(await codec.decodeOutput(topicOf('alert'), KEY, value))).toMatchObject({
      reason: 'UNKNOWN_ENUM_SYMBOL',
      field: 'band',
    });
  });

  // One case per reason: the `satisfies` makes adding a reason without a test a type error.
  const reasonCases = {
    UNKNOWN_TOPIC: () => codec.decode('crm.unknown.v1', KEY, Buffer.from([0, 0, 0, 0, 1]), SAMPLE_NOW),
    EMPTY_VALUE: () => decodeActivity(null),
    NOT_WIRE_FORMAT: () => decodeActivity(Buffer.from('{"eventId":"e1"}')),
    UNKNOWN_SCHEMA_ID: () => decodeActivity(frame(4242, Buffer.from([2]))),
    SCHEMA_MISMATCH: async () => {
      const occurredAtAsText = withFieldType('activity', 'occurredAt', 'string');
      return decodeActivity(await writeWith('activity', occurredAtAsText, { ...avroActivity(), occurredAt: 'yesterday' }));
    },
    AVRO_DECODE_FAILED: async () => {
      const value = await codec.encode(topicOf('activity'), sampleActivity());
      return decodeActivity(value.subarray(0, value.length - 3));
    },
    MISSING_FIELD: async () => {
      const { currency: _currency, kind: _kind, ...record } = sampleOpportunity();
      const value = await writeWith('opportunity', withoutField('opportunity', 'currency'), record);
      return codec.decode(topicOf('opportunity'), KEY, value, SAMPLE_NOW);
    },
    INVALID_FIELD: () => roundTrip(sampleActivity({ customerId: 'c'.repeat(129) })),
    UNKNOWN_ENUM_SYMBOL: async () => {
      const newerWriter = withEnumSymbol('activity', 'activityType', 'WEBINAR');
      return decodeActivity(await writeWith('activity', newerWriter, { ...avroActivity(), activityType: 'WEBINAR' }));
    },
    NEGATIVE_AMOUNT: () => roundTrip(sampleContract({ totalValue: -1 })),
    WRONG_CURRENCY: () => roundTrip(sampleContract({ currency: 'EUR' })),
    FUTURE_OCCURRED_AT: () => roundTrip(sampleActivity({ occurredAt: SAMPLE_NOW + 7_200_000 })),
    KEY_MISMATCH: () => roundTrip(sampleActivity(), Buffer.from('cust-0002')),
  } satisfies Record<RejectReason, () => Promise<DecodeResult<unknown>>>;

  it.each(REJECT_REASONS)('rejects with %s', async (reason) => {
    expect(rejectionOf(await reasonCases[reason]()).reason).toBe(reason);
  });

  it.each([
    ['a value shorter than the header', Buffer.from([0, 0, 1])],
    ['a wrong magic byte', Buffer.from([1, 0, 0, 0, 1, 2])],
  ])('rejects %s as NOT_WIRE_FORMAT', async (_, value) => {
    expect(rejectionOf(await decodeActivity(value)).reason).toBe('NOT_WIRE_FORMAT');
  });

  it('rejects an empty buffer as EMPTY_VALUE', async () => {
    expect(rejectionOf(await decodeActivity(Buffer.alloc(0))).reason).toBe('EMPTY_VALUE');
  });

  it('rejects trailing bytes after the Avro body', async () => {
    const value = await codec.encode(topicOf('activity'), sampleActivity());
    expect(rejectionOf(await decodeActivity(Buffer.concat([value, Buffer.from([0])]))).reason).toBe('AVRO_DECODE_FAILED');
  });

  it('names the field a writer schema lacks', async () => {
    expect(rejectionOf(await reasonCases.MISSING_FIELD())).toEqual({
      reason: 'MISSING_FIELD',
      field: 'currency',
      message: expect.stringMatching(/^currency: is required but absent from writer schema \d+$/),
    });
  });

  it('rejects a record of another event type', async () => {
    const { kind: _kind, ...customer } = sampleCustomer();
    const value = await writeWith('activity', schemaSource('customer'), customer);
    expect(rejectionOf(await decodeActivity(value)).reason).toBe('SCHEMA_MISMATCH');
  });

  it('rejects a non-Avro writer schema', async () => {
    const id = await registry.register('other-value', { schemaType: 'JSON', schema: '{"type":"object"}' });
    expect(rejectionOf(await decodeActivity(frame(id, Buffer.from('{}'))))).toMatchObject({
      reason: 'SCHEMA_MISMATCH',
      message: `schema ${id} is a JSON schema, not Avro`,
    });
  });

  it('rejects a missing key', async () => {
    const value = await codec.encode(topicOf('activity'), sampleActivity());
    expect(rejectionOf(await decodeActivity(value, null))).toEqual({
      reason: 'KEY_MISMATCH',
      field: 'customerId',
      message: 'Kafka key must be the customerId, as a UTF-8 string',
    });
  });
});
