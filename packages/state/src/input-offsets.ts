// The offset of each input partition up to which the namespace's scorers have committed (`<p>:inputs`). Every
// customer's state keeps offset watermarks per input partition, which tell a redelivery only while a partition's
// offsets never go back. A topic deleted and created again (or a log truncated by an unclean leader election)
// numbers its records from below them again, and its new records would be taken for redeliveries and dropped:
// this record is how a scorer sees that before it takes any.
import type { RedisClient } from './connection';
import { DEFAULT_PREFIX, keySchema } from './keys';

export interface InputOffset {
  topic: string;
  partition: number;
  /** The next offset to consume, as Kafka commits it. */
  offset: string;
}

/** Topic names hold no colon (Kafka allows letters, digits, '.', '_' and '-'): the field is `<topic>:<partition>`. */
const fieldOf = (topic: string, partition: number): string => `${topic}:${partition}`;

/** Records the offsets just committed to Kafka, one field per partition, whoever committed it last. */
export async function recordInputOffsets(redis: RedisClient, offsets: readonly InputOffset[], prefix: string = DEFAULT_PREFIX): Promise<void> {
  if (offsets.length === 0) return;
  await redis.hset(keySchema(prefix).inputOffsets, Object.fromEntries(offsets.map(({ topic, partition, offset }) => [fieldOf(topic, partition), offset])));
}

/** The recorded offsets of `topic`'s partitions, by partition. */
export async function readInputOffsets(redis: RedisClient, topic: string, prefix: string = DEFAULT_PREFIX): Promise<Map<number, number>> {
  const recorded = await redis.hgetall(keySchema(prefix).inputOffsets);
  const offsets = new Map<number, number>();
  for (const [field, offset] of Object.entries(recorded)) {
    const separator = field.lastIndexOf(':');
    if (field.slice(0, separator) === topic) offsets.set(Number(field.slice(separator + 1)), Number(offset));
  }
  return offsets;
}
