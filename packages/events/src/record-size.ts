// How many bytes a record takes in a Kafka record batch, to keep sends under the broker's size limit.

/** A header value as a consumer hands it over: Kafka allows a null value and repeated names. */
export type ConsumedHeaderValue = Buffer | string | null | undefined | ReadonlyArray<Buffer | string | null>;

/** Bytes a record occupies in a Kafka record batch besides its key, value and headers (varints, attributes). */
export const RECORD_OVERHEAD_BYTES = 32;

/** The bytes of a length as Kafka's records write it: a zigzag varint, 7 bits a byte (-1, a null value, takes 1). */
function varintBytes(length: number): number {
  let zigzag = length >= 0 ? 2 * length : -2 * length - 1;
  let bytes = 1;
  while (zigzag >= 0x80) {
    zigzag = Math.floor(zigzag / 0x80);
    bytes += 1;
  }
  return bytes;
}

const byteLength = (value: Buffer | string | null): number =>
  value === null ? 0 : typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;

/** The bytes a record's key, value and headers take on the wire, with their per-field overhead. */
export function recordBytes(record: { key: Buffer | string | null; value: Buffer | string | null; headers?: Readonly<Record<string, ConsumedHeaderValue>> }): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(record.key) + byteLength(record.value);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    const nameBytes = Buffer.byteLength(name, 'utf8');
    for (const one of values as Array<Buffer | string | null | undefined>) {
      // Each header is its name's length, its name, its value's length (-1 for none) and its value.
      const valueBytes = one == null ? null : byteLength(one);
      bytes += varintBytes(nameBytes) + nameBytes + varintBytes(valueBytes ?? -1) + (valueBytes ?? 0);
    }
  }
  return bytes;
}

