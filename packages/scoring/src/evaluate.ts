import {
  alertMessage,
  scoreChangedMessage,
  type AlertBook,
  type AlertEpisode,
  type CustomerInsights,
  type CustomerState,
  type OutputMessage,
  type Score,
  type ScoreCause,
} from '@churnscore/domain';
import { alertEpisodes, emptyAlertBook, evaluateAlerts } from './alerts';
import type { ScoringConfig } from './config-schema';
import { nextDueAt } from './due';
import { computeInsights, type InsightsOptions } from './insights';
import { isSignificantChange, scoreCustomer } from './score';
import { signalsFor } from './signals';

/** What the store holds about a customer when it is evaluated, and why it is. */
export interface CustomerEvaluationInput {
  state: CustomerState;
  /**
   * The stored score, which is the last published one (or null before the first): significance and the
   * explanation's drivers are measured against what subscribers last saw, so slow drift is published once
   * it adds up.
   */
  published: Score | null;
  /** The stored alert book, or null when none is stored yet. */
  alertBook: AlertBook | null;
  /** Why the customer is evaluated; carried by the score-changed event. */
  cause: ScoreCause;
  /**
   * Whether this is the customer's first commit in a new generation of the store: Redis may have come back
   * without writes whose outputs were already published, so the score and every episode of the alert book
   * are published again, under versions above any published before (docs/events.md "Versions after a
   * crash").
   */
  newGeneration: boolean;
}

/** Everything a commit of the customer needs. */
export interface CustomerEvaluation {
  insights: CustomerInsights;
  score: Score;
  /**
   * Whether the score is published (SPEC §6, see isSignificantChange; always in a new generation): the
   * outbox then starts with its score-changed event, and the commit replaces the stored score.
   */
  significant: boolean;
  /** The episodes that changed state (opened, severity raised, resolved), in ALERT_TYPES order. */
  transitions: AlertEpisode[];
  /** The new alert book, to store with the score. */
  alertBook: AlertBook;
  /** The next instant time alone changes the customer's insights, score or alerts (SPEC §7), or null. */
  nextDueAt: number | null;
  /** Whether the new book holds an OPEN episode (the customer belongs in the open-alert index). */
  hasOpenAlerts: boolean;
  /**
   * The outputs to commit with the score, versionless (the commit assigns versions): the score-changed
   * event when significant, then an alert event per transition and, in a new generation, per other
   * episode of the book.
   */
  outbox: OutputMessage[];
}

/**
 * Evaluates a customer at `now`: insights → score → significance → alert transitions → next due time →
 * outputs. Pure and deterministic: the same input gives the same evaluation, so a redelivered event or a
 * recomputation after a lost commit reproduces it. The signals are computed once and shared by the score
 * and the alert rules, so they cannot disagree.
 */
export function evaluateCustomer(customer: CustomerEvaluationInput, config: ScoringConfig, now: number, opts: InsightsOptions): CustomerEvaluation {
  const { state, published, cause, newGeneration } = customer;
  const insights = computeInsights(state, now, opts);
  const signals = signalsFor(insights, config, now);
  const score = scoreCustomer(insights, published, config, now, signals);
  const significant = newGeneration || isSignificantChange(published, score, config);
  const { book, transitions } = evaluateAlerts(customer.alertBook ?? emptyAlertBook(), score, published, insights, config, now, signals);
  const alerts = newGeneration ? withEveryEpisode(transitions, book) : transitions;
  return {
    insights,
    score,
    significant,
    transitions,
    alertBook: book,
    nextDueAt: nextDueAt(state, insights, config, now, opts),
    hasOpenAlerts: alertEpisodes(book).some((episode) => episode.status === 'OPEN'),
    outbox: [
      ...(significant ? [scoreChangedMessage({ current: score, previous: published, cause })] : []),
      ...alerts.map((episode) => alertMessage(episode, { modelVersion: score.modelVersion, updatedAt: now })),
    ],
  };
}

/** The transitions, and after them the latest episode of every other alert type in the book, to publish again. */
function withEveryEpisode(transitions: readonly AlertEpisode[], book: AlertBook): AlertEpisode[] {
  const published = new Set(transitions.map((episode) => episode.alertId));
  return [...transitions, ...alertEpisodes(book).filter((episode) => !published.has(episode.alertId))];
}
