// SPEC §8: the scorer killed with SIGKILL mid-stream (no graceful stop, offsets of durable-but-recent
// work uncommitted) and restarted counts no event twice and loses none, and its outputs end with what Redis holds.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { InputEvent } from '@churnscore/domain';
import { sampleActivity } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ScorerTestBed } from './support';

const CUSTOMERS = 30;
const EVENTS_PER_CUSTOMER = 40;
const DAY = 86_400_000;

const bed = new ScorerTestBed('crash');
const children: ChildProcess[] = [];

/** `npm run scorer` as its own process, as an operator would run it. */
function startScorerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/scorer/src/main.ts'], {
    // Small units of work (chunks of 10, one partition's at a time rather than the batches of 24 partitions merged),
    // so that the kill lands in the middle of the stream rather than after it: with the three partitions merged, the
    // last three quarters took less than the 150 ms between two looks at the progress on a quick CI run.
    env: { ...process.env, ...bed.env(), SCORER_CHUNK_SIZE: '10', SCORER_MAX_CHUNK_SIZE: '10', SCORER_CONCURRENT_PARTITIONS: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

const customerIds = Array.from({ length: CUSTOMERS }, (_, i) => `crash-${i}`);
const now = Date.now();
const events: InputEvent[] = customerIds.flatMap((customerId) =>
  Array.from({ length: EVENTS_PER_CUSTOMER }, (_, i) =>
    sampleActivity({ customerId, eventId: `${customerId}-${i}`, activityType: 'MEETING', value: null, occurredAt: now - (i % 25) * DAY }),
  ),
);

const appliedTotal = async () =>
  (await bed.store.readCustomers(customerIds, Date.now())).reduce((sum, snapshot) => sum + snapshot.state.revision, 0);
/** Events reflected in committed scores (the score is written after the events are applied). */
const scoredTotal = async () =>
  (await bed.store.readCustomers(customerIds, Date.now())).reduce((sum, snapshot) => sum + (snapshot.score?.revision ?? 0), 0);

beforeAll(() => bed.setUp(3));
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await bed.tearDown();
});

describe('a scorer killed mid-stream and restarted', () => {
  it('counts no event twice and loses none', async () => {
    await bed.publish(events);
    const first = startScorerProcess();
    await eventually(appliedTotal, (applied) => applied >= events.length / 4, 90_000, 'a quarter of the events to be applied');
    first.kill('SIGKILL');
    await once(first, 'exit');
    const appliedAtKill = await appliedTotal();
    expect(appliedAtKill).toBeLessThan(events.length);

    startScorerProcess();
    await eventually(scoredTotal, (scored) => scored === events.length, 120_000, 'every event to be applied and scored');
    expect(await appliedTotal()).toBe(events.length);
    const snapshots = await bed.store.readCustomers(customerIds, Date.now());
    for (const snapshot of snapshots) {
      expect(snapshot.state.revision).toBe(EVENTS_PER_CUSTOMER);
      const meetings = snapshot.state.activityDays.filter((bucket) => bucket.type === 'MEETING').reduce((sum, b) => sum + b.count, 0);
      expect(meetings).toBe(EVENTS_PER_CUSTOMER);
      expect((await bed.insights(snapshot.customerId))?.activity.MEETING.d30).toBe(EVENTS_PER_CUSTOMER);
    }
    // Scores committed but not yet published when the process died are published by the next one (the outbox).
    await bed.expectSubscriberEndsWithRedis(customerIds, Date.now());
  });
});
