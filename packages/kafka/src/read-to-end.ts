// Reading topics to the end they have now: every record from the earliest retained offset up to the high watermark
// taken when the read starts, with a throw-away consumer group that never commits and is deleted at the end. For
// replays (training, back-fill) and for reading an output topic back (evaluation), so that both stop at the same
// place and leave the cluster as they found it.
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { partitionKey, partitionOffsets } from './offsets';
import { onRecordsSkipped } from './skipped-records';

/** One partition's part of the replay: its records from `low` up to (not including) `high`, the end taken at the start. */
export interface PartitionRange {
  topic: string;
  partition: number;
  low: number;
  high: number;
}

/** How far the replay has read one topic. */
export interface TopicProgress {
  topic: string;
  read: number;
  total: number;
}

/**
 * Where the replay stands: records read per topic against the total retained at the start, and which partitions
 * are still short of their end. Records appended after the start (offsets at or beyond the end) are not part of it.
 */
export class ReplayPosition {
  private readonly next = new Map<string, number>();
  private readonly ends = new Map<string, number>();
  private readonly progress = new Map<string, TopicProgress>();

  constructor(ranges: readonly PartitionRange[]) {
    for (const { topic, partition, low, high } of ranges) {
      const topicProgress = this.progress.get(topic) ?? { topic, read: 0, total: 0 };
      topicProgress.total += Math.max(0, high - low);
      this.progress.set(topic, topicProgress);
      if (high > low) {
        this.next.set(partitionKey(topic, partition), low);
        this.ends.set(partitionKey(topic, partition), high);
      }
    }
  }

  /** Whether the record at `offset` belongs to the replay; counts it when it does. */
  take(topic: string, partition: number, offset: number): boolean {
    const key = partitionKey(topic, partition);
    const end = this.ends.get(key);
    if (end === undefined || offset >= end) return false;
    this.next.set(key, Math.max(this.next.get(key) ?? 0, offset + 1));
    this.progress.get(topic)!.read += 1;
    return true;
  }

  /** Records up to `nextOffset` are behind the consumer (a batch that ended on a gap: compacted or control records). */
  passed(topic: string, partition: number, nextOffset: number): void {
    const key = partitionKey(topic, partition);
    if (this.ends.has(key)) this.next.set(key, Math.max(this.next.get(key) ?? 0, nextOffset));
  }

  get done(): boolean {
    return [...this.ends].every(([key, end]) => (this.next.get(key) ?? 0) >= end);
  }

  get topics(): TopicProgress[] {
    return [...this.progress.values()].map((topic) => ({ ...topic }));
  }
}

/** The topics' retained ranges, the ends taken now. */
async function retainedRanges(admin: Pick<Admin, 'fetchTopicOffsets'>, topics: readonly string[]): Promise<PartitionRange[]> {
  const ranges: PartitionRange[] = [];
  for (const topic of topics) {
    for (const [partition, { low, high }] of await partitionOffsets(admin, topic)) ranges.push({ topic, partition, low, high });
  }
  return ranges;
}

export interface ReadToEndOptions {
  kafka: Kafka;
  /** Connected; the caller's to disconnect. */
  admin: Pick<Admin, 'fetchTopicOffsets' | 'deleteGroups'>;
  topics: readonly string[];
  /** A group of its own: it never commits, and is deleted when the read ends. */
  groupId: string;
  /** Each batch's records that belong to the read (none past the end taken at the start), in offset order. */
  onRecords(topic: string, records: readonly KafkaMessage[]): Promise<void> | void;
  /** After every batch. */
  onProgress?(topics: readonly TopicProgress[]): void;
}

/**
 * Reads `topics` from their earliest retained records to the ends they had when the read started, and returns how
 * many records each held. A consumer crash (a broker or decoding failure kafkajs gives up on) throws.
 */
export async function readToEnd(options: ReadToEndOptions): Promise<TopicProgress[]> {
  const { kafka, admin, topics, groupId } = options;
  const position = new ReplayPosition(await retainedRanges(admin, topics));
  if (position.done) return position.topics;
  const consumer = kafka.consumer({ groupId });
  try {
    await consumer.connect();
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
      // Or a partition ending in a transaction's marker or an aborted transaction would never be done.
      onRecordsSkipped(consumer, ({ topic, partition, nextOffset }) => {
        position.passed(topic, partition, Number(nextOffset));
        options.onProgress?.(position.topics);
        if (position.done) resolve();
      });
      consumer
        .subscribe({ topics: [...topics], fromBeginning: true })
        .then(() =>
          consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const records = batch.messages.filter((message) => position.take(batch.topic, batch.partition, Number(message.offset)));
              await options.onRecords(batch.topic, records);
              position.passed(batch.topic, batch.partition, Number(batch.lastOffset()) + 1);
              options.onProgress?.(position.topics);
              if (position.done) resolve();
            },
          }),
        )
        .catch(reject);
    });
    return position.topics;
  } finally {
    await consumer.disconnect();
    // The group never committed an offset; removing it leaves the cluster as the read found it.
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}
