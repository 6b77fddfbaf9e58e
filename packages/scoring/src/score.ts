import type { CustomerInsights, HealthBand, RiskBand, Score } from '@churnscore/domain';
import { estimateChurnRisk } from './churn';
import type { ScoringConfig } from './config-schema';
import { topDrivers, type CurrentExplanation } from './drivers';
import { lifecycleStage } from './lifecycle';
import { roundTo } from './numeric';
import { scoreHealth, scorecardPhase, selectScorecard } from './scorecard';
import { signalsFor, type Signals } from './signals';

/** green ≥ greenMin, red < redBelow, yellow in between. */
export function healthBand(health: number, config: ScoringConfig): HealthBand {
  const { greenMin, redBelow } = config.bands.health;
  if (health >= greenMin) return 'green';
  return health < redBelow ? 'red' : 'yellow';
}

/** high ≥ highMin, medium ≥ mediumMin, low below. */
export function riskBand(churnRisk: number, config: ScoringConfig): RiskBand {
  const { mediumMin, highMin } = config.bands.risk;
  if (churnRisk >= highMin) return 'high';
  return churnRisk >= mediumMin ? 'medium' : 'low';
}

/**
 * Scores one customer at `now` from its insights (computed as of `now`). Pure and deterministic:
 * the same inputs always give the same Score. `previous` (the last published score, or null) is
 * used only to explain what changed (`explanation.topDrivers`). `signals`: the insights' signals as of
 * `now`, when the caller has them already.
 */
export function scoreCustomer(
  insights: CustomerInsights,
  previous: Score | null,
  config: ScoringConfig,
  now: number,
  signals: Signals = signalsFor(insights, config, now),
): Score {
  return withDrivers(draftScore(insights, config, now, signals), previous, config);
}

/** SPEC §5: churn risk × total contract value, to the cent. */
const valueAtRisk = (churnRisk: number, contractValue: number): number => roundTo(churnRisk * contractValue, 2);

/** A score whose drivers are not measured yet, and what they are measured from. */
export interface DraftScore {
  /** The score, with no drivers (`explanation.topDrivers` empty). */
  score: Score;
  current: CurrentExplanation;
}

/**
 * The score without its drivers: what decides whether it is published (isSignificantChange) and which alerts
 * change. evaluateCustomer measures the drivers only for a score that is published, since nobody reads them
 * otherwise and they are a good part of a score's cost.
 */
export function draftScore(insights: CustomerInsights, config: ScoringConfig, now: number, signals: Signals): DraftScore {
  const scorecard = selectScorecard(config, insights.segment, scorecardPhase(signals, config));
  const { health, measures } = scoreHealth(insights, signals, scorecard, config);
  const { logit, churnRisk, features } = estimateChurnRisk(config.churn, { insights, signals, health });
  return {
    score: {
      customerId: insights.customerId,
      health,
      band: healthBand(health, config),
      churnRisk,
      riskBand: riskBand(churnRisk, config),
      lifecycleStage: lifecycleStage(insights, signals, config),
      valueAtRisk: valueAtRisk(churnRisk, insights.totalContractValue),
      segment: insights.segment,
      explanation: { scorecardId: scorecard.id, measures, churnFeatures: features, topDrivers: [] },
      modelVersion: config.version,
      computedAt: now,
    },
    current: { scorecard, measures, churnFeatures: features, logit },
  };
}

/** The draft's score with the drivers of its change since `previous` (the last published score, or null). */
export function withDrivers({ score, current }: DraftScore, previous: Score | null, config: ScoringConfig): Score {
  return { ...score, explanation: { ...score.explanation, topDrivers: topDrivers(previous, current, config) } };
}

/**
 * SPEC §6: whether `next` must be published. The first score always is; after that, a move of
 * ≥ significance.healthPoints in health or ≥ significance.churnRisk in churn risk, a change of
 * health band or risk band, a change of lifecycle stage (so subscribers learn that a customer
 * churned or entered decline even when the numbers barely moved), or of segment (it moves the
 * customer between per-segment rankings, which follow the published score), or of model version (a
 * new scoring config re-scores every customer with it: docs/scoring.md §15), or of the contract value its value at
 * risk is computed on (an upsell or a cancelled contract moves the customer in the value-at-risk ranking and the
 * portfolio's total at once, however little its risk moved). Compare against the last *published* score, or slow
 * drifts would never add up to a publication.
 */
export function isSignificantChange(previous: Score | null, next: Score, config: ScoringConfig, contractValue: number): boolean {
  if (previous === null) return true;
  const { healthPoints, churnRisk } = config.significance;
  return (
    Math.abs(next.health - previous.health) >= healthPoints ||
    // Risks carry 4 decimals; rounding the difference keeps 0.72 − 0.71 from falling short of 0.01.
    roundTo(Math.abs(next.churnRisk - previous.churnRisk), 4) >= churnRisk ||
    next.band !== previous.band ||
    next.riskBand !== previous.riskBand ||
    next.lifecycleStage !== previous.lifecycleStage ||
    next.segment !== previous.segment ||
    next.modelVersion !== previous.modelVersion ||
    contractValueChanged(previous, contractValue)
  );
}

/**
 * Whether the contract value changed since `previous` was computed: its risk at `contractValue` does not give its
 * value at risk (the same product, rounded the same way, for an unchanged value). A score at risk 0 has nothing at
 * risk whatever the value.
 */
const contractValueChanged = (previous: Score, contractValue: number): boolean => valueAtRisk(previous.churnRisk, contractValue) !== previous.valueAtRisk;
