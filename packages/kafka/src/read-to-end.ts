// Reading topics to the end they have now: every record from the earliest retained offset up to the high watermark
// taken when the read starts, with a throw-away consumer group that never commits and is deleted at the end. For
// replays (training, back-fill) and for reading an output topic back (evaluation), so that both stop at the same
// place and leave the cluster as they found it. The same throw-away group reads single records back at given offsets
// (the scorer's start, telling the log it consumed from a topic created again).
import type { Admin, Batch, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { groupPartitionOffsets, partitionKey, partitionOffsets } from './offsets';
import { onRecordsSkipped, type SkippedRecords } from './skipped-records';

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

/** A read of a consumer group: what it is told of, and when it is done. */
interface GroupRead {
  kafka: Kafka;
  admin: Pick<Admin, 'deleteGroups'>;
  groupId: string;
  /** Deleted when the read ends (it never commits): the read leaves the cluster as it found it. */
  throwaway: boolean;
  topics: readonly string[];
  /** Where partitions with no seek (nor committed offset) start: their earliest retained record, or their end. */
  fromBeginning: boolean;
  /** Called once the consumer runs (seeks go here). */
  running?(consumer: Consumer): void;
  /** Each fetched batch, and the consumer that fetched it; true once the read is done. */
  onBatch(batch: Batch, consumer: Consumer): Promise<boolean> | boolean;
  /** Each fetched batch of records a consumer never hands out (transaction markers); true once the read is done. */
  onSkipped(skipped: SkippedRecords, consumer: Consumer): boolean;
  /** The read ends after this long, done or not. */
  timeoutMs?: number;
}

/**
 * Runs a consumer of a group of its own until the read is done, then deletes a throw-away group. A consumer crash (a
 * broker failure kafkajs gives up on) or a failing `onBatch` throws.
 */
async function readWithGroup(read: GroupRead): Promise<void> {
  const { kafka, admin, topics, groupId, fromBeginning } = read;
  const consumer = kafka.consumer({ groupId });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await new Promise<void>((resolve, reject) => {
      if (read.timeoutMs !== undefined) timer = setTimeout(resolve, read.timeoutMs);
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
      onRecordsSkipped(consumer, (skipped) => {
        if (read.onSkipped(skipped, consumer)) resolve();
      });
      consumer
        .subscribe({ topics: [...topics], fromBeginning })
        .then(() =>
          consumer.run({
            autoCommit: false,
            // A handler that fails ends the read: thrown to kafkajs, the batch would be fetched and fail again for good
            // (an outside tester's back-fill ran 5 minutes against a schema registry that was down).
            eachBatch: async ({ batch }) => {
              try {
                if (await read.onBatch(batch, consumer)) resolve();
              } catch (error) {
                reject(error);
              }
            },
          }),
        )
        .then(() => read.running?.(consumer))
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
    if (read.throwaway) await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

/**
 * Reads `topics` from their earliest retained records to the ends they had when the read started, and returns how
 * many records each held. A consumer crash (a broker failure kafkajs gives up on) or a failing `onRecords` (a record
 * that cannot be decoded for want of the schema registry) throws.
 */
export async function readToEnd(options: ReadToEndOptions): Promise<TopicProgress[]> {
  const position = new ReplayPosition(await retainedRanges(options.admin, options.topics));
  if (position.done) return position.topics;
  await readWithGroup({
    ...options,
    throwaway: true,
    fromBeginning: true,
    async onBatch(batch) {
      const records = batch.messages.filter((message) => position.take(batch.topic, batch.partition, Number(message.offset)));
      await options.onRecords(batch.topic, records);
      position.passed(batch.topic, batch.partition, Number(batch.lastOffset()) + 1);
      options.onProgress?.(position.topics);
      return position.done;
    },
    // Or a partition ending in a transaction's marker or an aborted transaction would never be done.
    onSkipped({ topic, partition, nextOffset }) {
      position.passed(topic, partition, Number(nextOffset));
      options.onProgress?.(position.topics);
      return position.done;
    },
  });
  return position.topics;
}

/** A record wanted at one offset of a partition. */
export interface RecordPlace {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * The record at each of `places` (the key `partitionKey(topic, partition)`), or null where the partition holds no
 * record a consumer is handed at that offset (an aborted or compacted record: a batch from before the offset to past
 * it lacks it). Each such partition is read from its offset until then; the topics' other partitions are not read.
 * Places not settled within `timeoutMs` (one at a transaction's marker, which no batch handed out covers, or below the
 * retained records) are left out.
 */
export async function recordsAt(
  options: Pick<ReadToEndOptions, 'kafka' | 'admin' | 'groupId'>,
  places: readonly RecordPlace[],
  timeoutMs: number,
): Promise<Map<string, KafkaMessage | null>> {
  const wanted = new Map(places.map((place) => [partitionKey(place.topic, place.partition), BigInt(place.offset)]));
  const found = new Map<string, KafkaMessage | null>();
  if (wanted.size === 0) return found;
  await readWithGroup({
    ...options,
    throwaway: true,
    topics: [...new Set(places.map((place) => place.topic))],
    // Unsought partitions start at their end; a batch fetched there before a seek takes hold starts past the place.
    fromBeginning: false,
    timeoutMs,
    running: (consumer) => {
      for (const { topic, partition, offset } of places) consumer.seek({ topic, partition, offset });
    },
    onBatch: ({ topic, partition, messages }) => {
      const key = partitionKey(topic, partition);
      const offset = wanted.get(key);
      const first = messages[0];
      if (offset === undefined || found.has(key) || first === undefined || BigInt(first.offset) > offset) return found.size === wanted.size;
      if (BigInt(messages.at(-1)!.offset) >= offset) found.set(key, messages.find((message) => BigInt(message.offset) === offset) ?? null);
      return found.size === wanted.size;
    },
    onSkipped: () => false,
  });
  return found;
}

export interface ReadOnOptions {
  kafka: Kafka;
  /** Connected; the caller's to disconnect. */
  admin: Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets' | 'deleteGroups'>;
  topics: readonly string[];
  /** The group whose committed offsets say where the last read stopped; kept, and committed to after each batch. */
  groupId: string;
  /** A partition's records of one batch that belong to the read, in offset order; committed once it resolves. */
  onRecords(topic: string, partition: number, records: readonly KafkaMessage[]): Promise<void> | void;
  /** After every batch. */
  onProgress?(topics: readonly TopicProgress[]): void;
}

/**
 * Reads `topics` from where the group's last read stopped (its committed offsets; a partition without one from its
 * earliest retained record) to the ends they have now, committing each batch once `onRecords` has taken it: a read
 * interrupted or failed goes on from its last whole batch when run again, and one run after another never hands out
 * a record twice but for the batch in hand at a crash. Returns what was read of each topic.
 */
export async function readOnToEnd(options: ReadOnOptions): Promise<TopicProgress[]> {
  const { admin, groupId, topics } = options;
  const offsets = await groupPartitionOffsets(admin, groupId, topics);
  const ends = new Map(offsets.map(({ topic, partition, high }) => [partitionKey(topic, partition), high]));
  const position = new ReplayPosition(offsets.map(({ topic, partition, committed, low, high }) => ({ topic, partition, low: Math.max(committed ?? low, low), high })));
  if (position.done) return position.topics;
  const commitTo = async (consumer: Consumer, topic: string, partition: number, nextOffset: number): Promise<void> => {
    const upTo = Math.min(nextOffset, ends.get(partitionKey(topic, partition)) ?? nextOffset);
    position.passed(topic, partition, upTo);
    await consumer.commitOffsets([{ topic, partition, offset: String(upTo) }]);
    options.onProgress?.(position.topics);
  };
  await readWithGroup({
    ...options,
    throwaway: false,
    fromBeginning: true,
    async onBatch(batch, consumer) {
      const records = batch.messages.filter((message) => position.take(batch.topic, batch.partition, Number(message.offset)));
      if (records.length > 0) await options.onRecords(batch.topic, batch.partition, records);
      await commitTo(consumer, batch.topic, batch.partition, Number(batch.lastOffset()) + 1);
      return position.done;
    },
    // A partition ending in a transaction's marker would never be done: the marker is passed, and committed past.
    onSkipped({ topic, partition, nextOffset }, consumer) {
      void commitTo(consumer, topic, partition, Number(nextOffset)).catch(() => undefined);
      return position.done;
    },
  });
  return position.topics;
}
