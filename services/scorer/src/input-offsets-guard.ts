// No input partition's offsets may go back under a namespace that consumed it (packages/state input-offsets.ts:
// its new records would be taken for redeliveries and dropped). Checked at start against every partition's end,
// and on every fetch against the end the broker reports.
import { partitionKey, recordDigest, type MessageChunk } from '@churnscore/kafka';
import { readInputOffsets } from '@churnscore/state';
import type { InputOffset, RedisClient } from '@churnscore/state';

/**
 * Where a unit of work's chunks leave their partitions (one chunk of a partition per unit), each with the last record
 * handed out below it; none for a chunk of records not handed out (transaction markers), after which the one recorded
 * before still is the last record below.
 */
export function inputsHandledTo(chunks: readonly MessageChunk[]): InputOffset[] {
  return chunks.map(({ topic, partition, messages, nextOffset }) => {
    const last = messages.at(-1);
    return { topic, partition, offset: nextOffset, ...(last === undefined ? {} : { lastRecord: { offset: last.offset, digest: recordDigest(last.key, last.value) } }) };
  });
}

/** Raised when a partition's log ends before the offset this namespace consumed it to. */
export class InputOffsetsWentBackError extends Error {
  override readonly name = 'InputOffsetsWentBackError';
}

export class InputOffsetsGuard {
  /** The next offset to consume of each partition, as last recorded by this namespace's scorers (as they handle it, before they commit it). */
  private readonly consumed = new Map<string, number>();

  /** @param rebuild what to do about it, said after the reason (the namespace and group named). */
  constructor(private readonly rebuild: string) {}

  /** Loads what this namespace's scorers recorded, and returns it. */
  async load(redis: RedisClient, prefix: string): Promise<InputOffset[]> {
    const recorded = await readInputOffsets(redis, prefix);
    for (const { topic, partition, offset } of recorded) this.handledTo(topic, partition, Number(offset));
    return recorded;
  }

  /** Offsets every record below which is handled: they stand for what is consumed from now on (an operator may have reset them lower). */
  handledTo(topic: string, partition: number, offset: number): void {
    this.consumed.set(partitionKey(topic, partition), offset);
  }

  /** The next offset to consume of the partition, as last recorded; undefined when this namespace never consumed it. */
  consumedTo(topic: string, partition: number): number | undefined {
    return this.consumed.get(partitionKey(topic, partition));
  }

  /** @throws InputOffsetsWentBackError when the partition's log, ending at `end`, ends before the offset it was consumed to. */
  check(topic: string, partition: number, end: number): void {
    const consumed = this.consumedTo(topic, partition);
    if (consumed === undefined || end >= consumed) return;
    throw new InputOffsetsWentBackError(
      `input partition ${topic}/${partition} ends at offset ${end}, before offset ${consumed} that this namespace consumed it to: the topic ` +
        'was deleted and created again, or its log truncated (an unclean leader election). Its records from there on would be taken for ' +
        `redeliveries of the ones the customers' state already holds, and dropped, so the scorer stops instead. ${this.rebuild}`,
    );
  }
}
