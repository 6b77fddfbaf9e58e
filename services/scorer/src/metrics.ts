import { Counter, Gauge, Histogram, createMetricsRegistry, type Registry } from '@churnscore/observability';

/** The scorer's Prometheus metrics; names follow `<prefix>_<what>_<unit>` conventions. */
export function createScorerMetrics() {
  const registry: Registry = createMetricsRegistry('churnscore_scorer_');
  const registers = [registry];
  return {
    registry,
    events: new Counter({
      name: 'churnscore_events_total',
      help: 'Input records by topic and outcome (applied, duplicate, redelivered, erased, rejected; predatesErasure: occurred before their customer\'s latest erasure request, not applied; refused: past MAX_ENTITIES_PER_CUSTOMER, sent to the DLQ; deleted_unread: deleted, by retention or a deletion of records, before the scorer read them)',
      labelNames: ['topic', 'outcome'] as const,
      registers,
    }),
    dlq: new Counter({
      name: 'churnscore_dlq_total',
      help: 'Records sent to the dead-letter topic, by reason code',
      labelNames: ['reason'] as const,
      registers,
    }),
    batchDuration: new Histogram({
      name: 'churnscore_batch_duration_seconds',
      help: 'Time to handle one consumed batch, from decode to published outputs',
      labelNames: ['topic'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'churnscore_consumer_lag_messages',
      help: 'Messages behind the partition high watermark as last fetched that this instance has not handled: told at each fetch and after each unit of work',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    partitionsCatchingUp: new Gauge({
      name: 'churnscore_partitions_catching_up',
      help: 'Input partitions this instance consumes far behind their high watermark: alert transitions of their customers are held',
      registers,
    }),
    historyLoading: new Gauge({
      name: 'churnscore_history_loading',
      help: '1 while a load of history arrives on this instance\'s inputs (a hundred events or more older than CATCH_UP_HISTORY_AGE_MS within CATCH_UP_SETTLE_MS, most of those applied): alerts held for a customer\'s history arriving stay held',
      registers,
    }),
    schemaIdsChanged: new Counter({
      name: 'churnscore_schema_ids_changed_total',
      help: 'Schema ids read or written here that the schema registry came to give another meaning (its data lost, restored or re-created): every cached schema was dropped',
      registers,
    }),
    scoreChanges: new Counter({
      name: 'churnscore_score_changes_total',
      help: 'score-changed events published, by cause (event or time)',
      labelNames: ['cause'] as const,
      registers,
    }),
    alerts: new Counter({
      name: 'churnscore_alerts_total',
      help: 'Alert transitions published, by type and status',
      labelNames: ['type', 'status'] as const,
      registers,
    }),
    erasures: new Counter({
      name: 'churnscore_erasures_total',
      help: 'Customers erased on request',
      registers,
    }),
    customersScored: new Counter({
      name: 'churnscore_customers_scored_total',
      help: 'Customers read, scored and committed, by cause (event: a unit of work touched them; time: a due-set claim); a commit retried after losing a race counts again',
      labelNames: ['cause'] as const,
      registers,
    }),
    scoresDeferred: new Counter({
      name: 'churnscore_scores_deferred_total',
      help: 'Customers whose events a unit of work applied but whose scoring waits for their far-behind input partition to catch up (or CATCH_UP_SCORE_DELAY_MS)',
      registers,
    }),
    rescored: new Counter({
      name: 'churnscore_time_rescored_total',
      help: 'Customers re-scored because time passed (due-set claims)',
      registers,
    }),
    unreadableScores: new Counter({
      name: 'churnscore_unreadable_stored_scores_total',
      help: 'Stored scores holding values no score can (a hand edit, a corrupt restore), replaced by a score published afresh',
      registers,
    }),
    staleWrites: new Counter({
      name: 'churnscore_stale_score_writes_total',
      help: 'Score writes refused because a newer score was already stored (e.g. after a rebalance)',
      registers,
    }),
    replicationWait: new Gauge({
      name: 'churnscore_redis_replication_wait_seconds',
      help: "How long the oldest write whose offsets wait for every Redis replica that could take over to confirm it has waited",
      registers,
    }),
    rewinds: new Counter({
      name: 'churnscore_redis_rewinds_total',
      help: 'Times Redis was found to have lost writes and consumption restarted from committed offsets',
      registers,
    }),
  };
}

export type ScorerMetrics = ReturnType<typeof createScorerMetrics>;
