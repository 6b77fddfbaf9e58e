import { describe, expect, it } from 'vitest';
import { frame, unframe } from './wire-format';

describe('Confluent wire format', () => {
  it('prefixes the body with magic byte 0 and the big-endian schema id', () => {
    const value = frame(0x01020304, Buffer.from([0xaa, 0xbb]));
    expect([...value]).toEqual([0, 1, 2, 3, 4, 0xaa, 0xbb]);
    expect(unframe(value)).toEqual({ schemaId: 0x01020304, body: Buffer.from([0xaa, 0xbb]) });
  });

  it('accepts an empty body, leaving its judgement to the Avro reader', () => {
    expect(unframe(Buffer.from([0, 0, 0, 0, 7]))).toEqual({ schemaId: 7, body: Buffer.alloc(0) });
  });

  it.each([
    ['too short', [0, 0, 0, 1]],
    ['a wrong magic byte', [1, 0, 0, 0, 1, 2]],
    ['text', [...Buffer.from('{"a":1}')]],
  ])('refuses %s', (_, bytes) => {
    expect(unframe(Buffer.from(bytes))).toBeNull();
  });
});
