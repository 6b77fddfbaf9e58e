// Alerts live per customer, in the alert book the scorer stores beside the score. Open ones are found
// through the open-alert index (customers with an OPEN episode, by value at risk); resolved ones have no
// index, so that listing reads the books of the customers at the top of the value-at-risk and churn-risk
// rankings. `complete` tells whether every candidate customer was read.
import { ALERT_SEVERITIES, type AlertEpisode, type AlertStatus } from '@churnscore/domain';
import { alertEpisodes } from '@churnscore/scoring';
import { decodeAlertBook } from '@churnscore/state';
import type { ReadContext } from './read-context';
import type { AlertsPage, AlertsQuery } from './schemas';

/** Customers taken from the top of the index or of each ranking; their alert books are read (one GET each, pipelined). */
const ALERT_SCAN_PER_RANKING = 500;

const severityRank = (episode: AlertEpisode): number => ALERT_SEVERITIES.indexOf(episode.severity);

/** Most severe first, then the largest value at risk, then the most recently opened. */
const byUrgency = (a: AlertEpisode, b: AlertEpisode): number =>
  severityRank(b) - severityRank(a) || b.valueAtRisk - a.valueAtRisk || b.openedAt - a.openedAt;

export function withStatus(episodes: readonly AlertEpisode[], status: AlertStatus): AlertEpisode[] {
  return episodes.filter((episode) => episode.status === status).sort(byUrgency);
}

/** Customers with an open alert (most value at risk first), or for resolved ones the top of the rankings. */
async function candidateCustomers({ redis, keys }: ReadContext, status: AlertStatus): Promise<{ customerIds: string[]; candidates: number }> {
  const last = ALERT_SCAN_PER_RANKING - 1;
  if (status === 'OPEN') {
    const [customerIds, candidates] = await Promise.all([redis.zrange(keys.openAlerts, 0, last, 'REV'), redis.zcard(keys.openAlerts)]);
    return { customerIds, candidates };
  }
  const [byValue, byRisk, ranked] = await Promise.all([
    redis.zrange(keys.ranking('valueAtRisk'), 0, last, 'REV'),
    redis.zrange(keys.ranking('churnRisk'), 0, last, 'REV'),
    redis.zcard(keys.ranking('churnRisk')),
  ]);
  return { customerIds: [...new Set([...byValue, ...byRisk])], candidates: ranked };
}

export async function listAlerts(context: ReadContext, query: AlertsQuery): Promise<AlertsPage> {
  const { redis, keys } = context;
  const { customerIds, candidates } = await candidateCustomers(context, query.status);
  const books = await Promise.all(customerIds.map((customerId) => redis.get(keys.customer(customerId).alerts)));
  const episodes = books.flatMap((book) => alertEpisodes(decodeAlertBook(book)));
  const matching = withStatus(episodes, query.status);
  return {
    items: matching.slice(0, query.limit),
    total: matching.length,
    scannedCustomers: customerIds.length,
    complete: customerIds.length >= candidates,
  };
}
