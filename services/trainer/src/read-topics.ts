// A customer base's history from a replay of the retained input topics: every record from the earliest retained
// offset up to the high watermark taken when the replay starts, decoded and validated by the scorer's own codec, so
// training (and the back-fill) learns from exactly what the scorer accepts. Read-only: a throw-away consumer group
// that never commits, deleted when the replay ends.
import { randomUUID } from 'node:crypto';
import { kafkaClientOptions, registryClientConfig, type AppConfig } from '@churnscore/config';
import { REJECT_REASONS, createEventCodec, eventCodecOptions, INPUT_EVENT_KINDS, type RejectReason } from '@churnscore/events';
import { KafkaLoginRefusedError, connectAdmin, createKafkaClient } from '@churnscore/kafka';
import { createLogger } from '@churnscore/observability';
import type { HistoryEvent } from '@churnscore/training';
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import { UsageError, formatCount, startProgress, type ProgressStream } from '@churnscore/simulator';
import type { CommandIo } from './command-line';

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

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** The replay's progress as one line: records read of the total, topic by topic. */
export const describeReplay = (topics: readonly TopicProgress[], formatCount: (n: number) => string): string =>
  `replaying  ${topics.map(({ topic, read, total }) => `${topic} ${formatCount(read)}/${formatCount(total)}`).join('  ')}`;

/** What the replay read, topic by topic, and what it left out and why: the lines a DLQ's reasons would show. */
export function describeReplayReport({ topics, rejected }: Pick<TopicHistory, 'topics' | 'rejected'>): string {
  const read = topics.map(({ topic, read: records }) => `${topic}: ${records} records\n`);
  const left = rejected.reduce((sum, { count }) => sum + count, 0);
  const reasons = rejected.map(({ reason, count }) => `${reason} ${count}`).join(', ');
  return `${read.join('')}${left === 0 ? 'no record rejected\n' : `${left} records rejected as the scorer rejects them (${reasons}): left out\n`}`;
}

export interface TopicHistoryOptions {
  config: AppConfig;
  /** The scorer's clock: an occurredAt further ahead than MAX_FUTURE_SKEW_MS is rejected as the scorer rejects it. */
  clock: () => number;
  /**
   * Each event arrives at its record's timestamp (topics fed live), so it is known from then on. Otherwise it is
   * known when it occurred, as from an export: a history loaded in bulk carries its load time as timestamp.
   */
  recordTimestamps: boolean;
  /** Where the Kafka client's warnings go (JSON lines), away from the command's results. */
  logStream: ProgressStream;
  /** After every batch read. */
  onProgress: (topics: readonly TopicProgress[]) => void;
}

export interface TopicHistory {
  /** The accepted events, in the order read (a customer's records of one topic in their order). */
  events: HistoryEvent[];
  /** Each input topic: records read and retained at the start. */
  topics: TopicProgress[];
  /** Records the scorer would dead-letter, by reason (REJECT_REASONS order; reasons that did not occur left out). */
  rejected: Array<{ reason: RejectReason; count: number }>;
}

/** The input topics' retained ranges, the ends taken now. */
async function retainedRanges(admin: Admin, topics: readonly string[]): Promise<PartitionRange[]> {
  const ranges: PartitionRange[] = [];
  for (const topic of topics) {
    for (const { partition, low, high } of await admin.fetchTopicOffsets(topic)) ranges.push({ topic, partition, low: Number(low), high: Number(high) });
  }
  return ranges;
}

/**
 * Reads every input topic (TOPIC_ACTIVITY, TOPIC_OPPORTUNITY, TOPIC_CONTRACT, TOPIC_CUSTOMER) from its earliest
 * retained record to the end it had when the replay started, with the scorer's brokers, registry and security
 * settings, and keeps the records the scorer accepts. A broker or registry failure throws.
 */
export async function readTopicHistory(options: TopicHistoryOptions): Promise<TopicHistory> {
  const { config } = options;
  const logger = createLogger({ name: 'trainer', level: config.logLevel, destination: { write: (line: string) => void options.logStream.write(line) } });
  const kafka = createKafkaClient(kafkaClientOptions(config), logger);
  const topics = INPUT_EVENT_KINDS.map((kind) => config.topics[kind]);
  const admin = await connectAdmin(kafka);
  const groupId = `${config.kafka.clientId}-replay-${randomUUID()}`;
  const codec = createEventCodec(eventCodecOptions(config, registryClientConfig(config)));
  let consumer: Consumer | null = null;
  try {
    const position = new ReplayPosition(await retainedRanges(admin, topics));
    const events: HistoryEvent[] = [];
    const rejected = new Map<RejectReason, number>();
    const eachBatch = async ({ batch }: EachBatchPayload): Promise<void> => {
      const messages = batch.messages.filter((message) => position.take(batch.topic, batch.partition, Number(message.offset)));
      const now = options.clock();
      const decoded = await Promise.all(messages.map((message) => codec.decode(batch.topic, message.key, message.value, now)));
      decoded.forEach((result, index) => {
        if (!result.ok) {
          rejected.set(result.rejection.reason, (rejected.get(result.rejection.reason) ?? 0) + 1);
          return;
        }
        events.push(options.recordTimestamps ? { event: result.event, receivedAt: Number(messages[index]!.timestamp) } : { event: result.event });
      });
      position.passed(batch.topic, batch.partition, Number(batch.lastOffset()) + 1);
      options.onProgress(position.topics);
    };
    if (!position.done) {
      consumer = kafka.consumer({ groupId });
      await consumer.connect();
      const replaying = consumer;
      await new Promise<void>((resolve, reject) => {
        replaying.on(replaying.events.CRASH, ({ payload }) => reject(payload.error));
        replaying
          .subscribe({ topics, fromBeginning: true })
          .then(() =>
            replaying.run({
              autoCommit: false,
              eachBatch: async (payload) => {
                await eachBatch(payload);
                if (position.done) resolve();
              },
            }),
          )
          .catch(reject);
      });
    }
    return {
      events,
      topics: position.topics,
      rejected: REJECT_REASONS.flatMap((reason) => (rejected.has(reason) ? [{ reason, count: rejected.get(reason)! }] : [])),
    };
  } finally {
    if (consumer !== null) {
      await consumer.disconnect();
      // The group never committed an offset; removing it leaves the cluster as the replay found it.
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    await admin.disconnect();
    codec.close();
  }
}

/**
 * The replay as a command runs it: progress on stderr, then what was read and left out on stdout. A broker refusing
 * the login is a setting to fix, like the scorer's refusal to start (UsageError, exit 2), not an outage.
 */
export async function replayInputTopics(
  config: AppConfig,
  io: CommandIo,
  options: Pick<TopicHistoryOptions, 'clock' | 'recordTimestamps'>,
): Promise<TopicHistory> {
  let topics: readonly TopicProgress[] = [];
  const replaying = startProgress(() => describeReplay(topics, formatCount), { stream: io.stderr });
  let replay;
  try {
    replay = await readTopicHistory({ ...options, config, logStream: io.stderr, onProgress: (progress) => (topics = progress) });
  } catch (error) {
    if (error instanceof KafkaLoginRefusedError) throw new UsageError(error.message);
    throw error;
  } finally {
    replaying.stop();
  }
  io.stdout.write(describeReplayReport(replay));
  return replay;
}
