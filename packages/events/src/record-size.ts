// How many bytes a record takes in a Kafka record batch, to keep sends under the broker's size limit.

/** A header value as a consumer hands it over: Kafka allows a null value and repeated names. */
export type ConsumedHeaderValue = Buffer | string | null | undefined | ReadonlyArray<Buffer | string | null>;

/** Bytes a record occupies in a Kafka record batch besides its key, value and headers (varints, attributes). */
export const RECORD_OVERHEAD_BYTES = 32;
const HEADER_OVERHEAD_BYTES = 10;

const byteLength = (value: Buffer | string | null): number =>
  value === null ? 0 : typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;

/** The bytes a record's key, value and headers take on the wire, with their per-field overhead. */
export function recordBytes(record: { key: Buffer | string | null; value: Buffer | string | null; headers?: Readonly<Record<string, ConsumedHeaderValue>> }): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(record.key) + byteLength(record.value);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const one of values as Array<Buffer | string | null | undefined>) {
      bytes += HEADER_OVERHEAD_BYTES + Buffer.byteLength(name, 'utf8') + byteLength(one ?? null);
    }
  }
  return bytes;
}

