import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, FetchOffsetsPartition } from 'kafkajs';

/** One key for a topic's partition, for maps of partitions ('\u0000' is in no topic name). */
export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** The topic and partition of a partitionKey. */
export function partitionOfKey(key: string): { topic: string; partition: number } {
  const separator = key.lastIndexOf('\u0000');
  return { topic: key.slice(0, separator), partition: Number(key.slice(separator + 1)) };
}

/**
 * How an offsets lookup waits out a broker's retriable answer (a group coordinator loading or moving, a partition
 * whose leader is being elected or moved): ~30 s in all, as the clients' own retries.
 */
export interface OffsetsRetry {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const OFFSETS_RETRY: OffsetsRetry = { attempts: 10, initialDelayMs: 300, maxDelayMs: 5_000 };

const isRetriable = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;

/** `lookup`, again with backoff while it fails with a retriable error; any other error is thrown at once. */
async function withRetries<T>(lookup: () => Promise<T>, retry: OffsetsRetry): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await lookup();
    } catch (error) {
      if (!isRetriable(error) || attempt >= retry.attempts) throw error;
      await sleep(Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1)));
    }
  }
}

/**
 * Each partition of `topic` with its earliest retained offset (`low`) and its high watermark (`high`, the offset the
 * next record will get), as the brokers report them now. kafkajs's admin asks each partition's leader once: a topic
 * just created, or a leader being moved, answers NOT_LEADER_FOR_PARTITION (retriable) for a moment, waited out here.
 */
export async function partitionOffsets(
  admin: Pick<Admin, 'fetchTopicOffsets'>,
  topic: string,
  retry: OffsetsRetry = OFFSETS_RETRY,
): Promise<Map<number, { low: number; high: number }>> {
  const offsets = await withRetries(() => admin.fetchTopicOffsets(topic), retry);
  return new Map(offsets.map(({ partition, low, high }) => [partition, { low: Number(low), high: Number(high) }]));
}

/**
 * The group's committed offsets of `topics`. kafkajs's admin asks the group coordinator once: while a broker that just
 * started loads its groups, or while a coordinator moves, the answer is a retriable error (COORDINATOR_LOAD_IN_PROGRESS,
 * NOT_COORDINATOR), which is waited out with backoff here as the consumer waits it out; any other error is thrown at once.
 */
export async function committedOffsets(
  admin: Pick<Admin, 'fetchOffsets'>,
  groupId: string,
  topics: readonly string[],
  retry: OffsetsRetry = OFFSETS_RETRY,
): Promise<Array<{ topic: string; partitions: FetchOffsetsPartition[] }>> {
  return withRetries(() => admin.fetchOffsets({ groupId, topics: [...topics] }), retry);
}

/** Where a consumer group stands in one partition, with the partition's retained range (partitionOffsets). */
export interface GroupPartitionOffsets {
  topic: string;
  partition: number;
  /** The group's committed offset; null where it has committed none (it then starts at `low`). */
  committed: number | null;
  low: number;
  high: number;
}

/** The group's committed offsets of `topics` beside each partition's retained range, asked together. */
export async function groupPartitionOffsets(
  admin: Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>,
  groupId: string,
  topics: readonly string[],
): Promise<GroupPartitionOffsets[]> {
  const [committed, ...ranges] = await Promise.all([committedOffsets(admin, groupId, topics), ...topics.map((topic) => partitionOffsets(admin, topic))]);
  return topics.flatMap((topic, i) => {
    const committedOf = new Map((committed.find((entry) => entry.topic === topic)?.partitions ?? []).map(({ partition, offset }) => [partition, Number(offset)]));
    return [...ranges[i]!].map(([partition, { low, high }]) => {
      // -1: nothing committed there yet.
      const at = committedOf.get(partition) ?? -1;
      return { topic, partition, committed: at >= 0 ? at : null, low, high };
    });
  });
}
