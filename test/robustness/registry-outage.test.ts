// SPEC §8: a schema registry outage pauses the scorer; it resumes without loss. A producer starts writing with a
// schema version the scorer has never seen while the registry cannot be reached (a TCP proxy in front of it, cut):
// the scorer must neither dead-letter the records (they are valid, the registry is down) nor fail for good, and
// once the registry is back it applies every one of them. Meanwhile its readiness says the registry holds it, and
// once the registry is back readiness says so, traffic or none.
import { loadConfig } from '@churnscore/config';
import { SAMPLE_NOW, sampleActivity } from '@churnscore/events/testing';
import { schemaSource, valueSubject } from '@churnscore/events';
import { createLogger, Liveness } from '@churnscore/observability';
import { defaultScoringConfig } from '@churnscore/scoring';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScorer, type RunningScorer } from '../../services/scorer/src/scorer';
import { testStack } from '../harness/stack';
import { dlqTotal, eventually, ManualClock, ScorerTestBed } from '../scorer/support';
import { TcpProxy } from './tcp-proxy';

const bed = new ScorerTestBed('registry-outage');
const CUSTOMER = 'registry-outage-customer';
const DURING = 5;

const registryUrl = new URL(testStack().schemaRegistryUrl);
const proxy = new TcpProxy({ host: registryUrl.hostname, port: Number(registryUrl.port) });
let scorer: RunningScorer;
const liveness = new Liveness();

const startBehindProxy = async (port: number) => {
  const proxied = new URL(registryUrl);
  proxied.port = String(port);
  return startScorer({
    config: loadConfig({ ...bed.env(), SCHEMA_REGISTRY_URL: proxied.toString().replace(/\/$/, '') }),
    scoring: defaultScoringConfig(),
    clock: new ManualClock(SAMPLE_NOW).now,
    httpPort: 0,
    logger: createLogger({ name: 'registry-outage-test', level: 'silent' }),
    liveness,
  });
};

let proxyPort: number;

beforeAll(async () => {
  await bed.setUp(1);
  proxyPort = await proxy.listen();
  scorer = await startBehindProxy(proxyPort);
});
afterAll(async () => {
  proxy.setCut(false);
  await scorer.stop();
  proxy.close();
  await bed.tearDown();
});

const revision = async () => Number((await bed.scoreHash(CUSTOMER)).revision ?? 0);
const readiness = async () => {
  const response = await fetch(`http://127.0.0.1:${scorer.httpPort}/readyz`);
  return { status: response.status, checks: ((await response.json()) as { checks: Record<string, boolean> }).checks };
};
const counted = async (outcome: string) =>
  (await scorer.metrics.events.get()).values.filter((value) => value.labels.outcome === outcome).reduce((sum, value) => sum + value.value, 0);

describe('a schema registry outage', () => {
  it('pauses the scorer on a writer schema it has not seen, and every record is applied once the registry is back', async () => {
    const topic = bed.topicOf('activity');
    const meeting = (i: number) => sampleActivity({ customerId: CUSTOMER, eventId: `outage-${i}`, activityType: 'MEETING', value: null, occurredAt: SAMPLE_NOW - (i + 1) * 60_000 });
    await bed.publish([meeting(0)]);
    await eventually(revision, (r) => r === 1, 30_000, 'the first event to be scored');
    expect(await readiness()).toMatchObject({ status: 200, checks: { registry: true } });

    // A new version of the writer schema (one more optional field), registered while the registry is up ...
    const v1 = avro.Type.forSchema(JSON.parse(schemaSource('activity')) as avro.Schema);
    const v2Schema = JSON.parse(schemaSource('activity')) as { fields: unknown[] };
    v2Schema.fields.push({ name: 'origin', type: ['null', 'string'], default: null });
    const v2 = avro.Type.forSchema(v2Schema as avro.Schema);
    const v2Id = await bed.register(valueSubject(topic), JSON.stringify(v2Schema));
    const header = Buffer.alloc(5);
    header.writeInt32BE(v2Id, 1);
    const records = await Promise.all(
      Array.from({ length: DURING }, async (_, i) => {
        const event = meeting(i + 1);
        const fields = v1.fromBuffer((await bed.codec.encode(topic, event)).subarray(5)) as Record<string, unknown>;
        return { key: CUSTOMER, value: Buffer.concat([header, v2.toBuffer({ ...fields, origin: 'crm-v2' })]) };
      }),
    );

    // ... and used while the scorer cannot reach it.
    proxy.setCut(true);
    await bed.produce(topic, records);
    // Long enough for the records to be fetched and their schema asked for, several times over.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(await revision()).toBe(1);
    expect(await dlqTotal(scorer)).toBe(0);
    expect(liveness.alive).toBe(true);
    // Held by the registry, the scorer says so: not ready, and why, as soon as its request has stalled (the registry
    // client retries a refused connection for up to seven seconds before it reports a failure).
    await eventually(readiness, (r) => r.status === 503 && r.checks.registry === false, 10_000, 'readiness to name the registry');

    proxy.setCut(false);
    await eventually(revision, (r) => r === 1 + DURING, 60_000, 'the records written during the outage to be scored');
    expect(await counted('applied')).toBe(1 + DURING);
    expect(await dlqTotal(scorer)).toBe(0);
    expect(liveness.alive).toBe(true);
    expect(await readiness()).toMatchObject({ status: 200, checks: { registry: true } });
  }, 120_000);

  it('reads ready again once the registry is back, with no record to decode or score to publish meanwhile', async () => {
    await scorer.stop();
    // Started while the registry cannot be reached: the start's check of the output schemas fails, and nothing arrives.
    proxy.setCut(true);
    scorer = await startBehindProxy(proxyPort);
    await eventually(readiness, (r) => r.status === 503 && r.checks.registry === false, 30_000, 'readiness to name the registry');
    // Until the start's request has failed for good (the client's retries end after about seven seconds): a retry
    // landing after the cut ends would be the answer that turns readiness back, which no request is here.
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    expect(await readiness()).toMatchObject({ status: 503, checks: { registry: false } });
    proxy.setCut(false);
    await eventually(readiness, (r) => r.status === 200 && r.checks.registry === true, 30_000, 'readiness once the registry is back');
    expect(liveness.alive).toBe(true);
  }, 120_000);
});
