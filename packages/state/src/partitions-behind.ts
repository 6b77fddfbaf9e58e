// The input partitions their owning scorer instance is catching up with (`<p>:inputs:behind`). Each instance knows the
// backlog of the partitions it consumes, but any instance's time-driven loop claims any customer due: one that does not
// consume a customer's partitions would take the partial state of a customer whose history is still loading for settled,
// and open alerts from it (an outside tester's runs of 2 and 3 instances, 2026-12-05: 11–28 episodes opened and resolved
// again per 250 customers, none with one instance). Owners record their partitions here; the others read it.
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
