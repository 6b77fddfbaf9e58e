import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, FetchOffsetsPartition } from 'kafkajs';

/**
 * Each partition of `topic` with its earliest retained offset (`low`) and its high watermark (`high`, the offset the
 * next record will get), as the brokers report them now.
 */
export async function partitionOffsets(admin: Pick<Admin, 'fetchTopicOffsets'>, topic: string): Promise<Map<number, { low: number; high: number }>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => [partition, { low: Number(low), high: Number(high) }]));
}

/** How a lookup of committed offsets waits out a group coordinator that is loading or moving: ~30 s in all, as the clients' own retries. */
export interface CommittedOffsetsRetry {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const COMMITTED_OFFSETS_RETRY: CommittedOffsetsRetry = { attempts: 10, initialDelayMs: 300, maxDelayMs: 5_000 };

const isRetriable = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;

/**
 * The group's committed offsets of `topics`. kafkajs's admin asks the group coordinator once: while a broker that just
 * started loads its groups, or while a coordinator moves, the answer is a retriable error (COORDINATOR_LOAD_IN_PROGRESS,
 * NOT_COORDINATOR), which is waited out with backoff here as the consumer waits it out; any other error is thrown at once.
 */
export async function committedOffsets(
  admin: Pick<Admin, 'fetchOffsets'>,
  groupId: string,
  topics: readonly string[],
  retry: CommittedOffsetsRetry = COMMITTED_OFFSETS_RETRY,
): Promise<Array<{ topic: string; partitions: FetchOffsetsPartition[] }>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await admin.fetchOffsets({ groupId, topics: [...topics] });
    } catch (error) {
      if (!isRetriable(error) || attempt >= retry.attempts) throw error;
      await sleep(Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1)));
    }
  }
}
