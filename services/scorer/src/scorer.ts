import { kafkaClientOptions, registryClientConfig, type AppConfig, type ScorerSettings } from '@churnscore/config';
import { createEventCodec, eventCodecOptions } from '@churnscore/events';
import { AtLeastOnceConsumer, connectIdempotentProducer, createKafkaClient, recordBatchLimit } from '@churnscore/kafka';
import { createLogger, startOpsServer, type Logger } from '@churnscore/observability';
import type { ScoringConfig } from '@churnscore/scoring';
import { createRedis, createStateStore } from '@churnscore/state';
import { RedisDurabilityGate } from './durability';
import { createScorerMetrics, type ScorerMetrics } from './metrics';
import { ScoringPipeline } from './pipeline';
import { TimeDrivenRescorer, type TimeDrivenOptions } from './time-driven';

export interface ScorerTuning {
  chunkSize: number;
  concurrentPartitions: number;
  commitIntervalMs: number;
  fsyncGraceMs: number;
  timeDriven: TimeDrivenOptions;
}

/** The tuning the configuration asks for (SCORER_CHUNK_SIZE, RESCORE_POLL_INTERVAL_MS, …). */
export function tuningFrom(settings: ScorerSettings): ScorerTuning {
  return {
    chunkSize: settings.chunkSize,
    concurrentPartitions: settings.concurrentPartitions,
    commitIntervalMs: settings.commitIntervalMs,
    fsyncGraceMs: settings.fsyncGraceMs,
    timeDriven: {
      pollIntervalMs: settings.rescorePollIntervalMs,
      claimLimit: settings.rescoreClaimLimit,
      leaseMs: settings.rescoreLeaseMs,
    },
  };
}

export interface ScorerOptions {
  config: AppConfig;
  scoring: ScoringConfig;
  /** The service clock; injected by tests and backfills. */
  clock?: () => number;
  logger?: Logger;
  /** Defaults to the configuration's scorer settings. */
  tuning?: ScorerTuning;
  /** Port of the health/metrics server; 0 picks a free one. Defaults to config.httpPort. */
  httpPort?: number;
}

export interface RunningScorer {
  metrics: ScorerMetrics;
  /** The bound port of the health/readiness/metrics server. */
  httpPort: number;
  timeDriven: TimeDrivenRescorer;
  /** Finishes the batch in flight, commits what is durable, and disconnects everything. */
  stop(): Promise<void>;
}

/** The composition root: configuration in, a running scorer out. */
export async function startScorer(options: ScorerOptions): Promise<RunningScorer> {
  const { config, scoring } = options;
  const clock = options.clock ?? Date.now;
  const tuning = options.tuning ?? tuningFrom(config.scorer);
  const logger = options.logger ?? createLogger({ name: 'scorer', level: config.logLevel });
  const metrics = createScorerMetrics();

  const redis = createRedis({ ...config.redis, connectionName: 'churnscore-scorer' });
  const store = createStateStore(redis, {
    prefix: config.redis.keyPrefix,
    retentionDays: config.retentionDays,
    dedupeWindowDays: config.dedupeWindowDays,
  });
  const codec = createEventCodec(eventCodecOptions(config, registryClientConfig(config)));
  const kafka = createKafkaClient(kafkaClientOptions(config), logger);
  const producer = await connectIdempotentProducer(kafka);
  const admin = kafka.admin();
  await admin.connect();
  const consumer = kafka.consumer({ groupId: config.kafka.consumerGroup, allowAutoTopicCreation: false });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
  });
  await consumer.connect();

  // DLQ copies and output sends are kept within what the output topics accept, so no send can fail for its size.
  const maxBatchBytes = await recordBatchLimit(admin, [config.topics.dlq, config.topics.scoreChanged, config.topics.alerts]);
  const pipeline = new ScoringPipeline({ store, codec, producer, topics: config.topics, scoring, clock, metrics, logger, maxBatchBytes });
  const gate = new RedisDurabilityGate(() => store.identity(), tuning.fsyncGraceMs);
  const { activity, opportunity, contract, customer } = config.topics;
  const loop = new AtLeastOnceConsumer({
    consumer,
    admin,
    groupId: config.kafka.consumerGroup,
    topics: [activity, opportunity, contract, customer],
    chunkSize: tuning.chunkSize,
    concurrentPartitions: tuning.concurrentPartitions,
    handleChunks: (chunks, fence) => pipeline.handleChunks(chunks, fence),
    gate,
    commitIntervalMs: tuning.commitIntervalMs,
    logger,
    onBatch: ({ topic, partition, durationMs, lag }) => {
      metrics.batchDuration.observe({ topic }, durationMs / 1000);
      metrics.consumerLag.set({ topic, partition: String(partition) }, lag);
    },
    onRewind: () => metrics.rewinds.inc(),
  });
  const timeDriven = new TimeDrivenRescorer(store, pipeline, () => gate.fence(), clock, tuning.timeDriven, metrics, logger);

  const ops = await startOpsServer({
    port: options.httpPort ?? config.httpPort,
    metrics: metrics.registry,
    readiness: [
      { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
      { name: 'kafka', check: () => joined },
    ],
  });
  await loop.start();
  timeDriven.start();
  logger.info({ httpPort: ops.port, group: config.kafka.consumerGroup, modelVersion: scoring.version }, 'scorer started');

  return {
    metrics,
    httpPort: ops.port,
    timeDriven,
    async stop() {
      await timeDriven.stop();
      await loop.stop();
      await Promise.all([producer.disconnect(), admin.disconnect()]);
      codec.close();
      await redis.quit();
      await ops.close();
      logger.info('scorer stopped');
    },
  };
}
