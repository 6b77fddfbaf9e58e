// How this code reads Avro where avsc's defaults are wrong for input that must never be obeyed by mistake.
// Every primitive value is read by the *reader* schema's type, whether or not the writer's schema differs
// (avsc's resolvers take the reader's read), so installing these types in the reader schemas is enough.
import avro from 'avsc';

/** avsc's cursor over the bytes being read (untyped in its declarations). */
interface Tap {
  buf: Buffer;
  pos: number;
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

function primitiveName(schema: avro.Schema): unknown {
  if (typeof schema === 'string') return schema;
  return typeof schema === 'object' && !Array.isArray(schema) ? (schema as { type?: unknown }).type : undefined;
}

/** Parses a reader schema with the strict boolean and the safe long in place of avsc's own. */
export function strictReaderType(schema: avro.Schema): avro.Type {
  return avro.Type.forSchema(schema, {
    typeHook: (node) => {
      switch (primitiveName(node)) {
        case 'boolean':
          return strictBoolean;
        case 'long':
          return longAsNearestNumber;
        default:
          return undefined;
      }
    },
  });
}
