// In-memory stand-ins for the kafkajs seams of this package, shared by unit tests as `@churnscore/kafka/testing`.
// In the spirit of Kafka Streams' TopologyTestDriver: a test hands fetched batches to the real consumer loop
// and reads back what it resolved, committed and sought, and what a sender sent, with no broker.
import type {
  ConsumerEndBatchProcessEvent,
  ConsumerGroupJoinEvent,
  ConsumerRunConfig,
  ConsumerSubscribeTopic,
  ConsumerSubscribeTopics,
  EachBatchPayload,
  FetchOffsetsPartition,
  IHeaders,
  KafkaMessage,
  Message,
  ProducerBatch,
  RecordMetadata,
  SeekEntry,
  TopicPartitionOffset,
  TopicPartitionOffsetAndMetadata,
} from 'kafkajs';
import type { AdminSeam, ConsumerSeam } from '../at-least-once-consumer';
import type { BatchSender } from '../bounded-send';

/** A consumed record as kafkajs hands it over; key and value as UTF-8 strings for brevity. */
export function kafkaMessage(offset: number | string, fields: { key?: string; value?: Buffer | string | null; timestamp?: number; headers?: IHeaders } = {}): KafkaMessage {
  const { key, value = null, timestamp = 0, headers = {} } = fields;
  return {
    key: key === undefined ? null : Buffer.from(key),
    value: typeof value === 'string' ? Buffer.from(value) : value,
    timestamp: String(timestamp),
    attributes: 0,
    offset: String(offset),
    headers,
  };
}

/** One fetched batch: consecutive records of one partition. */
export interface FetchedBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /** The partition's high watermark; by default just after the batch's last record. */
  highWatermark?: string;
  /**
   * The offset of the last record the fetch held, handed out or not; by default the last message's. Later when
   * records a consumer never hands out (a transaction's marker, an aborted transaction's records) follow them.
   */
  lastOffset?: string;
}

/** What the loop did with one delivered batch. */
export interface DeliveredBatch {
  /** The offsets it resolved (marked handled), in order. */
  resolved: string[];
  /** How many heartbeats it sent between chunks. */
  heartbeats: number;
  /** Settles when the loop is done with the batch; rejects if it failed the batch (kafkajs would retry it). */
  done: Promise<void>;
}

/**
 * A consumer group member: `assign` plays a rebalance, `deliver` a fetched batch (call it for several
 * partitions at once to have them in hand together), `stale` a batch outdated by a rebalance. Records the
 * commits, seeks and the order of stop and disconnect in `journal`.
 */
export class FakeConsumer implements ConsumerSeam {
  readonly events = { GROUP_JOIN: 'consumer.group_join', END_BATCH_PROCESS: 'consumer.end_batch_process' } as const;
  readonly commits: TopicPartitionOffsetAndMetadata[][] = [];
  readonly seeks: TopicPartitionOffset[] = [];
  subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic | undefined;
  runConfig: ConsumerRunConfig | undefined;
  /** Set to make every batch in hand stale, as after a rebalance. */
  stale = false;
  /** Set to make every commit fail, as while the group coordinator is away. */
  refuseCommits = false;
  private running = false;
  private readonly groupJoinListeners: Array<(event: ConsumerGroupJoinEvent) => void> = [];
  private readonly endBatchListeners: Array<(event: ConsumerEndBatchProcessEvent) => void> = [];

  constructor(readonly journal: string[] = []) {}

  on(eventName: 'consumer.group_join', listener: (event: ConsumerGroupJoinEvent) => void): () => void;
  on(eventName: 'consumer.end_batch_process', listener: (event: ConsumerEndBatchProcessEvent) => void): () => void;
  on(eventName: 'consumer.group_join' | 'consumer.end_batch_process', listener: ((event: ConsumerGroupJoinEvent) => void) | ((event: ConsumerEndBatchProcessEvent) => void)): () => void {
    const listeners = (eventName === this.events.GROUP_JOIN ? this.groupJoinListeners : this.endBatchListeners) as Array<typeof listener>;
    listeners.push(listener);
    return () => listeners.splice(listeners.indexOf(listener), 1);
  }

  subscribe(subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void> {
    this.subscription = subscription;
    return Promise.resolve();
  }

  run(config?: ConsumerRunConfig): Promise<void> {
    this.runConfig = config;
    this.running = true;
    return Promise.resolve();
  }

  commitOffsets(offsets: TopicPartitionOffsetAndMetadata[]): Promise<void> {
    if (this.refuseCommits) return Promise.reject(new Error('the commit was refused'));
    this.commits.push(offsets);
    this.journal.push(`commit ${offsets.map(({ topic, partition, offset }) => `${topic}/${partition}@${offset}`).join(' ')}`);
    return Promise.resolve();
  }

  seek(offset: TopicPartitionOffset): void {
    this.seeks.push(offset);
    this.journal.push(`seek ${offset.topic}/${offset.partition}@${offset.offset}`);
  }

  stop(): Promise<void> {
    this.running = false;
    this.journal.push('stop');
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    this.journal.push('disconnect');
    return Promise.resolve();
  }

  /** The group handed this member these partitions (topic → partitions). */
  assign(assignment: Record<string, number[]>): void {
    const payload = { duration: 0, groupId: 'group', isLeader: true, leaderId: 'member', groupProtocol: 'range', memberId: 'member', memberAssignment: assignment };
    for (const listener of this.groupJoinListeners) listener({ id: 'join', type: this.events.GROUP_JOIN, timestamp: 0, payload });
  }

  /** The latest committed offset of a partition, or undefined. */
  committed(topic: string, partition: number): string | undefined {
    return this.commits
      .flat()
      .filter((offset) => offset.topic === topic && offset.partition === partition)
      .at(-1)?.offset;
  }

  /**
   * kafkajs fetched a batch of nothing but records it never hands out (transaction markers, an aborted transaction's
   * records), from `firstOffset` to `lastOffset`: it moves past them without calling eachBatch, and tells its listeners.
   */
  skip(topic: string, partition: number, firstOffset: string, lastOffset: string, highWatermark = String(BigInt(lastOffset) + 1n)): void {
    const payload = { topic, partition, highWatermark, offsetLag: '0', offsetLagLow: '0', batchSize: 0, firstOffset, lastOffset, duration: 0 };
    for (const listener of this.endBatchListeners) listener({ id: 'end-batch', type: this.events.END_BATCH_PROCESS, timestamp: 0, payload });
  }

  /** kafkajs hands the loop a fetched batch, as `eachBatch` with auto-resolve off. */
  deliver(batch: FetchedBatch): DeliveredBatch {
    const eachBatch = this.runConfig?.eachBatch;
    if (!eachBatch) throw new Error('FakeConsumer: run() with an eachBatch handler before delivering');
    const last = batch.messages.at(-1);
    const highWatermark = batch.highWatermark ?? String(last === undefined ? 0 : BigInt(last.offset) + 1n);
    const delivered = { resolved: [] as string[], heartbeats: 0, done: Promise.resolve() };
    const payload: EachBatchPayload = {
      batch: {
        topic: batch.topic,
        partition: batch.partition,
        highWatermark,
        messages: batch.messages,
        isEmpty: () => batch.messages.length === 0,
        firstOffset: () => batch.messages[0]?.offset ?? null,
        lastOffset: () => batch.lastOffset ?? last?.offset ?? String(BigInt(highWatermark) - 1n),
        offsetLag: () => String(BigInt(highWatermark) - 1n - BigInt(last?.offset ?? '-1')),
        offsetLagLow: () => String(BigInt(highWatermark) - 1n - BigInt(batch.messages[0]?.offset ?? '-1')),
      },
      resolveOffset: (offset) => delivered.resolved.push(offset),
      heartbeat: () => {
        delivered.heartbeats += 1;
        return Promise.resolve();
      },
      pause: () => () => undefined,
      commitOffsetsIfNecessary: () => Promise.resolve(),
      uncommittedOffsets: () => ({ topics: [] }),
      isRunning: () => this.running,
      isStale: () => this.stale,
    };
    delivered.done = eachBatch(payload);
    return delivered;
  }
}

/** The admin calls the loop rewinds with: committed offsets come from `consumer`'s commits. */
export class FakeAdmin implements AdminSeam {
  constructor(
    private readonly consumer: FakeConsumer,
    /** Partitions per topic. */
    private readonly partitions: Record<string, number>,
    /** The earliest retained offset per topic (default '0'). */
    private readonly earliest: Record<string, string> = {},
  ) {}

  fetchOffsets({ topics = [] }: { groupId: string; topics?: string[] }): Promise<Array<{ topic: string; partitions: FetchOffsetsPartition[] }>> {
    return Promise.resolve(
      topics.map((topic) => ({
        topic,
        partitions: this.partitionsOf(topic).map((partition) => ({ partition, offset: this.consumer.committed(topic, partition) ?? '-1', metadata: null })),
      })),
    );
  }

  fetchTopicOffsets(topic: string): Promise<Array<SeekEntry & { high: string; low: string }>> {
    const low = this.earliest[topic] ?? '0';
    return Promise.resolve(this.partitionsOf(topic).map((partition) => ({ partition, offset: low, high: low, low })));
  }

  private partitionsOf(topic: string): number[] {
    return Array.from({ length: this.partitions[topic] ?? 0 }, (_, partition) => partition);
  }
}

/** A producer that records what it sends (`batches`, and `send <topic> ×n` lines in `journal`). */
export class RecordingProducer implements BatchSender {
  readonly batches: ProducerBatch[] = [];

  constructor(readonly journal: string[] = []) {}

  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    // A copy of the calls' arrays (the values stay Buffers): what was sent then, whatever the caller does next.
    this.batches.push({ ...batch, topicMessages: batch.topicMessages?.map(({ topic, messages }) => ({ topic, messages: [...messages] })) });
    for (const { topic, messages } of batch.topicMessages ?? []) this.journal.push(`send ${topic} ×${messages.length}`);
    return Promise.resolve([]);
  }

  /** Every message sent, with its topic, in the order sent. */
  records(): Array<{ topic: string; message: Message }> {
    return this.batches.flatMap((batch) => (batch.topicMessages ?? []).flatMap(({ topic, messages }) => messages.map((message) => ({ topic, message }))));
  }

  /** Every message sent to `topic`, in order. */
  sent(topic: string): Message[] {
    return this.records().flatMap((record) => (record.topic === topic ? [record.message] : []));
  }
}
