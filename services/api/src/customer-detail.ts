// One customer: its score, explanation, Insights and alerts (one consistent read), and its score history.
import { hasActiveContract } from '@churnscore/domain';
import { alertEpisodes, describeDriver, type ScoringConfig } from '@churnscore/scoring';
import type { ReadStore } from '@churnscore/state';
import { withStatus } from './alerts';
import { RequestError } from './request-error';
import type { CustomerDetail, HistoryPoint } from './schemas';

const notFound = (): RequestError => new RequestError(404, 'no scored customer with this id');

/** `scoring`: the configuration whose measure definitions name the drivers in their sentences. */
export async function getCustomer(store: ReadStore, scoring: ScoringConfig, customerId: string): Promise<CustomerDetail> {
  const model = await store.customer(customerId);
  if (model === null) throw notFound();
  const episodes = alertEpisodes(model.alertBook);
  const { explanation } = model.score;
  return {
    ...model.score,
    underContract: hasActiveContract(model.score.lifecycleStage),
    explanation: { ...explanation, topDrivers: explanation.topDrivers.map((driver) => ({ ...driver, text: describeDriver(driver, scoring, explanation.scorecardId) })) },
    insights: model.insights,
    alerts: { open: withStatus(episodes, 'OPEN'), recentlyResolved: withStatus(episodes, 'RESOLVED') },
  };
}

/**
 * The latest `limit` points, oldest first: back-filled ones (`backfilled: true`) before the first live one, then the
 * live ones; entries that do not parse are skipped rather than failing the chart.
 */
export async function getHistory(store: ReadStore, customerId: string, limit: number): Promise<HistoryPoint[]> {
  const points = await store.scoreHistory(customerId, limit);
  if (points === null) throw notFound();
  return points;
}
