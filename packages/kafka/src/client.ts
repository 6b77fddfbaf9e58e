import type { KafkaClientOptions } from '@churnscore/config';
import { Kafka, logLevel, Partitioners, type LogEntry, type Producer, type SASLOptions } from 'kafkajs';
import type { Logger } from '@churnscore/observability';
import { registerCompressionCodecs } from './codecs';

const PINO_LEVEL_BY_KAFKAJS: Record<logLevel, 'error' | 'warn' | 'info' | 'debug' | 'silent'> = {
  [logLevel.NOTHING]: 'silent',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through our structured logger, so broker trouble shows up in the same JSON stream. */
export function createKafkaClient(options: KafkaClientOptions, logger: Logger): Kafka {
  registerCompressionCodecs();
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  // kafkajs types SASL per mechanism; the validated mechanism/credentials pair is exactly one of them.
  const sasl = options.sasl ? ({ ...options.sasl } as SASLOptions) : undefined;
  return new Kafka({
    ...options,
    sasl,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
        const pinoLevel = PINO_LEVEL_BY_KAFKAJS[level];
        if (pinoLevel !== 'silent') kafkaLogger[pinoLevel]({ namespace, ...extra }, message);
      },
    retry: { initialRetryTime: 300, retries: 10, maxRetryTime: 30_000 },
  });
}

/**
 * Outputs are at-least-once and must survive broker retries without duplicates from the producer
 * itself: idempotent, acks from all in-sync replicas.
 */
export async function connectIdempotentProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // The Java client's murmur2 partitioner: every producer of a customer's events picks the same partition.
    createPartitioner: Partitioners.DefaultPartitioner,
    // An idempotent producer must not give up: an unavailable broker pauses the caller instead.
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 30_000 },
  });
  await producer.connect();
  return producer;
}
