// The offset of each input partition up to which the namespace's scorers have handled it (`<p>:inputs`, written by the
// store's recordInputsHandled with each unit of work, only ever raised; its last records in `<p>:inputs:last`). Every
// customer's state keeps offset watermarks per input partition, which tell a redelivery only while a partition's
// offsets never go back. A topic deleted and created again (or a log truncated by an unclean leader election)
// numbers its records from below them again, and its new records would be taken for redeliveries and dropped:
// this record is how a scorer sees that before it takes any.
import { masterEpochTags, type RedisClient } from './connection';
import { DEFAULT_PREFIX, keySchema } from './keys';

export interface InputOffset {
  topic: string;
  partition: number;
  /** The next offset to consume: every record below it is handled. */
  offset: string;
  /**
   * The last record handed out below it (a unit that moved past records not handed out, transaction markers, names
   * none): its offset and digest (`recordDigest` of @churnscore/kafka).
   */
  lastRecord?: { offset: string; digest: string };
}

/** A last record as `<p>:inputs:last` holds it (readInputOffsets reads it back). */
export const lastRecordValue = ({ offset, digest }: NonNullable<InputOffset['lastRecord']>): string => `${offset},${digest}`;

/** Topic names hold no colon (Kafka allows letters, digits, '.', '_' and '-'): the field is `<topic>:<partition>`. */
export const fieldOf = (topic: string, partition: number): string => `${topic}:${partition}`;

export const partitionOfField = (field: string): { topic: string; partition: number } => {
  const separator = field.lastIndexOf(':');
  return { topic: field.slice(0, separator), partition: Number(field.slice(separator + 1)) };
};

/** Every partition's recorded offset and last record, in one read of each. */
export async function readInputOffsets(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<InputOffset[]> {
  const keys = keySchema(prefix);
  const [recorded, lastRecords] = await Promise.all([redis.hgetall(keys.inputOffsets), redis.hgetall(keys.inputLastRecords)]);
  return Object.entries(recorded).map(([field, offset]) => {
    const [lastOffset, digest] = lastRecords[field]?.split(',') ?? [];
    return { ...partitionOfField(field), offset, ...(lastOffset !== undefined && digest !== undefined ? { lastRecord: { offset: lastOffset, digest } } : {}) };
  });
}

/**
 * How far the namespace's data holds each partition handled to, wherever it lives: the least of the namespace's record
 * and, on a Redis Cluster, each master's own (`<p>:inputs:{<tag>}`, raised after the unit's writes to that master). A
 * master that came back without its last writes (an fsync held back longer than the durability gate's grace) has the
 * lower record, whichever master holds the namespace's; the scorer re-consumes from there. A partition a master's
 * record does not name tells nothing of that master (its record began after the partition was last handled).
 */
export async function readInputsHeldOnEveryMaster(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<Array<Omit<InputOffset, 'lastRecord'>>> {
  const keys = keySchema(prefix);
  const tags = await masterEpochTags(redis, prefix);
  const records = await Promise.all([keys.inputOffsets, ...tags.map((tag) => keys.masterInputOffsets(tag))].map((key) => redis.hgetall(key)));
  const least = new Map<string, bigint>();
  for (const record of records) {
    for (const [field, offset] of Object.entries(record)) {
      const held = least.get(field);
      if (held === undefined || BigInt(offset) < held) least.set(field, BigInt(offset));
    }
  }
  return [...least].map(([field, offset]) => ({ ...partitionOfField(field), offset: String(offset) }));
}
