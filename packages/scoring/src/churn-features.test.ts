import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHURN_FEATURE_NAMES } from './churn';
import { BASELINE_RISK_SIGNALS, churnFeatureValue, churnRiskOf, churnSnapshot } from './churn-features';
import { defaultScoringConfig } from './config';
import { computeInsights } from './insights';
import { scoreCustomer } from './score';
import { NOW, RETENTION, bucket, emptyState, healthyState, silentFor, stateArbitrary } from './test-fixtures';

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
        const features = CHURN_FEATURE_NAMES.map((feature) => Math.round(churnFeatureValue(feature, snapshot) * 1e4) / 1e4);
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
