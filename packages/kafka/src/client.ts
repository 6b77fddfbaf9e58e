import { Kafka, logLevel, type KafkaConfig, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from '@churnscore/observability';

const PINO_LEVEL_BY_KAFKAJS: Record<logLevel, 'error' | 'warn' | 'info' | 'debug' | 'silent'> = {
  [logLevel.NOTHING]: 'silent',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through our structured logger, so broker trouble shows up in the same JSON stream. */
export function createKafkaClient(config: KafkaConfig, logger: Logger): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    ...config,
    logLevel: config.logLevel ?? logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
        const pinoLevel = PINO_LEVEL_BY_KAFKAJS[level];
        if (pinoLevel !== 'silent') kafkaLogger[pinoLevel]({ namespace, ...extra }, message);
      },
    retry: config.retry ?? { initialRetryTime: 300, retries: 10, maxRetryTime: 30_000 },
  });
}

/**
 * Outputs are at-least-once and must survive broker retries without duplicates from the producer
 * itself: idempotent, acks from all in-sync replicas.
 */
export async function connectIdempotentProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}
