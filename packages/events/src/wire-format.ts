/**
 * Confluent wire format: magic byte 0, the writer schema's registry id as a 4-byte big-endian integer, then the
 * Avro binary body. Every Confluent serializer (Java, Python, Go, .NET) writes and reads exactly this.
 */
const MAGIC_BYTE = 0;
const WIRE_HEADER_LENGTH = 5;

export function frame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(WIRE_HEADER_LENGTH);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

/** The schema id and body of a framed value, or null when the bytes are not in the wire format. */
export function unframe(value: Buffer): { schemaId: number; body: Buffer } | null {
  if (value.length < WIRE_HEADER_LENGTH || value.readUInt8(0) !== MAGIC_BYTE) return null;
  return { schemaId: value.readInt32BE(1), body: value.subarray(WIRE_HEADER_LENGTH) };
}
