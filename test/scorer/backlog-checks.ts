// What the tests of histories loaded through a backlog share: the clock and settings they load under, and the
// checks that the alerts published are only those the data supports.
import type { AlertEvent } from '@churnscore/events';
import { alertEpisodes, defaultScoringConfig, evaluateCustomer } from '@churnscore/scoring';
import type { CustomerSnapshot } from '@churnscore/state';
import { catchUpPolicy } from '../../services/scorer/src/input-backlog';
import type { CustomerHistory } from './backlog-histories';
import { eventually, type ScorerTestBed } from './support';

/** Half past noon: no event of the histories has a threshold near it (see customerHistories). */
export const BACKLOG_NOW = Date.UTC(2026, 4, 20, 12, 30, 0);
export const BACKLOG_PARTITIONS = 3;
/** A unit of work of 500 records (so the backlog from which a partition counts as far behind), holds settling in a minute. */
export const BACKLOG_SETTINGS = { chunkSize: 500, maxChunkSize: 500, catchUpSettleMs: 60_000 };

/** Customers whose alerts are held, or whose outputs are not yet published. */
export const heldOrUnpublished = (snapshots: readonly CustomerSnapshot[]): string[] =>
  snapshots.filter((s) => s.alertBook?.held !== undefined || s.outbox.length > 0).map((s) => s.customerId);

/** alertIds of the OPEN episodes evaluateCustomer gives each customer's state alone (no earlier score, no book): what the data supports. */
export function supportedOpenAlerts(bed: ScorerTestBed, snapshots: readonly CustomerSnapshot[], now: number): Set<string> {
  const scoring = defaultScoringConfig();
  return new Set(
    snapshots.flatMap(({ state }) =>
      evaluateCustomer(
        { state, published: null, alertBook: null, cause: { kind: 'time' }, newGeneration: false, inputsBehind: false },
        scoring,
        now,
        { retentionDays: bed.config().retentionDays, catchUp: catchUpPolicy(bed.config().scorer) },
      ).transitions.flatMap((episode) => (episode.status === 'OPEN' ? [episode.alertId] : [])),
    ),
  );
}

/** Episodes published OPEN and then RESOLVED: opened from a transient state, as `customer alertType: reason`. */
export const openedAndResolvedAgain = (alerts: readonly AlertEvent[]): string[] => {
  const opened = new Set(alerts.filter((a) => a.status === 'OPEN').map((a) => a.alertId));
  return alerts.filter((a) => a.status === 'RESOLVED' && opened.has(a.alertId)).map((a) => `${a.customerId} ${a.alertType}: ${a.reason}`);
};

/** Published alerts the final state does not support, as `customer alertType status: reason`. */
export const unsupported = (alerts: readonly AlertEvent[], supported: ReadonlySet<string>): string[] =>
  alerts.filter((a) => !supported.has(a.alertId)).map((a) => `${a.customerId} ${a.alertType} ${a.status}: ${a.reason}`);

/** alertIds of the OPEN episodes in the customers' alert books. */
export const bookedOpenAlerts = (snapshots: readonly CustomerSnapshot[]): Set<string> =>
  new Set(snapshots.flatMap((s) => alertEpisodes(s.alertBook).filter((e) => e.status === 'OPEN').map((e) => e.alertId)));

/** Waits until every event of the histories is applied and scored, and every output published. */
export async function everyEventScored(bed: ScorerTestBed, histories: readonly CustomerHistory[], now: number): Promise<void> {
  const revisions = new Map(histories.map((h) => [h.customerId, new Set(h.events.map((event) => event.eventId)).size]));
  await eventually(
    () => bed.store.readCustomers([...revisions.keys()], now),
    (all) => all.every((s) => s.state.revision === revisions.get(s.customerId) && s.score?.revision === s.state.revision && s.outbox.length === 0),
    120_000,
    'every event to be applied and scored',
  );
}
