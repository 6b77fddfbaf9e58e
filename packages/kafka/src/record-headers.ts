// How kafkajs 2.2.4 (its last release) turns a fetched record's headers into an object has two faults that a
// producer can reach with one record (found by a black-box test sending records through Kafka's Java client):
// - it asks `headers[name] === undefined` of a plain object, so a header named like an Object.prototype member
//   (`toString`, `constructor`, `hasOwnProperty`, …) comes out as `[<the inherited function>, value]`; the DLQ
//   copy of such a record then failed to encode and stopped the scorer, on every restart;
// - it copies the whole object for every header (`{ ...obj, [name]: … }`), so a record's decoding time grows with
//   the square of its header count: 20,000 one-byte headers held the event loop for 75 s per fetch.
// Both live in `kafkajs/src/protocol/recordBatch/record/v0/decoder.js`, which reads the headers with
// `decoder.readVarIntArray(HeaderDecoder).reduce(…)`. The decoder class is shared, so this patches its
// `readVarIntArray` where kafkajs calls it with its header reader: the array it returns groups itself, in one
// pass, into an object whose every header is an own property (`__proto__` included).
import { createRequire } from 'node:module';
import { setOwnProperty } from '@churnscore/events';

const requireKafkajs = createRequire(import.meta.url);

/** A header as kafkajs reads it off the wire. */
interface WireHeader {
  key: string;
  value: Buffer | null;
}

/** A record's headers as kafkajs hands them out: one value per name, or every value in order when a name repeats. */
export type RecordHeaders = Record<string, Buffer | null | Array<Buffer | null>>;

/** kafkajs's grouping of a record's headers, by own properties only, in one pass. */
export function groupHeaders(headers: readonly WireHeader[]): RecordHeaders {
  const grouped: RecordHeaders = {};
  for (const { key, value } of headers) {
    const earlier = Object.hasOwn(grouped, key) ? grouped[key] : undefined;
    if (Array.isArray(earlier)) earlier.push(value);
    else setOwnProperty(grouped, key, earlier === undefined ? value : [earlier, value]);
  }
  return grouped;
}

interface KafkajsDecoder {
  readVarIntArray<T>(reader: (decoder: KafkajsDecoder) => T): T[];
}

let patched = false;

/** Makes every kafkajs client of the process read record headers with `groupHeaders`. Idempotent. */
export function groupRecordHeadersSafely(): void {
  if (patched) return;
  patched = true;
  const Decoder = requireKafkajs('kafkajs/src/protocol/decoder') as { prototype: KafkajsDecoder };
  const readHeader = requireKafkajs('kafkajs/src/protocol/recordBatch/header/v0/decoder') as (decoder: KafkajsDecoder) => WireHeader;
  const readVarIntArray = Decoder.prototype.readVarIntArray;
  Decoder.prototype.readVarIntArray = function <T>(this: KafkajsDecoder, reader: (decoder: KafkajsDecoder) => T): T[] {
    const items = readVarIntArray.call(this, reader) as T[];
    // Most records carry no header, and kafkajs's own reduce of an empty array is already the empty object.
    if ((reader as unknown) === readHeader && items.length > 0) {
      // kafkajs reduces this array with its grouping callback and an empty object: it gets the grouping above.
      Object.defineProperty(items, 'reduce', { value: () => groupHeaders(items as unknown as WireHeader[]) });
    }
    return items;
  };
}
