// The instances' clocks decide windows, due times, leases and the outputs' timestamps, so a scorer whose machine clock
// disagrees with Redis's TIME (the clock every instance shares) by more than MAX_CLOCK_SKEW_MS must not score: an
// outside tester's scorer an hour ahead had every output refused by the brokers and crash-looped, one a month ahead
// opened alerts "in the future" for every customer, and one stepped back left its group while reporting ready.
import { sampleActivity, sampleContract } from '@churnscore/events/testing';
import { Liveness } from '@churnscore/observability';
import { ClockSkewError } from '@churnscore/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ManualClock, ScorerTestBed } from './support';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

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

describe('two instances a minute apart at a midnight, within MAX_CLOCK_SKEW_MS', () => {
  const bed = new ScorerTestBed('clock-midnight');
  const midnight = Date.UTC(2026, 2, 10);
  const customerId = 'midnight-co';
  beforeAll(() => bed.setUp(1));
  afterAll(() => bed.tearDown());

  it("the one behind does not undo the day the other scored the customer into (an outside tester's alerts opened and resolved)", async () => {
    // Scored just past midnight by the instance ahead: the meeting of six days before yesterday has left the 7-day window.
    const ahead = await bed.startScorer({ clock: new ManualClock(midnight + 300).now });
    await bed.publish([
      sampleContract({ customerId, eventId: 'c1', occurredAt: midnight - 200 * DAY, startDate: midnight - 200 * DAY, endDate: midnight + 300 * DAY }),
      sampleActivity({ customerId, eventId: 'm1', activityType: 'MEETING', value: null, occurredAt: midnight - 7 * DAY + 12 * HOUR }),
      sampleActivity({ customerId, eventId: 'm2', activityType: 'MEETING', value: null, occurredAt: midnight - 2 * DAY }),
    ]);
    await eventually(() => bed.scoreHash(customerId), (score) => Number(score.revision) === 3, 60_000, 'the events scored');
    const scoredAhead = await bed.scoreHash(customerId);
    expect((await bed.insights(customerId))?.activity.MEETING?.d7).toBe(1);
    await bed.stopScorer(ahead);

    // The next event goes to the instance 57 s behind, whose clock is still on the day before.
    await bed.startScorer({ clock: new ManualClock(midnight - 57_000).now });
    await bed.publish([sampleActivity({ customerId, eventId: 'e1', activityType: 'EMAIL_RECEIVED', value: null, occurredAt: midnight - 60_000 })]);
    await eventually(() => bed.scoreHash(customerId), (score) => Number(score.revision) === 4, 60_000, 'the email scored');
    const scoredBehind = await bed.scoreHash(customerId);
    expect(Number(scoredBehind.asOf)).toBe(Number(scoredAhead.asOf) + 1);
    expect(Number(scoredBehind.computedAt)).toBeGreaterThanOrEqual(Number(scoredAhead.computedAt));
    const insights = await bed.insights(customerId);
    expect(insights?.activity.MEETING?.d7).toBe(1);
    expect(insights?.activity.EMAIL_RECEIVED?.d7).toBe(1);
  }, 120_000);
});
