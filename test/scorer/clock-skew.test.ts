// The instances' clocks decide windows, due times, leases and the outputs' timestamps, so a scorer whose machine clock
// disagrees with Redis's TIME (the clock every instance shares) by more than MAX_CLOCK_SKEW_MS must not score: an
// outside tester's scorer an hour ahead had every output refused by the brokers and crash-looped, one a month ahead
// opened alerts "in the future" for every customer, and one stepped back left its group while reporting ready.
import { Liveness } from '@churnscore/observability';
import { ClockSkewError } from '@churnscore/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ScorerTestBed } from './support';

const HOUR = 3_600_000;

describe("a scorer whose machine clock disagrees with Redis's", () => {
  const bed = new ScorerTestBed('clock-skew');
  beforeAll(() => bed.setUp(1));
  afterAll(() => bed.tearDown());

  it('refuses to start, naming MAX_CLOCK_SKEW_MS and by how much', async () => {
    const start = bed.startScorer({ wallClock: () => Date.now() + 2 * HOUR });
    await expect(start).rejects.toBeInstanceOf(ClockSkewError);
    await expect(start).rejects.toThrow(/^MAX_CLOCK_SKEW_MS: this machine's clock is 7200 s ahead of Redis's/);
  });

  it('stops (liveness fails) once its clock is stepped while it runs', async () => {
    let offsetMs = 0;
    const liveness = new Liveness();
    const scorer = await bed.startScorer({ wallClock: () => Date.now() + offsetMs, liveness });
    try {
      expect(liveness.alive).toBe(true);
      offsetMs = -5 * 60_000;
      await eventually(async () => liveness.alive, (alive) => !alive, 30_000, 'liveness to fail');
    } finally {
      await bed.stopScorer(scorer);
    }
  }, 60_000);
});
