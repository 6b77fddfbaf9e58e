// Alerts live per customer, in the alert book the scorer stores beside the score. They are found through the
// alert indexes the scorer keeps beside the books: open ones through the customers with an OPEN episode (by value
// at risk), resolved ones through the customers whose alerts resolved most recently.
import { ALERT_SEVERITIES, type AlertEpisode, type AlertStatus } from '@churnscore/domain';
import { alertEpisodes } from '@churnscore/scoring';
import type { ReadStore } from '@churnscore/state';
import { AlertEpisodeSchema, type AlertsPage, type AlertsQuery } from './schemas';
import { conforms, type ReportUnreadable } from './unreadable-records';

/** Customers taken from the top of an alert index; their alert books are read (pipelined). */
const ALERT_SCAN_PER_INDEX = 500;

const severityRank = (episode: AlertEpisode): number => ALERT_SEVERITIES.indexOf(episode.severity);

/** Most severe first, then the largest value at risk, then the most recently opened. */
const byUrgency = (a: AlertEpisode, b: AlertEpisode): number =>
  severityRank(b) - severityRank(a) || b.valueAtRisk - a.valueAtRisk || b.openedAt - a.openedAt;

/** The most recently resolved first; of those resolved at once, the most urgent. */
const byResolution = (a: AlertEpisode, b: AlertEpisode): number => (b.resolvedAt ?? 0) - (a.resolvedAt ?? 0) || byUrgency(a, b);

/** Open episodes the most urgent first, resolved ones the most recently resolved first. */
export function withStatus(episodes: readonly AlertEpisode[], status: AlertStatus): AlertEpisode[] {
  return episodes.filter((episode) => episode.status === status).sort(status === 'OPEN' ? byUrgency : byResolution);
}

/** The top of the index of customers with an alert of that status (most value at risk, or most recently resolved, first), and its size. */
async function candidateCustomers(store: ReadStore, status: AlertStatus): Promise<{ customerIds: string[]; candidates: number }> {
  const index = status === 'OPEN' ? store.openAlerts : store.resolvedAlerts;
  const [entries, candidates] = await Promise.all([index.entries('desc', 0, ALERT_SCAN_PER_INDEX), index.size()]);
  return { customerIds: entries.map((entry) => entry.customerId), candidates };
}

/** `report`: told of each episode left out because it does not decode (unreadable-records.ts); the store tells of whole books. */
export async function listAlerts(store: ReadStore, query: AlertsQuery, report: ReportUnreadable): Promise<AlertsPage> {
  const { customerIds, candidates } = await candidateCustomers(store, query.status);
  const books = await store.alertBooks(customerIds);
  const episodes = books.flatMap((book) => alertEpisodes(book)).filter((episode) => conforms(AlertEpisodeSchema, episode, 'alert episode', report));
  const matching = withStatus(episodes, query.status);
  return {
    items: matching.slice(0, query.limit),
    total: matching.length,
    scannedCustomers: customerIds.length,
    complete: customerIds.length >= candidates,
  };
}
