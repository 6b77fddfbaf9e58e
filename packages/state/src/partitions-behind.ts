// The input partitions their owning scorer instance is catching up with (`<p>:inputs:behind`). Each instance knows the
// backlog of the partitions it consumes, but any instance's time-driven loop claims any customer due: one that does not
// consume a customer's partitions would take the partial state of a customer whose history is still loading for settled,
// and open alerts from it (an outside tester's runs of 2 and 3 instances, 2026-12-05: 11–28 episodes opened and resolved
// again per 250 customers, none with one instance). Owners record their partitions here; the others read it. Likewise
// whether an instance sees a load of history arriving (event time rather than lag, `<p>:inputs:history-loading`).
import type { RedisClient } from './connection';
import { fieldOf, partitionOfField } from './input-offsets';
import { DEFAULT_PREFIX, keySchema } from './keys';

export interface PartitionBehind {
  topic: string;
  partition: number;
  /** Whether its owner is catching up with it. */
  behind: boolean;
}

/** Records whether each partition is behind, as its owner sees it now. */
export async function recordPartitionsBehind(redis: RedisClient, partitions: readonly PartitionBehind[], prefix: string = DEFAULT_PREFIX): Promise<void> {
  const key = keySchema(prefix).inputsBehind;
  const behind = partitions.filter((p) => p.behind).map(({ topic, partition }) => fieldOf(topic, partition));
  const caughtUp = partitions.filter((p) => !p.behind).map(({ topic, partition }) => fieldOf(topic, partition));
  await Promise.all([
    behind.length > 0 ? redis.hset(key, Object.fromEntries(behind.map((field) => [field, '1']))) : undefined,
    caughtUp.length > 0 ? redis.hdel(key, ...caughtUp) : undefined,
  ]);
}

/** The partitions recorded as behind. HGETALL, not HKEYS: among the commands the scorer's documented ACL allows. */
export async function readPartitionsBehind(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<Array<{ topic: string; partition: number }>> {
  return Object.keys(await redis.hgetall(keySchema(prefix).inputsBehind)).map(partitionOfField);
}

/**
 * Says that an instance sees a load of history arriving on its inputs (the scorer's HistoryLoad) until `until`, on the
 * scorers' clock (a test's clock may stand still or jump; the key also expires `forMs` later by Redis's): a customer
 * whose alerts are held for its history arriving, rechecked by another instance's time-driven loop, stays held as its
 * owner would keep it.
 */
export async function recordHistoryLoading(redis: RedisClient, until: number, forMs: number, prefix: string = DEFAULT_PREFIX): Promise<void> {
  await redis.set(keySchema(prefix).historyLoading, String(until), 'PX', forMs);
}

/** Until when, on the scorers' clock, an instance last said a load of history arrives on its inputs; null: none said. */
export async function readHistoryLoading(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<number | null> {
  const until = await redis.get(keySchema(prefix).historyLoading);
  return until === null ? null : Number(until);
}
