/** Reading the scorer's Prometheus exposition (its /metrics text, or its registry's in-process). */

/** A metric's samples summed over instances and label sets, per value of the `groupBy` label (else under `total`). */
function sumSamples(expositions: readonly string[], name: string, groupBy?: string): Record<string, number> {
  const totals: Record<string, number> = {};
  const pattern = new RegExp(`^${name}(?:\\{([^}]*)\\})? ([\\d.e+-]+)$`, 'gm');
  for (const text of expositions) {
    for (const [, labels = '', value] of text.matchAll(pattern)) {
      const key = groupBy ? (new RegExp(`${groupBy}="([^"]*)"`).exec(labels)?.[1] ?? '') : 'total';
      totals[key] = (totals[key] ?? 0) + Number(value);
    }
  }
  return totals;
}

export const sampleTotal = (expositions: readonly string[], name: string): number => sumSamples(expositions, name).total ?? 0;

/** The scorer's own counters, summed over the fleet. */
export interface ScorerCounters {
  /** Input records by outcome: applied, duplicate, redelivered (re-read after a rebalance), rejected, erased. */
  events: Record<string, number>;
  scoreChangesPublished: number;
  /** Customers re-scored by the time-driven loop (their due time came, or alerts held for a backlog released). */
  timeRescored: number;
  /** Customers read, scored and committed because a unit of work touched them: events ÷ this is what one scoring carries. */
  customersScoredForEvents: number;
  /** Customers a unit applied but did not score, their partition far behind (scored once it catches up). */
  scoresDeferred: number;
  redisRewinds: number;
  /** Batches (one partition's fetched records) handled, and their mean duration. */
  batches: number;
  meanBatchMs: number;
}

export function scorerCounters(expositions: readonly string[]): ScorerCounters {
  const batches = sampleTotal(expositions, 'churnscore_batch_duration_seconds_count');
  return {
    events: sumSamples(expositions, 'churnscore_events_total', 'outcome'),
    scoreChangesPublished: sampleTotal(expositions, 'churnscore_score_changes_total'),
    timeRescored: sampleTotal(expositions, 'churnscore_time_rescored_total'),
    customersScoredForEvents: sumSamples(expositions, 'churnscore_customers_scored_total', 'cause').event ?? 0,
    scoresDeferred: sampleTotal(expositions, 'churnscore_scores_deferred_total'),
    redisRewinds: sampleTotal(expositions, 'churnscore_redis_rewinds_total'),
    batches,
    meanBatchMs: batches === 0 ? 0 : (sampleTotal(expositions, 'churnscore_batch_duration_seconds_sum') * 1000) / batches,
  };
}

/** A scorer process's exposition, from its health/metrics server. */
export async function fetchMetrics(httpPort: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
}
