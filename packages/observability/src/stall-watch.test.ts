import { describe, expect, it } from 'vitest';
import { InFlightWork, StallWatch } from './stall-watch';

const LIMIT_MS = 300_000;

function setUp(answering: () => Promise<boolean>) {
  let now = 0;
  const clock = () => now;
  const inFlight = new InFlightWork(clock);
  const reasons: string[] = [];
  const watch = new StallWatch({ work: [{ name: 'a unit of work', inFlight }], limitMs: LIMIT_MS, dependenciesAnswer: () => answering(), onStalled: (reason) => reasons.push(reason), now: clock });
  let finish = () => {};
  const work = inFlight.track(() => new Promise<void>((resolve) => (finish = resolve)));
  return { inFlight, watch, reasons, advance: (ms: number) => (now += ms), finish: async () => (finish(), await work) };
}

describe('StallWatch', () => {
  it('says the work is stuck once a piece has run past the limit while every dependency answers, once', async () => {
    const { inFlight, watch, reasons, advance } = setUp(async () => true);
    advance(LIMIT_MS);
    expect(inFlight.oldestRunningMs()).toBe(LIMIT_MS);
    await watch.checkNow();
    expect(reasons).toEqual([]);
    advance(1);
    await watch.checkNow();
    await watch.checkNow();
    expect(reasons).toEqual(['a unit of work has run for more than 300 s while every dependency answers: it is stuck']);
  });

  it('waits while a dependency does not answer (an outage the work waits out), or cannot be asked', async () => {
    for (const answering of [async () => false, async () => Promise.reject(new Error('ECONNREFUSED'))]) {
      const { watch, reasons, advance } = setUp(answering);
      advance(10 * LIMIT_MS);
      await watch.checkNow();
      expect(reasons).toEqual([]);
    }
  });

  it('gives work that waited out an outage the whole limit again once the dependencies answer: it has its work to finish', async () => {
    let up = false;
    const { watch, reasons, advance } = setUp(async () => up);
    advance(2 * LIMIT_MS);
    await watch.checkNow();
    up = true;
    advance(LIMIT_MS / 10);
    await watch.checkNow();
    advance(LIMIT_MS - LIMIT_MS / 10);
    await watch.checkNow();
    expect(reasons).toEqual([]);
    // Still in flight a whole limit after the last look that found a dependency down: stuck.
    advance(1);
    await watch.checkNow();
    expect(reasons).toEqual(['a unit of work has run for more than 300 s while every dependency answers: it is stuck']);
  });

  it('does not ask the dependencies while no work is in flight', async () => {
    let asked = 0;
    const { watch, finish } = setUp(async () => ((asked += 1), true));
    await watch.checkNow();
    expect(asked).toBe(1);
    await finish();
    await watch.checkNow();
    expect(asked).toBe(1);
  });

  it('forgets work that finished: nothing in flight is never stuck', async () => {
    const { inFlight, watch, reasons, advance, finish } = setUp(async () => true);
    advance(LIMIT_MS / 2);
    await finish();
    advance(LIMIT_MS);
    expect(inFlight.oldestRunningMs()).toBeNull();
    await watch.checkNow();
    expect(reasons).toEqual([]);
  });
});
