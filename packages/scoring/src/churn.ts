import type { ChurnFeatureValue, CustomerInsights } from '@churnscore/domain';
import { roundTo } from './numeric';
import type { Signals } from './signals';

/** Silence beyond this many days adds no further churn risk: by then the account is simply dark. */
export const SILENCE_CAP_DAYS = 180;
/** `renewalProximity` rises from 0 to 1 over the last this-many days before the renewal date. */
export const RENEWAL_PROXIMITY_HORIZON_DAYS = 90;
/** NPS passives (7–8) are neutral: `npsDeviation` is the answer minus this. */
const NPS_NEUTRAL = 7;

interface ChurnFeatureContext {
  insights: CustomerInsights;
  signals: Signals;
  health: number;
}

/**
 * The churn model's features, by the name its coefficients use. Each is centred so that 0 means
 * "no sign of risk" (a missing input reads as 0), which makes a feature's logit contribution its
 * own push away from the intercept. Counts are capped so one extreme value cannot dominate.
 */
export const CHURN_FEATURES = {
  /** Whole days silent (see Signals.silentDays), capped at SILENCE_CAP_DAYS. */
  daysSinceLastActivity: ({ signals }) => Math.min(signals.silentDays ?? 0, SILENCE_CAP_DAYS),
  /** 1 − engagement trend ratio, floored at 0: 0 when flat, rising or unknown; 1 when engagement stopped. */
  activityTrendDrop: ({ signals }) => (signals.engagementTrend === null ? 0 : Math.max(0, 1 - signals.engagementTrend)),
  /** 0 when the next renewal is ≥ 90 days away (or none), rising linearly to 1 on the renewal date. */
  renewalProximity: ({ signals }) =>
    signals.daysToRenewal === null
      ? 0
      : (RENEWAL_PROXIMITY_HORIZON_DAYS - Math.min(signals.daysToRenewal, RENEWAL_PROXIMITY_HORIZON_DAYS)) /
        RENEWAL_PROXIMITY_HORIZON_DAYS,
  /** Contracts cancelled in the last 365 days, capped at 3. */
  cancellations365: ({ insights }) => Math.min(insights.cancelled365, 3),
  /** Deals lost in the last 365 days, capped at 5. */
  lostDeals365: ({ insights }) => Math.min(insights.lost365, 5),
  /** Open support tickets, capped at 10. */
  openTickets: ({ insights }) => Math.min(insights.openTickets, 10),
  /** SLA breaches in the last 90 days, capped at 10. */
  slaBreaches90: ({ insights }) => Math.min(insights.slaBreaches90, 10),
  /** Latest CSM sentiment −2…+2 (0 when none). */
  csmSentiment: ({ insights }) => insights.latestCsmSentiment ?? 0,
  /** Latest NPS − 7 (0 when none): detractors are negative, promoters positive. */
  npsDeviation: ({ insights }) => (insights.latestNps === null ? 0 : insights.latestNps - NPS_NEUTRAL),
  /** 1 − health/100: 0 for a perfect health score, 1 for health 0. */
  healthShortfall: ({ health }) => 1 - health / 100,
} satisfies Record<string, (context: ChurnFeatureContext) => number>;

export type ChurnFeatureName = keyof typeof CHURN_FEATURES;
export const CHURN_FEATURE_NAMES = Object.keys(CHURN_FEATURES) as ChurnFeatureName[];

export interface ChurnModel {
  intercept: number;
  /** Features absent here are not part of the model. */
  coefficients: Partial<Record<ChurnFeatureName, number>>;
}

export interface ChurnEstimate {
  /** intercept + Σ coefficient × feature, unrounded. */
  logit: number;
  /** Logistic probability, rounded to 4 decimals. */
  churnRisk: number;
  /** In CHURN_FEATURES order; value and contribution rounded to 4 decimals. */
  features: ChurnFeatureValue[];
}

export const logistic = (logit: number): number => 1 / (1 + Math.exp(-logit));

/** churnRisk = logistic(intercept + Σ coefficient × feature). */
export function estimateChurnRisk(model: ChurnModel, context: ChurnFeatureContext): ChurnEstimate {
  let logit = model.intercept;
  const features: ChurnFeatureValue[] = [];
  for (const feature of CHURN_FEATURE_NAMES) {
    const coefficient = model.coefficients[feature];
    if (coefficient === undefined) continue;
    const value = CHURN_FEATURES[feature](context);
    logit += coefficient * value;
    features.push({
      feature,
      value: roundTo(value, 4),
      coefficient,
      logitContribution: roundTo(coefficient * value, 4),
    });
  }
  return { logit, churnRisk: roundTo(logistic(logit), 4), features };
}
