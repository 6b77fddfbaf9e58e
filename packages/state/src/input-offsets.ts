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

/** Every partition's recorded offset, in one read. */
export async function readInputOffsets(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<InputOffset[]> {
  const recorded = await redis.hgetall(keySchema(prefix).inputOffsets);
  return Object.entries(recorded).map(([field, offset]) => {
    const separator = field.lastIndexOf(':');
    return { topic: field.slice(0, separator), partition: Number(field.slice(separator + 1)), offset };
  });
}
