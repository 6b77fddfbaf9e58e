// Issue 9, items 9 and 12: the scorer's logs are JSON lines only and hold no secret and no customer data,
// whatever goes wrong. The scorer runs as its own process (`npm run scorer`) and everything it writes to
// stdout and stderr is checked: a wrong Redis password, scripts Redis refuses to run (NOPERM), a Redis
// that cannot be reached, and the routine rebalances of a consumer group.
import type { InputEvent } from '@churnscore/domain';
import { sampleActivity, sampleOpportunity } from '@churnscore/events/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { anHourAgo, testStack, uniqueName } from '../harness/stack';
import { freePort } from '../scorer/private-redis';
import { eventually, ScorerTestBed } from '../scorer/support';
import { statusWithin, TestResources, type ServiceProcess } from './service-process';

const bed = new ScorerTestBed('logs');
const resources = new TestResources();
const startScorer = (env: Record<string, string>): ServiceProcess => resources.startService('scorer', { ...bed.env(), ...env });

/** The stack's Redis, logged into as `user` with `password`. */
function redisUrlAs(user: string, password: string): string {
  const url = new URL(testStack().redisUrl);
  url.username = user;
  url.password = password;
  return url.toString();
}

const errorLines = (scorer: ServiceProcess) => scorer.records().filter((record) => record.level === 'error' || record.level === 'fatal');

beforeAll(() => bed.setUp(2), 60_000);
afterEach(() => resources.release());
afterAll(() => bed.tearDown());

describe('a scorer given a wrong Redis password', () => {
  it('refuses to start with JSON lines only, naming REDIS_URL and never printing the password', async () => {
    const password = uniqueName('wrong-password');
    const scorer = startScorer({ REDIS_URL: redisUrlAs('logs-nobody', password) });
    expect(await scorer.exitWithin(30_000)).toEqual({ code: 78, signal: null });
    expect(scorer.nonJsonLines()).toEqual([]);
    expect(scorer.output).not.toContain(password);
    expect(scorer.records().at(-1)).toMatchObject({ level: 'fatal', reason: expect.stringMatching(/^REDIS_URL: Redis refused the login \(WRONGPASS/) });
  }, 60_000);
});

describe('a scorer whose scripts Redis refuses to run (an ACL user without scripting)', () => {
  it('logs the refusal as JSON lines holding no customer id, no event data and no password', async () => {
    const user = uniqueName('logs-no-scripting');
    const password = uniqueName('password');
    await bed.redis.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all', '-@scripting');
    resources.onCleanup(() => bed.redis.call('ACL', 'DELUSER', user));
    const customerIds = Array.from({ length: 6 }, (_, i) => uniqueName(`logs-customer-${i}`));
    const amount = 987_654_321;
    const events: InputEvent[] = customerIds.flatMap((customerId) => [
      sampleActivity({ customerId, eventId: `${customerId}-meeting`, activityType: 'MEETING', value: null, occurredAt: anHourAgo() }),
      sampleOpportunity({ customerId, eventId: `${customerId}-opportunity`, amount, occurredAt: anHourAgo() }),
    ]);
    await bed.publish(events);

    const scorer = startScorer({ REDIS_URL: redisUrlAs(user, password), LOG_LEVEL: 'info' });
    await scorer.waitForLine((line) => line.includes('NOPERM'), 90_000, 'a refused script to be logged');
    // A few more rounds of kafkajs retrying the batch.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await scorer.kill();

    expect(scorer.nonJsonLines()).toEqual([]);
    for (const customerId of customerIds) expect(scorer.output).not.toContain(customerId);
    expect(scorer.output).not.toContain(String(amount));
    expect(scorer.output).not.toContain(password);
  }, 150_000);
});

describe('a scorer that cannot reach Redis', () => {
  it('logs the connection errors as rate-limited JSON lines, and stops at once on SIGTERM', async () => {
    const port = await freePort();
    const httpPort = await freePort();
    const scorer = startScorer({ REDIS_URL: `redis://127.0.0.1:${port}`, HTTP_PORT: String(httpPort), LOG_LEVEL: 'info' });
    await scorer.waitForLine((line) => line.includes('"dependency":"redis"'), 60_000, 'a Redis connection error to be logged');
    await eventually(() => statusWithin(`http://127.0.0.1:${httpPort}/readyz`, 2_000), (status) => status === 503, 60_000, 'readiness to say not ready');
    // Meanwhile the client retried several times (backoff from 100 ms up to 5 s).
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    scorer.signal('SIGTERM');
    expect(await scorer.exitWithin(5_000)).toEqual({ code: 0, signal: null });

    expect(scorer.nonJsonLines()).toEqual([]);
    const connectionErrors = scorer.records().filter((record) => record.dependency === 'redis');
    expect(connectionErrors).toHaveLength(1);
    expect(connectionErrors[0]).toMatchObject({ level: 'error', err: { code: 'ECONNREFUSED' } });
  }, 120_000);
});

describe('routine rebalances of the consumer group', () => {
  it('are not logged as errors', async () => {
    const groupId = uniqueName('logs-rebalance');
    const [firstPort, secondPort] = [await freePort(), await freePort()];
    const first = startScorer({ CONSUMER_GROUP: groupId, HTTP_PORT: String(firstPort) });
    const ready = (port: number) =>
      eventually(() => statusWithin(`http://127.0.0.1:${port}/readyz`, 1_500), (status) => status === 200, 60_000, `readiness on port ${port}`);
    await ready(firstPort);
    // A second member joins (every member re-joins), then leaves (again).
    const second = startScorer({ CONSUMER_GROUP: groupId, HTTP_PORT: String(secondPort) });
    await ready(secondPort);
    await ready(firstPort);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    second.signal('SIGTERM');
    expect(await second.exitWithin(20_000)).toEqual({ code: 0, signal: null });
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await ready(firstPort);
    first.signal('SIGTERM');
    expect(await first.exitWithin(20_000)).toEqual({ code: 0, signal: null });

    for (const scorer of [first, second]) {
      expect(scorer.nonJsonLines()).toEqual([]);
      expect(errorLines(scorer)).toEqual([]);
    }
  }, 180_000);
});
