import type { AlertEpisode, Explanation, Score, ScoreCause } from './scores';

/** The headline scores of a customer at one instant, as published. */
export type ScoreValues = Pick<Score, 'health' | 'band' | 'churnRisk' | 'riskBand' | 'lifecycleStage' | 'valueAtRisk'>;

/** Value of `customer.score-changed.v1`. Subscribers de-duplicate by (customerId, version). */
export interface ScoreChangedEvent {
  kind: 'score-changed';
  customerId: string;
  /** Per-customer, strictly increasing. */
  version: number;
  cause: ScoreCause;
  /** null for the customer's first score. */
  previous: ScoreValues | null;
  current: ScoreValues;
  segment: string | null;
  explanation: Explanation;
  modelVersion: string;
  computedAt: number;
  /**
   * Computed while the customer's inputs were being caught up (a backlog, or history without its activity):
   * the score reflects only what was read so far, and alert transitions are held until caught up.
   */
  catchingUp: boolean;
}

/** Value of `customer.alerts.v1`: one state of an alert episode. Subscribers de-duplicate by (alertId, version). */
export interface AlertEvent extends AlertEpisode {
  kind: 'alert';
  modelVersion: string;
  /** When this state of the episode was produced. */
  updatedAt: number;
  /** Per-alert, strictly increasing. */
  version: number;
}

export type OutputEvent = ScoreChangedEvent | AlertEvent;

/**
 * An output as a commit puts it in the customer's outbox: the event without its version, which the commit
 * assigns (docs/redis-contract.md, commitScore): a score-changed event takes the customer's new score
 * version, an alert event its outbox sequence number.
 */
export type ScoreChangedMessage = Omit<ScoreChangedEvent, 'version'>;
export type AlertMessage = Omit<AlertEvent, 'version'>;
export type OutputMessage = ScoreChangedMessage | AlertMessage;

/** The headline values of a score (a whole `Score` is accepted; only these fields are kept). */
export const scoreValues = ({ health, band, churnRisk, riskBand, lifecycleStage, valueAtRisk }: ScoreValues): ScoreValues => ({
  health,
  band,
  churnRisk,
  riskBand,
  lifecycleStage,
  valueAtRisk,
});

export function scoreChangedMessage(change: {
  current: Score;
  /** The previously published score (or its values); null when this is the customer's first score. */
  previous: ScoreValues | null;
  cause: ScoreCause;
  /** Computed while the customer's inputs were being caught up; a live score by default. */
  catchingUp?: boolean;
}): ScoreChangedMessage {
  const { current, previous, cause, catchingUp = false } = change;
  return {
    kind: 'score-changed',
    customerId: current.customerId,
    cause,
    previous: previous === null ? null : scoreValues(previous),
    current: scoreValues(current),
    segment: current.segment,
    explanation: current.explanation,
    modelVersion: current.modelVersion,
    computedAt: current.computedAt,
    catchingUp,
  };
}

export const alertMessage = (episode: AlertEpisode, meta: { modelVersion: string; updatedAt: number }): AlertMessage => ({
  kind: 'alert',
  ...episode,
  ...meta,
});

/** The event to publish: the message with the version its commit assigned. */
export const withVersion = (message: OutputMessage, version: number): OutputEvent => ({ ...message, version });
