// The codec (packages/events) against the real registry: typed encode and decode of every event, writer
// schemas other producers may have registered, and a distinct rejection for each kind of bad record. Each
// test gets subjects of its own, at compatibility NONE, so that it can register any writer schema.
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { InputEvent } from '@churnscore/domain';
import {
  createEventCodec,
  EventEncodeError,
  DECODE_REJECT_REASONS,
  SchemaRegistryError,
  frame,
  readerType,
  schemaSource,
  valueSubject,
  type DecodeResult,
  type EventKind,
  type Rejection,
} from '@churnscore/events';
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
} from '@churnscore/events/testing';

import { Compatibility } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventsTestBed } from './support';

const KEY = Buffer.from('cust-0001');
/** Far beyond any id the registry will have handed out. */
const UNREGISTERED_SCHEMA_ID = 2_000_000_000;

let bed: EventsTestBed;
beforeEach(async () => {
  bed = new EventsTestBed('codec');
  await bed.registerSchemas(Compatibility.NONE);
});
afterEach(() => bed.tearDown());

const subjectOf = (kind: EventKind) => valueSubject(bed.topicOf(kind));

/** Writes `record` with another schema, registered under the kind's subject, as a foreign producer would. */
async function writeWith(kind: EventKind, schema: string, record: unknown): Promise<Buffer> {
  const id = await bed.register(subjectOf(kind), schema);
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

const decodeActivity = (value: Buffer | null, key: Buffer | null = KEY) => bed.codec.decode(bed.topicOf('activity'), key, value, SAMPLE_NOW);

/** Encodes an input event as our producers do and decodes it as the scorer does. */
async function roundTrip(event: InputEvent, key = KEY) {
  const topic = bed.topicOf(event.kind);
  return bed.codec.decode(topic, key, await bed.codec.encode(topic, event), SAMPLE_NOW);
}

describe('encode then decode', () => {
  it.each([sampleActivity(), sampleOpportunity(), sampleContract(), sampleCustomer()])('gives back the $kind event', async (event) => {
    expect(await roundTrip(event)).toEqual({ ok: true, event });
  });

  it.each([sampleScoreChanged(), sampleAlert(), sampleAlert({ status: 'RESOLVED', resolvedAt: SAMPLE_NOW, band: 'yellow' })])(
    'gives back the $kind event',
    async (event) => {
      const value = await bed.codec.encode(bed.topicOf(event.kind), event);
      expect(await bed.codec.decodeOutput(bed.topicOf(event.kind), KEY, value)).toStrictEqual({ ok: true, event });
    },
  );

  it('gives back a score computed while catching up', async () => {
    const event = sampleScoreChanged({ catchingUp: true });
    const value = await bed.codec.encode(bed.topicOf('score-changed'), event);
    expect(await bed.codec.decodeOutput(bed.topicOf('score-changed'), KEY, value)).toStrictEqual({ ok: true, event });
  });

  it('gives back a time-caused first score', async () => {
    const event = sampleScoreChanged({ previous: null, cause: { kind: 'time' }, segment: null });
    const value = await bed.codec.encode(bed.topicOf('score-changed'), event);
    expect(await bed.codec.decodeOutput(bed.topicOf('score-changed'), KEY, value)).toStrictEqual({ ok: true, event });
  });

  it('writes the Confluent wire format with the registered schema id', async () => {
    const id = await bed.registry.getId(subjectOf('contract'), { schemaType: 'AVRO', schema: schemaSource('contract') });
    const value = await bed.codec.encode(bed.topicOf('contract'), sampleContract());
    expect(value[0]).toBe(0);
    expect(value.readInt32BE(1)).toBe(id);
  });

  it('writes contract dates as Avro dates (days since the epoch)', async () => {
    const value = await bed.codec.encode(bed.topicOf('contract'), sampleContract());
    const record = avro.Type.forSchema(JSON.parse(schemaSource('contract')) as avro.Schema).fromBuffer(value.subarray(5));
    expect(record).toMatchObject({ startDate: 20089, endDate: 20453 });
  });
});

describe('encode', () => {
  it('writes with the latest registered version, defaulting the fields the event lacks', async () => {
    const v2 = withOptionalField('activity', 'channel');
    const v2Id = await bed.register(subjectOf('activity'), v2);
    const value = await bed.codec.encode(bed.topicOf('activity'), sampleActivity());
    expect(value.readInt32BE(1)).toBe(v2Id);
    expect(avro.Type.forSchema(JSON.parse(v2) as avro.Schema).fromBuffer(value.subarray(5))).toMatchObject({ channel: null });
    expect(await decodeActivity(value)).toEqual({ ok: true, event: sampleActivity() });
  });

  it('refuses an event the topic does not carry', async () => {
    await expect(bed.codec.encode(bed.topicOf('activity'), sampleContract())).rejects.toThrow(
      new EventEncodeError(`topic ${bed.topicOf('activity')} does not carry contract events`),
    );
  });

  it('refuses when no schema is registered for the topic', async () => {
    const bare = new EventsTestBed('codec-bare');
    try {
      await expect(bare.codec.encode(bare.topicOf('customer'), sampleCustomer())).rejects.toThrow(
        new EventEncodeError(`no schema is registered under subject ${valueSubject(bare.topicOf('customer'))}; register the schemas first (npm run schemas:register)`),
      );
    } finally {
      await bare.tearDown();
    }
  });

  it('refuses an event that does not fit the schema, naming the field', async () => {
    const event = sampleOpportunity({ openQuotes: 1.5 });
    await expect(bed.codec.encode(bed.topicOf('opportunity'), event)).rejects.toThrow(/bad fields: openQuotes/);
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

  it('reads a score-changed written before catchingUp existed as a live score', async () => {
    const current = avro.Type.forSchema(JSON.parse(schemaSource('score-changed')) as avro.Schema);
    const written = await bed.codec.encode(bed.topicOf('score-changed'), sampleScoreChanged({ catchingUp: true }));
    const { catchingUp: _catchingUp, ...older } = current.fromBuffer(written.subarray(5)) as Record<string, unknown>;
    const value = await writeWith('score-changed', withoutField('score-changed', 'catchingUp'), older);
    expect(await bed.codec.decodeOutput(bed.topicOf('score-changed'), KEY, value)).toStrictEqual({ ok: true, event: sampleScoreChanged({ catchingUp: false }) });
  });

  it('registers catchingUp as a BACKWARD-compatible next version of a subject holding the schema without it', async () => {
    const subject = `${subjectOf('score-changed')}-evolution`;
    const before = await bed.register(subject, withoutField('score-changed', 'catchingUp'), Compatibility.BACKWARD);
    expect(await bed.register(subject, schemaSource('score-changed'), Compatibility.BACKWARD)).not.toBe(before);
  });

  it('fetches a writer schema once', async () => {
    const value = await writeWith('activity', withOptionalField('activity', 'channel'), avroActivity());
    const fetch = vi.spyOn(bed.registry, 'getBySubjectAndId');
    await decodeActivity(value);
    await decodeActivity(value);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('throws, rather than rejecting the record, when the registry cannot be reached', async () => {
    const value = await writeWith('activity', withOptionalField('activity', 'channel'), avroActivity());
    // A port that was free a moment ago: connections to it are refused.
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    server.close();
    const unreachable = createEventCodec({
      registry: { baseURLs: [`http://127.0.0.1:${port}`], maxRetries: 0 },
      topics: bed.topics,
      reportingCurrency: 'USD',
      maxFutureSkewMs: 3_600_000,
    });
    try {
      await expect(unreachable.decode(bed.topicOf('activity'), KEY, value, SAMPLE_NOW)).rejects.toThrow(SchemaRegistryError);
    } finally {
      unreachable.close();
    }
  });

  it('decodes an output topic only with decodeOutput, and an input topic only with decode', async () => {
    const alert = await bed.codec.encode(bed.topicOf('alert'), sampleAlert());
    expect(rejectionOf(await bed.codec.decode(bed.topicOf('alert'), KEY, alert, SAMPLE_NOW)).reason).toBe('UNKNOWN_TOPIC');
    const activity = await bed.codec.encode(bed.topicOf('activity'), sampleActivity());
    expect(rejectionOf(await bed.codec.decodeOutput(bed.topicOf('activity'), KEY, activity)).reason).toBe('UNKNOWN_TOPIC');
  });

  it('rejects an output record holding a symbol the domain lacks', async () => {
    const { kind: _kind, ...record } = sampleAlert();
    const value = await writeWith('alert', schemaSource('alert'), { ...record, band: 'UNKNOWN' });
    expect(rejectionOf(await bed.codec.decodeOutput(bed.topicOf('alert'), KEY, value))).toMatchObject({
      reason: 'UNKNOWN_ENUM_SYMBOL',
      field: 'band',
    });
  });

  // One case per reason: the `satisfies` makes adding a reason without a test a type error.
  const reasonCases = {
    UNKNOWN_TOPIC: () => bed.codec.decode('crm.unknown.v1', KEY, Buffer.from([0, 0, 0, 0, 1]), SAMPLE_NOW),
    EMPTY_VALUE: () => decodeActivity(null),
    NOT_WIRE_FORMAT: () => decodeActivity(Buffer.from('{"eventId":"e1"}')),
    UNKNOWN_SCHEMA_ID: () => decodeActivity(frame(UNREGISTERED_SCHEMA_ID, Buffer.from([2]))),
    SCHEMA_MISMATCH: async () => {
      const occurredAtAsText = withFieldType('activity', 'occurredAt', 'string');
      return decodeActivity(await writeWith('activity', occurredAtAsText, { ...avroActivity(), occurredAt: 'yesterday' }));
    },
    AVRO_DECODE_FAILED: async () => {
      const value = await bed.codec.encode(bed.topicOf('activity'), sampleActivity());
      return decodeActivity(value.subarray(0, value.length - 3));
    },
    MISSING_FIELD: async () => {
      const { currency: _currency, kind: _kind, ...record } = sampleOpportunity();
      const value = await writeWith('opportunity', withoutField('opportunity', 'currency'), record);
      return bed.codec.decode(bed.topicOf('opportunity'), KEY, value, SAMPLE_NOW);
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
  } satisfies Record<(typeof DECODE_REJECT_REASONS)[number], () => Promise<DecodeResult<unknown>>>;

  it.each(DECODE_REJECT_REASONS)('rejects with %s', async (reason) => {
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
    const value = await bed.codec.encode(bed.topicOf('activity'), sampleActivity());
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
    const jsonSchema = JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' });
    const id = await bed.register(`${bed.topicOf('activity')}-json-value`, jsonSchema, Compatibility.NONE, 'JSON');
    expect(rejectionOf(await decodeActivity(frame(id, Buffer.from('{}'))))).toMatchObject({
      reason: 'SCHEMA_MISMATCH',
      message: `schema ${id} is a JSON schema, not Avro`,
    });
  });

  /** The activity schema with a field added last, as a producer's newer schema could add it. */
  const activityWith = (field: object) => {
    const schema = JSON.parse(schemaSource('activity')) as { fields: object[] };
    return JSON.stringify({ ...schema, fields: [...schema.fields, field] });
  };

  it('rejects at once a record whose added array claims what its bytes cannot hold (avsc alone ran on for ever)', async () => {
    const value = await writeWith('activity', activityWith({ name: 'pad', type: { type: 'array', items: 'string' }, default: [] }), { ...avroActivity(), pad: [] });
    // The empty array's closing block (0) replaced: a block of one item skipped by a size of −2, back to its start;
    // then 2^52 items in a few bytes.
    for (const block of [Buffer.from([1, 3]), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 2, 0x61])]) {
      const corrupt = Buffer.concat([value.subarray(0, -1), block]);
      expect(rejectionOf(await decodeActivity(corrupt)).reason).toBe('AVRO_DECODE_FAILED');
    }
  });

  it('rejects a union or a primitive writer schema naming the writer type, not avsc\'s failure', async () => {
    for (const [schema, value] of [['"string"', 'text'], [JSON.stringify(['null', 'string']), 'text']] as const) {
      const id = await bed.register(subjectOf('activity'), schema);
      const written = frame(id, avro.Type.forSchema(JSON.parse(schema) as avro.Schema).toBuffer(value));
      expect(rejectionOf(await decodeActivity(written))).toMatchObject({ reason: 'SCHEMA_MISMATCH', message: expect.not.stringMatching(/properties of undefined/) });
    }
  });

  it("reads a writer's timestamp-micros or timestamp-nanos occurredAt (local- ones as UTC) in milliseconds, not millennia ahead", async () => {
    // Nanoseconds since 1970 are past 2^53: written as a 64-bit integer, as Java and Go write them (read as the nearest
    // double, within 128 ns, then floored to the millisecond).
    const int64 = avro.types.LongType.__with({
      fromBuffer: (bytes: Buffer) => bytes.readBigInt64LE(),
      toBuffer: (value: bigint) => {
        const bytes = Buffer.alloc(8);
        bytes.writeBigInt64LE(value);
        return bytes;
      },
      fromJSON: BigInt,
      toJSON: Number,
      isValid: (value: unknown) => typeof value === 'bigint',
      compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
    });
    const occurredAt = BigInt(sampleActivity().occurredAt);
    const finer = [
      ['timestamp-micros', 1_000n],
      ['timestamp-nanos', 1_000_000n],
      ['local-timestamp-micros', 1_000n],
      ['local-timestamp-nanos', 1_000_000n],
    ] as const;
    for (const [logicalType, perMs] of finer) {
      const schema = JSON.parse(schemaSource('activity')) as { fields: Array<{ name: string; type: unknown }> };
      for (const field of schema.fields) if (field.name === 'occurredAt') field.type = { type: 'long', logicalType };
      const id = await bed.register(subjectOf('activity'), JSON.stringify(schema));
      const body = avro.Type.forSchema(schema as avro.Schema, { typeHook: (node) => ((node as { type?: unknown }).type === 'long' ? int64 : undefined) }).toBuffer({ ...avroActivity(), occurredAt: occurredAt * perMs + perMs / 2n });
      expect(await decodeActivity(frame(id, body))).toEqual({ ok: true, event: sampleActivity() });
    }
  });

  it('reads a writer schema whose types are schema references, registered under subjects of their own', async () => {
    // The activity type enum as a shared team's registry holds it: its own subject, its own namespace.
    const activity = JSON.parse(schemaSource('activity')) as { fields: Array<{ name: string; type: unknown }> };
    const shared = { ...(activity.fields.find(({ name }) => name === 'activityType')!.type as object), namespace: 'com.acme.shared' };
    const sharedSubject = `${subjectOf('activity')}-shared-activity-type`;
    await bed.register(sharedSubject, JSON.stringify(shared));
    const usingIt = { ...activity, fields: activity.fields.map((field) => (field.name === 'activityType' ? { ...field, type: 'com.acme.shared.ActivityType' } : field)) };
    const id = await bed.registry.register(subjectOf('activity'), {
      schemaType: 'AVRO',
      schema: JSON.stringify(usingIt),
      references: [{ name: 'com.acme.shared.ActivityType', subject: sharedSubject, version: 1 }],
    });
    const inlined = { ...usingIt, fields: usingIt.fields.map((field) => (field.name === 'activityType' ? { ...field, type: shared } : field)) };
    const written = frame(id, avro.Type.forSchema(inlined as avro.Schema).toBuffer(avroActivity()));
    expect(await decodeActivity(written)).toEqual({ ok: true, event: sampleActivity() });
  });

  it('reads a writer schema that is a union holding the record, record by record by the branch each was written with', async () => {
    const activity = JSON.parse(schemaSource('activity')) as object;
    const union = JSON.stringify(['null', activity]);
    expect(await decodeActivity(await writeWith('activity', union, avroActivity()))).toEqual({ ok: true, event: sampleActivity() });
    const id = await bed.register(subjectOf('activity'), union);
    expect(rejectionOf(await decodeActivity(await writeWith('activity', union, null)))).toEqual({
      reason: 'EMPTY_VALUE',
      message: `value is null (the null branch of writer schema ${id})`,
    });
    for (const cut of [Buffer.alloc(0), Buffer.from([0x80]), Buffer.from([4])]) {
      expect(rejectionOf(await decodeActivity(frame(id, cut))).reason).toBe('AVRO_DECODE_FAILED');
    }
    const { kind: _kind, ...opportunity } = sampleOpportunity();
    // Two records in a union: avsc writes them wrapped in an object naming the branch.
    const withAnother = JSON.stringify(['null', JSON.parse(schemaSource('opportunity')) as object, activity]);
    const branch = (kind: EventKind, record: object) => ({ [readerType(kind).name!]: record });
    expect(await decodeActivity(await writeWith('activity', withAnother, branch('activity', avroActivity())))).toEqual({ ok: true, event: sampleActivity() });
    expect(rejectionOf(await decodeActivity(await writeWith('activity', withAnother, branch('opportunity', opportunity)))).reason).toBe('SCHEMA_MISMATCH');
  });

  it("reads a writer whose field is a nullable union where the reader's is not, record by record by the branch each value was written with", async () => {
    /** The kind's schema with `field` declared as `union`, as some producers' tooling makes every field nullable. */
    const withUnion = (kind: EventKind, field: string, union: unknown[]) => {
      const schema = JSON.parse(schemaSource(kind)) as { fields: Array<{ name: string; type: unknown; default?: unknown }> };
      return JSON.stringify({ ...schema, fields: schema.fields.map((f) => (f.name === field ? { name: f.name, type: union, ...(union[0] === 'null' ? { default: null } : {}) } : f)) });
    };
    const eventIdNullable = withUnion('activity', 'eventId', ['string', 'null']);
    expect(await decodeActivity(await writeWith('activity', eventIdNullable, avroActivity()))).toEqual({ ok: true, event: sampleActivity() });
    const id = await bed.register(subjectOf('activity'), eventIdNullable);
    expect(rejectionOf(await decodeActivity(await writeWith('activity', eventIdNullable, { ...avroActivity(), eventId: null })))).toEqual({
      reason: 'MISSING_FIELD',
      field: 'eventId',
      message: `eventId: is required but was written as null (the null branch of writer schema ${id}'s union)`,
    });
    // An erasure request written so is honoured (before: every record of the writer was SCHEMA_MISMATCH).
    const { kind: _kind, ...customer } = sampleCustomer();
    const eraseNullable = withUnion('customer', 'erase', ['null', 'boolean']);
    const erasure = await writeWith('customer', eraseNullable, { ...customer, erase: true });
    expect(await bed.codec.decode(bed.topicOf('customer'), KEY, erasure, SAMPLE_NOW)).toMatchObject({ ok: true, event: { kind: 'customer', customerId: customer.customerId, erase: true } });
    // A union that holds what the reader's field cannot take is still refused whole.
    const eventIdOrNumber = withUnion('activity', 'eventId', ['null', 'string', 'int']);
    expect(rejectionOf(await decodeActivity(await writeWith('activity', eventIdOrNumber, avroActivity()))).reason).toBe('SCHEMA_MISMATCH');
  });

  it('rejects a writer schema with an array of items that take no bytes, which one record could claim any number of', async () => {
    const value = await writeWith('activity', activityWith({ name: 'pad', type: { type: 'array', items: 'null' }, default: [] }), { ...avroActivity(), pad: [null] });
    expect(rejectionOf(await decodeActivity(value))).toMatchObject({ reason: 'SCHEMA_MISMATCH', message: expect.stringContaining('items that take no bytes') });
  });

  it('rejects a key that is not UTF-8, though its bytes decode to the customerId with U+FFFD in their place', async () => {
    const customerId = 'cust-\uFFFD';
    const value = await bed.codec.encode(bed.topicOf('activity'), sampleActivity({ customerId }));
    expect(await decodeActivity(value, Buffer.from(customerId))).toMatchObject({ ok: true });
    expect(rejectionOf(await decodeActivity(value, Buffer.concat([Buffer.from('cust-'), Buffer.from([0xff])]))).reason).toBe('KEY_MISMATCH');
  });

  it('rejects a missing key', async () => {
    const value = await bed.codec.encode(bed.topicOf('activity'), sampleActivity());
    expect(rejectionOf(await decodeActivity(value, null))).toEqual({
      reason: 'KEY_MISMATCH',
      field: 'customerId',
      message: 'Kafka key must be the customerId, as a UTF-8 string',
    });
  });
});

// What a publishing service asks at start, so that schemas never registered (or lost with the registry's data) stop
// its start rather than its first publication.
describe('requireOutputSchemas', () => {
  it('passes once the output topics have their schemas', async () => {
    await expect(bed.codec.requireOutputSchemas()).resolves.toBeUndefined();
  });

  it('names every output subject without a schema, and no input subject', async () => {
    const bare = new EventsTestBed('codec-outputs');
    try {
      await bare.register(valueSubject(bare.topicOf('alert')), schemaSource('alert'));
      const refusal = bare.codec.requireOutputSchemas();
      await expect(refusal).rejects.toThrow(EventEncodeError);
      await expect(refusal).rejects.toThrow(
        `no schema is registered under subject ${valueSubject(bare.topicOf('score-changed'))}; register the schemas first (npm run schemas:register)`,
      );
      await expect(refusal).rejects.not.toThrow(valueSubject(bare.topicOf('alert')));
      await expect(refusal).rejects.not.toThrow(valueSubject(bare.topicOf('activity')));
    } finally {
      await bare.tearDown();
    }
  });

  // TOPIC_SCORE_CHANGED and TOPIC_ALERTS swapped: both subjects hold a schema, each the other output's.
  it('refuses output subjects holding the other output kind\'s schema, naming the settings', async () => {
    const swapped = new EventsTestBed('codec-swapped');
    try {
      await swapped.register(valueSubject(swapped.topicOf('alert')), schemaSource('score-changed'));
      await swapped.register(valueSubject(swapped.topicOf('score-changed')), schemaSource('alert'));
      const refusal = swapped.codec.requireOutputSchemas();
      await expect(refusal).rejects.toThrow(EventEncodeError);
      await expect(refusal).rejects.toThrow(
        `subject ${valueSubject(swapped.topicOf('alert'))} holds schema ${readerType('score-changed').name}, not ${readerType('alert').name}: ` +
          'TOPIC_ALERTS must name the topic of alert events, the schema of score-changed events ' +
          '(the topic TOPIC_SCORE_CHANGED should name? the two settings swapped?)',
      );
      await expect(refusal).rejects.toThrow(`subject ${valueSubject(swapped.topicOf('score-changed'))} holds schema`);
    } finally {
      await swapped.tearDown();
    }
  });
});
