// One customer: its score, explanation, Insights and alerts (one consistent read), and its score history.
import { alertEpisodes } from '@churnscore/scoring';
import { decodeScoreHistoryEntry, readCustomerReadModel } from '@churnscore/state';
import { withStatus } from './alerts';
import { RequestError, type ReadContext } from './read-context';
import type { CustomerDetail, HistoryPoint } from './schemas';

const notFound = (): RequestError => new RequestError(404, 'no scored customer with this id');

export async function getCustomer({ redis, keys }: ReadContext, customerId: string): Promise<CustomerDetail> {
  const model = await readCustomerReadModel(redis, keys, customerId);
  if (model === null) throw notFound();
  const episodes = alertEpisodes(model.alertBook);
  return {
    ...model.score,
    insights: model.insights,
    alerts: { open: withStatus(episodes, 'OPEN'), recentlyResolved: withStatus(episodes, 'RESOLVED') },
  };
}

/** The latest `limit` points, oldest first; entries that do not parse are skipped rather than failing the chart. */
export async function getHistory(context: ReadContext, customerId: string, limit: number): Promise<HistoryPoint[]> {
  const { redis, keys } = context;
  const [scored, entries] = await Promise.all([redis.exists(keys.customer(customerId).score), redis.lrange(keys.customer(customerId).history, 0, limit - 1)]);
  if (scored === 0) throw notFound();
  // The list is newest first; reversing before the (stable) sort keeps points of the same instant in publication order.
  return entries
    .reverse()
    .map(decodeScoreHistoryEntry)
    .filter((point): point is HistoryPoint => point !== null)
    .sort((a, b) => a.t - b.t);
}
