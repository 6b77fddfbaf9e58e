// Schema evolution under the registry's BACKWARD rule: a compatible v2 registers and both versions read each
// other's records; an incompatible change is refused with the registry's reason.
import { AvroRegistrySerde, createEventCodec, valueSubject } from '@churnscore/events';
import { SAMPLE_NOW, sampleOpportunity, withFieldType, withOptionalField } from '@churnscore/events/testing';
import { RestError } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../harness/stack';
import { EventsTestBed } from './support';

const bed = new EventsTestBed('evolution');

beforeAll(() => bed.setUp());
afterAll(() => bed.tearDown());

const V2 = withOptionalField('opportunity', 'lossReason');
const v2Reader = avro.Type.forSchema(JSON.parse(V2) as avro.Schema);
const KEY = 'cust-0001';

describe('a compatible v2 (a new optional field with a default)', () => {
  it('registers, and each version reads the other version’s records from Kafka', async () => {
    const topic = bed.topicOf('opportunity');
    const subject = valueSubject(topic);
    const v1Written = await bed.codec.encode(topic, sampleOpportunity({ eventId: 'evt-v1' }));

    const v2Id = await bed.register(subject, V2);
    const { kind: _kind, ...fields } = sampleOpportunity({ eventId: 'evt-v2', stage: 'CLOSED_LOST' });
    // A producer on v2, writing the new field.
    const v2Written = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), v2Reader.toBuffer({ ...fields, lossReason: 'price' })]);
    v2Written.writeInt32BE(v2Id, 1);

    await bed.produce(topic, [
      { key: KEY, value: v1Written },
      { key: KEY, value: v2Written },
    ]);
    const [v1Record, v2Record] = await bed.consume([topic], 2);

    // The v1 reader (this code) ignores the field it does not know.
    expect(await bed.codec.decode(topic, v2Record!.key, v2Record!.value, SAMPLE_NOW)).toEqual({
      ok: true,
      event: sampleOpportunity({ eventId: 'evt-v2', stage: 'CLOSED_LOST' }),
    });
    expect(await bed.codec.decode(topic, v1Record!.key, v1Record!.value, SAMPLE_NOW)).toEqual({
      ok: true,
      event: sampleOpportunity({ eventId: 'evt-v1' }),
    });

    // A v2 reader fills the field from its default for v1 records and reads it from v2 records.
    const serde = new AvroRegistrySerde(bed.registry);
    expect(await serde.deserializeAll([v1Record!.value!, v2Record!.value!], v2Reader)).toMatchObject([
      { ok: true, record: { eventId: 'evt-v1', lossReason: null } },
      { ok: true, record: { eventId: 'evt-v2', lossReason: 'price' } },
    ]);
    // The ids read and written name what they named: a registry that kept its data is never taken for one that lost it
    // (the scorer would drop every schema and log an error every SCHEMA_ID_CHECK_INTERVAL_MS).
    expect(await bed.codec.verifySchemaIds()).toEqual([]);
    expect(await serde.verifySchemaIds()).toEqual([]);
  });

  it('is what a newly started producer writes with', async () => {
    const topic = bed.topicOf('opportunity');
    const v2Id = await bed.registry.getId(valueSubject(topic), { schemaType: 'AVRO', schema: V2 });
    // A fresh client: a running one keeps the latest version it saw until its cache TTL expires.
    const codec = createEventCodec({
      registry: { baseURLs: [testStack().schemaRegistryUrl] },
      topics: bed.topics,
      reportingCurrency: 'USD',
      maxFutureSkewMs: 0,
    });
    try {
      expect((await codec.encode(topic, sampleOpportunity())).readInt32BE(1)).toBe(v2Id);
    } finally {
      codec.close();
    }
  });
});

describe('an incompatible change', () => {
  const refusal = async (schema: string) => {
    const error = await bed.register(valueSubject(bed.topicOf('contract')), schema).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestError);
    return error as RestError;
  };

  it('is refused (409) when it adds a required field without a default', async () => {
    const schema = JSON.parse(withOptionalField('contract', 'region')) as { fields: Array<Record<string, unknown>> };
    schema.fields[schema.fields.length - 1] = { name: 'region', type: 'string', doc: 'Required, no default.' };
    const error = await refusal(JSON.stringify(schema));
    expect(error.status).toBe(409);
    expect(error.message).toMatch(/incompatible/i);
    expect(error.message).toMatch(/region/);
  });

  it('is refused (409) when it changes a field’s type', async () => {
    const error = await refusal(withFieldType('contract', 'totalValue', 'string'));
    expect(error.status).toBe(409);
    expect(error.message).toMatch(/incompatible/i);
    expect(error.message).toMatch(/STRING not compatible with writer type: DOUBLE/);
  });
});
