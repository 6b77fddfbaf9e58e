// The pure part of the back-fill: a customer's score as of the end of each past UTC week, computed by the scorer's
// own code (the event fold, computeInsights, scoreCustomer) from only the events known by then.
import { MS_PER_DAY, utcDay } from '@churnscore/domain';
import { computeInsights, scoreCustomer, type FoldOptions, type ScoringConfig } from '@churnscore/scoring';
import { historyEntry, type ScoreHistoryEntry } from '@churnscore/state';
import { foldAsOf, usableEvents, type CustomerHistory } from '@churnscore/training';

/** How far back the back-fill goes: a year, the longest window the insights look over. */
export const BACKFILL_DAYS = 365;
/**
 * Weekly, not daily: 52 points a year fit in the history endpoint's default 100 beside the 30 live ones, and cost a
 * customer about 4 KB of Redis rather than 28 KB (MEMORY USAGE of the list; the scorer's whole state is about
 * 9 KB). A year's trend reads as well week by week; the training snapshots and the alert thresholds are weekly too.
 */
export const BACKFILL_EVERY_DAYS = 7;
/** UTC day 0 (1970-01-01) was a Thursday: day 3 was the first Sunday, the last day of an ISO week. */
const FIRST_SUNDAY = 3;

const endOfDay = (day: number): number => (day + 1) * MS_PER_DAY - 1;

/**
 * The ends of the UTC weeks (the last millisecond of each Sunday) in the `days` before `until`, oldest first:
 * calendar instants, so a re-run on another day recomputes the same weeks.
 */
export function weekEnds(until: number, days: number = BACKFILL_DAYS): number[] {
  const from = until - days * MS_PER_DAY;
  let sunday = utcDay(until);
  sunday -= (((sunday - FIRST_SUNDAY) % BACKFILL_EVERY_DAYS) + BACKFILL_EVERY_DAYS) % BACKFILL_EVERY_DAYS;
  const ends: number[] = [];
  for (let day = sunday; endOfDay(day) > from; day -= BACKFILL_EVERY_DAYS) if (endOfDay(day) <= until) ends.push(endOfDay(day));
  return ends.reverse();
}

/**
 * The customer's score as of each instant of `asOfDates` (ascending), as the scorer would have computed it then
 * with `config`: the fold of the events known by that instant (occurred, and arrived when the history says when),
 * never one after it. None before the customer's first known event; only events after its last erasure request
 * count, so a customer erased for good has none.
 */
export function backfilledPoints(history: CustomerHistory, asOfDates: readonly number[], config: ScoringConfig, options: FoldOptions): ScoreHistoryEntry[] {
  const points: ScoreHistoryEntry[] = [];
  for (const { asOf, known, state } of foldAsOf(history.customerId, usableEvents(history), asOfDates, options)) {
    if (known === 0) continue;
    points.push(historyEntry(scoreCustomer(computeInsights(state(), asOf, options), null, config, asOf)));
  }
  return points;
}
