// Smoke test of the harness itself: the stack it provides is provisioned and usable, and the
// helpers give each test file its own topics and keys.
import { afterAll, describe, expect, it } from 'vitest';
import { desiredTopics, provisionTopics, readSchemaFiles, silentReporter } from '../../infra/src/index';
import { createRedisClient, createTopics, deleteTopics, testStack, uniqueName } from './stack';

/**
 * A schema without its `doc` texts. A registry reused across runs (a developer's long-lived stack) keeps the doc of
 * the first registration of a schema that differs from a later one only in docs (Apicurio deduplicates by canonical
 * form), and docs change nothing on the wire; every other attribute, defaults included, must match.
 */
function withoutDocs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutDocs);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(Object.entries(schema).filter(([name]) => name !== 'doc').map(([name, value]) => [name, withoutDocs(value)]));
}

describe('test stack', () => {
  const ownTopics: string[] = [];
  const redis = createRedisClient();

  afterAll(async () => {
    await deleteTopics(ownTopics);
    redis.disconnect();
  });

  it('has every SPEC topic with its configured partitions and settings', async () => {
    const result = await provisionTopics(testStack().kafkaBrokers, { reporter: silentReporter });
    expect(result.created).toEqual([]);
    expect(result.drifted.size).toBe(0);
    expect(result.unchanged.sort()).toEqual(desiredTopics().map((topic) => topic.name).sort());
  });

  it('serves every registered schema back by its id (Confluent wire-format ids)', async () => {
    const { schemaRegistryUrl } = testStack();
    for (const { subject, schema } of readSchemaFiles()) {
      const latest = (await (await fetch(`${schemaRegistryUrl}/subjects/${subject}/versions/latest`)).json()) as { id: number };
      expect(Number.isInteger(latest.id)).toBe(true);
      const byId = (await (await fetch(`${schemaRegistryUrl}/schemas/ids/${latest.id}`)).json()) as { schema: string };
      expect(withoutDocs(JSON.parse(byId.schema))).toEqual(withoutDocs(JSON.parse(schema)));
    }
  });

  it('enforces BACKWARD compatibility globally', async () => {
    const config = (await (await fetch(`${testStack().schemaRegistryUrl}/config`)).json()) as { compatibilityLevel: string };
    expect(config.compatibilityLevel).toBe('BACKWARD');
  });

  it('creates uniquely named topics for a test file', async () => {
    const names = [uniqueName('harness'), uniqueName('harness')];
    expect(new Set(names).size).toBe(2);
    expect(names.every((name) => /^[A-Za-z0-9._-]+$/.test(name))).toBe(true);
    ownTopics.push(...names);
    await createTopics(names, 3);
    await createTopics(names, 3);
  });

  it('gives a working Redis client', async () => {
    const key = `${uniqueName('harness')}:probe`;
    await redis.set(key, 'ok', 'EX', 60);
    expect(await redis.get(key)).toBe('ok');
  });
});
