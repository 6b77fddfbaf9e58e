// A Redis that cannot keep the scorer's state, as an operator meets one. Set to evict any key once full (a cache's
// `maxmemory-policy`), it would delete customers' state, and the events in it, without a word: the scorer refuses to
// start on it (exit 78) and stops (exit 1) when the policy is changed under it. Full under `noeviction`, it refuses
// every write until an operator gives it memory: until 2026-12-04 the scorer retried for ever, live and consuming
// nothing; it now stops (exit 1) naming REDIS_URL, and, started again once Redis has room, applies the event the
// refusal held back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleActivity } from '@churnscore/events/testing';
import { redisDataFull, STATE_FIELD } from '@churnscore/state';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { anHourAgo } from '../harness/stack';
import { PrivateRedis } from '../scorer/private-redis';
import { eventually, ScorerTestBed } from '../scorer/support';
import { TestResources } from './service-process';

const workDir = mkdtempSync(join(tmpdir(), 'redis-memory-'));
const resources = new TestResources();
let redis: PrivateRedis;
let admin: Redis;
let bed: ScorerTestBed;

const roomy = () => admin.config('SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction');

beforeAll(async () => {
  ({ redis, admin } = await PrivateRedis.running(join(workDir, 'data')));
  bed = new ScorerTestBed('redis-memory', `redis://127.0.0.1:${redis.port}`);
  await bed.setUp(1);
});
afterEach(async () => {
  // A failed case must not leave the next one a full or evicting Redis.
  await roomy();
  await resources.release();
});
afterAll(async () => {
  admin.disconnect();
  await bed.tearDown();
  await redis.kill();
  rmSync(workDir, { recursive: true, force: true });
});

const meetingOf = (customerId: string) => (n: number) => sampleActivity({ customerId, eventId: `${customerId}-${n}`, activityType: 'MEETING', value: null, occurredAt: anHourAgo() });
const revisionOf = (customerId: string) => async () => Number((await admin.hget(bed.keys.customer(customerId).state, STATE_FIELD.revision)) ?? 0);

describe('a Redis set to evict keys once full', () => {
  it('is refused at start (exit 78), naming REDIS_URL and the policy', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const scorer = resources.startService('scorer', bed.env());
    expect(await scorer.exitWithin(45_000)).toEqual({ code: 78, signal: null });
    expect(scorer.nonJsonLines()).toEqual([]);
    expect(scorer.records().at(-1)).toMatchObject({
      level: 'fatal',
      msg: 'refusing to start: fix the settings named in reason',
      reason: expect.stringMatching(/^REDIS_URL: Redis evicts keys without a TTL when it is full \(maxmemory-policy allkeys-lru\).*set maxmemory-policy to noeviction/),
    });
  }, 60_000);

  it('stops a running scorer (exit 1) once the policy is changed under it', async () => {
    const customerId = 'evicting-later';
    const scorer = resources.startService('scorer', bed.env());
    await bed.publish([meetingOf(customerId)(1)]);
    await eventually(revisionOf(customerId), (applied) => applied === 1, 60_000, 'the event to be applied');

    await admin.config('SET', 'maxmemory-policy', 'allkeys-lfu');
    // Looked at with the durability checks, every 10 s.
    expect(await scorer.exitWithin(30_000)).toEqual({ code: 1, signal: null });
    expect(scorer.records().at(-1)).toMatchObject({
      level: 'fatal',
      exitCode: 1,
      reason: expect.stringMatching(/^REDIS_URL: Redis evicts keys without a TTL when it is full \(maxmemory-policy allkeys-lfu\)/),
    });
    expect(scorer.output).not.toContain(customerId);
  }, 120_000);
});

describe('a Redis that is full', () => {
  it('stops the scorer (exit 1) naming REDIS_URL, and loses no event once it has room again', async () => {
    const customerId = 'full-redis';
    const meeting = meetingOf(customerId);
    const revision = revisionOf(customerId);
    const scorer = resources.startService('scorer', { ...bed.env(), LOG_LEVEL: 'info' });
    await bed.publish([meeting(1)]);
    await eventually(revision, (applied) => applied === 1, 60_000, 'the first event to be applied');

    // Below what it holds already: every write is refused from now on.
    await admin.config('SET', 'maxmemory', '1');
    await bed.publish([meeting(2)]);
    expect(await scorer.exitWithin(30_000)).toEqual({ code: 1, signal: null });
    const last = scorer.records().at(-1)!;
    expect(last).toMatchObject({ level: 'fatal', exitCode: 1 });
    expect(String(last.reason)).toMatch(/^REDIS_URL: Redis is full and refuses writes \(OOM command not allowed when used memory > 'maxmemory'/);
    expect(scorer.nonJsonLines()).toEqual([]);
    expect(scorer.output).not.toContain(customerId);
    expect(await revision()).toBe(1);

    await roomy();
    resources.startService('scorer', bed.env());
    await eventually(revision, (applied) => applied === 2, 60_000, 'the held-back event to be applied once Redis has room');
  }, 180_000);
});

describe('redisDataFull', () => {
  it("tells data past maxmemory from room left, and no limit from either", async () => {
    expect(await redisDataFull(admin)).toBe(false);
    const used = Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))![1]);
    await admin.config('SET', 'maxmemory', String(used * 4));
    expect(await redisDataFull(admin)).toBe(false);
    await admin.config('SET', 'maxmemory', String(Math.floor(used / 4)));
    expect(await redisDataFull(admin)).toBe(true);
  });
});
