import type { InputEvent } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import { pumpEvents } from './pump';
import { createTokenBucket } from './rate-limiter';

const event = (n: number): InputEvent => ({ kind: 'customer', eventId: `e${n}`, customerId: `c${n % 3}`, occurredAt: n, source: 't', segment: null, erase: false });
const events = (count: number): InputEvent[] => Array.from({ length: count }, (_, n) => event(n));

describe('createTokenBucket', () => {
  it('starts empty, so that the first second sends no more than the rate, and waits off the debt of what a batch takes', async () => {
    let now = 0;
    const slept: number[] = [];
    const bucket = createTokenBucket({ ratePerSecond: 100, now: () => now, sleep: async (ms) => void slept.push(ms) });
    await bucket.acquire(100);
    expect(slept).toEqual([1000]);
    now += 1000;
    await bucket.acquire(50);
    expect(slept).toEqual([1000, 500]);
  });

  it("lets a burst of at most a second's worth through after a pause", async () => {
    let now = 0;
    const slept: number[] = [];
    const bucket = createTokenBucket({ ratePerSecond: 100, now: () => now, sleep: async (ms) => void slept.push(ms) });
    now += 5000;
    await bucket.acquire(100);
    expect(slept).toEqual([]);
    await bucket.acquire(50);
    expect(slept).toEqual([500]);
  });

  it('never waits without a limit', async () => {
    const bucket = createTokenBucket({ ratePerSecond: 0, sleep: () => Promise.reject(new Error('slept')) });
    await expect(bucket.acquire(1_000_000)).resolves.toBeUndefined();
  });
});

describe('pumpEvents', () => {
  it('delivers every event once, in order, in batches of at most the maximum', async () => {
    const batches: InputEvent[][] = [];
    const progress: number[] = [];
    const delivered = await pumpEvents({ events: events(1234), maxBatchSize: 500, onProgress: (n) => progress.push(n) }, async (batch) => {
      batches.push(batch);
    });
    expect(delivered).toBe(1234);
    expect(batches.map((batch) => batch.length)).toEqual([500, 500, 234]);
    expect(batches.flat()).toEqual(events(1234));
    expect(progress).toEqual([500, 1000, 1234]);
  });

  it('sizes batches to a tenth of a second under a rate limit and paces them', async () => {
    const sizes: number[] = [];
    const started = performance.now();
    await pumpEvents({ events: events(50), ratePerSecond: 100 }, async (batch) => void sizes.push(batch.length));
    expect(sizes).toEqual([10, 10, 10, 10, 10]);
    // No burst at the start: 50 events take half a second at 100 events/s.
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('stops taking events from an endless source once aborted, delivering what it took', async () => {
    const controller = new AbortController();
    function* endless(): Generator<InputEvent> {
      for (let n = 0; ; n += 1) yield event(n);
    }
    const seen: InputEvent[] = [];
    const delivered = await pumpEvents({ events: endless(), maxBatchSize: 10, signal: controller.signal }, async (batch) => {
      seen.push(...batch);
      if (seen.length >= 25) controller.abort();
    });
    expect(delivered).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(25);
    expect(seen.length).toBeLessThanOrEqual(31);
  });
});
