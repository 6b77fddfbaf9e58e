import { RestError, type Client, type SchemaMetadata } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { AvroRegistrySerde, REGISTRY_STALLED_AFTER_MS, SchemaRegistryAccessRefusedError, SchemaRegistryError } from './registry-serde';
import { frame, unframe } from './wire-format';

const SCHEMA_ID = 7;
const SCHEMA = JSON.stringify({ type: 'record', name: 'Ping', fields: [{ name: 'n', type: 'int' }] });

/** A registry client answering the lookups the serde makes, each answer settled when the test says so. */
function deferredRegistry() {
  const lookups: { subject: string; settle: (outcome: SchemaMetadata | Error) => void }[] = [];
  const lookup = (subject: string) =>
    new Promise<SchemaMetadata>((resolve, reject) => {
      lookups.push({ subject, settle: (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)) });
    });
  const client = {
    getLatestSchemaMetadata: lookup,
    getBySubjectAndId: (_subject: string, id: number) => lookup(`id ${id}`),
    getAllSubjects: () => lookup('all subjects'),
  } as unknown as Client;
  return { client, lookups };
}
const latest: SchemaMetadata = { id: SCHEMA_ID, schema: SCHEMA, schemaType: 'AVRO', subject: 'pings-value', version: 1 };

describe('AvroRegistrySerde.serialize', () => {
  it('asks the registry client once for all the encodes issued while its answer is awaited', async () => {
    const { client, lookups } = deferredRegistry();
    const serde = new AvroRegistrySerde(client);
    const encoded = Promise.all(Array.from({ length: 500 }, (_, n) => serde.serialize('pings-value', { n })));
    expect(lookups.map((lookup) => lookup.subject)).toEqual(['pings-value']);
    lookups[0]!.settle(latest);
    const values = await encoded;
    expect(values.map((value) => unframe(value)?.schemaId)).toEqual(Array(500).fill(SCHEMA_ID));
  });

  it('asks again once the answer is in, so that the client cache and its expiry decide which schema is the latest', async () => {
    const { client, lookups } = deferredRegistry();
    const serde = new AvroRegistrySerde(client);
    const first = serde.serialize('pings-value', { n: 1 });
    lookups[0]!.settle(latest);
    await first;
    const second = serde.serialize('pings-value', { n: 2 });
    const other = serde.serialize('pongs-value', { n: 3 });
    expect(lookups.map((lookup) => lookup.subject)).toEqual(['pings-value', 'pings-value', 'pongs-value']);
    lookups[1]!.settle(latest);
    lookups[2]!.settle({ ...latest, subject: 'pongs-value' });
    await expect(Promise.all([second, other])).resolves.toHaveLength(2);
  });

  it('reports a failed lookup to every encode waiting on it, and the next encode tries again', async () => {
    const { client, lookups } = deferredRegistry();
    const serde = new AvroRegistrySerde(client);
    const waiting = [serde.serialize('pings-value', { n: 1 }), serde.serialize('pings-value', { n: 2 })];
    lookups[0]!.settle(new RestError('unavailable', 503, 50301));
    for (const encode of waiting) await expect(encode).rejects.toBeInstanceOf(SchemaRegistryError);
    const retried = serde.serialize('pings-value', { n: 3 });
    expect(lookups).toHaveLength(2);
    lookups[1]!.settle(latest);
    await expect(retried).resolves.toBeInstanceOf(Buffer);
  });

  it.each([
    [401, 'Unauthorized'],
    [403, 'Forbidden'],
  ])('tells a refusal of the credentials (%i) from an outage, naming the settings', async (status, message) => {
    const { client, lookups } = deferredRegistry();
    const encode = new AvroRegistrySerde(client).serialize('pings-value', { n: 1 });
    lookups[0]!.settle(new RestError(message, status, status * 100));
    const refusal = await encode.catch((error: unknown) => error);
    // Still a registry failure (the record is not at fault), but one waiting will not end.
    expect(refusal).toBeInstanceOf(SchemaRegistryAccessRefusedError);
    expect(refusal).toBeInstanceOf(SchemaRegistryError);
    expect((refusal as Error).message).toMatch(
      new RegExp(`^SCHEMA_REGISTRY_USERNAME, SCHEMA_REGISTRY_PASSWORD: the schema registry refused the credentials \\(HTTP ${status}: ${message}`),
    );
  });
});

describe('AvroRegistrySerde.registryAnswering', () => {
  it('turns false on a failed answer, or once a request has stayed open too long (the client retrying it), and true on the next answer', async () => {
    const { client, lookups } = deferredRegistry();
    let now = 1_000_000;
    const serde = new AvroRegistrySerde(client, () => now);
    const first = serde.serialize('pings-value', { n: 1 });
    now += REGISTRY_STALLED_AFTER_MS - 1;
    expect(serde.registryAnswering).toBe(true);
    now += 1;
    expect(serde.registryAnswering).toBe(false);
    lookups[0]!.settle(new RestError('unavailable', 503, 50301));
    await expect(first).rejects.toBeInstanceOf(SchemaRegistryError);
    expect(serde.registryAnswering).toBe(false);
    const second = serde.serialize('pings-value', { n: 2 });
    lookups[1]!.settle(latest);
    await second;
    expect(serde.registryAnswering).toBe(true);
  });

  it('is asked again by registryAnswers once the last answer was a failure, so that a registry back reads as answering with no traffic', async () => {
    const { client, lookups } = deferredRegistry();
    const serde = new AvroRegistrySerde(client);
    await expect(serde.registryAnswers()).resolves.toBe(true);
    // Answering: nothing asked.
    expect(lookups).toHaveLength(0);
    const failed = serde.serialize('pings-value', { n: 1 });
    lookups[0]!.settle(new RestError('unavailable', 503, 50301));
    await expect(failed).rejects.toBeInstanceOf(SchemaRegistryError);
    // Still down: the question fails, and concurrent readiness checks share it.
    const whileDown = [serde.registryAnswers(), serde.registryAnswers()];
    expect(lookups.map((lookup) => lookup.subject)).toEqual(['pings-value', 'all subjects']);
    lookups[1]!.settle(new RestError('unavailable', 503, 50301));
    await expect(Promise.all(whileDown)).resolves.toEqual([false, false]);
    // Back: the next check asks again and finds it answering; nothing was published meanwhile.
    const back = serde.registryAnswers();
    lookups[2]!.settle(latest);
    await expect(back).resolves.toBe(true);
    expect(serde.registryAnswering).toBe(true);
  });

  it('stays true while the registry answers a queue of lookups, however long the last of them waits', async () => {
    const { client, lookups } = deferredRegistry();
    let now = 1_000_000;
    const serde = new AvroRegistrySerde(client, () => now);
    const type = avro.Type.forSchema(JSON.parse(SCHEMA) as avro.Schema);
    // A batch naming three schema ids the registry does not hold: one lookup each, answered one after another.
    const batch = serde.deserializeAll([90, 91, 92].map((id) => frame(id, type.toBuffer({ n: id }))), type);
    for (const lookup of lookups) {
      now += REGISTRY_STALLED_AFTER_MS - 1;
      lookup.settle(new RestError('not found', 404, 40403));
      await Promise.resolve();
      expect(serde.registryAnswering).toBe(true);
    }
    await batch;
    expect(serde.registryAnswering).toBe(true);
  });
});

describe('AvroRegistrySerde.deserialize', () => {
  it('asks the registry client once for a writer schema that a whole batch of records names before it is known', async () => {
    const { client, lookups } = deferredRegistry();
    const serde = new AvroRegistrySerde(client);
    const type = avro.Type.forSchema(JSON.parse(SCHEMA) as avro.Schema);
    const values = (from: number) => Array.from({ length: 500 }, (_, n) => frame(SCHEMA_ID, type.toBuffer({ n: from + n })));
    // Two batches at once (a unit's partitions are decoded together), and a record not in the wire format.
    const decoded = Promise.all([serde.deserializeAll([...values(0), Buffer.from('{}')], type), serde.deserializeAll(values(500), type)]);
    expect(lookups.map((lookup) => lookup.subject)).toEqual([`id ${SCHEMA_ID}`]);
    lookups[0]!.settle(latest);
    const [first, second] = await decoded;
    expect(first!.at(-1)).toMatchObject({ ok: false, rejection: { reason: 'NOT_WIRE_FORMAT' } });
    expect([...first!.slice(0, -1), ...second!].map((read) => (read.ok ? read.record : read))).toEqual(Array.from({ length: 1000 }, (_, n) => ({ n })));
    await serde.deserializeAll(values(0), type);
    expect(lookups).toHaveLength(1);
  });

  it('rejects a value nested deeper than can be read as such, not as a corrupt one', async () => {
    const { client, lookups } = deferredRegistry();
    const serde = new AvroRegistrySerde(client);
    const reader = avro.Type.forSchema(JSON.parse(SCHEMA) as avro.Schema);
    // A writer whose extra field is a linked list (recursive, and skipped by the reader), 200,000 links long.
    const writer = JSON.stringify({
      type: 'record',
      name: 'Ping',
      fields: [{ name: 'n', type: 'int' }, { name: 'chain', type: { type: 'record', name: 'Link', fields: [{ name: 'next', type: ['null', 'Link'] }] } }],
    });
    const links = 200_000;
    const body = Buffer.concat([reader.toBuffer({ n: 1 }), Buffer.alloc(links, 2), Buffer.from([0])]);
    const read = serde.deserializeAll([frame(SCHEMA_ID, body)], reader);
    lookups[0]!.settle({ ...latest, schema: writer });
    const [result] = await read;
    expect(result).toMatchObject({ ok: false, rejection: { reason: 'AVRO_DECODE_FAILED', message: expect.stringContaining('nests values deeper than can be read') } });
  });

  it('rejects each record naming a schema id the registry does not hold, and asks again for the next batch', async () => {
    const { client, lookups } = deferredRegistry();
    const serde = new AvroRegistrySerde(client);
    const type = avro.Type.forSchema(JSON.parse(SCHEMA) as avro.Schema);
    const batch = () => serde.deserializeAll([frame(99, type.toBuffer({ n: 1 })), frame(99, type.toBuffer({ n: 2 }))], type);
    const first = batch();
    lookups[0]!.settle(new RestError('not found', 404, 40403));
    expect((await first).map((read) => (read.ok ? read : read.rejection.reason))).toEqual(['UNKNOWN_SCHEMA_ID', 'UNKNOWN_SCHEMA_ID']);
    // The registry answered (the id is not there): nothing holds the scorer.
    expect(serde.registryAnswering).toBe(true);
    void batch();
    expect(lookups).toHaveLength(2);
  });
});
