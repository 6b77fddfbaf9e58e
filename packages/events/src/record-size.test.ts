import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { RECORD_OVERHEAD_BYTES, recordBytes } from './record-size';

// kafkajs's own record encoder, the one that sends a DLQ copy: what the estimate must not fall below, nor far exceed.
const encodeRecord = createRequire(import.meta.url)('kafkajs/src/protocol/recordBatch/record/v0') as (record: {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | Array<Buffer | string>>;
}) => { buffer: Buffer };

describe('recordBytes', () => {
  it('counts headers as Kafka encodes them: at least their encoded size, and within the record overhead of it', () => {
    const many = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`h${i}`, 'v']));
    type EncodedRecord = Parameters<typeof encodeRecord>[0];
    const records: EncodedRecord[] = [
      { key: Buffer.from('acme'), value: Buffer.from('x'), headers: many },
      { key: null, value: Buffer.alloc(300), headers: { trace: [Buffer.alloc(200), 'two'], ['x'.repeat(130)]: Buffer.alloc(20_000) } },
      { key: Buffer.alloc(70_000), value: null, headers: {} },
    ];
    for (const record of records) {
      const encoded = encodeRecord(record).buffer.length;
      expect(recordBytes(record)).toBeGreaterThanOrEqual(encoded);
      expect(recordBytes(record)).toBeLessThanOrEqual(encoded + RECORD_OVERHEAD_BYTES);
    }
  });
});
