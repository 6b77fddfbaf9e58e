import type { ChurnFeatureValue, MeasureExplanation, Score, ScoreDriver } from '@churnscore/domain';
import { logistic } from './churn';
import { compareStrings, roundTo } from './numeric';

export const TOP_DRIVER_COUNT = 5;

interface CurrentExplanation {
  measures: readonly MeasureExplanation[];
  churnFeatures: readonly ChurnFeatureValue[];
  /** The current churn model logit (unrounded). */
  logit: number;
}

/** Pairs items of the previous and current lists by key, keeping first-seen order (previous, then new ones). */
function pairByKey<T>(previous: readonly T[], current: readonly T[], keyOf: (item: T) => string) {
  const keys = [...new Set([...previous.map(keyOf), ...current.map(keyOf)])];
  const find = (items: readonly T[], key: string) => items.find((item) => keyOf(item) === key);
  return keys.map((key) => ({ key, before: find(previous, key), after: find(current, key) }));
}

/**
 * Churn-risk change per unit of logit between the logit the previous feature values would give
 * and the current one (the secant of the logistic curve), so the feature impacts add up to the
 * risk change the features caused. The tangent when the features' logit did not move.
 */
function averageSlope(currentLogit: number, featureLogitDelta: number): number {
  if (Math.abs(featureLogitDelta) < 1e-9) {
    const risk = logistic(currentLogit);
    return risk * (1 - risk);
  }
  return (logistic(currentLogit) - logistic(currentLogit - featureLogitDelta)) / featureLogitDelta;
}

/** Health points and churn probability both expressed as a 0–1 share, so the two kinds rank together. */
const rankingSize = (driver: ScoreDriver): number => Math.abs(driver.kind === 'measure' ? driver.impact / 100 : driver.impact);

/**
 * The largest changes since `previous`, at most TOP_DRIVER_COUNT, biggest first.
 * - A measure's impact is its contribution delta in health points (measure impacts add up to the
 *   health change, within rounding).
 * - A churn feature's impact is its logit-contribution delta × the average slope of the logistic
 *   curve over the features' combined logit change: its share of the churn-risk change, in
 *   probability (feature impacts add up to the risk change the features caused).
 * Ranking compares |measure impact| / 100 with |feature impact|; ties go to measures, then by id.
 * The first score has no previous one, hence no drivers: its measures and features explain it.
 */
export function topDrivers(previous: Score | null, current: CurrentExplanation): ScoreDriver[] {
  if (previous === null) return [];
  const measureDrivers = pairByKey(previous.explanation.measures, current.measures, (m) => m.measureId).map(
    ({ key, before, after }): ScoreDriver => ({
      id: key,
      kind: 'measure',
      previous: before?.rawValue ?? null,
      current: after?.rawValue ?? null,
      impact: roundTo((after?.contribution ?? 0) - (before?.contribution ?? 0), 2),
    }),
  );
  const featurePairs = pairByKey(previous.explanation.churnFeatures, current.churnFeatures, (f) => f.feature).map(
    (pair) => ({ ...pair, logitDelta: (pair.after?.logitContribution ?? 0) - (pair.before?.logitContribution ?? 0) }),
  );
  const riskPerLogit = averageSlope(current.logit, featurePairs.reduce((sum, pair) => sum + pair.logitDelta, 0));
  const featureDrivers = featurePairs.map(
    ({ key, before, after, logitDelta }): ScoreDriver => ({
      id: key,
      kind: 'churnFeature',
      previous: before?.value ?? null,
      current: after?.value ?? null,
      impact: roundTo(logitDelta * riskPerLogit, 4),
    }),
  );
  return [...measureDrivers, ...featureDrivers]
    .filter((driver) => driver.impact !== 0)
    .sort(
      (a, b) =>
        rankingSize(b) - rankingSize(a) ||
        (a.kind === b.kind ? 0 : a.kind === 'measure' ? -1 : 1) ||
        compareStrings(a.id, b.id),
    )
    .slice(0, TOP_DRIVER_COUNT);
}
