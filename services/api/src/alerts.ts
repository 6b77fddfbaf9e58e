// Alerts live per customer, in the alert book the scorer stores beside the score. There is no global
// index of open alerts, so the listing reads the books of the customers most likely to have them: the top
// of the value-at-risk and churn-risk rankings. `complete` tells whether that covered every customer.
import { ALERT_SEVERITIES, type AlertEpisode, type AlertStatus } from '@churnscore/domain';
import type { AlertBook } from '@churnscore/scoring';
import type { ReadContext } from './read-context';
import type { AlertsPage, AlertsQuery } from './schemas';

/** Customers taken from the top of each ranking; their alert books are read (one GET each, pipelined). */
const ALERT_SCAN_PER_RANKING = 500;

/** Every episode a stored alert book holds (the open one, or else the last resolved one, per alert type). */
export function episodesOf(book: unknown): AlertEpisode[] {
  const episodes = (book as AlertBook | null)?.episodes;
  return episodes ? Object.values(episodes) : [];
}

const severityRank = (episode: AlertEpisode): number => ALERT_SEVERITIES.indexOf(episode.severity);

/** Most severe first, then the largest value at risk, then the most recently opened. */
const byUrgency = (a: AlertEpisode, b: AlertEpisode): number =>
  severityRank(b) - severityRank(a) || b.valueAtRisk - a.valueAtRisk || b.openedAt - a.openedAt;

export function withStatus(episodes: readonly AlertEpisode[], status: AlertStatus): AlertEpisode[] {
  return episodes.filter((episode) => episode.status === status).sort(byUrgency);
}

export async function listAlerts({ redis, keys }: ReadContext, query: AlertsQuery): Promise<AlertsPage> {
  const last = ALERT_SCAN_PER_RANKING - 1;
  const [byValue, byRisk, ranked] = await Promise.all([
    redis.zrange(keys.ranking('valueAtRisk'), 0, last, 'REV'),
    redis.zrange(keys.ranking('churnRisk'), 0, last, 'REV'),
    redis.zcard(keys.ranking('churnRisk')),
  ]);
  const customerIds = [...new Set([...byValue, ...byRisk])];
  const books = await Promise.all(customerIds.map((customerId) => redis.get(keys.customer(customerId).alerts)));
  const episodes = books.flatMap((book) => (book === null ? [] : episodesOf(JSON.parse(book))));
  const matching = withStatus(episodes, query.status);
  return {
    items: matching.slice(0, query.limit),
    total: matching.length,
    scannedCustomers: customerIds.length,
    complete: customerIds.length >= ranked,
  };
}
