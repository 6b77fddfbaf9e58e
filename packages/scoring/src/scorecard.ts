import { measureContribution, type CustomerInsights, type MeasureExplanation } from '@churnscore/domain';
import type { MeasureDefinition, ScorecardDefinition, ScorecardPhase, ScoringConfig } from './config-schema';
import { MEASURE_INPUTS } from './measure-inputs';
import { roundTo } from './numeric';
import type { Signals } from './signals';

/** Within the first `onboardingDays` of the first contract (or before it starts). */
export const isOnboarding = (signals: Signals, config: ScoringConfig): boolean =>
  signals.tenureDays !== null && signals.tenureDays < config.lifecycle.onboardingDays;

/**
 * renewal (the next renewal is ≤ renewalWithinDays away) wins over onboarding (a contract shorter
 * than the onboarding period renews while onboarding: the renewal is the more urgent concern);
 * otherwise steady.
 */
export function scorecardPhase(signals: Signals, config: ScoringConfig): ScorecardPhase {
  if (signals.daysToRenewal !== null && signals.daysToRenewal <= config.phases.renewalWithinDays) return 'renewal';
  return isOnboarding(signals, config) ? 'onboarding' : 'steady';
}

/** The first scorecard, in file order, whose match fits; the last one matches everyone (validated). */
export function selectScorecard(config: ScoringConfig, segment: string | null, phase: ScorecardPhase): ScorecardDefinition {
  const selected = config.scorecards.find(
    ({ match }) =>
      (match.segments === undefined || (segment !== null && match.segments.includes(segment))) &&
      (match.phases === undefined || match.phases.includes(phase)),
  );
  if (selected === undefined) throw new Error('scoring configuration has no default scorecard (it was not validated)');
  return selected;
}

export function measureDefinition(config: ScoringConfig, measureId: string): MeasureDefinition {
  const definition = config.measures.find((measure) => measure.id === measureId);
  if (definition === undefined) throw new Error(`scorecard refers to unknown measure "${measureId}" (config not validated)`);
  return definition;
}

/** Piecewise-linear mapping of a raw value through the measure's points; flat beyond the ends. */
export function measureScore(points: MeasureDefinition['points'], raw: number): number {
  const [first, ...rest] = points;
  if (first === undefined) throw new Error('a measure without points (config not validated)');
  if (raw <= first.value) return first.score;
  let previous = first;
  for (const point of rest) {
    if (raw <= point.value) {
      const fraction = (raw - previous.value) / (point.value - previous.value);
      return previous.score + fraction * (point.score - previous.score);
    }
    previous = point;
  }
  return previous.score;
}

export interface HealthResult {
  /** 0–100 integer; `noDataHealth` when no measure has data. */
  health: number;
  /** In scorecard order, excluded measures included with weight 0. */
  measures: MeasureExplanation[];
}

/**
 * Weight-normalised average of the measure scores that have data. A measure without data is
 * excluded (weight 0), and the others' weights are rescaled to sum to 1, so missing data neither
 * rewards nor punishes. Explanation scores are rounded to 2 decimals, weights to 4 (a scorecard's weights rarely
 * divide evenly: `0.15789473684210525` is 19 bytes in every stored explanation), and a contribution is the product of
 * the two as stated (`measureContribution`, so a stored explanation need not keep it); health is the rounded exact sum,
 * so the contributions add up to it within rounding.
 */
export function scoreHealth(
  insights: CustomerInsights,
  signals: Signals,
  scorecard: ScorecardDefinition,
  config: ScoringConfig,
): HealthResult {
  const context = { onboarding: isOnboarding(signals, config) };
  const rated = scorecard.measures.map((entry) => {
    const definition = measureDefinition(config, entry.measure);
    const rawValue = MEASURE_INPUTS[definition.input](insights, signals, context);
    const score = rawValue === null ? null : measureScore(definition.points, rawValue);
    return { definition, weight: entry.weight, rawValue, score };
  });
  const totalWeight = rated.reduce((sum, measure) => (measure.score === null ? sum : sum + measure.weight), 0);
  const measures = rated.map(({ definition, weight, rawValue, score }): MeasureExplanation => {
    const statedScore = score === null ? null : roundTo(score, 2);
    const statedWeight = score === null ? 0 : roundTo(weight / totalWeight, 4);
    return {
      measureId: definition.id,
      group: definition.group,
      rawValue: rawValue === null ? null : roundTo(rawValue, 4),
      score: statedScore,
      weight: statedWeight,
      contribution: measureContribution(statedScore, statedWeight),
    };
  });
  const exactHealth = rated.reduce((sum, { weight, score }) => (score === null ? sum : sum + (score * weight) / totalWeight), 0);
  return { health: totalWeight === 0 ? config.noDataHealth : Math.round(exactHealth), measures };
}
