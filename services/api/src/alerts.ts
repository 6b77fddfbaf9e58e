// Alerts live per customer, in the alert book the scorer stores beside the score. Open ones are found
// through the open-alert index (customers with an OPEN episode, by value at risk); resolved ones have no
// index, so that listing reads the books of the customers at the top of the value-at-risk and churn-risk
// rankings and at the bottom of the value-at-risk one: customers who churned, whose episodes resolved with their last
// contract, have no value at risk left and are not ranked by churn risk. `complete` tells whether every scored customer was read.
import { ALERT_SEVERITIES, type AlertEpisode, type AlertStatus } from '@churnscore/domain';
import { alertEpisodes } from '@churnscore/scoring';
import { EVERY_CUSTOMER_RANKING, type RankingOrder, type RankingReader, type ReadStore } from '@churnscore/state';
import type { AlertsPage, AlertsQuery } from './schemas';

/** Customers taken from the top of the index or of each ranking; their alert books are read (pipelined). */
const ALERT_SCAN_PER_RANKING = 500;

const severityRank = (episode: AlertEpisode): number => ALERT_SEVERITIES.indexOf(episode.severity);

/** Most severe first, then the largest value at risk, then the most recently opened. */
const byUrgency = (a: AlertEpisode, b: AlertEpisode): number =>
  severityRank(b) - severityRank(a) || b.valueAtRisk - a.valueAtRisk || b.openedAt - a.openedAt;

export function withStatus(episodes: readonly AlertEpisode[], status: AlertStatus): AlertEpisode[] {
  return episodes.filter((episode) => episode.status === status).sort(byUrgency);
}

/** Customers with an open alert (most value at risk first), or for resolved ones the top of the rankings. */
async function candidateCustomers(store: ReadStore, status: AlertStatus): Promise<{ customerIds: string[]; candidates: number }> {
  const top = async (ranking: RankingReader, order: RankingOrder = 'desc') =>
    (await ranking.entries(order, 0, ALERT_SCAN_PER_RANKING)).map((entry) => entry.customerId);
  if (status === 'OPEN') {
    const [customerIds, candidates] = await Promise.all([top(store.openAlerts), store.openAlerts.size()]);
    return { customerIds, candidates };
  }
  const byValueAtRisk = store.ranking('valueAtRisk');
  const [byValue, byRisk, leastValue, scored] = await Promise.all([
    top(byValueAtRisk),
    top(store.ranking('churnRisk')),
    top(byValueAtRisk, 'asc'),
    store.ranking(EVERY_CUSTOMER_RANKING).size(),
  ]);
  return { customerIds: [...new Set([...byValue, ...byRisk, ...leastValue])], candidates: scored };
}

export async function listAlerts(store: ReadStore, query: AlertsQuery): Promise<AlertsPage> {
  const { customerIds, candidates } = await candidateCustomers(store, query.status);
  const books = await store.alertBooks(customerIds);
  const episodes = books.flatMap((book) => alertEpisodes(book));
  const matching = withStatus(episodes, query.status);
  return {
    items: matching.slice(0, query.limit),
    total: matching.length,
    scannedCustomers: customerIds.length,
    complete: customerIds.length >= candidates,
  };
}
