import { MockClient, RestError, type Client, type SchemaMetadata } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  AvroRegistrySerde,
  REGISTRY_STALLED_AFTER_MS,
  SchemaRegistryAccessRefusedError,
  SchemaRegistryError,
  UNKNOWN_SCHEMA_ID_REMEMBERED_MS,
  UNKNOWN_SCHEMA_IDS_LOOKED_UP_PER_BATCH,
} from './registry-serde';
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
  /** The `index`-th lookup, once the serde has made it (lookups of a batch's ids are made one after another). */
  const lookupNumber = async (index: number) => {
    while (lookups.length <= index) await new Promise((resolve) => setImmediate(resolve));
    return lookups[index]!;
  };
  return { client, lookups, lookupNumber };
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
    const { client, lookupNumber } = deferredRegistry();
    let now = 1_000_000;
    const serde = new AvroRegistrySerde(client, () => now);
    const type = avro.Type.forSchema(JSON.parse(SCHEMA) as avro.Schema);
    // A batch naming three schema ids the registry does not hold: one lookup each, answered one after another.
    const batch = serde.deserializeAll([90, 91, 92].map((id) => frame(id, type.toBuffer({ n: id }))), type);
    for (let index = 0; index < 3; index += 1) {
      const lookup = await lookupNumber(index);
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

  it('rejects each record naming a schema id the registry does not hold, takes it as unknown for a minute, then asks again', async () => {
    const { client, lookups, lookupNumber } = deferredRegistry();
    let now = 1_000_000;
    const serde = new AvroRegistrySerde(client, () => now);
    const type = avro.Type.forSchema(JSON.parse(SCHEMA) as avro.Schema);
    const batch = () => serde.deserializeAll([frame(99, type.toBuffer({ n: 1 })), frame(99, type.toBuffer({ n: 2 }))], type);
    const first = batch();
    (await lookupNumber(0)).settle(new RestError('not found', 404, 40403));
    expect((await first).map((read) => (read.ok ? read : read.rejection.reason))).toEqual(['UNKNOWN_SCHEMA_ID', 'UNKNOWN_SCHEMA_ID']);
    // The registry answered (the id is not there): nothing holds the scorer.
    expect(serde.registryAnswering).toBe(true);
    now += UNKNOWN_SCHEMA_ID_REMEMBERED_MS - 1;
    expect((await batch()).map((read) => (read.ok ? read : read.rejection.message))).toEqual(Array(2).fill('schema id 99 is not in the schema registry'));
    expect(lookups).toHaveLength(1);
    // A registry restored from a backup may hold it again.
    now += 1;
    const later = batch();
    (await lookupNumber(1)).settle({ ...latest, id: 99 });
    expect((await later).map((read) => read.ok)).toEqual([true, true]);
  });

  it("reads records of a writer schema whose defaults avsc would refuse: only the reader's defaults matter", async () => {
    const { client, lookupNumber } = deferredRegistry();
    const serde = new AvroRegistrySerde(client);
    const reader = avro.Type.forSchema(JSON.parse(SCHEMA) as avro.Schema);
    // The producer's schema as written with, and as registered: a registry accepts both defaults, a union's matching
    // its second branch and an enum's not among its symbols.
    const tier = { type: 'enum', name: 'Tier', symbols: ['GOLD'] };
    const writer = avro.Type.forSchema({ type: 'record', name: 'Ping', fields: [{ name: 'n', type: 'int' }, { name: 'region', type: ['string', 'null'] }, { name: 'tier', type: tier }] } as avro.Schema);
    const fields = [
      { name: 'n', type: 'int' },
      { name: 'region', type: ['string', 'null'], default: null },
      { name: 'tier', type: { ...tier, default: 'SILVER' }, default: 'SILVER' },
    ];
    const read = serde.deserializeAll([frame(SCHEMA_ID, writer.toBuffer({ n: 5, region: 'EMEA', tier: 'GOLD' }))], reader);
    (await lookupNumber(0)).settle({ ...latest, schema: JSON.stringify({ type: 'record', name: 'Ping', fields }) });
    expect((await read).map((result) => (result.ok ? result.record : result))).toEqual([{ n: 5 }]);
  });

  it('looks up the ids naming the most records first, and no more ids than a few the registry turns out not to hold', async () => {
    const { client, lookups, lookupNumber } = deferredRegistry();
    const serde = new AvroRegistrySerde(client);
    const type = avro.Type.forSchema(JSON.parse(SCHEMA) as avro.Schema);
    // A producer's records (schema SCHEMA_ID) among a flood of values that only look framed, each naming another id.
    const flood = Array.from({ length: 100 }, (_, n) => frame(1_000 + n, type.toBuffer({ n })));
    const good = Array.from({ length: 3 }, (_, n) => frame(SCHEMA_ID, type.toBuffer({ n })));
    const read = serde.deserializeAll([...flood.slice(0, 50), ...good, ...flood.slice(50)], type);
    (await lookupNumber(0)).settle(latest);
    for (let index = 1; index <= UNKNOWN_SCHEMA_IDS_LOOKED_UP_PER_BATCH; index += 1) (await lookupNumber(index)).settle(new RestError('not found', 404, 40403));
    const results = await read;
    expect(lookups.map((lookup) => lookup.subject)).toEqual([`id ${SCHEMA_ID}`, ...Array.from({ length: UNKNOWN_SCHEMA_IDS_LOOKED_UP_PER_BATCH }, (_, n) => `id ${1_000 + n}`)]);
    expect(results.slice(50, 53).map((result) => (result.ok ? result.record : result))).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    const flooded = [...results.slice(0, 50), ...results.slice(53)];
    expect(flooded.every((result) => !result.ok && result.rejection.reason === 'UNKNOWN_SCHEMA_ID')).toBe(true);
    expect(flooded.at(-1)).toMatchObject({
      rejection: { message: `schema id 1099 was not looked up: this batch of records named ${UNKNOWN_SCHEMA_IDS_LOOKED_UP_PER_BATCH} other schema ids the schema registry does not hold` },
    });
  });
});

/**
 * A registry whose ids and latest versions the test sets, behind a client that caches what it answers as the library's
 * does (by id, and each subject's latest) until clearCaches; verifiers are clients of their own on the same registry.
 */
function resettableRegistry() {
  const registry = { byId: new Map<number, SchemaMetadata>(), latest: new Map<string, number>(), down: false };
  const cachingClient = () => {
    const byId = new Map<number, SchemaMetadata>();
    const latestCache = new Map<string, SchemaMetadata>();
    const ask = <K>(cache: Map<K, SchemaMetadata>, key: K, answer: () => SchemaMetadata | undefined): Promise<SchemaMetadata> => {
      const cached = cache.get(key);
      if (cached !== undefined) return Promise.resolve(cached);
      if (registry.down) return Promise.reject(new RestError('unavailable', 503, 50301));
      const found = answer();
      if (found === undefined) return Promise.reject(new RestError('not found', 404, 40403));
      cache.set(key, found);
      return Promise.resolve(found);
    };
    return {
      cleared: 0,
      getBySubjectAndId: (_subject: string, id: number) => ask(byId, id, () => registry.byId.get(id)),
      getLatestSchemaMetadata: (subject: string) => ask(latestCache, subject, () => registry.byId.get(registry.latest.get(subject) ?? -1)),
      clearCaches() {
        this.cleared += 1;
        byId.clear();
        latestCache.clear();
      },
    };
  };
  const client = cachingClient();
  const serde = new AvroRegistrySerde(client as unknown as Client, Date.now, () => cachingClient() as unknown as Client);
  return { registry, client, serde };
}

describe('AvroRegistrySerde.verifySchemaIds', () => {
  // The same record name, its symbols swapped: what a usage reading written with one reads as under the other.
  const kind = (symbols: string[]) => JSON.stringify({ type: 'record', name: 'Reading', fields: [{ name: 'kind', type: { type: 'enum', name: 'Kind', symbols } }] });
  const before = kind(['PRODUCT_USAGE', 'NPS_RESPONSE']);
  const after = kind(['NPS_RESPONSE', 'PRODUCT_USAGE']);
  const reader = avro.Type.forSchema(JSON.parse(before) as avro.Schema);
  const written = (schema: string, schemaId: number) => frame(schemaId, avro.Type.forSchema(JSON.parse(schema) as avro.Schema).toBuffer({ kind: 'PRODUCT_USAGE' }));
  const readKinds = async (serde: AvroRegistrySerde, values: Buffer[]) => (await serde.deserializeAll(values, reader)).map((read) => (read.ok ? read.record.kind : read.rejection.reason));

  it('drops the schemas cached by id once the registry gives an id another meaning, and reads the id as the registry now says', async () => {
    const { registry, serde } = resettableRegistry();
    registry.byId.set(7, { id: 7, schema: before, schemaType: 'AVRO' });
    expect(await readKinds(serde, [written(before, 7)])).toEqual(['PRODUCT_USAGE']);
    expect(await serde.verifySchemaIds()).toEqual([]);
    // The registry loses its data; a producer registers its schema again, and gets id 7.
    registry.byId.set(7, { id: 7, schema: after, schemaType: 'AVRO' });
    // Until the check, the cached meaning reads the usage reading as an NPS answer: the window SCHEMA_ID_CHECK_INTERVAL_MS bounds.
    expect(await readKinds(serde, [written(after, 7)])).toEqual(['NPS_RESPONSE']);
    expect(await serde.verifySchemaIds()).toEqual([7]);
    expect(await readKinds(serde, [written(after, 7)])).toEqual(['PRODUCT_USAGE']);
  });

  it('keeps the schema of an id the registry no longer holds: a registry restarted empty is filled again with the same ids', async () => {
    const { registry, serde } = resettableRegistry();
    registry.byId.set(7, { id: 7, schema: before, schemaType: 'AVRO' });
    await readKinds(serde, [written(before, 7)]);
    registry.byId.clear();
    expect(await serde.verifySchemaIds()).toEqual([]);
    // Before, the schema was dropped and the records naming the id dead-lettered UNKNOWN_SCHEMA_ID for a minute.
    expect(await readKinds(serde, [written(before, 7)])).toEqual(['PRODUCT_USAGE']);
    registry.byId.set(7, { id: 7, schema: before, schemaType: 'AVRO' });
    expect(await serde.verifySchemaIds()).toEqual([]);
  });

  it("writes outputs with the subject's schema as the registry now says once an id it wrote with changed meaning", async () => {
    const { registry, client, serde } = resettableRegistry();
    registry.byId.set(5, { id: 5, schema: SCHEMA, schemaType: 'AVRO' });
    registry.latest.set('pings-value', 5);
    expect(unframe(await serde.serialize('pings-value', { n: 1 }))?.schemaId).toBe(5);
    // Re-created: another producer's schema took id 5 first, this subject's got 8.
    registry.byId.set(5, { id: 5, schema: before, schemaType: 'AVRO' });
    registry.byId.set(8, { id: 8, schema: SCHEMA, schemaType: 'AVRO' });
    registry.latest.set('pings-value', 8);
    expect(await serde.verifySchemaIds()).toEqual([5]);
    expect(client.cleared).toBe(1);
    expect(unframe(await serde.serialize('pings-value', { n: 2 }))?.schemaId).toBe(8);
  });

  it("keeps every cache while the registry is away or unchanged: outputs are still written with each subject's latest schema known", async () => {
    const { registry, client, serde } = resettableRegistry();
    registry.byId.set(5, { id: 5, schema: SCHEMA, schemaType: 'AVRO' });
    registry.latest.set('pings-value', 5);
    await serde.serialize('pings-value', { n: 1 });
    expect(await serde.verifySchemaIds()).toEqual([]);
    registry.down = true;
    await expect(serde.verifySchemaIds()).rejects.toBeInstanceOf(SchemaRegistryError);
    expect(client.cleared).toBe(0);
    // Nothing the work needs failed: the registry check of readiness stays true.
    expect(serde.registryAnswering).toBe(true);
    expect(unframe(await serde.serialize('pings-value', { n: 2 }))?.schemaId).toBe(5);
  });
});

// The unit tests' codec (inMemoryEventCodec) stands on the library's mock; the real registry's case is test/events/evolution.test.ts.
describe('AvroRegistrySerde.verifySchemaIds with the library mock', () => {
  it("asks the mock itself, whose store is no cache: nothing changed, and nothing of it cleared", async () => {
    const client = new MockClient({ baseURLs: ['mock://verify'] });
    const id = await client.register('pings-value', { schemaType: 'AVRO', schema: SCHEMA });
    const serde = new AvroRegistrySerde(client);
    const type = avro.Type.forSchema(JSON.parse(SCHEMA) as avro.Schema);
    expect((await serde.deserializeAll([frame(id, type.toBuffer({ n: 1 }))], type)).map((read) => read.ok)).toEqual([true]);
    expect(await serde.verifySchemaIds()).toEqual([]);
    expect(await serde.verifySchemaIds()).toEqual([]);
  });
});
