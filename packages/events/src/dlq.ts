import type { Rejection } from './rejections';

/** Headers the DLQ adds to a rejected record; its original key, value and headers are kept as they were. */
export const DLQ_HEADERS = {
  reason: 'dlq.reason',
  message: 'dlq.message',
  field: 'dlq.field',
  sourceTopic: 'dlq.source.topic',
  sourcePartition: 'dlq.source.partition',
  sourceOffset: 'dlq.source.offset',
  failedAt: 'dlq.failed-at',
} as const;

export interface DlqSource {
  topic: string;
  partition: number;
  /** Kafka offset as a decimal string (kafkajs's representation; offsets can exceed 2^53). */
  offset: string;
}

/** The headers describing why and where a record failed; `failedAt` (epoch ms) is written as ISO 8601 UTC. */
export function dlqHeaders(rejection: Rejection, source: DlqSource, failedAt: number): Record<string, string> {
  return {
    [DLQ_HEADERS.reason]: rejection.reason,
    [DLQ_HEADERS.message]: rejection.message,
    ...(rejection.field === undefined ? {} : { [DLQ_HEADERS.field]: rejection.field }),
    [DLQ_HEADERS.sourceTopic]: source.topic,
    [DLQ_HEADERS.sourcePartition]: String(source.partition),
    [DLQ_HEADERS.sourceOffset]: source.offset,
    [DLQ_HEADERS.failedAt]: new Date(failedAt).toISOString(),
  };
}
