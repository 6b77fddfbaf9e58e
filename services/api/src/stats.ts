// Portfolio figures from the rankings alone. Band and risk-band counts are ZCOUNTs over score ranges
// (O(log N) each), using the thresholds of the scoring configuration; they count the customers under contract, the only
// ones the health and churn-risk rankings hold. A sorted set cannot sum its scores,
// so the value-at-risk total walks the value-at-risk ranking from the top down to the first zero, in
// batches, and is cached briefly: concurrent requests share one walk.
import { roundTo, type ScoringConfig } from '@churnscore/scoring';
import { EVERY_CUSTOMER_RANKING, type RankingReader, type ReadStore } from '@churnscore/state';
import type { Stats } from './schemas';

const SUM_BATCH = 5_000;
const VALUE_AT_RISK_CACHE_MS = 10_000;

interface ValueAtRiskTotal {
  total: number;
  customersAtRisk: number;
  computedAt: number;
}

export interface StatsReader {
  stats(segment: string | null): Promise<Stats>;
}

export interface StatsOptions {
  /** Band thresholds and model version. */
  scoring: ScoringConfig;
  /** The reporting currency of every amount. */
  currency: string;
  clock?: () => number;
}

export function createStatsReader(store: ReadStore, { scoring, currency, clock = Date.now }: StatsOptions): StatsReader {
  // Per segment (null: the whole portfolio).
  const cache = new Map<string | null, Promise<ValueAtRiskTotal>>();

  async function sumValueAtRisk(ranking: RankingReader): Promise<ValueAtRiskTotal> {
    let total = 0;
    let customersAtRisk = 0;
    for (let from = 0; ; from += SUM_BATCH) {
      const entries = await ranking.entries('desc', from, SUM_BATCH);
      const positive = entries.map((entry) => Number(entry.score)).filter((value) => value > 0);
      total += positive.reduce((sum, value) => sum + value, 0);
      customersAtRisk += positive.length;
      if (entries.length < SUM_BATCH || positive.length < entries.length) break;
    }
    return { total, customersAtRisk, computedAt: clock() };
  }

  function cachedValueAtRisk(segment: string | null): Promise<ValueAtRiskTotal> {
    const cached = cache.get(segment);
    if (cached) return cached;
    const pending = sumValueAtRisk(store.ranking('valueAtRisk', segment));
    cache.set(segment, pending);
    const forget = () => setTimeout(() => cache.delete(segment), VALUE_AT_RISK_CACHE_MS).unref();
    pending.then(forget, () => cache.delete(segment));
    return pending;
  }

  return {
    async stats(segment) {
      const { health, risk } = scoring.bands;
      const byHealth = store.ranking('health', segment);
      const byRisk = store.ranking('churnRisk', segment);
      const [customers, underContract, green, red, high, mediumOrHigh, valueAtRisk] = await Promise.all([
        store.ranking(EVERY_CUSTOMER_RANKING, segment).size(),
        byHealth.size(),
        byHealth.countAtLeast(health.greenMin),
        byHealth.countBelow(health.redBelow),
        byRisk.countAtLeast(risk.highMin),
        byRisk.countAtLeast(risk.mediumMin),
        cachedValueAtRisk(segment),
      ]);
      return {
        segment,
        customers,
        bands: { green, yellow: underContract - green - red, red },
        customersUnderContract: underContract,
        riskBands: { low: underContract - mediumOrHigh, medium: mediumOrHigh - high, high },
        // Cents, as each value at risk is: a sum of binary fractions would print as 4806899.809999997.
        valueAtRisk: { total: roundTo(valueAtRisk.total, 2), customersAtRisk: valueAtRisk.customersAtRisk },
        thresholds: { health: { ...health }, risk: { ...risk } },
        modelVersion: scoring.version,
        currency,
        computedAt: valueAtRisk.computedAt,
      };
    },
  };
}
