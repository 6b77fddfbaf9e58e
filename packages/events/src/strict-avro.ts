// How this code reads Avro where avsc's defaults are wrong for input that must never be obeyed by mistake.
// Every primitive value is read by the *reader* schema's type, whether or not the writer's schema differs
// (avsc's resolvers take the reader's read), so installing these types in the reader schemas is enough.
import { isUtf8 } from 'node:buffer';
import avro from 'avsc';
import { setOwnProperty } from './own-property';

/** avsc's cursor over the bytes being read (untyped in its declarations). */
interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  readString(): string;
  skipString(): void;
}

/** An avsc type as its readers and skippers see it (untyped in its declarations). */
interface ItemType {
  _read(tap: Tap): unknown;
  _skip(tap: Tap): void;
}

/**
 * An Avro boolean is one byte, 0 or 1 (Avro spec, binary encoding). avsc reads any byte as `!!byte`, so a
 * corrupt byte 2 in `erase` would read as true and erase the customer; here it fails the read, and the record
 * goes to the DLQ as AVRO_DECODE_FAILED.
 */
class StrictBooleanType extends avro.types.BooleanType {
  _read(tap: Tap): boolean {
    const byte = tap.buf[tap.pos++];
    if (byte === 1) return true;
    // Past the end (undefined), avsc's convention: the tap is now invalid and the read fails as truncated.
    if (byte === 0 || byte === undefined) return false;
    throw new Error('invalid Avro boolean byte');
  }
}

/**
 * An Avro string is UTF-8 (Avro spec, binary encoding). avsc decodes any bytes, each that is not UTF-8 as U+FFFD, so two
 * eventIds (or ticket, deal or contract ids) differing only there read as one, and the second event was taken for a copy
 * of the first and dropped, nothing in the DLQ (an outside tester, 2026-12-07: a producer writing Latin-1 as if it were
 * UTF-8 merges "Müller-1" and "Mäller-1"). Here such a string fails the read: AVRO_DECODE_FAILED.
 */
class StrictStringType extends avro.types.StringType {
  _read(tap: Tap): string | undefined {
    const start = tap.pos;
    const text = tap.readString();
    // Only a string holding U+FFFD can have had bytes that are not UTF-8 (the character itself is valid UTF-8): its bytes
    // are checked then, so that reading the strings of every record costs what avsc's own read does.
    if (text === undefined || !text.includes(REPLACEMENT_CHARACTER)) return text;
    const end = tap.pos;
    tap.pos = start;
    tap.readLong(); // the length, again: the bytes follow it
    const bytesFrom = tap.pos;
    tap.pos = end;
    if (!isUtf8(tap.buf.subarray(bytesFrom, end))) throw new Error('an Avro string that is not UTF-8');
    return text;
  }
}

/** What a UTF-8 decoder puts in place of bytes that are not UTF-8. */
const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * A long as the nearest number, even beyond ±(2^53 − 1), where avsc throws as if the record were corrupt. The
 * record decodes, and validation rejects the field by name as out of range (INVALID_FIELD); nothing here takes
 * such a number as exact.
 */
const longAsNearestNumber = avro.types.LongType.__with({
  // avsc requires the whole set; reading uses fromBuffer, and fromJSON for an int writer field read as long.
  fromBuffer: (bytes: Buffer) => Number(bytes.readBigInt64LE()),
  toBuffer: (value: number) => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64LE(BigInt(value));
    return bytes;
  },
  fromJSON: Number,
  toJSON: (value: number) => value,
  isValid: Number.isSafeInteger,
  compare: (a: number, b: number) => Math.sign(a - b),
});

const strictBoolean = new StrictBooleanType();
const strictString = new StrictStringType();

// Arrays and maps are written in blocks, each a count of items (negative: followed by the block's size in bytes)
// with a block of count 0 last. avsc takes every count and size on trust: a 40-byte record claiming 2^52 items,
// or skipping a block by a negative size back to its own start, held the scorer's thread for ever (found by a
// black-box test; an added writer field, which the reader skips, is enough). Here every item is one byte at least
// (an array of items that take none is refused with its schema, `refuseArraysOfNothing`), so a block claiming more
// items than bytes remain is corrupt, and so is a negative block size or one past the end: the read fails, and the
// record goes to the DLQ as AVRO_DECODE_FAILED.

/** `count`, the items of a block to be read one by one, which cannot outnumber the bytes left. */
function boundedCount(tap: Tap, count: number): number {
  if (count > tap.buf.length - tap.pos) throw new Error('Avro block claims more items than bytes remain');
  return count;
}

/** The item count of the next block, after its size when it has one: read item by item, bounded by the bytes left. */
function blockItems(tap: Tap): number {
  const count = tap.readLong();
  if (count >= 0) return boundedCount(tap, count);
  blockSize(tap);
  return boundedCount(tap, -count);
}

/** A block's size in bytes, which must lie within the bytes left. */
function blockSize(tap: Tap): number {
  const size = tap.readLong();
  if (size < 0 || size > tap.buf.length - tap.pos) throw new Error('Avro block size outside the value');
  return size;
}

/** Skips blocks by their sizes where given, else item by item: bounded as `blockItems` bounds reading. */
function skipBlocks(tap: Tap, skipItem: (tap: Tap) => void): void {
  for (let count = tap.readLong(); count !== 0; count = tap.readLong()) {
    if (count < 0) {
      // Read before the cursor is: `tap.pos += blockSize(tap)` would add the size to where the size began.
      const size = blockSize(tap);
      tap.pos += size;
      continue;
    }
    for (let n = boundedCount(tap, count); n > 0; n -= 1) skipItem(tap);
  }
}

class BoundedArrayType extends avro.types.ArrayType {
  // A resolver takes this method with `this` the resolver, whose itemsType resolves the writer's items.
  _read(tap: Tap): unknown[] {
    const items = this.itemsType as unknown as ItemType;
    const values: unknown[] = [];
    for (let count = blockItems(tap); count !== 0; count = blockItems(tap)) for (let n = 0; n < count; n += 1) values.push(items._read(tap));
    return values;
  }

  _skip(tap: Tap): void {
    const items = this.itemsType as unknown as ItemType;
    skipBlocks(tap, (at) => items._skip(at));
  }
}

class BoundedMapType extends avro.types.MapType {
  _read(tap: Tap): Record<string, unknown> {
    const values = this.valuesType as unknown as ItemType;
    const map: Record<string, unknown> = {};
    for (let count = blockItems(tap); count !== 0; count = blockItems(tap)) {
      for (let n = 0; n < count; n += 1) {
        setOwnProperty(map, tap.readString(), values._read(tap));
      }
    }
    return map;
  }

  _skip(tap: Tap): void {
    const values = this.valuesType as unknown as ItemType;
    skipBlocks(tap, (at) => {
      at.skipString();
      values._skip(at);
    });
  }
}

/** Arrays and maps whose blocks are checked against the bytes left; for every schema this code reads, writers' too. */
function boundedCollection(schema: avro.Schema, opts: avro.ForSchemaOptions): avro.Type | undefined {
  const type = typeof schema === 'object' && !Array.isArray(schema) ? (schema as { type?: unknown }).type : undefined;
  if (type === 'array') return new BoundedArrayType(schema as avro.schema.ArrayType, opts);
  if (type === 'map') return new BoundedMapType(schema as avro.schema.MapType, opts);
  return undefined;
}

/**
 * Whether a value of this type can take no bytes at all: null, an empty fixed, a record of only such fields. avsc
 * shares one type object among all its uses (every "null", every reference to a named type), so only the records on
 * the path from the top are remembered (a record within itself is no answer), never siblings already looked at.
 */
function takesNoBytes(type: avro.Type, onPath = new Set<avro.Type>()): boolean {
  if (type instanceof avro.types.NullType) return true;
  if (type instanceof avro.types.FixedType) return type.size === 0;
  if (type instanceof avro.types.LogicalType) return takesNoBytes(type.underlyingType, onPath);
  if (!(type instanceof avro.types.RecordType) || onPath.has(type)) return false;
  onPath.add(type);
  const none = type.fields.every((field) => takesNoBytes(field.type, onPath));
  onPath.delete(type);
  return none;
}

/** The branches of a union type; undefined for any other type. */
export const unionBranches = (type: avro.Type): readonly avro.Type[] | undefined =>
  type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType ? type.types : undefined;

/** Every type reachable from `type`, each once. */
function reachableTypes(type: avro.Type, seen = new Set<avro.Type>()): Set<avro.Type> {
  if (seen.has(type)) return seen;
  seen.add(type);
  const inner =
    type instanceof avro.types.ArrayType ? [type.itemsType]
    : type instanceof avro.types.MapType ? [type.valuesType]
    : type instanceof avro.types.RecordType ? type.fields.map((field) => field.type)
    : type instanceof avro.types.LogicalType ? [type.underlyingType]
    : (unionBranches(type) ?? []);
  for (const next of inner) reachableTypes(next, seen);
  return seen;
}

/**
 * @throws Error for a schema with an array of items that take no bytes (such as `{"type": "array", "items": "null"}`):
 * one byte of a record could claim any number of them, and no bound on the bytes left would bound the work.
 */
function refuseArraysOfNothing(type: avro.Type): avro.Type {
  for (const reachable of reachableTypes(type)) {
    if (reachable instanceof avro.types.ArrayType && takesNoBytes(reachable.itemsType)) {
      throw new Error('it has an array of items that take no bytes, whose length no record could bound');
    }
  }
  return type;
}

/** A writer's record field holding a timestamp in a finer unit than milliseconds, and what divides it into milliseconds. */
export interface FinerTimestamp {
  field: string;
  divisor: number;
}

/**
 * A writer's `timestamp-micros` or `timestamp-nanos` long, kept as written: a resolution reads the long beneath it
 * (Avro's schema resolution leaves logical types out), and `divisor` brings it to the readers' milliseconds.
 */
class FinerTimestampType extends avro.types.LogicalType {
  constructor(schema: avro.Schema, opts: avro.ForSchemaOptions, readonly divisor: number) {
    super(schema, opts);
  }
  override _fromValue(value: unknown): unknown {
    return value;
  }
  override _toValue(value: unknown): unknown {
    return value;
  }
}

class MicrosecondsType extends FinerTimestampType {
  constructor(schema: avro.Schema, opts: avro.ForSchemaOptions) {
    super(schema, opts, 1_000);
  }
}
class NanosecondsType extends FinerTimestampType {
  constructor(schema: avro.Schema, opts: avro.ForSchemaOptions) {
    super(schema, opts, 1_000_000);
  }
}

/**
 * Avro's timestamp logical types finer than the `timestamp-millis` every reader schema here uses. The `local-` ones
 * (Avro 1.10, what some tools write for a date-time with no zone) carry no zone to convert from: read as UTC, as a
 * `local-timestamp-millis` is (an outside tester's `occurredAt` in local microseconds was FUTURE_OCCURRED_AT).
 */
const FINER_TIMESTAMP_TYPES = {
  'timestamp-micros': MicrosecondsType,
  'timestamp-nanos': NanosecondsType,
  'local-timestamp-micros': MicrosecondsType,
  'local-timestamp-nanos': NanosecondsType,
};

const finerDivisor = (type: avro.Type): number | undefined =>
  type instanceof FinerTimestampType ? type.divisor : unionBranches(type)?.map(finerDivisor).find((divisor) => divisor !== undefined);

/** The fields `record` (a writer's record type, boundedWriterType) declares with a FINER_TIMESTAMP_TYPES type, nullable or not. */
export function finerTimestampsOf(record: avro.Type): FinerTimestamp[] {
  if (!(record instanceof avro.types.RecordType)) return [];
  return record.fields.flatMap(({ name, type }) => {
    const divisor = finerDivisor(type);
    return divisor === undefined ? [] : [{ field: name, divisor }];
  });
}

/**
 * Parses a producer's (writer's) schema, its arrays and maps bounded as the reader's are, its finer timestamps kept
 * apart (finerTimestampsOf). `references`: the schemas whose named types it uses (a registry's schema references),
 * each after those it uses itself. @throws Error as `refuseArraysOfNothing`.
 */
export function boundedWriterType(schema: avro.Schema, references: readonly avro.Schema[] = []): avro.Type {
  const parse = (prepared: (schema: avro.Schema) => avro.Schema) => {
    const options: Partial<avro.ForSchemaOptions> = { typeHook: boundedCollection, registry: {}, logicalTypes: FINER_TIMESTAMP_TYPES };
    for (const reference of references) avro.Type.forSchema(prepared(reference), options);
    return refuseArraysOfNothing(avro.Type.forSchema(prepared(schema), options));
  };
  try {
    // With its defaults: a record encoded with it takes them for the fields it lacks.
    return parse((schema) => schema);
  } catch (error) {
    try {
      return parse((schema) => withoutDefaults(schema) as avro.Schema);
    } catch {
      throw error;
    }
  }
}

/**
 * A writer's schema without its defaults (its fields' and its enums'), to read records written with it: schema
 * resolution takes only the reader's, and a registry lets through defaults avsc refuses to parse (a union's default
 * matching a branch other than its first, an enum's default that is not one of its symbols), which refused every
 * record written with such a version, though each is readable (an outside tester's producer, one optional field added
 * with `["string", "null"]` and a default of null, under the FULL_TRANSITIVE subject).
 */
function withoutDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutDefaults);
  if (typeof schema !== 'object' || schema === null) return schema;
  const { default: _writersDefault, ...node } = schema as Record<string, unknown>;
  if (Array.isArray(node.fields)) {
    node.fields = (node.fields as Array<Record<string, unknown>>).map(({ default: _fieldDefault, ...field }) => ({ ...field, type: withoutDefaults(field.type) }));
  }
  for (const nested of ['type', 'items', 'values'] as const) {
    if (typeof node[nested] === 'object' && node[nested] !== null) node[nested] = withoutDefaults(node[nested]);
  }
  return node;
}

function primitiveName(schema: avro.Schema): unknown {
  if (typeof schema === 'string') return schema;
  return typeof schema === 'object' && !Array.isArray(schema) ? (schema as { type?: unknown }).type : undefined;
}

/** Parses a reader schema with the strict boolean, the UTF-8 string, the safe long and bounded arrays and maps in place of avsc's own. */
export function strictReaderType(schema: avro.Schema): avro.Type {
  return refuseArraysOfNothing(
    avro.Type.forSchema(schema, {
      typeHook: (node, opts) => {
        switch (primitiveName(node)) {
          case 'boolean':
            return strictBoolean;
          case 'string':
            return strictString;
          case 'long':
            return longAsNearestNumber;
          default:
            return boundedCollection(node, opts);
        }
      },
    }),
  );
}
