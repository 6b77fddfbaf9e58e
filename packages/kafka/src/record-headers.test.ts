import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { groupHeaders, groupRecordHeadersSafely } from './record-headers';

// kafkajs's own record encoder and decoder: the record as a broker hands it over, decoded as the consumer does.
const requireKafkajs = createRequire(import.meta.url);
const encodeRecord = requireKafkajs('kafkajs/src/protocol/recordBatch/record/v0') as (record: object) => { buffer: Buffer };
const decodeRecord = requireKafkajs('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (decoder: unknown, context: object) => { headers: object };
const Decoder = requireKafkajs('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => { readVarIntBytes(): Buffer };

/** A record with these headers through kafkajs's encoding and decoding. */
function consumedHeaders(headers: object): Record<string, unknown> {
  const wire = new Decoder(encodeRecord({ key: Buffer.from('acme'), value: Buffer.from('v'), headers }).buffer);
  return decodeRecord(new Decoder(wire.readVarIntBytes()), { firstOffset: '0', firstTimestamp: '0' }).headers as Record<string, unknown>;
}

beforeAll(() => groupRecordHeadersSafely());

describe('record headers as the consumer reads them', () => {
  it('keep a header named like an Object.prototype member as its own value, not beside the inherited function', () => {
    const headers = consumedHeaders({ toString: 'a', constructor: 'b', hasOwnProperty: 'c', valueOf: ['d', 'e'] });
    expect(headers).toEqual({ toString: Buffer.from('a'), constructor: Buffer.from('b'), hasOwnProperty: Buffer.from('c'), valueOf: [Buffer.from('d'), Buffer.from('e')] });
  });

  it('keep a header named __proto__ as a header, leaving the prototype alone', () => {
    const wireHeaders = groupHeaders([{ key: '__proto__', value: Buffer.from('p') }]);
    expect(Object.getPrototypeOf(wireHeaders)).toBe(Object.prototype);
    expect(Object.keys(wireHeaders)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(wireHeaders, '__proto__')?.value).toEqual(Buffer.from('p'));
  });

  it('group a repeated name into its values in order, nulls included, as kafkajs does', () => {
    const grouped = groupHeaders([
      { key: 'trace', value: null },
      { key: 'trace', value: Buffer.from('1') },
      { key: 'other', value: Buffer.from('x') },
      { key: 'trace', value: Buffer.from('2') },
    ]);
    expect(grouped).toEqual({ trace: [null, Buffer.from('1'), Buffer.from('2')], other: Buffer.from('x') });
  });

  it('decode in one pass however many headers a record carries: 200,000 (a copy per header took minutes)', () => {
    const many = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`h${i}`, '']));
    const headers = consumedHeaders(many);
    expect(Object.keys(headers)).toHaveLength(200_000);
    expect(headers.h199999).toEqual(Buffer.alloc(0));
  });
});
