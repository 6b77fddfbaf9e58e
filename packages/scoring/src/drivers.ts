import type { ChurnFeatureValue, MeasureExplanation, Score, ScoreDriver } from '@churnscore/domain';
import { logistic } from './churn';
import type { ScorecardDefinition, ScoringConfig } from './config-schema';
import { compareStrings, roundTo } from './numeric';

/** At most this many health drivers, then at most this many churn drivers: each unit ranked on its own. */
export const TOP_DRIVERS_PER_UNIT = 3;

export interface CurrentExplanation {
  scorecard: ScorecardDefinition;
  measures: readonly MeasureExplanation[];
  churnFeatures: readonly ChurnFeatureValue[];
  /** The current churn model logit (unrounded). */
  logit: number;
}

type DriverConfig = Pick<ScoringConfig, 'scorecards' | 'noDataHealth'>;

/**
 * Pairs items of the previous and current lists by key (the first item of a key on each side), keeping first-seen
 * order (previous, then new ones). Through maps: searching a list per key cost the drivers a fifth of their time.
 */
function pairByKey<T>(previous: readonly T[], current: readonly T[], keyOf: (item: T) => string) {
  const byKey = (items: readonly T[]) => {
    const found = new Map<string, T>();
    for (const item of items) {
      const key = keyOf(item);
      if (!found.has(key)) found.set(key, item);
    }
    return found;
  };
  const before = byKey(previous);
  const after = byKey(current);
  return [...new Set([...before.keys(), ...after.keys()])].map((key) => ({ key, before: before.get(key), after: after.get(key) }));
}

/** Biggest |impact| first, then by id; zero impacts are no drivers. */
const ranked = (drivers: ScoreDriver[]): ScoreDriver[] =>
  drivers
    .filter((driver) => driver.impact !== 0)
    .sort((a, b) => Math.abs(b.impact) - Math.abs(a.impact) || compareStrings(a.id, b.id))
    .slice(0, TOP_DRIVERS_PER_UNIT);

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

/** A measure on both sides of the change: its score (null without data) and the scorecard weight it had (0 without data). */
interface MeasurePair {
  id: string;
  before: MeasureExplanation | undefined;
  after: MeasureExplanation | undefined;
  scoreBefore: number | null;
  scoreAfter: number | null;
  weightBefore: number;
  weightAfter: number;
}

/**
 * Each measure's part in the health change, in health points, summing to it exactly (before rounding).
 * Health is Σ weight × score ÷ Σ weight over the measures with data. The change splits into
 * - a score effect: a measure with data on both sides, score change × its mean normalised weight;
 * - a weight effect: a measure whose weight changed (it appeared, disappeared, or the scorecard weighs it
 *   differently), weight change × the mean of 1/Σ weight × (its score − the mean score R), R weighted by the mean
 *   weights. That is where the re-normalisation lands: a measure appearing rescales the others' weights, and
 *   the effect is the appearing measure's, not theirs; an unchanged measure with an unchanged weight has none.
 * One measure appearing beside unchanged ones gets exactly its new weight × (its score − the others' health).
 * With no measure with data on one side, health there is `noDataHealth`, and each measure with data on the other
 * side moves health by its normalised weight × (its score − noDataHealth).
 */
function measureImpacts(pairs: readonly MeasurePair[], noDataHealth: number): number[] {
  const totalBefore = sum(pairs.map((pair) => pair.weightBefore));
  const totalAfter = sum(pairs.map((pair) => pair.weightAfter));
  if (totalBefore === 0 || totalAfter === 0) {
    const share = (score: number | null, weight: number, total: number) => (score === null || total === 0 ? 0 : (weight / total) * (score - noDataHealth));
    return pairs.map((pair) => share(pair.scoreAfter, pair.weightAfter, totalAfter) - share(pair.scoreBefore, pair.weightBefore, totalBefore));
  }
  const meanScore = ({ scoreBefore, scoreAfter }: MeasurePair): number =>
    scoreBefore === null ? (scoreAfter ?? 0) : scoreAfter === null ? scoreBefore : (scoreBefore + scoreAfter) / 2;
  const meanWeight = (pair: MeasurePair): number => (pair.weightBefore + pair.weightAfter) / 2;
  const reference = sum(pairs.map((pair) => meanWeight(pair) * meanScore(pair))) / sum(pairs.map(meanWeight));
  const meanInverseTotal = (1 / totalBefore + 1 / totalAfter) / 2;
  return pairs.map((pair) => {
    const { scoreBefore, scoreAfter, weightBefore, weightAfter } = pair;
    const scoreEffect =
      scoreBefore === null || scoreAfter === null
        ? 0
        : ((weightBefore / totalBefore + weightAfter / totalAfter) / 2) * (scoreAfter - scoreBefore);
    const weightEffect = (weightAfter - weightBefore) * meanInverseTotal * (meanScore(pair) - reference);
    return scoreEffect + weightEffect;
  });
}

/**
 * The previous score's scorecard, by id, from the current configuration; when a configuration change removed it,
 * the current scorecard (the change is then explained as if the previous score had used it).
 */
const previousScorecard = (previous: Score, current: CurrentExplanation, config: DriverConfig): ScorecardDefinition =>
  config.scorecards.find((scorecard) => scorecard.id === previous.explanation.scorecardId) ?? current.scorecard;

const weightIn = (scorecard: ScorecardDefinition, measureId: string, score: number | null): number =>
  score === null ? 0 : (scorecard.measures.find((entry) => entry.measure === measureId)?.weight ?? 0);

function healthDrivers(previous: Score, current: CurrentExplanation, config: DriverConfig): ScoreDriver[] {
  const before = previousScorecard(previous, current, config);
  const pairs = pairByKey(previous.explanation.measures, current.measures, (m) => m.measureId).map(
    ({ key, before: measureBefore, after: measureAfter }): MeasurePair => {
      const scoreBefore = measureBefore?.score ?? null;
      const scoreAfter = measureAfter?.score ?? null;
      return {
        id: key,
        before: measureBefore,
        after: measureAfter,
        scoreBefore,
        scoreAfter,
        weightBefore: weightIn(before, key, scoreBefore),
        weightAfter: weightIn(current.scorecard, key, scoreAfter),
      };
    },
  );
  const impacts = measureImpacts(pairs, config.noDataHealth);
  return pairs.map((pair, index) => ({
    id: pair.id,
    kind: 'measure',
    previous: pair.before?.rawValue ?? null,
    current: pair.after?.rawValue ?? null,
    impact: roundTo(impacts[index] ?? 0, 2),
  }));
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

/** Each feature's logit-contribution change × the secant slope: its share of the churn-risk change, in probability. */
function churnDrivers(previous: Score, current: CurrentExplanation): ScoreDriver[] {
  const pairs = pairByKey(previous.explanation.churnFeatures, current.churnFeatures, (f) => f.feature);
  const logitDeltas = pairs.map(({ before, after }) => (after?.logitContribution ?? 0) - (before?.logitContribution ?? 0));
  const riskPerLogit = averageSlope(current.logit, sum(logitDeltas));
  return pairs.map(({ key, before, after }, index) => ({
    id: key,
    kind: 'churnFeature',
    previous: before?.value ?? null,
    current: after?.value ?? null,
    impact: roundTo(logitDeltas[index]! * riskPerLogit, 4),
  }));
}

/**
 * What changed since `previous`, in two rankings that never mix units: at most TOP_DRIVERS_PER_UNIT measures
 * (impact in health points; all measures' impacts add up to the health change), then at most
 * TOP_DRIVERS_PER_UNIT churn features (impact in churn probability; all features' impacts add up to the risk
 * change the features caused). Each ranking is biggest |impact| first, then by id (docs/scoring.md §7).
 * The first score has no previous one, hence no drivers: its measures and features explain it.
 */
export function topDrivers(previous: Score | null, current: CurrentExplanation, config: DriverConfig): ScoreDriver[] {
  // An explanation without a measure is one read without its legend (lost, or not fitting it: a hand edit), as every
  // scorecard weighs one at least: compared with, every measure read as newly counted and the real cause went unnamed.
  if (previous === null || previous.explanation.measures.length === 0) return [];
  return [...ranked(healthDrivers(previous, current, config)), ...ranked(churnDrivers(previous, current))];
}
