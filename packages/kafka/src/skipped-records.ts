// Records a read-committed consumer never hands out: transaction markers and the records of aborted transactions.
import type { Consumer, ConsumerEndBatchProcessEvent } from 'kafkajs';

export interface SkippedRecords {
  topic: string;
  partition: number;
  /** The offset of the first of them. */
  firstOffset: string;
  /** The offset after the last of them: where the partition resumes. */
  nextOffset: string;
  highWatermark: string;
}

/** What `onRecordsSkipped` needs of a kafkajs consumer. */
export interface BatchEvents {
  readonly events: Pick<Consumer['events'], 'END_BATCH_PROCESS'>;
  on(eventName: Consumer['events']['END_BATCH_PROCESS'], listener: (event: ConsumerEndBatchProcessEvent) => void): unknown;
}

/**
 * Calls `listener` for every fetched batch of nothing but skipped records. kafkajs hands such a batch to no
 * eachBatch: it moves past it and tells only its instrumentation listeners (a batch of size 0), so a loop that
 * learns where a partition stands from eachBatch alone would never see a partition ending in one reach its end.
 */
export function onRecordsSkipped(consumer: BatchEvents, listener: (skipped: SkippedRecords) => void): void {
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize > 0) return;
    const { topic, partition, firstOffset, lastOffset, highWatermark } = payload;
    listener({ topic, partition, firstOffset: firstOffset ?? lastOffset, nextOffset: (BigInt(lastOffset) + 1n).toString(), highWatermark });
  });
}
