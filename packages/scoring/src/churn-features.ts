// The churn model's inputs as training sees them: the scorer's own feature functions and health, unrounded, so a
// model fitted on them gives exactly the churnRisk the scorer will publish (docs/scoring.md §15).
import type { CustomerInsights } from '@churnscore/domain';
import { CHURN_FEATURES, DROP_PSEUDO_EVENTS, estimateChurnRisk, shortfallAgainstEarlier, type ChurnFeatureName } from './churn';
import type { ScoringConfig } from './config-schema';
import { scoreCustomer } from './score';
import { engagementCounts, signalsFor, type Signals } from './signals';

/** What the churn features of one customer at one instant are computed from: its insights, signals and health. */
export interface ChurnSnapshot {
  insights: CustomerInsights;
  signals: Signals;
  health: number;
}

/** The snapshot the scorer computes its churn features from, as of `asOf` (the instant the insights were computed as of). */
export function churnSnapshot(insights: CustomerInsights, config: ScoringConfig, asOf: number): ChurnSnapshot {
  const signals = signalsFor(insights, config, asOf);
  return { insights, signals, health: scoreCustomer(insights, null, config, asOf, signals).health };
}

/** The value of a churn feature, unrounded: what the scorer multiplies by its coefficient. */
export const churnFeatureValue = (feature: ChurnFeatureName, snapshot: ChurnSnapshot): number => CHURN_FEATURES[feature].value(snapshot);

/** The churn risk the scorer publishes for this snapshot under `model` (the config's `churn`). */
export const churnRiskOf = (model: ScoringConfig['churn'], snapshot: ChurnSnapshot): number => estimateChurnRisk(model, snapshot).churnRisk;
/** The model's logit for a snapshot, unrounded: what churnRiskOf's risk is the logistic of. */
export const churnLogitOf = (model: ScoringConfig['churn'], snapshot: ChurnSnapshot): number => estimateChurnRisk(model, snapshot).logit;

/**
 * Single signals a churn model has to beat, each a risk ranking (higher = riskier) from the same snapshot:
 * - `healthAlone`: 100 − health.
 * - `engagementTrend`: how far engagement fell, 1 − (events in the last 30 days + 1) ÷ (the 30-day average of
 *   the 60 days before + 1). The +1 gives every customer a value (no activity at all ranks as flat), where the
 *   scorer's engagement trend is unknown without a baseline.
 */
export const BASELINE_RISK_SIGNALS = {
  healthAlone: ({ health }: ChurnSnapshot): number => 100 - health,
  engagementTrend: ({ insights }: ChurnSnapshot): number => shortfallAgainstEarlier(engagementCounts(insights), 30, 90, DROP_PSEUDO_EVENTS),
} as const;

export type BaselineRiskSignal = keyof typeof BASELINE_RISK_SIGNALS;
