// Issue 9, the operations items, each as an operator meets it: a scorer whose consumer stops for good
// (the process must exit, liveness red first), SIGTERM while joining the group (item 13), the group
// taking over a killed scorer's partitions (item 13), a missing input topic (item 15), readiness when
// Redis hangs and a refused Redis login (item 11), a read API that is secure by default (item 14), and the
// Redis ACL permissions docs/operations.md lists.
// The services run as their own processes (`npm run scorer`, `npm run api`) where the behaviour is the
// process's, and in-process where an endpoint is what is checked.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Writable } from 'node:stream';
import { loadConfig } from '@churnscore/config';
import { sampleActivity, sampleCustomer, sampleOpportunity } from '@churnscore/events/testing';
import { createLogger, Liveness, type Logger } from '@churnscore/observability';
import { defaultScoringConfig } from '@churnscore/scoring';
import { DEFAULT_PREFIX, KEY_CONTRACT_VERSION, STATE_FIELD, trimResolvedAlerts, type RedisClient } from '@churnscore/state';
import { Kafka, logLevel, PartitionAssigners, type Consumer, type PartitionAssigner } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../services/api/src/index';
import { startScorer } from '../../services/scorer/src/scorer';
import { customerKeysPattern } from '../harness/customer-keys';
import { anHourAgo, createRedisClient, createTopics, deleteTopics, testStack, uniqueName } from '../harness/stack';
import { scanAll } from '../state/fixtures';
import { freePort } from '../scorer/private-redis';
import { eventually, ScorerTestBed } from '../scorer/support';
import { statusWithin, TestResources, type ServiceProcess } from './service-process';

const TOKEN = 'operations-test-token-0123456789';
const bed = new ScorerTestBed('operations');
const resources = new TestResources();
const startService = (service: 'scorer' | 'api', env: Record<string, string>): ServiceProcess => resources.startService(service, { ...bed.env(), ...env });

/** The read API in-process over this bed, with `settings` on top of its environment; stopped after the test. */
async function startApiWith(settings: Record<string, string>, logger: Logger = createLogger({ name: 'operations-test', level: 'silent' })): Promise<RunningApi> {
  const api = await startApi({ config: loadConfig({ ...bed.env(), ...settings }), scoring: defaultScoringConfig(), logger, port: 0 });
  resources.onCleanup(() => api.stop());
  return api;
}

/** A logger whose lines the test reads. */
function capturedLogger(name: string) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ name, level: 'info', destination }), lines };
}

/** A TCP server that accepts connections and never answers: a Redis that hangs. */
async function silentServer(): Promise<{ url: string; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  resources.onCleanup(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { url: `redis://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

async function readyWithin(port: number, timeoutMs: number): Promise<void> {
  await eventually(() => statusWithin(`http://127.0.0.1:${port}/readyz`, 1_500), (status) => status === 200, timeoutMs, `readiness on port ${port}`);
}

beforeAll(() => bed.setUp(2), 60_000);
afterEach(() => resources.release());
afterAll(() => bed.tearDown());

describe('a scorer whose Kafka consumer stops for good', () => {
  // Another application's member in the scorer's group, with a partition assignor the scorer does not
  // speak: the broker refuses the scorer's join with INCONSISTENT_GROUP_PROTOCOL, which kafkajs does not
  // retry. Its consumer is then gone for good, whatever the process does.
  async function groupHeldByAForeignMember(): Promise<string> {
    const groupId = uniqueName('operations-foreign-group');
    const foreignAssigner: PartitionAssigner = (config) => ({ ...PartitionAssigners.roundRobin(config), name: 'ForeignAssigner' });
    const kafka = new Kafka({ clientId: 'foreign-application', brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING });
    const foreign: Consumer = kafka.consumer({ groupId, partitionAssigners: [foreignAssigner] });
    const joined = new Promise((resolve) => foreign.on(foreign.events.GROUP_JOIN, resolve));
    await foreign.connect();
    await foreign.subscribe({ topics: [bed.topics.activity] });
    await foreign.run({ eachMessage: async () => undefined });
    await joined;
    resources.onCleanup(() => foreign.disconnect());
    return groupId;
  }

  it('turns liveness red (/healthz 503, with the reason)', async () => {
    const groupId = await groupHeldByAForeignMember();
    const scorer = await startScorer({
      config: loadConfig({ ...bed.env(), CONSUMER_GROUP: groupId }),
      scoring: defaultScoringConfig(),
      logger: createLogger({ name: 'operations-test', level: 'silent' }),
      liveness: new Liveness(),
      httpPort: 0,
    });
    resources.onCleanup(() => scorer.stop());
    const healthz = `http://127.0.0.1:${scorer.httpPort}/healthz`;
    await eventually(() => statusWithin(healthz, 1_000), (status) => status === 503, 30_000, '/healthz to turn red');
    expect(await (await fetch(healthz)).json()).toEqual({ status: 'failed', reason: 'the Kafka consumer stopped and will not restart' });
  }, 60_000);

  it('exits non-zero at once, saying why, so that a supervisor restarts it', async () => {
    const groupId = await groupHeldByAForeignMember();
    const scorer = startService('scorer', { CONSUMER_GROUP: groupId });
    expect(await scorer.exitWithin(45_000)).toEqual({ code: 1, signal: null });
    expect(scorer.nonJsonLines()).toEqual([]);
    expect(scorer.records().at(-1)).toMatchObject({
      level: 'fatal',
      reason: 'the Kafka consumer stopped and will not restart',
      msg: 'cannot go on: exiting so that a supervisor restarts the service',
    });
  }, 60_000);
});

describe('a scorer started while no broker answers', () => {
  it('answers its probes while it retries (alive, not ready: the consumer is in no group), and stops on SIGTERM', async () => {
    const [brokerPort, httpPort] = [await freePort(), await freePort()];
    const scorer = startService('scorer', { KAFKA_BROKERS: `127.0.0.1:${brokerPort}`, HTTP_PORT: String(httpPort) });
    await eventually(() => statusWithin(`http://127.0.0.1:${httpPort}/healthz`, 1_000), (status) => status === 200, 30_000, 'liveness to answer');
    const readiness = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2_000) });
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toEqual({ ready: false, checks: { redis: true, kafka: false, registry: true, work: true } });
    scorer.signal('SIGTERM');
    expect(await scorer.exitWithin(5_000)).toEqual({ code: 0, signal: null });
    expect(scorer.nonJsonLines()).toEqual([]);
  }, 60_000);
});

describe('the consumer group', () => {
  it('stops a scorer cleanly (exit 0) on SIGTERM while it is still joining the group', async () => {
    const groupId = uniqueName('operations-joining');
    const [firstPort, secondPort] = [await freePort(), await freePort()];
    // The first member is frozen once in the group, with a long session: the second one's join waits
    // for it to re-join (or time out), so the second scorer is joining for as long as this test needs.
    const first = startService('scorer', { CONSUMER_GROUP: groupId, HTTP_PORT: String(firstPort), KAFKA_SESSION_TIMEOUT_MS: '60000' });
    await readyWithin(firstPort, 60_000);
    first.signal('SIGSTOP');
    const second = startService('scorer', { CONSUMER_GROUP: groupId, HTTP_PORT: String(secondPort), LOG_LEVEL: 'info' });
    await eventually(() => statusWithin(`http://127.0.0.1:${secondPort}/healthz`, 1_000), (status) => status === 200, 60_000, 'the second scorer to start');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await statusWithin(`http://127.0.0.1:${secondPort}/readyz`, 2_000), 'still joining').toBe(503);

    second.signal('SIGTERM');
    expect(await second.exitWithin(5_000)).toEqual({ code: 0, signal: null });
    expect(second.nonJsonLines()).toEqual([]);
    expect(second.records().filter((record) => record.level === 'error' || record.level === 'fatal')).toEqual([]);
  }, 150_000);

  it("takes over a killed scorer's partitions within the default session timeout (10 s), not kafkajs' 30 s", async () => {
    const groupId = uniqueName('operations-takeover');
    const [firstPort, secondPort] = [await freePort(), await freePort()];
    const first = startService('scorer', { CONSUMER_GROUP: groupId, HTTP_PORT: String(firstPort) });
    await readyWithin(firstPort, 60_000);
    startService('scorer', { CONSUMER_GROUP: groupId, HTTP_PORT: String(secondPort) });
    await readyWithin(secondPort, 60_000);
    // Both members settled in the group: each holds some of the 2 × 4 input partitions.
    await eventually(() => statusWithin(`http://127.0.0.1:${firstPort}/readyz`, 1_500), (status) => status === 200, 30_000, 'the first scorer to re-join');
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    await first.kill();
    const killedAt = Date.now();
    const customerIds = Array.from({ length: 16 }, (_, i) => uniqueName(`takeover-${i}`));
    await bed.publish(
      customerIds.map((customerId) => sampleActivity({ customerId, eventId: `${customerId}-1`, activityType: 'MEETING', value: null, occurredAt: anHourAgo() })),
      (_event, index) => index % 2,
    );
    await eventually(
      () => bed.store.readCustomers(customerIds, Date.now()),
      (snapshots) => snapshots.every((snapshot) => snapshot.state.revision === 1),
      60_000,
      'every event to be applied by the remaining scorer',
    );
    expect(Date.now() - killedAt).toBeLessThan(22_000);
  }, 180_000);
});

describe('a scorer pointed at an input topic that does not exist', () => {
  it('refuses to start (exit 78) naming the setting, the topic and how to create it', async () => {
    const missing = uniqueName('operations.no-such-topic');
    const scorer = startService('scorer', { TOPIC_ACTIVITY: missing });
    expect(await scorer.exitWithin(45_000)).toEqual({ code: 78, signal: null });
    expect(scorer.nonJsonLines()).toEqual([]);
    const refusal = scorer.records().at(-1)!;
    expect(refusal).toMatchObject({ level: 'fatal', msg: 'refusing to start: fix the settings named in reason' });
    expect(refusal.reason).toContain(`TOPIC_ACTIVITY: topic "${missing}" does not exist`);
    expect(refusal.reason).toContain('npm run topics:provision');
    expect(refusal.reason).not.toContain('TOPIC_OPPORTUNITY');
  }, 60_000);
});

describe("a scorer whose output topics' schemas the registry cannot give", () => {
  it('refuses to start (exit 78) when an output topic has no schema registered, naming the subject and the command', async () => {
    const unregistered = uniqueName('operations.no-schema-score-changed');
    await createTopics([unregistered], 1);
    try {
      const scorer = startService('scorer', { TOPIC_SCORE_CHANGED: unregistered });
      expect(await scorer.exitWithin(45_000)).toEqual({ code: 78, signal: null });
      expect(scorer.nonJsonLines()).toEqual([]);
      expect(scorer.records().at(-1)).toMatchObject({ level: 'fatal', msg: 'refusing to start: fix the settings named in reason' });
      expect(scorer.records().at(-1)!.reason).toBe(`no schema is registered under subject ${unregistered}-value; register the schemas first (npm run schemas:register)`);
    } finally {
      await deleteTopics([unregistered]);
    }
  }, 60_000);

  it('refuses to start (exit 78) when TOPIC_SCORE_CHANGED and TOPIC_ALERTS are swapped, naming the settings', async () => {
    const { scoreChanged, alerts } = bed.topics;
    const scorer = startService('scorer', { TOPIC_SCORE_CHANGED: alerts, TOPIC_ALERTS: scoreChanged });
    expect(await scorer.exitWithin(45_000)).toEqual({ code: 78, signal: null });
    const { reason } = scorer.records().at(-1)!;
    expect(reason).toContain(`subject ${alerts}-value holds schema`);
    expect(reason).toContain('TOPIC_SCORE_CHANGED must name the topic of score-changed events, the schema of alert events');
    expect(reason).toContain('TOPIC_ALERTS must name the topic of alert events, the schema of score-changed events');
  }, 60_000);

  it('refuses to start (exit 78) naming SCHEMA_REGISTRY_URL when no registry API answers there (Apicurio without /apis/ccompat/v7)', async () => {
    const scorer = startService('scorer', { SCHEMA_REGISTRY_URL: new URL(testStack().schemaRegistryUrl).origin });
    expect(await scorer.exitWithin(45_000)).toEqual({ code: 78, signal: null });
    expect(scorer.records().at(-1)).toMatchObject({
      level: 'fatal',
      reason: 'SCHEMA_REGISTRY_URL: no Confluent-compatible schema registry API answers there (GET /subjects: 404); Apicurio Registry serves it under /apis/ccompat/v7',
    });
  }, 60_000);

  it('refuses to start (exit 78) when the registry refuses its credentials, naming the settings, never the password', async () => {
    const registry = createHttpServer((_request, response) => response.writeHead(401, { 'content-type': 'application/json' }).end('{"error_code":40101,"message":"Unauthorized"}'));
    registry.listen(0, '127.0.0.1');
    await once(registry, 'listening');
    resources.onCleanup(async () => {
      registry.closeAllConnections();
      registry.close();
    });
    const password = `registry-${uniqueName('secret')}`;
    const scorer = startService('scorer', {
      SCHEMA_REGISTRY_URL: `http://127.0.0.1:${(registry.address() as { port: number }).port}`,
      SCHEMA_REGISTRY_USERNAME: 'operations',
      SCHEMA_REGISTRY_PASSWORD: password,
    });
    expect(await scorer.exitWithin(45_000)).toEqual({ code: 78, signal: null });
    expect(scorer.output).not.toContain(password);
    expect(scorer.records().at(-1)).toMatchObject({
      level: 'fatal',
      reason: expect.stringMatching(/^SCHEMA_REGISTRY_USERNAME, SCHEMA_REGISTRY_PASSWORD: the schema registry refused the credentials \(HTTP 401/),
    });
  }, 60_000);

  it('starts when the registry does not answer, saying its output schemas are checked at the first publication', async () => {
    const registry = await silentServer();
    const port = await freePort();
    const scorer = startService('scorer', { SCHEMA_REGISTRY_URL: registry.url.replace('redis://', 'http://'), HTTP_PORT: String(port), LOG_LEVEL: 'info' });
    await eventually(() => statusWithin(`http://127.0.0.1:${port}/healthz`, 1_000), (status) => status === 200, 60_000, 'the scorer to listen');
    await eventually(
      () => Promise.resolve(scorer.records().map((record) => record.msg)),
      (messages) => messages.includes('scorer started'),
      30_000,
      'the scorer to start',
    );
    expect(scorer.records().map((record) => record.msg)).toContain(
      'the schema registry did not answer at start: its output schemas are checked at the first publication',
    );
  }, 90_000);
});

describe('readiness when Redis hangs', () => {
  it('the API answers /readyz 503 within two seconds, naming the check', async () => {
    const redis = await silentServer();
    const api = await startApiWith({ REDIS_URL: redis.url, API_TOKEN: TOKEN });
    const asked = Date.now();
    const response = await fetch(`${api.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
    expect(Date.now() - asked).toBeLessThan(2_000);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ ready: false, checks: { redis: false } });
    // A data route answers too, 503 after its read deadline, instead of waiting as long as Redis does.
    const data = await fetch(`${api.url}/api/v1/customers/acme`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(20_000) });
    expect(data.status).toBe(503);
    expect(await data.json()).toMatchObject({ statusCode: 503, message: expect.stringContaining('Redis did not answer') });
    // While that read is unanswered, the next request is told at once, without queueing a read behind it.
    const next = await fetch(`${api.url}/api/v1/alerts`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(20_000) });
    expect(next.status).toBe(503);
    expect(await next.json()).toMatchObject({ statusCode: 503, message: expect.stringContaining('Redis has not answered a read for more than 5 s') });
  }, 30_000);

  it('the scorer answers /readyz 503 within two seconds, and stops at once on SIGTERM', async () => {
    const redis = await silentServer();
    const port = await freePort();
    const scorer = startService('scorer', { REDIS_URL: redis.url, HTTP_PORT: String(port) });
    await eventually(() => statusWithin(`http://127.0.0.1:${port}/healthz`, 1_000), (status) => status === 200, 60_000, 'the scorer to listen');
    const asked = Date.now();
    expect(await statusWithin(`http://127.0.0.1:${port}/readyz`, 10_000)).toBe(503);
    expect(Date.now() - asked).toBeLessThan(2_000);
    // The log says so too: a Redis that hangs raises no connection error.
    await scorer.waitForLine((line) => line.includes('"readinessCheck":"redis"'), 15_000, 'the log to name Redis');
    expect(scorer.records().filter((record) => record.readinessCheck === 'redis')).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'a dependency does not answer: the work that needs it waits (readiness says not ready)' }),
    ]);
    scorer.signal('SIGTERM');
    expect(await scorer.exitWithin(5_000)).toEqual({ code: 0, signal: null });
  }, 90_000);
});

describe('a wrong Redis password', () => {
  it('makes the API refuse to start (exit 78) naming REDIS_URL, never the password, never "api started"', async () => {
    const secret = `wrong-${uniqueName('password')}`;
    const url = new URL(testStack().redisUrl);
    url.username = 'operations-nobody';
    url.password = secret;
    const api = startService('api', { REDIS_URL: url.toString(), API_TOKEN: TOKEN, API_PORT: String(await freePort()) });
    expect(await api.exitWithin(30_000)).toEqual({ code: 78, signal: null });
    expect(api.nonJsonLines()).toEqual([]);
    expect(api.output).not.toContain(secret);
    expect(api.records().map((record) => record.msg)).not.toContain('api started');
    expect(api.records().at(-1)).toMatchObject({ level: 'fatal', reason: expect.stringMatching(/^REDIS_URL: Redis refused the login \(WRONGPASS/) });
  }, 60_000);
});

// The machine's own address on a network interface: reachable from that network when listened on.
const networkAddress = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry !== undefined && entry.family === 'IPv4' && !entry.internal)?.address;

describe("the scorer's health and metrics server, secure by default", () => {
  it.skipIf(networkAddress === undefined)('listens on the loopback interface only, unless HTTP_HOST says otherwise', async () => {
    const [loopbackPort, everywherePort] = [await freePort(), await freePort()];
    startService('scorer', { HTTP_PORT: String(loopbackPort) });
    startService('scorer', { HTTP_PORT: String(everywherePort), HTTP_HOST: '0.0.0.0', CONSUMER_GROUP: uniqueName('operations-host'), REDIS_KEY_PREFIX: uniqueName('operations-host') });
    await eventually(() => statusWithin(`http://127.0.0.1:${loopbackPort}/healthz`, 1_000), (status) => status === 200, 60_000, 'the scorer to listen');
    expect(await statusWithin(`http://${networkAddress}:${loopbackPort}/metrics`, 5_000)).toBe('no answer');
    await eventually(() => statusWithin(`http://${networkAddress}:${everywherePort}/healthz`, 1_000), (status) => status === 200, 60_000, 'the other scorer to listen');
  }, 90_000);
});

describe('the read API, secure by default', () => {

  it.skipIf(networkAddress === undefined)('listens on the loopback interface only, unless told otherwise', async () => {
    const api = await startApiWith({ API_TOKEN: TOKEN });
    expect(await statusWithin(`http://127.0.0.1:${api.port}/healthz`, 5_000)).toBe(200);
    expect(await statusWithin(`http://${networkAddress}:${api.port}/healthz`, 5_000)).toBe('no answer');
  });

  it('refuses to start without API_TOKEN (exit 78), naming API_TOKEN and API_ALLOW_ANONYMOUS', async () => {
    const api = startService('api', { API_TOKEN: '', API_PORT: String(await freePort()) });
    expect(await api.exitWithin(30_000)).toEqual({ code: 78, signal: null });
    expect(api.nonJsonLines()).toEqual([]);
    expect(api.records().at(-1)).toMatchObject({ level: 'fatal', reason: expect.stringMatching(/API_TOKEN: required to serve customer data.*API_ALLOW_ANONYMOUS=true/) });
  }, 60_000);

  it('serves customer data without a token only with API_ALLOW_ANONYMOUS=true, and says so loudly at start', async () => {
    const { logger, lines } = capturedLogger('operations-test');
    const api = await startApiWith({ API_ALLOW_ANONYMOUS: 'true' }, logger);
    expect(await statusWithin(`${api.url}/api/v1/customers`, 5_000)).toBe(200);
    const warning = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((record) => record.level === 'warn');
    expect(warning?.msg).toMatch(/API_ALLOW_ANONYMOUS=true: every customer's data is served WITHOUT A TOKEN/);
  });

  it('refuses a client address that presented too many wrong tokens (429), the right token included, until the window ends', async () => {
    const api = await startApiWith({ API_TOKEN: TOKEN });
    const customers = `${api.url}/api/v1/customers`;
    expect(await statusWithin(customers, 5_000, { authorization: `Bearer ${TOKEN}` })).toBe(200);
    // Asking without a token (the dashboard's first request) guesses nothing and is not counted.
    for (let i = 0; i < 30; i += 1) expect(await statusWithin(customers, 5_000)).toBe(401);
    const statuses: Array<number | 'no answer'> = [];
    for (let i = 0; i < 25; i += 1) statuses.push(await statusWithin(customers, 5_000, { authorization: `Bearer wrong-token-${i}` }));
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(statuses.slice(20)).toEqual(Array(5).fill(429));
    const limited = await fetch(customers, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  });
});

describe('the Redis ACL permissions docs/operations.md lists', () => {
  /** A user on the stack's Redis with the rules of the documented `ACL SETUSER <documented>` line, on this bed's keys. */
  async function documentedUser(documented: string): Promise<string> {
    const line = readFileSync('docs/operations.md', 'utf8')
      .split('\n')
      .find((candidate) => candidate.startsWith(`ACL SETUSER ${documented} `));
    if (!line) throw new Error(`docs/operations.md lists no ACL SETUSER ${documented}`);
    const user = uniqueName(`operations-${documented}`);
    const password = uniqueName('password');
    const rules = line
      .split(' ')
      .slice(3)
      .map((rule) => (rule.startsWith('>') ? `>${password}` : rule === `~${DEFAULT_PREFIX}:*` ? `~${bed.prefix}:*` : rule));
    await bed.redis.call('ACL', 'SETUSER', user, ...rules);
    resources.onCleanup(() => bed.redis.call('ACL', 'DELUSER', user));
    const url = new URL(testStack().redisUrl);
    url.username = user;
    url.password = password;
    return url.toString();
  }

  it('let the scorer apply, score, re-score and erase, and the API serve what it wrote', async () => {
    const [scorerRedis, apiRedis] = [await documentedUser('churnscore-scorer'), await documentedUser('churnscore-api')];
    // A command the user may not run would show as a failed round or batch, retried: a warning at least.
    const scorerLog = capturedLogger('operations-test');
    const scorer = await startScorer({
      config: loadConfig({ ...bed.env(), REDIS_URL: scorerRedis }),
      scoring: defaultScoringConfig(),
      logger: scorerLog.logger,
      httpPort: 0,
    });
    resources.onCleanup(() => scorer.stop());
    const [kept, erased] = [uniqueName('acl-kept'), uniqueName('acl-erased')];
    await bed.publish([kept, erased].flatMap((customerId) => [
      sampleActivity({ customerId, eventId: `${customerId}-meeting`, activityType: 'MEETING', value: null, occurredAt: anHourAgo() }),
      sampleOpportunity({ customerId, eventId: `${customerId}-opportunity`, occurredAt: anHourAgo() }),
    ]));
    await eventually(() => Promise.all([kept, erased].map((id) => bed.scoreHash(id))), (hashes) => hashes.every((hash) => hash.revision === '2'), 60_000, 'both customers to be scored');
    await bed.publish([sampleCustomer({ customerId: erased, eventId: `${erased}-erase`, segment: null, erase: true, occurredAt: anHourAgo() })]);
    // Erased: only when the erasure occurred is left, in the state hash.
    const erasedState = bed.keys.customer(erased).state;
    await eventually(() => bed.scanKeys(customerKeysPattern(bed.keys, erased)), (keys) => keys.length === 1 && keys[0] === erasedState, 60_000, 'the erasure');
    expect(await bed.redis.hkeys(erasedState)).toEqual(['erasedTo']);
    expect(await statusWithin(`http://127.0.0.1:${scorer.httpPort}/readyz`, 5_000)).toBe(200);

    const api = await startApiWith({ REDIS_URL: apiRedis, API_TOKEN: TOKEN });
    const authorization = { authorization: `Bearer ${TOKEN}` };
    for (const path of ['/readyz', `/api/v1/customers/${kept}`, `/api/v1/customers/${kept}/history`, '/api/v1/customers', '/api/v1/alerts', '/api/v1/stats']) {
      expect(await statusWithin(`${api.url}${path}`, 5_000, authorization), path).toBe(200);
    }
    const complaints = scorerLog.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((record) => record.level !== 'info');
    expect(complaints).toEqual([]);

    // Sent only after a commit in which an alert resolved, which these customers have none of: run as the scorer's user.
    const asScorer = createRedisClient(scorerRedis);
    resources.onCleanup(() => asScorer.quit());
    await expect(trimResolvedAlerts(asScorer as unknown as RedisClient, bed.keys)).resolves.toBe(0);
  }, 120_000);
});

/** Waits until the consumer group has committed an offset on the bed's activity topic. */
async function untilGroupCommitted(groupId: string): Promise<void> {
  const admin = new Kafka({ brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const committed = async () =>
      (await admin.fetchOffsets({ groupId, topics: [bed.topics.activity] })).flatMap(({ partitions }) => partitions).some(({ offset }) => Number(offset) > 0);
    await eventually(committed, Boolean, 30_000, 'the group to commit the event');
  } finally {
    await admin.disconnect();
  }
}

describe('a scorer on an empty namespace whose consumer group has committed offsets', () => {
  it('refuses to start (exit 78) rather than score without the history before those offsets, naming both ways to rebuild', async () => {
    const groupId = uniqueName('operations-upgraded-group');
    const first = await startScorer({
      config: loadConfig({ ...bed.env(), CONSUMER_GROUP: groupId }),
      scoring: defaultScoringConfig(),
      logger: createLogger({ name: 'operations-test', level: 'silent' }),
      httpPort: 0,
    });
    await bed.publish([sampleActivity({ customerId: uniqueName('upgraded-customer'), occurredAt: anHourAgo() })]);
    await untilGroupCommitted(groupId);
    await first.stop();

    // What an upgrade to a new key contract version (or a Redis that lost its data) looks like: the same group, nothing in Redis.
    const prefix = uniqueName('operations-empty-namespace');
    const upgraded = startService('scorer', { CONSUMER_GROUP: groupId, REDIS_KEY_PREFIX: prefix });
    expect(await upgraded.exitWithin(45_000)).toEqual({ code: 78, signal: null });
    const refusal = upgraded.records().at(-1)!;
    expect(refusal).toMatchObject({ level: 'fatal', msg: 'refusing to start: fix the settings named in reason' });
    expect(refusal.reason).toContain(`the Redis namespace "${prefix}" holds no state, but consumer group "${groupId}" has committed offsets`);
    expect(refusal.reason).toContain('set a new CONSUMER_GROUP');
    expect(refusal.reason).toContain('--reset-offsets --to-earliest');

    // The namespace the group's offsets belong to still starts.
    const again = startService('scorer', { CONSUMER_GROUP: groupId });
    expect(await again.exitWithin(10_000)).toBe('running');
    again.signal('SIGTERM');
    expect(await again.exitWithin(30_000)).toEqual({ code: 0, signal: null });

    // The second way to rebuild: the group's offsets reset to the earliest, as kafka-consumer-groups.sh does.
    const admin = new Kafka({ brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      for (const topic of [bed.topics.activity, bed.topics.opportunity, bed.topics.contract, bed.topics.customer]) {
        await admin.resetOffsets({ groupId, topic, earliest: true });
      }
    } finally {
      await admin.disconnect();
    }
    const rebuilt = startService('scorer', { CONSUMER_GROUP: groupId, REDIS_KEY_PREFIX: prefix });
    expect(await rebuilt.exitWithin(10_000)).toBe('running');
  }, 120_000);
});

/** A scorer started on a namespace and consumer group of their own, with a Redis client to look into the namespace. */
function scorerOfItsOwn(name: string) {
  const groupId = uniqueName(`operations-${name}-group`);
  const prefix = uniqueName(`operations-${name}`);
  const settings = { CONSUMER_GROUP: groupId, REDIS_KEY_PREFIX: prefix };
  const redis = createRedisClient();
  resources.onCleanup(() => redis.quit());
  const scored = async (customerId: string) => (await redis.exists(`${prefix}:cust:{${customerId}}:score`)) === 1;
  return { groupId, prefix, settings, redis, scored, scorer: startService('scorer', settings) };
}

describe('a scorer on a namespace of an earlier key contract', () => {
  // An outside tester set REDIS_KEY_PREFIX=chs:v5 for a chs:v6 scorer: it started, and mixed both forms (2026-12-07).
  it('refuses to start (exit 78), naming the contract found and the replay that upgrades', async () => {
    const { prefix, settings, redis, scored, scorer } = scorerOfItsOwn('contract');
    const customerId = uniqueName('contract-customer');
    await bed.publish([sampleActivity({ customerId, occurredAt: anHourAgo() })]);
    await eventually(() => scored(customerId), Boolean, 45_000, 'the event to be scored');
    expect(await redis.get(`${prefix}:contract`)).toBe(KEY_CONTRACT_VERSION);
    scorer.signal('SIGTERM');
    expect(await scorer.exitWithin(30_000)).toEqual({ code: 0, signal: null });

    // What a namespace of chs:v5 or before looks like: claimed, with no contract recorded.
    await redis.del(`${prefix}:contract`);
    const refused = startService('scorer', settings);
    expect(await refused.exitWithin(45_000)).toEqual({ code: 78, signal: null });
    const refusal = refused.records().at(-1)!;
    expect(refusal.reason).toContain(`the Redis namespace "${prefix}" holds state of key contract chs:v5 or earlier, which this release (${KEY_CONTRACT_VERSION}) would misread`);
    expect(refusal.reason).toContain('Upgrading to a new contract version');

    // One claimed under the contract before this release's, which recorded it.
    await redis.set(`${prefix}:contract`, 'chs:v6');
    const refusedAgain = startService('scorer', settings);
    expect(await refusedAgain.exitWithin(45_000)).toEqual({ code: 78, signal: null });
    expect(refusedAgain.records().at(-1)!.reason).toContain(`holds state of key contract chs:v6, which this release (${KEY_CONTRACT_VERSION}) would misread`);
  }, 150_000);
});

describe('a scorer on a namespace with state, started on a consumer group that read further', () => {
  // An outside tester started a namespace's scorers on another namespace's group: the records between the two were
  // skipped without a word (2026-12-07).
  it('refuses to start (exit 78), naming the partition, both offsets and how to set the group back; set back, it applies them', async () => {
    const behind = scorerOfItsOwn('behind');
    const customerId = uniqueName('behind-customer');
    const revision = async () => Number((await behind.redis.hget(`${behind.prefix}:cust:{${customerId}}:state`, STATE_FIELD.revision)) ?? 0);
    await bed.publish([sampleActivity({ customerId, eventId: uniqueName('first'), occurredAt: anHourAgo() })]);
    await eventually(revision, (applied) => applied === 1, 45_000, 'the first event to be applied');
    behind.scorer.signal('SIGTERM');
    expect(await behind.scorer.exitWithin(30_000)).toEqual({ code: 0, signal: null });

    // Another namespace's scorer reads on, with its own group, past an event the first namespace never saw.
    const ahead = scorerOfItsOwn('ahead');
    await bed.publish([sampleActivity({ customerId, eventId: uniqueName('second'), activityType: 'MEETING', value: null, occurredAt: anHourAgo() })]);
    await eventually(async () => (await ahead.redis.hget(`${ahead.prefix}:cust:{${customerId}}:state`, STATE_FIELD.revision)) === '2', Boolean, 45_000, 'both events applied in the other namespace');
    ahead.scorer.signal('SIGTERM');
    expect(await ahead.scorer.exitWithin(30_000)).toEqual({ code: 0, signal: null });

    const wrongGroup = { ...behind.settings, CONSUMER_GROUP: ahead.groupId };
    const refused = startService('scorer', wrongGroup);
    expect(await refused.exitWithin(45_000)).toEqual({ code: 78, signal: null });
    const refusal = refused.records().at(-1)!;
    expect(refusal.reason).toContain(`consumer group "${ahead.groupId}" has committed input partition ${bed.topics.activity}/`);
    expect(refusal.reason).toContain('were never applied here and would be skipped');
    expect(refusal.reason).toContain('--reset-offsets --to-offset');
    // The group's offsets also say whose they are: the other namespace's.
    expect(refusal.reason).toContain(`consumer group "${ahead.groupId}" holds offsets committed by the scorers of namespace "${ahead.prefix}" (`);
    expect(await revision()).toBe(1);

    // As the refusal says: the group's offsets set back to where the namespace consumed each partition to (a reset
    // forgets whose they were).
    const consumedTo = await behind.redis.hgetall(`${behind.prefix}:inputs`);
    const admin = new Kafka({ brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      for (const topic of [bed.topics.activity, bed.topics.opportunity, bed.topics.contract, bed.topics.customer]) {
        const partitions = Object.entries(consumedTo)
          .filter(([field]) => field.startsWith(`${topic}:`))
          .map(([field, offset]) => ({ partition: Number(field.slice(field.lastIndexOf(':') + 1)), offset }));
        if (partitions.length > 0) await admin.setOffsets({ groupId: ahead.groupId, topic, partitions });
      }
    } finally {
      await admin.disconnect();
    }
    const setBack = startService('scorer', wrongGroup);
    await eventually(revision, (applied) => applied === 2, 45_000, 'the skipped event to be applied');
    setBack.signal('SIGTERM');
    expect(await setBack.exitWithin(30_000)).toEqual({ code: 0, signal: null });

    // The group is now the first namespace's: the other one's scorers, though at the head, are refused on it (an
    // outside tester's scorer of another namespace let into a running group took 733 events from it).
    const intruder = startService('scorer', ahead.settings);
    expect(await intruder.exitWithin(45_000)).toEqual({ code: 78, signal: null });
    expect(intruder.records().at(-1)!.reason).toContain(`consumer group "${ahead.groupId}" holds offsets committed by the scorers of namespace "${behind.prefix}" (`);
  }, 180_000);
});

describe('a scorer whose Redis namespace loses its whole data set while it runs', () => {
  it('exits non-zero at once rather than re-consume into an empty store, and a restart then refuses the namespace', async () => {
    const { groupId, prefix, settings, redis, scored, scorer } = scorerOfItsOwn('flushed');
    const customerId = uniqueName('flushed-customer');
    await bed.publish([sampleActivity({ customerId, eventId: uniqueName('first'), occurredAt: anHourAgo() })]);
    await eventually(() => scored(customerId), Boolean, 45_000, 'the first event to be scored');
    await untilGroupCommitted(groupId);

    // The namespace's data set is lost (a flush of this namespace only: the stack's Redis is shared).
    const keys = await scanAll(redis, `${prefix}:*`);
    await redis.unlink(...keys);
    await bed.publish([sampleActivity({ customerId, eventId: uniqueName('second'), occurredAt: anHourAgo() })]);
    expect(await scorer.exitWithin(45_000)).toEqual({ code: 1, signal: null });
    expect(scorer.records().at(-1)).toMatchObject({
      level: 'fatal',
      reason: expect.stringMatching(/^the Redis namespace lost its whole data set, .*customer histories are gone; restore Redis from a backup, or rebuild .*Replaying into a fresh namespace/),
    });

    const restarted = startService('scorer', settings);
    expect(await restarted.exitWithin(45_000)).toEqual({ code: 78, signal: null });
    // What the scorer wrote before it noticed makes replaying into the same namespace unsafe: it says so.
    expect(restarted.records().at(-1)!.reason).toContain(`the Redis namespace "${prefix}" holds customers scored after its data set was lost`);
    expect(restarted.records().at(-1)!.reason).toContain(`Delete its keys (SCAN MATCH ${prefix}:* and UNLINK) or set a new REDIS_KEY_PREFIX`);
  }, 120_000);
});
