// What tells one log's record from another's at the same offset: a topic deleted and created again numbers its records
// from 0 again, and Kafka names no incarnation of a topic that kafkajs reads.
import { createHash } from 'node:crypto';

/** A record consumed from a partition: its offset and a digest of its key and value. */
export interface RecordFingerprint {
  offset: string;
  digest: string;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * 16 hex digits of SHA-256 over the key (its length first, -1 for none, so that no key and value split the same bytes
 * alike) and the value. Not the timestamp: the same records published again are the same events.
 */
export function recordDigest(key: Buffer | null, value: Buffer | null): string {
  return createHash('sha256')
    .update(`${key?.length ?? -1}:`)
    .update(key ?? NO_BYTES)
    .update(value ?? NO_BYTES)
    .digest('hex')
    .slice(0, 16);
}
