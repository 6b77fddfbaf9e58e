import fc from 'fast-check';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2Partition } from './murmur2';

const metadata = (count: number): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] }));

describe('murmur2Partition', () => {
  it('places every key where kafkajs’s default partitioner (a port of the Java client’s) does', () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes))), fc.integer({ min: 1, max: 128 }), (key, count) => {
        const expected = kafkajs({ topic: 't', partitionMetadata: metadata(count), message: { key, value: null } });
        expect(murmur2Partition(typeof key === 'string' ? Buffer.from(key) : key, count)).toBe(expected);
      }),
      { numRuns: 5_000 },
    );
  });
});
