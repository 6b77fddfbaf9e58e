import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utcDay, type CustomerState } from '@churnscore/domain';
import { CHURN_FEATURE_NAMES, churnFeatureDirection, type ChurnFeatureName } from './churn';
import { BASELINE_RISK_SIGNALS, churnFeatureValue, churnRiskOf, churnSnapshot } from './churn-features';
import { defaultScoringConfig } from './config';
import { computeInsights } from './insights';
import { scoreCustomer } from './score';
import { DAY, NOW, RETENTION, TODAY, bucket, contract, emptyState, healthyState, silentFor, stateArbitrary, ticket } from './test-fixtures';

const config = defaultScoringConfig();

describe('churnSnapshot', () => {
  it('gives the health, feature values and churn risk the scorer publishes, the features unrounded', () => {
    fc.assert(
      fc.property(stateArbitrary, (state) => {
        const insights = computeInsights(state, NOW, RETENTION);
        const score = scoreCustomer(insights, null, config, NOW);
        const snapshot = churnSnapshot(insights, config, NOW);
        expect(snapshot.health).toBe(score.health);
        expect(churnRiskOf(config.churn, snapshot)).toBe(score.churnRisk);
        const modelled = CHURN_FEATURE_NAMES.filter((feature) => config.churn.coefficients[feature] !== undefined);
        const features = modelled.map((feature) => Math.round(churnFeatureValue(feature, snapshot) * 1e4) / 1e4);
        expect(features).toEqual(score.explanation.churnFeatures.map((feature) => feature.value));
      }),
      { numRuns: 200 },
    );
  });

  it('scores the scorer’s own fixtures alike, a silent customer included', () => {
    for (const state of [healthyState(), silentFor(45)]) {
      const insights = computeInsights(state, NOW, RETENTION);
      expect(churnRiskOf(config.churn, churnSnapshot(insights, config, NOW))).toBe(scoreCustomer(insights, null, config, NOW).churnRisk);
    }
  });
});

describe('BASELINE_RISK_SIGNALS', () => {
  const snapshotOf = (state = emptyState()) => churnSnapshot(computeInsights(state, NOW, RETENTION), config, NOW);

  it('healthAlone is 100 − health', () => {
    const snapshot = snapshotOf(healthyState());
    expect(BASELINE_RISK_SIGNALS.healthAlone(snapshot)).toBe(100 - snapshot.health);
  });

  it('engagementTrend is how far the last 30 days fell below the 30-day average of the 60 before, +1 smoothed', () => {
    // A meeting a day on days 45–89 ago: none in the last 30 days, 45 in the 60 before (22.5 per 30 days).
    const fading = emptyState({ activityDays: Array.from({ length: 45 }, (_, i) => bucket(45 + i, 'MEETING')) });
    expect(BASELINE_RISK_SIGNALS.engagementTrend(snapshotOf(fading))).toBeCloseTo(1 - 1 / 23.5, 12);
    // A meeting a day for 90 days: flat.
    const steady = emptyState({ activityDays: Array.from({ length: 90 }, (_, i) => bucket(i, 'MEETING')) });
    expect(BASELINE_RISK_SIGNALS.engagementTrend(snapshotOf(steady))).toBe(0);
    // No activity at all ranks as flat too.
    expect(BASELINE_RISK_SIGNALS.engagementTrend(snapshotOf())).toBe(0);
  });
});

describe('churn features relative to the customer’s own baseline', () => {
  const valuesOf = (state: CustomerState, features: readonly ChurnFeatureName[]) => {
    const snapshot = churnSnapshot(computeInsights(state, NOW, RETENTION), config, NOW);
    return Object.fromEntries(features.map((feature) => [feature, churnFeatureValue(feature, snapshot)]));
  };
  const DROPS: ChurnFeatureName[] = ['engagementDrop7d', 'engagementDrop30d', 'engagementDrop90d'];

  it('engagement drops: the last 7, 30 and 90 days against the 23, 60 and 275 days before, one event added to each side', () => {
    // Meetings: 1 in the last 7 days, 9 in days 8–30, 30 in days 31–90, 55 in days 91–365; active today.
    const state = emptyState({
      activityDays: [bucket(0, 'MEETING', 1), bucket(10, 'MEETING', 9), bucket(40, 'MEETING', 30), bucket(200, 'MEETING', 55)],
      lastActivityAt: NOW,
    });
    const values = valuesOf(state, DROPS);
    expect(values.engagementDrop7d).toBeCloseTo(1 - 2 / (1 + (9 * 7) / 23), 12); // 0.4651: 2.74 expected, 1 seen
    expect(values.engagementDrop30d).toBeCloseTo(1 - 11 / 16, 12); // 15 expected, 10 seen: 0.3125
    expect(values.engagementDrop90d).toBe(0); // 18 expected, 40 seen: a rise is no sign of risk
  });

  it('are the same for a busy and a quiet account whose engagement changed alike, but for the smoothing', () => {
    const account = (scale: number) =>
      emptyState({ activityDays: [bucket(10, 'CALL', 5 * scale), bucket(50, 'CALL', 20 * scale)], lastActivityAt: NOW - 10 * DAY });
    const busy = valuesOf(account(10), ['engagementDrop30d']).engagementDrop30d!;
    const quiet = valuesOf(account(1), ['engagementDrop30d']).engagementDrop30d!;
    expect(busy).toBeCloseTo(1 - 51 / 101, 12); // half the usual rate: 0.495
    expect(quiet).toBeCloseTo(1 - 6 / 11, 12); // the same half, five events against ten: 0.455
  });

  it('keep what a silence earned: the earlier rate is taken before the silence began, and a stop counts as 1', () => {
    // 20 calls on one day, 100 days ago, nothing since.
    const silent = emptyState({ activityDays: [bucket(100, 'CALL', 20)], lastActivityAt: NOW - 100 * DAY });
    const values = valuesOf(silent, DROPS);
    expect(values.engagementDrop7d).toBe(1);
    expect(values.engagementDrop30d).toBe(1);
    // Of days 91–365, the 265 before the silence began: 20 × 90 / 265 = 6.79 expected, none seen.
    expect(values.engagementDrop90d).toBeCloseTo(1 - 1 / (1 + (20 * 90) / 265), 12);
    // Silent 300 days: less than 90 days of the earlier span before the silence; a stop.
    expect(valuesOf(emptyState({ activityDays: [bucket(300, 'CALL', 20)], lastActivityAt: NOW - 300 * DAY }), DROPS).engagementDrop90d).toBe(1);
    // Silent beyond the windows, nothing left in them: stopped a year ago.
    expect(valuesOf(silentFor(400), DROPS)).toEqual({ engagementDrop7d: 1, engagementDrop30d: 1, engagementDrop90d: 1 });
  });

  it('are 0 for a customer that never engaged: nothing to lose, however long ago it signed', () => {
    // A contract and nothing else (an account whose activity the CRM does not record): under contract for 40 days, and
    // for 400 (until 2026-12-07 a year of it read as a stop of everything: every drop 1, a risk near 1).
    for (const signedDaysAgo of [40, 400]) {
      const signedNeverEngaged = emptyState({ contracts: [contract({ startDate: utcDay(NOW - signedDaysAgo * DAY) * DAY })] });
      expect(valuesOf(signedNeverEngaged, [...DROPS, 'usageDrop30d', 'usageDrop90d', 'usageIntensityDrop30d', 'usageIntensityDrop90d'])).toEqual({
        engagementDrop7d: 0,
        engagementDrop30d: 0,
        engagementDrop90d: 0,
        usageDrop30d: 0,
        usageDrop90d: 0,
        usageIntensityDrop30d: 0,
        usageIntensityDrop90d: 0,
      });
    }
  });

  it('usage drops: usage quantity, smoothed by one typical reading of the customer', () => {
    // 10 readings worth 600 in days 31–90, 5 worth 100 in the last 30 days: a typical reading is 700 / 15.
    const state = emptyState({ activityDays: [bucket(5, 'PRODUCT_USAGE', 5, 100), bucket(40, 'PRODUCT_USAGE', 10, 600)], lastActivityAt: NOW - 5 * DAY });
    const typical = 700 / 15;
    expect(valuesOf(state, ['usageDrop30d']).usageDrop30d).toBeCloseTo(1 - (100 + typical) / (300 + typical), 12); // 0.577
    // Usage events without quantities carry no usage rate.
    const unmeasured = emptyState({ activityDays: [bucket(40, 'PRODUCT_USAGE', 10, 0)], lastActivityAt: NOW - 40 * DAY });
    expect(valuesOf(unmeasured, ['usageDrop30d']).usageDrop30d).toBe(0);
  });

  it('usage intensity drops: quantity per reading, the recent readings joined by one at the earlier mean', () => {
    // Days 31–90: 12 readings worth 600 (50 each). Last 30 days: 10 readings worth 250 (25 each), so the customer
    // uses half as much each time; a count drop barely shows it.
    const state = emptyState({ activityDays: [bucket(5, 'PRODUCT_USAGE', 10, 250), bucket(40, 'PRODUCT_USAGE', 12, 600)], lastActivityAt: NOW - 5 * DAY });
    const values = valuesOf(state, ['usageIntensityDrop30d', 'usageIntensityDrop90d']);
    expect(values.usageIntensityDrop30d).toBeCloseTo(1 - (250 + 50) / 11 / 50, 12); // 0.4545
    expect(values.usageIntensityDrop90d).toBe(0); // nothing before day 91 to compare with
    // The same intensity at any reading rate, and a rise, are no sign of risk.
    const steady = emptyState({ activityDays: [bucket(5, 'PRODUCT_USAGE', 2, 100), bucket(40, 'PRODUCT_USAGE', 12, 600)], lastActivityAt: NOW - 5 * DAY });
    const rising = emptyState({ activityDays: [bucket(5, 'PRODUCT_USAGE', 10, 900), bucket(40, 'PRODUCT_USAGE', 12, 600)], lastActivityAt: NOW - 5 * DAY });
    expect(valuesOf(steady, ['usageIntensityDrop30d']).usageIntensityDrop30d).toBeCloseTo(0, 12);
    expect(valuesOf(rising, ['usageIntensityDrop30d']).usageIntensityDrop30d).toBe(0);
  });

  it('usage intensity drops: without a recent reading, the usage drop (a stop of the product, silent or not)', () => {
    // Readings stopped 35 days ago while the customer still writes: it stopped using the product, which its emails do
    // not make good (an outside tester's customer read a low risk with the product's usage gone).
    const usageStopped = emptyState({ activityDays: [bucket(35, 'PRODUCT_USAGE', 12, 600), bucket(1, 'EMAIL_RECEIVED')], lastActivityAt: NOW - DAY });
    expect(valuesOf(usageStopped, ['usageIntensityDrop30d']).usageIntensityDrop30d).toBe(valuesOf(usageStopped, ['usageDrop30d']).usageDrop30d);
    expect(valuesOf(usageStopped, ['usageIntensityDrop30d']).usageIntensityDrop30d).toBeCloseTo(1 - 50 / (300 + 50), 12);
    // Silent 35 days, then one meeting: the same.
    const silentThenMet = { ...silentFor(35), lastActivityAt: NOW - 60_000 };
    const met = { ...silentThenMet, activityDays: [...silentThenMet.activityDays, bucket(0, 'MEETING')] };
    expect(valuesOf(met, ['usageIntensityDrop30d']).usageIntensityDrop30d).toBe(valuesOf(met, ['usageDrop30d']).usageDrop30d);
    expect(valuesOf(met, ['usageIntensityDrop30d']).usageIntensityDrop30d).toBeGreaterThan(0.9);
    // Silent 10 days: the readings of days 11–30 still give the recent intensity, the same as before.
    expect(valuesOf(silentFor(10), ['usageIntensityDrop30d']).usageIntensityDrop30d).toBeCloseTo(0, 12);
    // Silent 45 days: everything the customer did lies before the silence; the 30-day usage drop takes over.
    const silent = silentFor(45);
    expect(valuesOf(silent, ['usageIntensityDrop30d']).usageIntensityDrop30d).toBe(valuesOf(silent, ['usageDrop30d']).usageDrop30d);
    expect(valuesOf(silent, ['usageIntensityDrop30d']).usageIntensityDrop30d).toBeGreaterThan(0.9);
  });

  it('tickets, SLA breaches and open tickets per engagement event of the last 90 days, ten events added to it', () => {
    const state = emptyState({
      activityDays: [bucket(5, 'MEETING', 20), bucket(5, 'SUPPORT_TICKET_OPENED', 3)],
      slaBreachDays: [{ day: TODAY - 5, count: 2 }],
      tickets: [ticket({ ticketId: 't1' }), ticket({ ticketId: 't2', open: false }), ticket({ ticketId: 't3' })],
      lastActivityAt: NOW - 5 * DAY,
    });
    expect(valuesOf(state, ['ticketsPerEngagement90', 'slaBreachesPerEngagement90', 'openTicketsPerEngagement90'])).toEqual({
      ticketsPerEngagement90: 3 / 30,
      slaBreachesPerEngagement90: 2 / 30,
      openTicketsPerEngagement90: 2 / 30,
    });
  });

  it('never fall as the silence grows, everything else equal', () => {
    const drops: ChurnFeatureName[] = [...DROPS, 'usageDrop30d', 'usageDrop90d', 'usageIntensityDrop30d', 'usageIntensityDrop90d'];
    fc.assert(
      fc.property(stateArbitrary, fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 100 }), (state, silent, longer) => {
        const insights = computeInsights(state, NOW, RETENTION);
        const at = (days: number) => {
          const snapshot = churnSnapshot({ ...insights, lastActivityAt: NOW - days * DAY }, config, NOW);
          return drops.map((feature) => churnFeatureValue(feature, snapshot));
        };
        const [before, after] = [at(silent), at(silent + longer)];
        after.forEach((value, i) => expect(value).toBeGreaterThanOrEqual(before[i]!));
      }),
      { numRuns: 200 },
    );
  });

  it('each push the risk the way its name says: drops and per-engagement rates raise it, NPS and sentiment lower it', () => {
    const raising = CHURN_FEATURE_NAMES.filter((feature) => churnFeatureDirection(feature) === 1);
    expect(CHURN_FEATURE_NAMES.filter((feature) => churnFeatureDirection(feature) === -1)).toEqual(['csmSentiment', 'npsDeviation']);
    expect(raising).toEqual(
      expect.arrayContaining([...DROPS, 'usageDrop30d', 'usageDrop90d', 'usageIntensityDrop30d', 'usageIntensityDrop90d', 'ticketsPerEngagement90', 'healthShortfall']),
    );
  });
});
