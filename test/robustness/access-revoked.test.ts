// A dependency that refuses the scorer's user while it runs gives the same answer to every retry: the scorer's liveness
// fails with the setting named and it exits (1, so that a supervisor restarts it), instead of a live process that
// retries for ever and consumes nothing, which is what it was until 2026-12-04 (kafkajs restarting its consumer every
// few seconds, the time-driven loop failing each round). Here an operator takes commands away from the scorer's Redis
// ACL user: the script call itself (NOPERM), or a command a script calls (refused inside the script). Once the
// operator gives them back, the scorer started again applies the event the refusal held back: nothing is lost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleActivity } from '@churnscore/events/testing';
import { loadConfig } from '@churnscore/config';
import { createLogger } from '@churnscore/observability';
import { capturingLogger } from '@churnscore/observability/testing';
import { defaultScoringConfig } from '@churnscore/scoring';
import { STATE_FIELD } from '@churnscore/state';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../services/api/src/index';
import { anHourAgo } from '../harness/stack';
import { PrivateRedis } from '../scorer/private-redis';
import { eventually, ScorerTestBed } from '../scorer/support';
import { TestResources } from './service-process';

const SCORER_USER = 'churnscore-scorer';
const SCORER_PASSWORD = 'access-revoked-password';
const workDir = mkdtempSync(join(tmpdir(), 'access-revoked-'));
let redis: PrivateRedis;
let admin: Redis;
let bed: ScorerTestBed;

const grantEverything = () => admin.call('ACL', 'SETUSER', SCORER_USER, 'on', `>${SCORER_PASSWORD}`, '~*', '&*', '+@all');

beforeAll(async () => {
  ({ redis, admin } = await PrivateRedis.running(join(workDir, 'data')));
  await grantEverything();
  bed = new ScorerTestBed('access-revoked', `redis://${SCORER_USER}:${SCORER_PASSWORD}@127.0.0.1:${redis.port}`);
  await bed.setUp(1);
});
afterAll(async () => {
  await grantEverything();
  admin.disconnect();
  await bed.tearDown();
  await redis.kill();
  rmSync(workDir, { recursive: true, force: true });
});

describe('a scorer whose Redis user loses permissions while it runs', () => {
  it.each([
    { taken: ['-evalsha', '-eval'], reply: /NOPERM this user has no permissions to run the 'eval(sha)?' command/ },
    // GET in a script (the apply's), or on its own (which model serves, asked beside each apply), whichever is refused first.
    { taken: ['-get'], reply: /ERR The user executing the script can't run this command|NOPERM this user has no permissions to run the 'get' command/ },
  ])('stops (exit 1) naming REDIS_URL when $taken is taken away, and loses no event', async ({ taken, reply }) => {
    const resources = new TestResources();
    try {
      const customerId = `revoked${taken.join('')}`;
      const meeting = (n: number) => sampleActivity({ customerId, eventId: `${customerId}-${n}`, activityType: 'MEETING', value: null, occurredAt: anHourAgo() });
      // Read with the administrator's connection: the scorer's user is the one refused.
      const revision = async () => Number((await admin.hget(bed.keys.customer(customerId).state, STATE_FIELD.revision)) ?? 0);

      const scorer = resources.startService('scorer', { ...bed.env(), LOG_LEVEL: 'info' });
      await bed.publish([meeting(1)]);
      await eventually(revision, (applied) => applied === 1, 60_000, 'the first event to be applied');

      await admin.call('ACL', 'SETUSER', SCORER_USER, ...taken);
      await bed.publish([meeting(2)]);
      expect(await scorer.exitWithin(30_000)).toEqual({ code: 1, signal: null });
      const last = scorer.records().at(-1)!;
      expect(last).toMatchObject({ level: 'fatal', exitCode: 1 });
      expect(String(last.reason)).toMatch(/^REDIS_URL: Redis refused the ACL user of the URL a command \(/);
      expect(String(last.reason)).toMatch(reply);
      expect(scorer.nonJsonLines()).toEqual([]);
      expect(scorer.output).not.toContain(SCORER_PASSWORD);
      expect(scorer.output).not.toContain(customerId);
      expect(await revision()).toBe(1);

      await grantEverything();
      resources.startService('scorer', bed.env());
      await eventually(revision, (applied) => applied === 2, 60_000, 'the held-back event to be applied once the permissions are back');
    } finally {
      // A failed case must not leave the next one refused.
      await grantEverything();
      await resources.release();
    }
  }, 180_000);
});

describe("a scorer whose Redis user lacks a command only a busy customer's dedupe window needs", () => {
  // A window of 16 KB or more grows by APPEND (since 2026-12-07) and has an index kept with SETBIT and its kin (since
  // that afternoon). An outside tester ran the scorer as a user of the ACL line before APPEND: the apply script had
  // written the events' counts and offsets before APPEND was refused, so their eventIds were never remembered, and the
  // scorer restarted took them for redeliveries.
  it.each(['append', 'setbit'])('stops (exit 1) having written nothing of the refused call, refuses to start without %s; given it, applies the call once and remembers its eventId', async (command) => {
    const resources = new TestResources();
    try {
      const customerId = `revoked-${command}-busy`;
      const call = (n: number) => sampleActivity({ customerId, eventId: `${customerId}-${n}`, activityType: 'CALL', value: null, occurredAt: anHourAgo() });
      const keys = bed.keys.customer(customerId);
      const revision = async () => Number((await admin.hget(keys.state, STATE_FIELD.revision)) ?? 0);
      const RECORD_BYTES = 11;
      const busy = 1_500; // 16.5 KB of window: past the length from which it grows by APPEND

      const running = resources.startService('scorer', { ...bed.env(), LOG_LEVEL: 'info' });
      await bed.publish(Array.from({ length: busy }, (_, n) => call(n)));
      await eventually(revision, (applied) => applied === busy, 90_000, 'the busy history to be applied');

      // Taken away while the scorer runs: the next apply of the busy customer is refused.
      await admin.call('ACL', 'SETUSER', SCORER_USER, `-${command}`);
      await bed.publish([call(busy)]);
      expect(await running.exitWithin(60_000)).toEqual({ code: 1, signal: null });
      expect(String(running.records().at(-1)!.reason)).toMatch(/^REDIS_URL: Redis refused the ACL user of the URL a command \(ERR The user executing the script can't run this command/);
      expect(await revision()).toBe(busy);
      expect(await admin.strlen(keys.seen)).toBe(busy * RECORD_BYTES);

      // Without it, a scorer does not start: a user of an older ACL line is found at the upgrade, not days later.
      const refused = resources.startService('scorer', { ...bed.env(), LOG_LEVEL: 'info' });
      expect(await refused.exitWithin(60_000)).toEqual({ code: 1, signal: null });
      const refusal = refused.records().at(-1)!;
      expect(refusal).toMatchObject({ level: 'fatal', msg: 'failed to start' });
      expect(JSON.stringify(refusal)).toMatch(new RegExp(`REDIS_URL: Redis refused the ACL user of the URL a command \\(NOPERM [^)]*'${command}'`));
      expect(await revision()).toBe(busy);

      await grantEverything();
      resources.startService('scorer', bed.env());
      await eventually(revision, (applied) => applied === busy + 1, 60_000, `the held-back event to be applied once ${command} is given back`);
      expect(await admin.strlen(keys.seen)).toBe((busy + 1) * RECORD_BYTES);
      // A copy of it is a duplicate; the event after it counts.
      await bed.publish([call(busy), call(busy + 1)]);
      await eventually(revision, (applied) => applied === busy + 2, 60_000, 'the event after the copy to be applied');
      expect(await admin.strlen(keys.seen)).toBe((busy + 2) * RECORD_BYTES);
    } finally {
      await grantEverything();
      await resources.release();
    }
  }, 240_000);
});

// The read API keeps serving what it may read, but a user whose reads were taken away makes every request fail: its
// readiness says so (PING, which such a user may still send, said it was ready), and says so no more once they are back.
describe("the read API whose Redis user loses its reads", () => {
  it('answers /readyz 503 naming redis while they are gone, and 200 again once they are back', async () => {
    const api = await startApi({
      config: loadConfig({ ...bed.env(), API_TOKEN: 'access-revoked-api-token-0123456789' }),
      scoring: defaultScoringConfig(),
      logger: createLogger({ name: 'access-revoked-test', level: 'silent' }),
      port: 0,
    });
    const readiness = async () => {
      const response = await fetch(`${api.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
      return { status: response.status, body: (await response.json()) as { checks: { redis: boolean } } };
    };
    try {
      expect(await readiness()).toMatchObject({ status: 200, body: { checks: { redis: true } } });
      await admin.call('ACL', 'SETUSER', SCORER_USER, '-@read');
      expect(await readiness()).toMatchObject({ status: 503, body: { checks: { redis: false } } });
      await grantEverything();
      expect(await readiness()).toMatchObject({ status: 200, body: { checks: { redis: true } } });
    } finally {
      await grantEverything();
      await api.stop();
    }
  }, 60_000);

  it("says the login is refused, in its log and its readiness, when the user's password changes while it runs", async () => {
    const { logger, lines } = capturingLogger('access-revoked-test', 'warn');
    const api = await startApi({
      config: loadConfig({ ...bed.env(), API_TOKEN: 'access-revoked-api-token-0123456789' }),
      scoring: defaultScoringConfig(),
      logger,
      port: 0,
    });
    const readiness = async () => {
      const response = await fetch(`${api.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    try {
      await admin.call('ACL', 'SETUSER', SCORER_USER, 'resetpass', '>another-password');
      // The API's connection is dropped, as a Redis restart drops it; its reconnection presents the old password.
      const clients = String(await admin.call('CLIENT', 'LIST'));
      for (const [, id] of clients.matchAll(/\bid=(\d+)\b[^\n]*\bname=churnscore-api\b/g)) await admin.call('CLIENT', 'KILL', 'ID', id!);
      await eventually(readiness, (ready) => ready.body.reason !== undefined, 20_000, 'readiness to name the refused login');
      expect(await readiness()).toMatchObject({
        status: 503,
        body: { ready: false, checks: { redis: false }, reason: expect.stringMatching(/^Redis refuses the login of REDIS_URL/) },
      });
      const refusal = lines.find((line) => line.msg?.startsWith('Redis refuses the login of REDIS_URL'));
      expect(refusal).toMatchObject({ level: 'error', dependency: 'redis', reply: expect.stringMatching(/^WRONGPASS/) });
      expect(lines.filter((line) => line.msg?.startsWith('connection error'))).toEqual([]);
      expect(JSON.stringify(lines)).not.toContain(SCORER_PASSWORD);
      await grantEverything();
      await eventually(readiness, (ready) => ready.status === 200, 20_000, 'readiness once the password is the URL\'s again');
      expect((await readiness()).body.reason).toBeUndefined();
    } finally {
      await grantEverything();
      await api.stop();
    }
  }, 60_000);
});
