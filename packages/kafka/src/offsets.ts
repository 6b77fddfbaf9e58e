import type { Admin } from 'kafkajs';

/**
 * Each partition of `topic` with its earliest retained offset (`low`) and its high watermark (`high`, the offset the
 * next record will get), as the brokers report them now.
 */
export async function partitionOffsets(admin: Pick<Admin, 'fetchTopicOffsets'>, topic: string): Promise<Map<number, { low: number; high: number }>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => [partition, { low: Number(low), high: Number(high) }]));
}
