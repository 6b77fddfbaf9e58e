// Portfolio figures from the rankings alone. Band and risk-band counts are ZCOUNTs over score ranges
// (O(log N) each), using the thresholds of the scoring configuration. A sorted set cannot sum its scores,
// so the value-at-risk total walks the value-at-risk ranking from the top down to the first zero, in
// batches, and is cached briefly: concurrent requests share one walk.
import type { ScoringConfig } from '@churnscore/scoring';
import { memberScorePairs, type ReadContext } from './read-context';
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

export function createStatsReader(context: ReadContext, { scoring, currency, clock = Date.now }: StatsOptions): StatsReader {
  const { redis, keys } = context;
  const cache = new Map<string, Promise<ValueAtRiskTotal>>();

  async function sumValueAtRisk(key: string): Promise<ValueAtRiskTotal> {
    let total = 0;
    let customersAtRisk = 0;
    for (let from = 0; ; from += SUM_BATCH) {
      const entries = memberScorePairs(await redis.zrange(key, from, from + SUM_BATCH - 1, 'REV', 'WITHSCORES'));
      const positive = entries.map((entry) => Number(entry.score)).filter((value) => value > 0);
      total += positive.reduce((sum, value) => sum + value, 0);
      customersAtRisk += positive.length;
      if (entries.length < SUM_BATCH || positive.length < entries.length) break;
    }
    return { total, customersAtRisk, computedAt: clock() };
  }

  function cachedValueAtRisk(key: string): Promise<ValueAtRiskTotal> {
    const cached = cache.get(key);
    if (cached) return cached;
    const pending = sumValueAtRisk(key);
    cache.set(key, pending);
    const forget = () => setTimeout(() => cache.delete(key), VALUE_AT_RISK_CACHE_MS).unref();
    pending.then(forget, () => cache.delete(key));
    return pending;
  }

  return {
    async stats(segment) {
      const { health, risk } = scoring.bands;
      const healthKey = keys.ranking('health', segment);
      const riskKey = keys.ranking('churnRisk', segment);
      const [customers, green, red, high, mediumOrHigh, valueAtRisk] = await Promise.all([
        redis.zcard(healthKey),
        redis.zcount(healthKey, health.greenMin, '+inf'),
        redis.zcount(healthKey, '-inf', `(${health.redBelow}`),
        redis.zcount(riskKey, risk.highMin, '+inf'),
        redis.zcount(riskKey, risk.mediumMin, '+inf'),
        cachedValueAtRisk(keys.ranking('valueAtRisk', segment)),
      ]);
      return {
        segment,
        customers,
        bands: { green, yellow: customers - green - red, red },
        riskBands: { low: customers - mediumOrHigh, medium: mediumOrHigh - high, high },
        valueAtRisk: { total: valueAtRisk.total, customersAtRisk: valueAtRisk.customersAtRisk },
        thresholds: { health: { ...health }, risk: { ...risk } },
        modelVersion: scoring.version,
        currency,
        computedAt: valueAtRisk.computedAt,
      };
    },
  };
}
