// A customer base's history from a replay of the retained input topics: every record from the earliest retained
// offset up to the high watermark taken when the replay starts, decoded and validated by the scorer's own codec, so
// training (and the back-fill) learns from exactly what the scorer accepts. Read-only: a throw-away consumer group
// that never commits, deleted when the replay ends.
import { randomUUID } from 'node:crypto';
import { kafkaClientOptions, registryClientConfig, type AppConfig } from '@churnscore/config';
import { REJECT_REASONS, createEventCodec, eventCodecOptions, INPUT_EVENT_KINDS, type RejectReason } from '@churnscore/events';
import { KafkaLoginRefusedError, connectAdmin, decodeFetched, createKafkaClient, readToEnd, requireTopics, type TopicProgress } from '@churnscore/kafka';
import { createLogger } from '@churnscore/observability';
import type { HistoryEvent } from '@churnscore/training';
import { UsageError, formatCount, startProgress, type ProgressStream } from '@churnscore/simulator';
import type { CommandIo } from './command-line';

/** The replay's progress as one line: records read of the total, topic by topic. */
export const describeReplay = (topics: readonly TopicProgress[], formatCount: (n: number) => string): string =>
  topics.length === 0
    ? 'replaying: asking the brokers where the input topics end'
    : `replaying  ${topics.map(({ topic, read, total }) => `${topic} ${formatCount(read)}/${formatCount(total)}`).join('  ')}`;

/** How many records the replay left out, whatever the reason. */
export const recordsLeftOut = (rejected: TopicHistory['rejected']): number => rejected.reduce((sum, { count }) => sum + count, 0);

/** What the replay read, topic by topic, and what it left out and why: the lines a DLQ's reasons would show. */
export function describeReplayReport({ topics, rejected }: Pick<TopicHistory, 'topics' | 'rejected'>): string {
  const read = topics.map(({ topic, read: records }) => `${topic}: ${records} records\n`);
  const left = recordsLeftOut(rejected);
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

/**
 * Reads every input topic (TOPIC_ACTIVITY, TOPIC_OPPORTUNITY, TOPIC_CONTRACT, TOPIC_CUSTOMER) from its earliest
 * retained record to the end it had when the replay started, with the scorer's brokers, registry and security
 * settings, and keeps the records the scorer accepts. A broker or registry failure throws.
 */
export async function readTopicHistory(options: TopicHistoryOptions): Promise<TopicHistory> {
  const { config } = options;
  const logger = createLogger({ name: 'trainer', level: config.logLevel, destination: options.logStream });
  const kafka = createKafkaClient(kafkaClientOptions(config), logger);
  const topics = INPUT_EVENT_KINDS.map((kind) => config.topics[kind]);
  const admin = await connectAdmin(kafka);
  const codec = createEventCodec(eventCodecOptions(config, registryClientConfig(config)));
  try {
    // A topic that does not exist would have the replay retry its partitions for a minute and a half, then fail
    // with the broker's words: it is a setting to fix, refused at once as the scorer refuses it.
    await requireTopics(admin, Object.fromEntries(INPUT_EVENT_KINDS.map((kind) => [kind, config.topics[kind]])));
    const events: HistoryEvent[] = [];
    const rejected = new Map<RejectReason, number>();
    const topicProgress = await readToEnd({
      kafka,
      admin,
      topics,
      groupId: `${config.kafka.clientId}-replay-${randomUUID()}`,
      onProgress: options.onProgress,
      async onRecords(topic, records) {
        const now = options.clock();
        const decoded = await decodeFetched(codec, topic, records, now);
        decoded.forEach((result, index) => {
          if (!result.ok) {
            rejected.set(result.rejection.reason, (rejected.get(result.rejection.reason) ?? 0) + 1);
            return;
          }
          events.push(options.recordTimestamps ? { event: result.event, receivedAt: Number(records[index]!.timestamp) } : { event: result.event });
        });
      },
    });
    return {
      events,
      topics: topicProgress,
      rejected: REJECT_REASONS.flatMap((reason) => (rejected.has(reason) ? [{ reason, count: rejected.get(reason)! }] : [])),
    };
  } finally {
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
