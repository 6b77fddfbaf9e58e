// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), which its Java client partitions keyed records by,
// in 32-bit integer arithmetic. kafkajs's own port computes on Long objects, a dozen of them per four bytes of key:
// most of what a large send allocated.

const SEED = 0x9747b28c;
// The mixing constants of MurmurHash2.
const M = 0x5bd1e995;
const R = 24;

/** Utils.murmur2 of `data`: a signed 32-bit integer, as Java's int. */
function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The last one to three bytes, as the Java switch's falling-through cases take them.
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2]! << 16;
    if (rest >= 2) h ^= data[whole + 1]! << 8;
    h = Math.imul(h ^ data[whole]!, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  return h ^ (h >>> 15);
}

/** The partition the Java client's default partitioner gives a record keyed `key`: Utils.toPositive(murmur2(key)) % partitions. */
export const murmur2Partition = (key: Uint8Array, partitionCount: number): number => (murmur2(key) & 0x7fffffff) % partitionCount;
