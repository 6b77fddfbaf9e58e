import { MS_PER_DAY } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import { ONBOARDING_FLOOR, latentState, type LatentTrajectory } from './latent';

const trajectory: LatentTrajectory = {
  customerSinceDay: 1_000,
  termDays: 365,
  activityLevel: 1,
  rampDays: 100,
  driftPerYear: 0,
  driftFromDay: 1_000,
  dips: [{ fromDay: 1_200, days: 50, depth: 0.4 }],
  churnDay: 1_500,
  churnKind: 'CANCELLED',
  decline: { fromDay: 1_400, onset: 0.5, depth: 0.8, curve: 1, darkFromDay: 1_480 },
  disposition: { npsBaseline: 8, sentimentBaseline: 1, ticketPropensity: 1, dealPropensity: 1 },
};
const on = (day: number) => latentState({ latent: trajectory }, day * MS_PER_DAY + 12 * 3_600_000);

describe('latentState', () => {
  it('is inactive before the customer signs, ramps up through onboarding, and is steady after', () => {
    expect(on(999)).toMatchObject({ active: false, engagement: 0 });
    expect(on(1_000)).toMatchObject({ active: true, engagement: ONBOARDING_FLOOR, decline: 0, health: 1 });
    expect(on(1_050).engagement).toBeCloseTo(ONBOARDING_FLOOR + (1 - ONBOARDING_FLOOR) / 2);
    expect(on(1_150)).toMatchObject({ engagement: 1, decline: 0, dip: 0, health: 1 });
  });

  it('dips and recovers fully', () => {
    expect(on(1_225)).toMatchObject({ dip: 0.4, engagement: 0.6, health: 0.6, decline: 0 });
    expect(on(1_250)).toMatchObject({ dip: 0, engagement: 1, health: 1 });
  });

  it('declines from its onset towards its depth, goes dark, and is gone from the churn day on', () => {
    expect(on(1_399).decline).toBe(0);
    expect(on(1_400).decline).toBeCloseTo(0.4);
    expect(on(1_440).decline).toBeCloseTo(0.8 * (0.5 + 0.5 * 0.5));
    expect(on(1_440).engagement).toBeCloseTo(1 - 0.6);
    expect(on(1_480)).toMatchObject({ active: true, decline: 1, engagement: 0 });
    expect(on(1_500)).toMatchObject({ active: false, decline: 1, engagement: 0, health: 0 });
  });
});
