import type { Admin, Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from '@churnscore/observability';

/** Consecutive messages of one partition, handled together (one Redis pipeline, one produce). */
export interface MessageChunk {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
}

export type Durability = 'pending' | 'durable' | 'lost';

/**
 * Decides when the effects of handled messages can no longer be lost, so that their offsets may be
 * committed. A store that acknowledges writes before they are on disk (Redis with an fsync every
 * second) must not have its offsets committed on acknowledgement alone.
 */
export interface DurabilityGate<Mark> {
  /** Taken right after a chunk's effects were written. */
  mark(): Promise<Mark>;
  /** Asked again until it answers 'durable' or 'lost' ('lost': the store dropped writes since the mark). */
  check(mark: Mark): Promise<Durability>;
}

export interface BatchReport {
  topic: string;
  partition: number;
  messages: number;
  durationMs: number;
  /** Messages still behind the high watermark after this batch. */
  lag: number;
}

export interface AtLeastOnceConsumerOptions<Mark> {
  consumer: Consumer;
  admin: Admin;
  groupId: string;
  topics: string[];
  /** Upper bound on messages handled per chunk: bounds the work between heartbeats. */
  chunkSize: number;
  /**
   * Partitions handled at the same time. More than one overlaps the handlers' round trips to Redis and
   * Kafka; the handlers must then tolerate two chunks about the same key at once (one per topic).
   */
  concurrentPartitions: number;
  /** Must have written (not necessarily made durable) every effect of the chunk when it resolves. */
  handleChunk(chunk: MessageChunk): Promise<void>;
  gate: DurabilityGate<Mark>;
  /** How often durable offsets are committed. */
  commitIntervalMs: number;
  logger: Logger;
  onBatch?(report: BatchReport): void;
  /** The store lost writes: consumption restarts from the committed offsets. */
  onRewind?(): void;
}

interface PendingCommit<Mark> {
  topic: string;
  partition: number;
  /** The next offset to consume, as Kafka commits it. */
  offset: string;
  mark: Mark;
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * The at-least-once `eachBatch` loop of kafkajs (no auto-resolve, heartbeats between chunks, stops
 * on a stale batch) with commits decoupled from processing: an offset is committed only once the
 * durability gate says the effects before it can no longer be lost, so waiting for durability never
 * slows the hot path. If the gate reports lost writes, every assigned partition is rewound to its
 * committed offset and the idempotent handlers simply redo the work.
 */
export class AtLeastOnceConsumer<Mark> {
  private pending: PendingCommit<Mark>[] = [];
  private assigned = new Set<string>();
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly batchesInFlight = new Set<Promise<void>>();

  constructor(private readonly options: AtLeastOnceConsumerOptions<Mark>) {}

  async start(): Promise<void> {
    const { consumer, topics } = this.options;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => this.onAssignment(payload.memberAssignment));
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.concurrentPartitions,
      eachBatch: (payload) => {
        // Once stopping, batches are left unresolved: they are re-read from the committed offset later.
        if (this.stopping) return Promise.resolve();
        const batch = this.eachBatch(payload);
        this.batchesInFlight.add(batch);
        return batch.finally(() => this.batchesInFlight.delete(batch));
      },
    });
    this.commitTimer = setInterval(() => void this.commitDurable(), this.options.commitIntervalMs);
  }

  /** Finishes the batch in flight, commits what became durable, and leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.commitTimer);
    await Promise.allSettled([...this.batchesInFlight]);
    // kafkajs accepts commits only while the consumer runs, so drain before stopping it.
    await this.drainPending();
    await this.options.consumer.stop();
    await this.options.consumer.disconnect();
  }

  /** Offsets handled but not yet committed, e.g. for readiness or a shutdown report. */
  pendingCount(): number {
    return this.pending.length;
  }

  private onAssignment(memberAssignment: Record<string, number[]>): void {
    this.assigned = new Set(
      Object.entries(memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => partitionKey(topic, p))),
    );
    // Partitions we lost are re-read by their new owner from its last commit; idempotent handlers make that safe.
    this.pending = this.pending.filter((p) => this.assigned.has(partitionKey(p.topic, p.partition)));
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const started = performance.now();
    const { chunkSize, handleChunk, gate } = this.options;
    let handled = 0;
    for (let start = 0; start < batch.messages.length; start += chunkSize) {
      if (!isRunning() || isStale() || this.stopping) break;
      const messages = batch.messages.slice(start, start + chunkSize);
      await handleChunk({ topic: batch.topic, partition: batch.partition, messages });
      const lastOffset = messages[messages.length - 1]!.offset;
      resolveOffset(lastOffset);
      this.pending.push({
        topic: batch.topic,
        partition: batch.partition,
        offset: (BigInt(lastOffset) + 1n).toString(),
        mark: await gate.mark(),
      });
      handled += messages.length;
      await heartbeat();
    }
    const lastHandled = batch.messages[handled - 1];
    const lag = lastHandled ? Number(BigInt(batch.highWatermark) - 1n - BigInt(lastHandled.offset)) : Number(batch.offsetLag());
    this.options.onBatch?.({
      topic: batch.topic,
      partition: batch.partition,
      messages: handled,
      durationMs: performance.now() - started,
      lag: Math.max(0, lag),
    });
  }

  /** Serialised: a slow commit never overlaps the next tick. */
  private commitDurable(): Promise<void> {
    this.committing = this.committing.then(() => this.commitDurableNow()).catch((error: unknown) => {
      this.options.logger.warn({ err: error }, 'offset commit failed; retrying on the next tick');
    });
    return this.committing;
  }

  private async commitDurableNow(): Promise<void> {
    const latestByPartition = new Map<string, PendingCommit<Mark>>();
    let durableCount = 0;
    for (const entry of this.pending) {
      const durability = await this.options.gate.check(entry.mark);
      if (durability === 'lost') return this.rewindToCommitted();
      if (durability === 'pending') break;
      latestByPartition.set(partitionKey(entry.topic, entry.partition), entry);
      durableCount += 1;
    }
    if (durableCount === 0) return;
    this.pending = this.pending.slice(durableCount);
    await this.options.consumer.commitOffsets(
      [...latestByPartition.values()].map(({ topic, partition, offset }) => ({ topic, partition, offset })),
    );
  }

  private async rewindToCommitted(): Promise<void> {
    const { admin, groupId, topics, consumer, logger } = this.options;
    logger.warn({ pending: this.pending.length }, 'state store lost writes: re-consuming from the committed offsets');
    this.pending = [];
    this.options.onRewind?.();
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const { topic, partitions } of committed) {
      const earliest = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.low]));
      for (const { partition, offset } of partitions) {
        if (!this.assigned.has(partitionKey(topic, partition))) continue;
        consumer.seek({ topic, partition, offset: offset === '-1' ? (earliest.get(partition) ?? '0') : offset });
      }
    }
  }

  private async drainPending(): Promise<void> {
    await this.committing;
    const deadline = Date.now() + 10_000;
    while (this.pending.length > 0 && Date.now() < deadline) {
      await this.commitDurable();
      if (this.pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (this.pending.length > 0) {
      this.options.logger.warn({ pending: this.pending.length }, 'stopping with uncommitted offsets; they will be re-consumed');
    }
  }
}
