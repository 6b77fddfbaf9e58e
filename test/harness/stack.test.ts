// Smoke test of the harness itself: the stack it provides is provisioned and usable, and the
// helpers give each test file its own topics and keys.
import { withEnumSymbol, withFieldType, withOptionalField } from '@churnscore/events/testing';
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

  it("holds the input topics' subjects to FULL_TRANSITIVE: a producer cannot register a version the running scorer cannot read", async () => {
    const { schemaRegistryUrl } = testStack();
    const configOf = async (subject: string) => ((await (await fetch(`${schemaRegistryUrl}/config/${subject}`)).json()) as { compatibilityLevel: string }).compatibilityLevel;
    const subjects = readSchemaFiles();
    expect(subjects.filter(({ compatibility }) => compatibility === 'FULL_TRANSITIVE').map(({ subject }) => subject.split('.')[1])).toEqual([
      'activity',
      'contract',
      'customer',
      'opportunity',
    ]);
    for (const { subject, compatibility } of subjects) expect(await configOf(subject)).toBe(compatibility ?? 'BACKWARD');

    // Checked without registering (POST /compatibility), so the shared subjects keep their versions.
    const { subject } = subjects.find(({ subject }) => subject.startsWith('crm.opportunity.'))!;
    const compatible = async (schema: string) => {
      const response = await fetch(`${schemaRegistryUrl}/compatibility/subjects/${subject}/versions/latest`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ schema }),
      });
      return ((await response.json()) as { is_compatible: boolean }).is_compatible;
    };
    // The scorer's reader reads no `long` as `int` (BACKWARD alone let a Python producer register it, and every record
    // written with it was dead-lettered); nor a writer that can hold null instead of the record.
    expect(await compatible(withFieldType('opportunity', 'openQuotes', ['null', 'long']))).toBe(false);
    expect(await compatible(JSON.stringify(['null', JSON.parse(withOptionalField('opportunity', 'lossReason'))]))).toBe(false);
    // What docs/events.md allows within v1 still registers.
    expect(await compatible(withOptionalField('opportunity', 'lossReason'))).toBe(true);
    expect(await compatible(withEnumSymbol('opportunity', 'stage', 'ON_HOLD'))).toBe(true);
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
