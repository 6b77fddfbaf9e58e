import { MS_PER_DAY, bandBaseline, type AlertBook, type AlertHold, type CustomerState, type Score, type ScoreCause } from '@churnscore/domain';
import { firstContractStart } from './insights';

/**
 * How alert transitions wait while a customer's inputs are caught up (docs/time-and-alerts.md "Loading
 * history"). A score computed from part of a customer's history (its contracts before its activity, its
 * newest activity before the older) can cross an alert threshold the whole history never crosses; alerts
 * published from it would open and resolve for nothing while the history loads.
 */
export interface CatchUpPolicy {
  /**
   * Events older than this are history, and more of the customer's history may follow them: a replay or an export
   * published while the scorer keeps up (no consumer lag shows it) delivers each customer's past oldest first, and
   * a customer known from no activity at all, only its profile, contracts and deals, whose contracts began longer
   * ago than this (or who has none), awaits its activity (topic-by-topic loads deliver profiles and contracts first,
   * and a contract's latest change may be recent). Live traffic is younger.
   */
  historyAgeMs: number;
  /**
   * How long alerts then stay held for that activity to follow; also the shortest wait before a held customer
   * is evaluated again by time, should nothing else release it.
   */
  settleMs: number;
}

/** What decides whether an evaluation holds the customer's alert transitions. */
export interface CatchUpInput {
  state: CustomerState;
  /** The last published score: the baseline a new hold keeps (see AlertHold.baseline). */
  published: Score | null;
  book: AlertBook;
  cause: ScoreCause;
  /**
   * Whether records lie ahead of the consumer in the customer's input partitions: a backlog the scorer sees
   * from its consumer lag, in which the rest of the customer's history may be.
   */
  inputsBehind: boolean;
  /** For an evaluation caused by events: when the newest of the events just applied for the customer occurred. */
  newestEventAt?: number;
  /** The same for the newest of its activity events among them (none: the events brought no activity). */
  newestActivityAt?: number;
  /**
   * Whether the state holds events no evaluation has judged (the stored score is of an older state revision): their
   * scoring was deferred while a partition caught up, or a crash came between their apply and a commit. An evaluation
   * by time is then their first, and judges them as an evaluation caused by events does, taking the newest dated
   * record the state holds (newestKnownEventAt) and its latest activity for theirs, as it is not told of them.
   */
  unjudgedEvents?: boolean;
  /**
   * Whether a load of history is arriving on the scorer's inputs (a hundred events or more older than the history age
   * within the settle time, most of those applied; the scorer's HistoryLoad): a hold for the customer's history arriving lasts while it does,
   * as the rest of that history may be in it (a topic-by-topic load at a limited rate brings a customer's activity
   * minutes after its contracts, with no consumer lag to show it). Absent: none is.
   */
  historyLoading?: boolean;
}

/**
 * When the customer's relationship began, as far as its contracts tell: the earliest of their first start
 * (firstContractStart: a renewal recorded with the new term's dates keeps the start the store kept), their changes
 * (a contract upsold today may have started a year ago) and, for a contract renewed, a term of its own length before
 * its start (a renewal recorded with the new term's dates, weeks ahead, is read first in a history published newest
 * first: the term it renews was held before it); or null without a contract. Deals are left out: a new customer's
 * pre-sale deals are older than its first contract, and without a contract no alert can open anyway.
 */
function relationshipBeganAt(state: CustomerState): number | null {
  const firstStart = firstContractStart(state);
  if (firstStart === null) return null;
  const renewedTermsBegan = state.contracts.flatMap((record) => (record.status === 'RENEWED' ? [2 * record.startDate - record.endDate] : []));
  return Math.min(firstStart, ...state.contracts.map((record) => record.occurredAt), ...renewedTermsBegan);
}

/** Whether the customer's known activity reaches back past `before`: its latest, or a day bucket ended by then. */
function activityBefore(state: CustomerState, before: number): boolean {
  return (state.lastActivityAt !== null && state.lastActivityAt < before) || state.activityDays.some(({ day }) => (day + 1) * MS_PER_DAY <= before);
}

/**
 * When the newest event the state knows of occurred, as far as its records carry a date: its latest activity, its
 * contracts' and deals' latest changes (a profile carries none); null when none does.
 */
function newestKnownEventAt(state: CustomerState): number | null {
  const dated = [...state.contracts, ...state.opportunities].map((record) => record.occurredAt);
  if (state.lastActivityAt !== null) dated.push(state.lastActivityAt);
  return dated.length === 0 ? null : Math.max(...dated);
}

/**
 * Whether the events just applied are history with more of it possibly to follow (see CatchUpPolicy.historyAgeMs):
 * all of them older than the history age; or activity older than that which is the customer's latest known (one
 * unit of work can bring another topic's record of yesterday, a contract's change, with the first of a year of
 * activity, and the rest of that year would take back what the unit shows); or leaving a customer of long standing
 * seen for the first time (no score published yet: a customer the scorer never saw although its relationship is older
 * than the history age is being loaded, and a history published newest first while the scorer keeps up brings its
 * last days before the rest), or one with no activity known from before the history age (a topic-by-topic load
 * brings contracts before activity). A profile alone carries no date in the state: it waits too, and nothing can
 * alert on it meanwhile. Any customer seen for the first time while a load of history arrives (historyLoading) is.
 */
function historyArriving({ state, published, newestEventAt, newestActivityAt, unjudgedEvents, historyLoading }: CatchUpInput, policy: CatchUpPolicy, now: number): boolean {
  // Seen for the first time while a load of history arrives: part of it, whatever its first events (an export written
  // customer by customer, newest first, brings a prospect's last hours first, judged live and published as settled).
  if (published === null && historyLoading === true) return true;
  const historyBefore = now - policy.historyAgeMs;
  // Events evaluated by time for the first time are known by the state alone: its newest dated record and activity.
  const byState = unjudgedEvents === true && newestEventAt === undefined;
  const newest = byState ? newestKnownEventAt(state) : (newestEventAt ?? null);
  const newestActivity = byState ? state.lastActivityAt : (newestActivityAt ?? null);
  if (newest !== null && newest < historyBefore) return true;
  if (newestActivity !== null && newestActivity < historyBefore && state.lastActivityAt === newestActivity) return true;
  const began = relationshipBeganAt(state);
  if (began === null) return state.lastActivityAt === null;
  return began < historyBefore && (published === null || !activityBefore(state, historyBefore));
}

/**
 * Whether a hold for history arriving that settles at `settlesAt` (null: none) no longer holds at `now`: it has
 * settled, and no load of history goes on (CatchUpInput.historyLoading).
 */
function settled(settlesAt: number | null, { historyLoading }: CatchUpInput, now: number): boolean {
  return settlesAt === null || (settlesAt <= now && historyLoading !== true);
}

/**
 * When the hold events leave settles, or null for events judged afresh. History arriving holds for `settleMs`. Other
 * events keep a hold still settling until it settles, without extending it: a customer's history was arriving a
 * moment ago, and a younger record says nothing of whether more of it follows (a history published newest first
 * brings a customer's last hours between parts of its past; a unit can bring a contract's change of this morning
 * between two parts of a year of activity).
 */
function eventHoldSettlesAt(input: CatchUpInput, policy: CatchUpPolicy, now: number): number | null {
  if (historyArriving(input, policy, now)) return now + policy.settleMs;
  const settling = input.book.held?.settlesAt ?? null;
  return settled(settling, input, now) ? null : settling;
}

/**
 * The hold this evaluation leaves on the customer's alert transitions, or null when they are published.
 * Held while the inputs are behind; held for `settleMs` after events that are history (all older than the history
 * age, or leaving the customer without activity), and until a settling hold settles after any other events or by
 * time, or later while a load of history goes on; with no hold settling, younger events are judged afresh. An evaluation by time of events never judged
 * (unjudgedEvents) judges them as theirs would have been. Pure: the same input gives the same hold.
 */
export function alertHold(input: CatchUpInput, policy: CatchUpPolicy, now: number): AlertHold | null {
  const { published, book, cause, inputsBehind } = input;
  const earlier = book.held;
  const judgesEvents = cause.kind === 'event' || input.unjudgedEvents === true;
  const settlesAt = judgesEvents ? eventHoldSettlesAt(input, policy, now) : (earlier?.settlesAt ?? null);
  if (!inputsBehind && settled(settlesAt, input, now)) return null;
  return {
    since: earlier?.since ?? now,
    baseline: earlier !== undefined ? earlier.baseline : book.seenOnlyInBacklog ? null : bandBaseline(published),
    settlesAt,
  };
}

/**
 * When a held customer is evaluated again by time, should nothing release it sooner (its history arriving,
 * the scorer's backlog draining): when a settling hold settles, else after `settleMs` or as long again as it
 * has been held so far, whichever is longer, so a long backlog costs a few rechecks per customer, not one per
 * `settleMs`.
 */
export function holdRecheckAt(hold: AlertHold, policy: CatchUpPolicy, now: number): number {
  if (hold.settlesAt !== null && hold.settlesAt > now) return hold.settlesAt;
  return now + Math.max(policy.settleMs, now - hold.since);
}
