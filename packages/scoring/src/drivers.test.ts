import type { ChurnFeatureValue, MeasureExplanation, Score } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import type { ScorecardDefinition } from './config-schema';
import { topDrivers } from './drivers';
import { NOW } from './test-fixtures';

// A small scorecard worked by hand: recency weighs 2, cancellations 1, nps 1.
const steady: ScorecardDefinition = {
  id: 'steady',
  match: {},
  measures: [
    { measure: 'recency', weight: 2 },
    { measure: 'cancellations', weight: 1 },
    { measure: 'nps', weight: 1 },
  ],
};
const renewal: ScorecardDefinition = { ...steady, id: 'renewal', measures: [{ measure: 'recency', weight: 1 }, { measure: 'cancellations', weight: 3 }] };
const config = { scorecards: [renewal, steady], noDataHealth: 50 };

type Scored = Record<string, { raw: number; score: number } | null>;

/** The explanation scoreHealth gives these measures (null: no data) under `scorecard`. */
function measures(scorecard: ScorecardDefinition, scored: Scored): MeasureExplanation[] {
  const weightOf = (id: string) => (scored[id] ? (scorecard.measures.find((entry) => entry.measure === id)?.weight ?? 0) : 0);
  const total = scorecard.measures.reduce((sum, entry) => sum + weightOf(entry.measure), 0);
  return scorecard.measures.map(({ measure }) => {
    const rated = scored[measure] ?? null;
    const weight = rated === null ? 0 : weightOf(measure) / total;
    return { measureId: measure, group: 'G', rawValue: rated?.raw ?? null, score: rated?.score ?? null, weight, contribution: rated === null ? 0 : rated.score * weight };
  });
}

const feature = (name: string, value: number, coefficient: number): ChurnFeatureValue => ({ feature: name, value, coefficient, logitContribution: value * coefficient });

function previousScore(scorecard: ScorecardDefinition, scored: Scored, churnFeatures: ChurnFeatureValue[] = []): Score {
  return {
    customerId: 'c-1',
    health: 0,
    band: 'green',
    churnRisk: 0,
    riskBand: 'low',
    lifecycleStage: 'MATURE',
    valueAtRisk: 0,
    segment: null,
    explanation: { scorecardId: scorecard.id, measures: measures(scorecard, scored), churnFeatures, topDrivers: [] },
    modelVersion: 'test',
    computedAt: NOW,
  };
}

const current = (scorecard: ScorecardDefinition, scored: Scored, churnFeatures: ChurnFeatureValue[] = [], logit = 0) => ({
  scorecard,
  measures: measures(scorecard, scored),
  churnFeatures,
  logit,
});

const recent = { raw: 3, score: 80 };
const noCancellation = { raw: 0, score: 100 };

describe('health drivers', () => {
  it('give a measure that appears the whole re-normalisation, and unchanged measures none', () => {
    // Before: (2 × 80 + 1 × 100) ÷ 3 = 86.67. An NPS of 2 (score 20) arrives: (160 + 100 + 20) ÷ 4 = 70.
    // Recency and cancellations did not change; their weights shrank only because NPS joined: the cause is NPS.
    const previous = previousScore(steady, { recency: recent, cancellations: noCancellation, nps: null });
    const drivers = topDrivers(previous, current(steady, { recency: recent, cancellations: noCancellation, nps: { raw: 2, score: 20 } }), config);
    expect(drivers).toEqual([{ id: 'nps', kind: 'measure', previous: null, current: 2, impact: -16.67 }]);
  });

  it('give a measure that disappears the change its leaving makes', () => {
    const previous = previousScore(steady, { recency: recent, cancellations: noCancellation, nps: { raw: 2, score: 20 } });
    const drivers = topDrivers(previous, current(steady, { recency: recent, cancellations: noCancellation, nps: null }), config);
    expect(drivers).toEqual([{ id: 'nps', kind: 'measure', previous: 2, current: null, impact: 16.67 }]);
  });

  it('split a score change and an appearance exactly', () => {
    // Health 86.67 → (2 × 50 + 100 + 20) ÷ 4 = 55, a change of −31.67.
    // Recency 80 → 50 at its mean normalised weight (2/3 + 2/4) ÷ 2 = 7/12: −17.5.
    // NPS appears: weight 1 × mean 1/Σweight (1/3 + 1/4) ÷ 2 = 7/24 × (20 − R), R = (2 × 65 + 1 × 100 + ½ × 20) ÷ 3.5 = 68.57: −14.17.
    const previous = previousScore(steady, { recency: recent, cancellations: noCancellation, nps: null });
    const drivers = topDrivers(
      previous,
      current(steady, { recency: { raw: 20, score: 50 }, cancellations: noCancellation, nps: { raw: 2, score: 20 } }),
      config,
    );
    expect(drivers).toEqual([
      { id: 'recency', kind: 'measure', previous: 3, current: 20, impact: -17.5 },
      { id: 'nps', kind: 'measure', previous: null, current: 2, impact: -14.17 },
    ]);
  });

  it('measure the first data against the no-data health', () => {
    // No measure had data: health was noDataHealth, 50. Now (2 × 80 + 1 × 100) ÷ 3 = 86.67: recency 2/3 × 30, cancellations 1/3 × 50.
    const previous = previousScore(steady, { recency: null, cancellations: null, nps: null });
    const drivers = topDrivers(previous, current(steady, { recency: recent, cancellations: noCancellation, nps: null }), config);
    expect(drivers.map(({ id, impact }) => ({ id, impact }))).toEqual([
      { id: 'recency', impact: 20 },
      { id: 'cancellations', impact: 16.67 },
    ]);
  });

  it('add up to the health change when the scorecard changes weights', () => {
    // steady → renewal with the same values: 86.67 → (1 × 80 + 3 × 100) ÷ 4 = 95. Cancellations, above the mean, weighs more.
    const values = { recency: recent, cancellations: noCancellation, nps: null };
    const drivers = topDrivers(previousScore(steady, values), current(renewal, values), config);
    expect(drivers.map((driver) => driver.id)).toEqual(['cancellations', 'recency']);
    expect(drivers.reduce((sum, driver) => sum + driver.impact, 0)).toBeCloseTo(95 - 260 / 3, 1);
  });
});

describe('churn drivers', () => {
  const unchanged = { recency: recent, cancellations: noCancellation, nps: null };

  it('name the feature that moved, in probability, when no health measure changed', () => {
    // Logit −2 + 0.5 = −1.5 (risk 0.1824) → −2 + 1.6 + 0.5 = 0.1 (risk 0.5250): all of the 0.3426 is the engagement drop's.
    const previous = previousScore(steady, unchanged, [feature('engagementDrop30d', 0, 2), feature('openTickets', 1, 0.5)]);
    const drivers = topDrivers(
      previous,
      current(steady, unchanged, [feature('engagementDrop30d', 0.8, 2), feature('openTickets', 1, 0.5)], 0.1),
      config,
    );
    expect(drivers).toEqual([{ id: 'engagementDrop30d', kind: 'churnFeature', previous: 0, current: 0.8, impact: 0.3426 }]);
  });

  it('share the risk change by each feature’s part of the logit change', () => {
    // Logit −1.5 → 1.1 (risk 0.1824 → 0.7503, +0.5678): the drop moved the logit 1.6 of 2.6, the tickets 1.0 of 2.6.
    const previous = previousScore(steady, unchanged, [feature('engagementDrop30d', 0, 2), feature('openTickets', 1, 0.5)]);
    const drivers = topDrivers(
      previous,
      current(steady, unchanged, [feature('engagementDrop30d', 0.8, 2), feature('openTickets', 3, 0.5)], 1.1),
      config,
    );
    expect(drivers.map(({ id, impact }) => ({ id, impact }))).toEqual([
      { id: 'engagementDrop30d', impact: 0.3494 },
      { id: 'openTickets', impact: 0.2184 },
    ]);
  });

  it('rank apart from the health drivers, measures first, at most three of each', () => {
    const many = (offset: number): Scored => ({ recency: { raw: 1, score: 10 + offset }, cancellations: { raw: 0, score: 20 + offset }, nps: { raw: 5, score: 30 + offset } });
    const features = (value: number) => ['a', 'b', 'c', 'd'].map((name) => feature(name, value, 0.01));
    const drivers = topDrivers(previousScore(steady, many(0), features(0)), current(steady, many(1), features(1), 0.04), config);
    expect(drivers.map((driver) => driver.kind)).toEqual(['measure', 'measure', 'measure', 'churnFeature', 'churnFeature', 'churnFeature']);
    // A tiny change in risk is no reason to rank below a big change in health, or above: each unit has its own list.
    expect(drivers.filter((driver) => driver.kind === 'churnFeature').map((driver) => driver.id)).toEqual(['a', 'b', 'c']);
  });
});

describe('drivers against an explanation read without its legend', () => {
  it('are none: with no measure to compare with, every measure would read as newly counted', () => {
    const unreadable = previousScore(steady, { recency: recent, cancellations: noCancellation, nps: null }, [feature('a', 0.5, 1)]);
    unreadable.explanation = { ...unreadable.explanation, measures: [], churnFeatures: [] };
    expect(topDrivers(unreadable, current(steady, { recency: recent, cancellations: noCancellation, nps: { raw: 2, score: 10 } }, [feature('a', 0.6, 1)], 0.6), config)).toEqual([]);
  });
});
