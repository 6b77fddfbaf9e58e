import { createHash } from 'node:crypto';

export const HEALTH_BANDS = ['green', 'yellow', 'red'] as const;
export type HealthBand = (typeof HEALTH_BANDS)[number];

export const RISK_BANDS = ['low', 'medium', 'high'] as const;
export type RiskBand = (typeof RISK_BANDS)[number];

export const LIFECYCLE_STAGES = ['PROSPECT', 'ONBOARDING', 'GROWTH', 'MATURE', 'DECLINE', 'CHURNED'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/**
 * Whether a customer at this stage has an active contract, and so something to churn: a prospect never had one, a
 * churned customer has none left (docs/scoring.md §5).
 */
export const hasActiveContract = (stage: LifecycleStage): boolean => stage !== 'PROSPECT' && stage !== 'CHURNED';

/** Rounds to `decimals` places (Math.round semantics), so outputs stay short and identical on every instance. */
export const roundTo = (value: number, decimals: number): number => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};

/**
 * A measure's contribution as its explanation states it: the stated score × the stated weight, in health points to 2
 * decimals, so that a reader can check it and a stored explanation need not keep it (docs/redis-contract.md,
 * "Explanation"). Health comes from the exact weights: the contributions add up to it within rounding.
 */
export const measureContribution = (score: number | null, weight: number): number => (score === null ? 0 : roundTo(score * weight, 2));

/** A churn feature's share of the logit as its explanation states it: the stated value × the coefficient, to 4 decimals. */
export const featureLogitContribution = (coefficient: number, value: number): number => roundTo(coefficient * value, 4);

/** One measure's part in the health score. */
export interface MeasureExplanation {
  measureId: string;
  group: string;
  /** The aggregate the measure reads; null when it has no data (then it is excluded). */
  rawValue: number | null;
  /** 0–100; null when excluded. */
  score: number | null;
  /** Normalised weight actually applied (0 when excluded), rounded to 4 decimals; weights of included measures sum to 1 within that rounding. */
  weight: number;
  /** score × weight as stated here (`measureContribution`): the points this measure adds to the health score. */
  contribution: number;
}

/**
 * A measure or churn feature that moved the score since the previous one. Explanation.topDrivers lists the
 * measures, then the features, each largest effect first (docs/scoring.md §7).
 */
export interface ScoreDriver {
  id: string;
  kind: 'measure' | 'churnFeature';
  previous: number | null;
  current: number | null;
  /** Signed: in health points for a measure, in churn-risk probability for a feature; never ranked together. */
  impact: number;
}

export interface ChurnFeatureValue {
  feature: string;
  value: number;
  coefficient: number;
  /** value × coefficient as stated here (`featureLogitContribution`): the feature's share of the logit. */
  logitContribution: number;
}

export interface Explanation {
  scorecardId: string;
  measures: MeasureExplanation[];
  churnFeatures: ChurnFeatureValue[];
  topDrivers: ScoreDriver[];
}

/** What the scorer computes for a customer at one instant; pure output of the scoring package. */
export interface Score {
  customerId: string;
  health: number;
  band: HealthBand;
  churnRisk: number;
  riskBand: RiskBand;
  lifecycleStage: LifecycleStage;
  valueAtRisk: number;
  segment: string | null;
  explanation: Explanation;
  /** Version of the scoring configuration that produced it. */
  modelVersion: string;
  computedAt: number;
}

export const ALERT_TYPES = ['CHURN_RISK_HIGH', 'HEALTH_BAND_DROPPED', 'RENEWAL_AT_RISK', 'NO_RECENT_ACTIVITY'] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

export const ALERT_SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export type AlertStatus = 'OPEN' | 'RESOLVED';

/**
 * Deterministic: the same customer, alert type and episode number always give the same id, so a
 * re-evaluation after redelivery or a crash reproduces the id and subscribers de-duplicate it, and a stored
 * alert book need not keep it. Hashed, so the id carries no customer identifier in the clear.
 */
export const alertId = (customerId: string, alertType: AlertType, episode: number): string =>
  createHash('sha256').update(`${customerId}\u0000${alertType}\u0000${episode}`).digest('hex').slice(0, 32);

/** Cause of a recomputation: an input event, or the passage of time (decay, renewal approaching). */
export type ScoreCause = { kind: 'event'; eventId: string } | { kind: 'time' };

/** One alert episode, OPEN until its condition clears, then RESOLVED. */
export interface AlertEpisode {
  /** Deterministic: the same customer, type and episode always give the same id. */
  alertId: string;
  customerId: string;
  alertType: AlertType;
  status: AlertStatus;
  severity: AlertSeverity;
  /** Episode number of this alert type for this customer, starting at 1. */
  episode: number;
  openedAt: number;
  resolvedAt: number | null;
  valueAtRisk: number;
  churnRisk: number;
  health: number;
  band: HealthBand;
  /** Human-readable reason, no personal data. */
  reason: string;
}

/** What an alert rule compares a new score with: the score the alerts were last evaluated against. */
export type ScoreBaseline = Pick<Score, 'band' | 'health'>;

/**
 * The baseline a score gives HEALTH_BAND_DROPPED: none unless the customer held an active contract then. A prospect's
 * or a churned customer's health describes no relationship that could have dropped (a load that brought a customer's
 * profile and deals before its contract, or a prospect signing, is no drop).
 */
export const bandBaseline = (score: Score | null): ScoreBaseline | null =>
  score === null || score.lifecycleStage === 'PROSPECT' || score.lifecycleStage === 'CHURNED' ? null : { band: score.band, health: score.health };

/**
 * Alert transitions held while a customer's inputs are caught up (a backlog ahead of the consumer, or history
 * whose activity has not arrived yet; docs/time-and-alerts.md "Loading history without alert storms"). The
 * book's episodes stay as they were when holding began; once caught up, the alerts move straight to what the
 * data then supports.
 */
export interface AlertHold {
  /** When the first held evaluation ran. */
  since: number;
  /**
   * The score the alerts were last evaluated against before holding began (the last one published live), or
   * null when there was none: HEALTH_BAND_DROPPED compares the caught-up band with it, never with a score of
   * the partial data read while catching up.
   */
  baseline: ScoreBaseline | null;
  /** History without activity arrived: the hold lasts at least until then, whatever the input; null otherwise. */
  settlesAt: number | null;
}

/**
 * A customer's alert state, JSON-serialisable, stored beside its score (scoring evaluates it; the store
 * keeps it; the API reads it). Per alert type it keeps the OPEN episode, or else the last RESOLVED one,
 * whose `episode` number is the counter the next episode continues from.
 */
export interface AlertBook {
  episodes: Partial<Record<AlertType, AlertEpisode>>;
  /** While HEALTH_BAND_DROPPED is open: the band the customer dropped from (it resolves on regaining it). */
  bandBeforeDrop: HealthBand | null;
  /** Present while the customer's alert transitions are held (absent in books stored before holds existed). */
  held?: AlertHold;
  /**
   * Set when a hold with no baseline ends (a customer first seen in a backlog), until the customer's first evaluation of
   * live events: the score that hold ended on may itself be of part of its history (a load's older activity arriving
   * after a pause longer than the settle time), so a hold begun meanwhile takes no baseline either. Absent otherwise.
   */
  seenOnlyInBacklog?: true;
}
