import {
  alertMessage,
  bandBaseline,
  scoreChangedMessage,
  type AlertBook,
  type AlertEpisode,
  type AlertHold,
  type CustomerInsights,
  type CustomerState,
  type OutputMessage,
  type Score,
  type ScoreCause,
} from '@churnscore/domain';
import { alertEpisodes, emptyAlertBook, evaluateAlerts, type AlertEvaluation } from './alerts';
import { alertHold, holdRecheckAt, type CatchUpPolicy } from './catch-up';
import type { ScoringConfig } from './config-schema';
import { nextDueAt } from './due';
import { computeInsights, type InsightsOptions } from './insights';
import { draftScore, isSignificantChange, withDrivers } from './score';
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
  /**
   * Whether `published` was published while the customer's inputs were being caught up (its score-changed event said
   * so). The evaluation that ends a hold publishes the score again, no longer catching up, only when it was: a hold
   * that published nothing (a re-scoring by time while a re-ingested export was consumed, every record a duplicate)
   * has nothing to take back, and an outside tester's re-ingests each published unchanged scores and history points.
   * Absent: taken to have been.
   */
  publishedCatchingUp?: boolean;
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
  /**
   * Whether records lie ahead of the consumer in the customer's input partitions (the scorer's view of its
   * consumer lag): the rest of the customer's history may be among them, so alert transitions are held.
   */
  inputsBehind: boolean;
  /**
   * For an evaluation caused by events: when the newest of the events just applied for the customer occurred.
   * Events all older than the catch-up policy's history age hold the alert transitions for its settle time, as
   * history with more of it to follow (CatchUpPolicy.historyAgeMs).
   */
  newestEventAt?: number;
  /** The same for the newest of its activity events among them: old activity that is the customer's latest holds too. */
  newestActivityAt?: number;
  /**
   * Whether the state holds events no evaluation has judged (its revision is past the stored score's): an evaluation
   * by time is their first, and holds alert transitions as one caused by them would (CatchUpInput.unjudgedEvents).
   */
  unjudgedEvents?: boolean;
  /** Whether a load of history is arriving on the scorer's inputs: a hold for the customer's history lasts while it does (CatchUpInput.historyLoading). */
  historyLoading?: boolean;
  /**
   * The instant the stored score was last computed as of (its `asOf`; a commit without a significant change moves
   * it, not the published score's `computedAt`), when one is stored. Instances whose clocks differ by a little (up
   * to the scorer's allowed skew) take turns on a customer: one whose clock is behind this evaluates it just after
   * this instant, so the customer's time never goes back (a day boundary crossed by one instance is not undone by the
   * next) and the commit, as of a later instant, is newer than the stored one (a commit as of the same revision and
   * instant is refused as a retry).
   */
  lastEvaluatedAt?: number;
}

export interface EvaluationOptions extends InsightsOptions {
  catchUp: CatchUpPolicy;
}

/** Everything a commit of the customer needs. */
export interface CustomerEvaluation {
  /** The instant evaluated as of: the clock, or just after the stored score's instant if that is later (CustomerEvaluationInput.lastEvaluatedAt). */
  asOf: number;
  insights: CustomerInsights;
  /** The score; its explanation's drivers are measured only when it is significant (published), empty otherwise. */
  score: Score;
  /**
   * Whether the score is published (SPEC §6, see isSignificantChange; always in a new generation, when
   * alerts stop being held, so the last score published says it is no longer catching up, and with every alert
   * transition): the outbox then
   * starts with its score-changed event, and the commit replaces the stored score.
   */
  significant: boolean;
  /** The episodes that changed state (opened, severity raised, resolved), in ALERT_TYPES order. */
  transitions: AlertEpisode[];
  /** The new alert book, to store with the score. */
  alertBook: AlertBook;
  /**
   * Whether the customer's inputs are being caught up: the alert transitions are held (none published, the
   * book keeps its episodes and records the hold) and the score-changed event says so.
   */
  catchingUp: boolean;
  /** The next instant time alone changes the customer's insights, score or alerts (SPEC §7), or null. */
  nextDueAt: number | null;
  /** Whether the new book holds an OPEN episode (the customer belongs in the open-alert index). */
  hasOpenAlerts: boolean;
  /** When the new book's latest RESOLVED episode resolved, or null for none (its place in the resolved-alert index). */
  lastResolvedAt: number | null;
  /**
   * The outputs to commit with the score, versionless (the commit assigns versions): the score-changed
   * event when significant, then an alert event per transition and, in a new generation, per other
   * episode of the book.
   */
  outbox: OutputMessage[];
}

/**
 * Evaluates a customer as of `clock` (or just after its stored score's instant, if later): insights → score → significance → alert transitions (or a hold on them while
 * the customer's inputs are caught up) → next due time → outputs. Pure and deterministic: the same input gives
 * the same evaluation, so a redelivered event or a recomputation after a lost commit reproduces it. The
 * signals are computed once and shared by the score and the alert rules, so they cannot disagree.
 *
 * While held, the book keeps the episodes it had when holding began; the first evaluation after it moves them
 * straight to what the caught-up data supports (only the net transitions, against the score alerts were last
 * evaluated with) and publishes the score again, no longer catching up.
 */
export function evaluateCustomer(customer: CustomerEvaluationInput, config: ScoringConfig, clock: number, opts: EvaluationOptions): CustomerEvaluation {
  const { state, published, cause, newGeneration } = customer;
  const now = customer.lastEvaluatedAt !== undefined && clock < customer.lastEvaluatedAt ? customer.lastEvaluatedAt + 1 : clock;
  const insights = computeInsights(state, now, opts);
  const signals = signalsFor(insights, config, now);
  const draft = draftScore(insights, config, now, signals);
  const current = customer.alertBook ?? emptyAlertBook();
  const hold = alertHold({ ...customer, book: current }, opts.catchUp, now);
  const { book, transitions }: AlertEvaluation =
    hold === null
      ? evaluateAlerts(current, draft.score, current.held === undefined ? bandBaseline(published) : current.held.baseline, insights, config, now, signals)
      : { book: { ...current, held: hold }, transitions: [] };
  if (seenOnlyInBacklogAfter(current, hold, cause)) book.seenOnlyInBacklog = true;
  else delete book.seenOnlyInBacklog;
  const caughtUp = hold === null && current.held !== undefined && customer.publishedCatchingUp !== false;
  // A score is published with every alert transition, so that an alert and the score a reader finds beside it agree
  // ("no activity for 30 days" beside a recency of 29 days otherwise).
  const significant = newGeneration || caughtUp || transitions.length > 0 || isSignificantChange(published, draft.score, config, insights.totalContractValue);
  // A customer first seen in a backlog (a hold, on now or just ended, with no score published live before it) has
  // published only parts of its history: its drivers against them would describe the load ("recency 94 → 0 days"), so
  // its scores are explained as a first one is, by their measures and features.
  const firstSeenCatchingUp = (hold ?? current.held)?.baseline === null;
  const score = significant ? withDrivers(draft, firstSeenCatchingUp ? null : published, config) : draft.score;
  const alerts = newGeneration ? withEveryEpisode(transitions, book) : transitions;
  const due = nextDueAt(state, insights, config, now, opts);
  return {
    asOf: now,
    insights,
    score,
    significant,
    transitions,
    alertBook: book,
    catchingUp: hold !== null,
    nextDueAt: hold === null ? due : Math.min(due ?? Infinity, holdRecheckAt(hold, opts.catchUp, now)),
    hasOpenAlerts: alertEpisodes(book).some((episode) => episode.status === 'OPEN'),
    lastResolvedAt: lastResolvedAt(book),
    outbox: [
      ...(significant ? [scoreChangedMessage({ current: score, previous: published, cause, catchingUp: hold !== null })] : []),
      ...alerts.map((episode) => alertMessage(episode, { modelVersion: score.modelVersion, updatedAt: now })),
    ],
  };
}

/**
 * Whether the book leaves the customer seen only in a backlog (AlertBook.seenOnlyInBacklog): a hold with no baseline
 * ends, or the customer was and is not judged on live events now (held still, or evaluated by time).
 */
function seenOnlyInBacklogAfter(current: AlertBook, hold: AlertHold | null, cause: ScoreCause): boolean {
  if (hold === null && current.held?.baseline === null) return true;
  const judgedLive = hold === null && current.held === undefined && cause.kind === 'event';
  return current.seenOnlyInBacklog === true && !judgedLive;
}

/** The transitions, and after them the latest episode of every other alert type in the book, to publish again. */
function withEveryEpisode(transitions: readonly AlertEpisode[], book: AlertBook): AlertEpisode[] {
  const published = new Set(transitions.map((episode) => episode.alertId));
  return [...transitions, ...alertEpisodes(book).filter((episode) => !published.has(episode.alertId))];
}

/** When the book's latest RESOLVED episode resolved; null when it holds none. */
function lastResolvedAt(book: AlertBook): number | null {
  const resolvedAt = alertEpisodes(book).flatMap((episode) => (episode.status === 'RESOLVED' && episode.resolvedAt !== null ? [episode.resolvedAt] : []));
  return resolvedAt.length === 0 ? null : Math.max(...resolvedAt);
}
