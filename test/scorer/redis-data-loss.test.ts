// SPEC §8: Redis may lose its last writes (append-only file fsynced every second, or a failover to a replica
// that lagged). Here a private Redis is replaced mid-stream by a copy of its own data taken a moment
// earlier, as a lagging replica would be: the writes after the copy are gone. Events keep arriving for the
// same customers and partitions, so the scorer meets the replica with later offsets in hand: it must not
// apply them on top of the gap (their watermark would make the lost events look redelivered), must notice
// (Redis's identity changed), re-consume from its committed offsets, and end with every event counted
// exactly once.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InputEvent } from '@churnscore/domain';
import { sampleActivity } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningScorer } from '../../services/scorer/src/scorer';
import { freePort, PrivateRedis } from './private-redis';
import { eventually, ScorerTestBed } from './support';

const CUSTOMERS = 20;
const EVENTS_PER_CUSTOMER = 50;
const DAY = 86_400_000;

const workDir = mkdtempSync(join(tmpdir(), 'redis-data-loss-'));
let redis: PrivateRedis;
let bed: ScorerTestBed;
let scorer: RunningScorer;

const now = Date.now();
const customerIds = Array.from({ length: CUSTOMERS }, (_, i) => `lossy-${i}`);
/** Each customer's events in three stretches: applied before the copy, applied after it (lost), and sent to the replica. */
const stretch = (from: number, to: number): InputEvent[] =>
  customerIds.flatMap((customerId) =>
    Array.from({ length: to - from }, (_, j) => {
      const i = from + j;
      return sampleActivity({ customerId, eventId: `${customerId}-${i}`, activityType: 'CALL', value: null, occurredAt: now - (i % 20) * DAY });
    }),
  );
const beforeCopy = stretch(0, 20);
const lost = stretch(20, 35);
const afterFailover = stretch(35, EVENTS_PER_CUSTOMER);
const snapshots = () => bed.store.readCustomers(customerIds, Date.now());
const appliedTotal = async () => (await snapshots()).reduce((sum, s) => sum + s.state.revision, 0);

beforeAll(async () => {
  redis = new PrivateRedis(await freePort());
  await redis.start(join(workDir, 'live'));
  bed = new ScorerTestBed('redis-data-loss', `redis://127.0.0.1:${redis.port}`);
  await bed.setUp(3);
  // Small chunks: the stream takes long enough to be cut in the middle.
  scorer = await bed.startScorer();
});
afterAll(async () => {
  await bed.tearDown();
  await redis.kill();
  rmSync(workDir, { recursive: true, force: true });
});

describe('Redis losing its last writes under load', () => {
  it('loses no event and counts none twice', async () => {
    await bed.publish(beforeCopy);
    await eventually(appliedTotal, (applied) => applied === beforeCopy.length, 60_000, 'the first stretch to be applied');

    // The "replica": a copy of the data as it is now. The live server takes the next stretch (well within the
    // fsync grace, so none of its offsets can be committed yet), then dies.
    cpSync(join(workDir, 'live'), join(workDir, 'replica'), { recursive: true });
    await bed.publish(lost);
    await eventually(appliedTotal, (applied) => applied === beforeCopy.length + lost.length, 2_000, 'the second stretch to be applied');
    await redis.kill();
    await redis.start(join(workDir, 'replica'));
    await bed.publish(afterFailover);

    // Applied and scored, both: a shortfall in `applied` is a lost event, one in `scored` only slowness.
    await eventually(
      async () => {
        const all = await snapshots();
        return { applied: all.reduce((sum, s) => sum + s.state.revision, 0), scored: all.reduce((sum, s) => sum + (s.score?.revision ?? 0), 0) };
      },
      ({ scored }) => scored === CUSTOMERS * EVENTS_PER_CUSTOMER,
      150_000,
      'every event to be applied and scored (an event whose offset was committed but whose effect was lost never comes back)',
    );
    for (const snapshot of await snapshots()) {
      expect(snapshot.state.revision).toBe(EVENTS_PER_CUSTOMER);
      expect(snapshot.state.activityDays.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(EVENTS_PER_CUSTOMER);
    }
    expect((await scorer.metrics.rewinds.get()).values[0]?.value ?? 0).toBeGreaterThanOrEqual(1);
  }, 200_000);
});
