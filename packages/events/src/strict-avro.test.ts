import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { boundedWriterType, strictReaderType } from './strict-avro';

type Field = { name: string; type: avro.Schema };
const schema = (extraFields: Field[] = [], namespace = 'dev.test'): avro.Schema => ({
  type: 'record',
  name: 'Flagged',
  namespace,
  fields: [
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'flag', type: 'boolean' },
    { name: 'maybe', type: ['null', 'boolean'], default: null },
    ...extraFields,
  ],
});
const reader = strictReaderType(schema());
/** A producer's newer schema with a field this reader lacks, under its own namespace: read through a resolver. */
const writer = avro.Type.forSchema(schema([{ name: 'note', type: 'string' }], 'com.producer'));
const resolver = reader.createResolver(writer, { ignoreNamespaces: true });

/** Bytes of a valid record with `byte` in place of one boolean (flag: offset 1, after the 1-byte long 0; maybe: offset 3). */
function corrupted(offset: number, byte: number, withNote = false): Buffer {
  const record = { at: 0, flag: true, maybe: true, ...(withNote ? { note: '' } : {}) };
  const bytes = Buffer.from((withNote ? writer : reader).toBuffer(record));
  bytes[offset] = byte;
  return bytes;
}

/** Avro's zigzag varint of a 64-bit long. */
function avroLong(value: bigint): Buffer {
  let rest = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const bytes: number[] = [];
  for (; rest >= 0x80n; rest >>= 7n) bytes.push(Number(rest & 0x7fn) | 0x80);
  bytes.push(Number(rest));
  return Buffer.from(bytes);
}
const withTime = (at: bigint): Buffer => Buffer.concat([avroLong(at), Buffer.from([0, 0])]);

describe('strict booleans', () => {
  it('read 0 and 1 as false and true', () => {
    expect(reader.fromBuffer(corrupted(1, 0))).toMatchObject({ flag: false, maybe: true });
    expect(reader.fromBuffer(corrupted(3, 0))).toMatchObject({ flag: true, maybe: false });
  });

  it.each([2, 0x80, 0xff])('refuse the byte %i, read with the same schema or resolved from a writer’s', (byte) => {
    expect(() => reader.fromBuffer(corrupted(1, byte))).toThrow();
    expect(() => reader.fromBuffer(corrupted(3, byte))).toThrow();
    expect(() => reader.fromBuffer(corrupted(1, byte, true), resolver)).toThrow();
    expect(() => reader.fromBuffer(corrupted(3, byte, true), resolver)).toThrow();
  });

  it('still report a record cut before its boolean as truncated', () => {
    expect(() => reader.fromBuffer(corrupted(1, 1).subarray(0, 1))).toThrow(/truncated/);
  });
});

describe('strings', () => {
  // The writer's `note` read into a reader that has it: a string of the reader schema.
  const withNote = strictReaderType(schema([{ name: 'note', type: 'string' }], 'com.producer'));
  /** A record whose note is these bytes, written as Avro writes a string (its length, then the bytes). */
  const noteOf = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from(writer.toBuffer({ at: 0, flag: true, maybe: null, note: '' })).subarray(0, -1), avroLong(BigInt(bytes.length)), bytes]);

  it('read UTF-8, every plane of it', () => {
    expect(withNote.fromBuffer(noteOf(Buffer.from('Müller-1 顧客 😀', 'utf8')))).toMatchObject({ note: 'Müller-1 顧客 😀' });
    // U+FFFD itself is UTF-8 (EF BF BD): a string holding it is read, only bytes that are not UTF-8 are refused.
    expect(withNote.fromBuffer(noteOf(Buffer.from('a\uFFFDb', 'utf8')))).toMatchObject({ note: 'a\uFFFDb' });
  });

  it.each([
    ['Latin-1', Buffer.from('M\xfcller-1', 'latin1')],
    ['a lone continuation byte', Buffer.from([0x41, 0x80])],
    ['a surrogate written as UTF-8', Buffer.from([0xed, 0xa0, 0x80])],
    ['bytes 0xfe 0xff', Buffer.from([0x41, 0xfe, 0xff])],
  ])('refuse %s rather than read it with U+FFFD (two ids differing there would be one)', (_name, bytes) => {
    expect(() => withNote.fromBuffer(noteOf(bytes))).toThrow(/not UTF-8/);
    expect(() => reader.fromBuffer(noteOf(bytes), resolver)).not.toThrow(); // a field the reader skips is not read
  });

  it('still report a string cut short as truncated', () => {
    expect(() => withNote.fromBuffer(noteOf(Buffer.from('abc')).subarray(0, -1))).toThrow(/truncated/);
  });
});

describe('longs', () => {
  it('read exactly within ±(2^53 − 1)', () => {
    for (const at of [0, 1_748_779_200_000, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) {
      expect(reader.fromBuffer(withTime(BigInt(at))).at).toBe(at);
    }
  });

  it('read beyond it as the nearest number, for validation to reject by name, where avsc throws', () => {
    const javaLongMax = 2n ** 63n - 1n;
    expect(() => avro.Type.forSchema(schema()).fromBuffer(withTime(javaLongMax))).toThrow(/precision/);
    expect(reader.fromBuffer(withTime(javaLongMax)).at).toBe(2 ** 63);
    expect(reader.fromBuffer(withTime(-(2n ** 63n))).at).toBe(-(2 ** 63));
    expect(Number.isSafeInteger(reader.fromBuffer(withTime(2n ** 53n)).at)).toBe(false);
  });

  it('read an int writer field as a long', () => {
    const intWriter = avro.Type.forSchema({ type: 'record', name: 'Flagged', fields: [{ name: 'at', type: 'int' }, { name: 'flag', type: 'boolean' }] });
    const bytes = intWriter.toBuffer({ at: -5, flag: true });
    expect(reader.fromBuffer(bytes, reader.createResolver(intWriter, { ignoreNamespaces: true }))).toMatchObject({ at: -5, flag: true, maybe: null });
  });
});

it('keeps the schema, so a writer with the same schema needs no resolver', () => {
  expect(reader.equals(avro.Type.forSchema(schema()))).toBe(true);
});

describe('arrays and maps', () => {
  /** The record's own fields (at 0, flag true, maybe null) followed by `extra`: the bytes of a writer with one more field. */
  const withExtra = (...extra: Buffer[]): Buffer => Buffer.concat([Buffer.from([0, 1, 0]), ...extra]);
  const writerWith = (type: avro.Schema) => boundedWriterType(schema([{ name: 'extra', type }], 'com.producer'));
  const readThrough = (writerType: avro.Type, bytes: Buffer) => reader.fromBuffer(bytes, reader.createResolver(writerType, { ignoreNamespaces: true }));
  const strings = writerWith({ type: 'array', items: 'string' });
  const counts = writerWith({ type: 'map', values: 'long' });

  it('read and skip blocks as Avro writes them, item by item or by their size in bytes', () => {
    const twoStrings = Buffer.concat([avroLong(2n), Buffer.from([2, 0x61, 2, 0x62])]);
    expect(readThrough(strings, withExtra(twoStrings, avroLong(0n)))).toMatchObject({ flag: true, maybe: null });
    // A block with a negative count gives its size, so a reader can skip it without reading its items.
    const sized = Buffer.concat([avroLong(-2n), avroLong(4n), Buffer.from([2, 0x61, 2, 0x62])]);
    expect(readThrough(strings, withExtra(sized, avroLong(0n)))).toMatchObject({ flag: true });
    expect(strings.fromBuffer(withExtra(sized, avroLong(0n)))).toMatchObject({ extra: ['a', 'b'] });
    expect(counts.fromBuffer(withExtra(avroLong(1n), Buffer.from([2, 0x6b]), avroLong(7n), avroLong(0n)))).toMatchObject({ extra: { k: 7 } });
  });

  it.each([
    ['a block skipped by a negative size, back to its own start', Buffer.concat([avroLong(-1n), avroLong(-2n)])],
    ['a block size past the end', Buffer.concat([avroLong(-1n), avroLong(1_000n), Buffer.from([0])])],
    ['2^52 items claimed in a few bytes', Buffer.concat([avroLong(2n ** 52n), Buffer.from([2, 0x61])])],
    ['more items than bytes remain', Buffer.concat([avroLong(5n), Buffer.from([0, 0, 0]), avroLong(0n)])],
  ])('refuse %s, read or skipped, at once rather than running on', (_what, block) => {
    expect(() => readThrough(strings, withExtra(block))).toThrow(/Avro block/);
    expect(() => strings.fromBuffer(withExtra(block))).toThrow(/Avro block/);
    expect(() => readThrough(counts, withExtra(block))).toThrow(/Avro block/);
  });

  it('refuse a schema with an array of items that take no bytes, whose length no record bounds', () => {
    expect(() => writerWith({ type: 'array', items: 'null' })).toThrow(/items that take no bytes/);
    expect(() => writerWith({ type: 'array', items: { type: 'record', name: 'Nothing', fields: [{ name: 'n', type: 'null' }] } })).toThrow(/items that take no bytes/);
    // Fields sharing one type (every "null" is one object in avsc; a named type used twice too) all count.
    expect(() => writerWith({ type: 'array', items: { type: 'record', name: 'Nulls', fields: [{ name: 'a', type: 'null' }, { name: 'b', type: 'null' }] } })).toThrow(/items that take no bytes/);
    const emptyFixed = { type: 'fixed', name: 'F0', size: 0 } as const;
    expect(() => writerWith({ type: 'array', items: { type: 'record', name: 'Fixed', fields: [{ name: 'a', type: emptyFixed }, { name: 'b', type: 'F0' }] } })).toThrow(/items that take no bytes/);
    expect(() => writerWith({ type: 'array', items: ['null', 'string'] })).not.toThrow();
    expect(() => writerWith({ type: 'array', items: { type: 'record', name: 'Some', fields: [{ name: 'a', type: 'null' }, { name: 'b', type: 'int' }] } })).not.toThrow();
  });

  it('keep a map key named __proto__ as a key', () => {
    const read = counts.fromBuffer(withExtra(avroLong(1n), avroLong(9n), Buffer.from('__proto__'), avroLong(3n), avroLong(0n))) as { extra: object };
    expect(Object.getPrototypeOf(read.extra)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(read.extra, '__proto__')?.value).toBe(3);
  });
});
