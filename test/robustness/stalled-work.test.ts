// The stall watch (SCORER_STALL_LIMIT_MS) fails the liveness, so that the process exits and is restarted, only when a
// unit of work has run past the limit while every dependency answers: stuck, not waiting. A Redis that holds the
// scorer's writes (CLIENT PAUSE … WRITE, as a failover or an operator pauses it) is waited out: the unit's apply script
// waits, and so does the readiness's PING behind it on the same connection, so the watch sees a dependency that does
// not answer and lets the unit wait; once Redis takes writes again the unit completes. (A unit stuck with Redis and
// the brokers answering, the case the watch exits for, has no outside cause to stage here: packages/observability's
// stall-watch.test.ts and the consumer's and the time-driven loop's tests cover it.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleActivity, SAMPLE_NOW } from '@churnscore/events/testing';
import { STATE_FIELD } from '@churnscore/state';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis } from '../scorer/private-redis';
import { eventually, ManualClock, RecordingLiveness, ScorerTestBed } from '../scorer/support';

const STALL_LIMIT_MS = 2_000;
/** Held far longer than the test waits: the test ends the pause itself. */
const PAUSE_MS = 60_000;
const workDir = mkdtempSync(join(tmpdir(), 'stalled-work-'));
let redis: PrivateRedis;
let admin: Redis;
let bed: ScorerTestBed;


const meeting = (n: number) => sampleActivity({ customerId: 'stuck-1', eventId: `stuck-1-${n}`, activityType: 'MEETING', value: null });

beforeAll(async () => {
  ({ redis, admin } = await PrivateRedis.running(join(workDir, 'data')));
  bed = new ScorerTestBed('stalled-work', `redis://127.0.0.1:${redis.port}`);
  await bed.setUp(1);
});
afterAll(async () => {
  await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
  admin.disconnect();
  await bed.tearDown();
  await redis.kill();
  rmSync(workDir, { recursive: true, force: true });
});

describe('a unit of work waiting for a Redis that holds writes', () => {
  it('is waited out past SCORER_STALL_LIMIT_MS, not reported as stuck, and completes once Redis takes writes again', async () => {
    const liveness = new RecordingLiveness();
    // No time-driven round during the test: the unit of work is the only piece in flight.
    await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now, liveness, settings: { stallLimitMs: STALL_LIMIT_MS, rescorePollIntervalMs: 3_600_000 } });
    await bed.publish([meeting(1)]);
    // Read with a plain HGET on a connection of its own: the store's read script would wait for the pause too.
    const revision = async () => Number(await admin.hget(bed.keys.customer('stuck-1').state, STATE_FIELD.revision));
    await eventually(revision, (applied) => applied === 1, 60_000, 'the first event to be applied');

    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
    expect(await admin.ping()).toBe('PONG');
    await bed.publish([meeting(2)]);
    // Five times the limit, the watch looking every tenth of it.
    await new Promise((resolve) => setTimeout(resolve, 5 * STALL_LIMIT_MS));
    expect(await revision()).toBe(1);
    expect(liveness.reasons).toEqual([]);

    await admin.call('CLIENT', 'UNPAUSE');
    await eventually(revision, (applied) => applied === 2, 60_000, 'the second event to be applied once Redis takes writes');
    expect(liveness.reasons).toEqual([]);
    expect(liveness.alive).toBe(true);
  }, 120_000);
});
