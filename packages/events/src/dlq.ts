import { setOwnProperty } from './own-property';
import { RECORD_OVERHEAD_BYTES, recordBytes, type ConsumedHeaderValue } from './record-size';
import type { Rejection, RejectReason } from './rejections';

/** Headers the DLQ adds to a rejected record; its original key, value and headers are kept as far as they fit. */
export const DLQ_HEADERS = {
  reason: 'dlq.reason',
  message: 'dlq.message',
  field: 'dlq.field',
  sourceTopic: 'dlq.source.topic',
  sourcePartition: 'dlq.source.partition',
  sourceOffset: 'dlq.source.offset',
  failedAt: 'dlq.failed-at',
  /** What of the original was cut to fit the broker's record size ('key', 'value', 'headers', comma-joined). */
  truncated: 'dlq.truncated',
  /** The original record's size in bytes (key + value + headers), when anything was cut. */
  originalBytes: 'dlq.original-bytes',
  /** Names of original headers with a null value, which a Kafka record can carry but not be re-sent with. */
  nullHeaders: 'dlq.null-headers',
  /** Names of original headers named like one of these, whose values the DLQ's own replace. */
  replacedHeaders: 'dlq.replaced-headers',
} as const;
const DLQ_HEADER_NAMES: ReadonlySet<string> = new Set(Object.values(DLQ_HEADERS));

export interface DlqSource {
  topic: string;
  partition: number;
  /** Kafka offset as a decimal string (kafkajs's representation; offsets can exceed 2^53). */
  offset: string;
}

/** The headers describing why and where a record failed; `failedAt` (epoch ms) is written as ISO 8601 UTC. */
export function dlqHeaders(rejection: Rejection, source: DlqSource, failedAt: number): Record<string, string> {
  return {
    [DLQ_HEADERS.reason]: rejection.reason,
    [DLQ_HEADERS.message]: rejection.message,
    ...(rejection.field === undefined ? {} : { [DLQ_HEADERS.field]: rejection.field }),
    [DLQ_HEADERS.sourceTopic]: source.topic,
    [DLQ_HEADERS.sourcePartition]: String(source.partition),
    [DLQ_HEADERS.sourceOffset]: source.offset,
    [DLQ_HEADERS.failedAt]: new Date(failedAt).toISOString(),
  };
}

export interface ConsumedRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Readonly<Record<string, ConsumedHeaderValue>>;
}

/** A record ready for a producer: no null header values. */
export interface DlqRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | Array<Buffer | string>>;
}

/** Copies a header's values that are not null into `headers` (none: no header); false when some were null. */
function keepPresentValues(headers: DlqRecord['headers'], name: string, value: ConsumedHeaderValue): boolean {
  const values = (Array.isArray(value) ? value : [value]) as Array<Buffer | string | null | undefined>;
  const present = values.filter((one): one is Buffer | string => one !== null && one !== undefined);
  if (present.length > 0) setOwnProperty(headers, name, present.length === 1 ? present[0]! : present);
  return present.length === values.length;
}

/**
 * The DLQ copy of a rejected record: the original key, value and headers with the `dlq.*` headers added,
 * and never larger than `maxRecordBytes`, so that a DLQ send cannot fail for the record's sake. A null
 * header value (which Kafka allows and producers cannot re-send) is dropped and named in
 * `dlq.null-headers`; an original header named like a `dlq.*` one gives way to it and is named in
 * `dlq.replaced-headers`. What does not fit is cut, value first, then the original headers, then the key,
 * and named in `dlq.truncated`; the source topic, partition and offset still hold the original.
 */
export function dlqRecord(record: ConsumedRecord, rejection: Rejection, source: DlqSource, failedAt: number, maxRecordBytes: number): DlqRecord {
  const nullHeaders: string[] = [];
  const replacedHeaders: string[] = [];
  const originalHeaders: DlqRecord['headers'] = {};
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    if (DLQ_HEADER_NAMES.has(name)) {
      replacedHeaders.push(name);
      continue;
    }
    if (!keepPresentValues(originalHeaders, name, value)) nullHeaders.push(name);
  }
  const own: Record<string, string> = {
    ...dlqHeaders(rejection, source, failedAt),
    ...(nullHeaders.length > 0 ? { [DLQ_HEADERS.nullHeaders]: nullHeaders.join(',') } : {}),
    ...(replacedHeaders.length > 0 ? { [DLQ_HEADERS.replacedHeaders]: replacedHeaders.join(',') } : {}),
  };
  const whole: DlqRecord = { key: record.key, value: record.value, headers: { ...originalHeaders, ...own } };
  const originalBytes = recordBytes({ key: record.key, value: record.value, headers: record.headers });
  if (recordBytes(whole) <= maxRecordBytes) return whole;

  // The dlq.* headers, and the two saying what was cut, come first. Then the key (it names the customer),
  // then the original headers (usually small), and the value takes what room is left: it is cut first.
  const cutHeaders = (cut: readonly string[]) => ({ [DLQ_HEADERS.truncated]: cut.join(','), [DLQ_HEADERS.originalBytes]: String(originalBytes) });
  let room = maxRecordBytes - recordBytes({ key: null, value: null, headers: { ...own, ...cutHeaders(['headers', 'key', 'value']) } });
  const cut: string[] = [];
  const fitted = (field: Buffer | null, name: string): Buffer | null => {
    if (field === null) return null;
    const kept = field.length <= room ? field : field.subarray(0, Math.max(0, room));
    if (kept !== field) cut.push(name);
    room -= kept.length;
    return kept;
  };
  const key = fitted(record.key, 'key');
  const headerBytes = recordBytes({ key: null, value: null, headers: originalHeaders }) - RECORD_OVERHEAD_BYTES;
  const headersFit = headerBytes <= room;
  if (headersFit) room -= headerBytes;
  else cut.push('headers');
  const value = fitted(record.value, 'value');
  return { key, value, headers: { ...(headersFit ? originalHeaders : {}), ...own, ...cutHeaders(cut.sort()) } };
}

/** A DLQ copy read back for a re-drive: the record to send to its source topic as it came, or why it cannot be. */
export type DlqRedrive =
  | { kind: 'resend'; reason: string; topic: string; record: DlqRecord; source: DlqSource }
  /**
   * A copy that does not hold the original: cut to fit the DLQ (`dlq.truncated`), or the placeholder of a batch that was
   * not read (`BATCH_TOO_LARGE`: no key, an empty value). Only its source topic, partition and offset hold the record.
   */
  | { kind: 'not-held'; reason: string; source: DlqSource };

/** A reason whose DLQ copy is a placeholder for the whole batch, none of whose records was read. */
const UNREAD_BATCH_REASON: RejectReason = 'BATCH_TOO_LARGE';

const headerText = (value: ConsumedHeaderValue | undefined): string | undefined => {
  const one = Array.isArray(value) ? value[0] : value;
  return one === null || one === undefined ? undefined : one.toString();
};

/**
 * What re-driving a DLQ copy (dlqRecord's) sends: its key, value and original headers, the `dlq.*` ones taken off, to
 * the topic it was read from. Null for a record that is not a DLQ copy (no reason or source topic).
 */
export function dlqRedrive(copy: ConsumedRecord): DlqRedrive | null {
  const headers = copy.headers ?? {};
  const reason = headerText(headers[DLQ_HEADERS.reason]);
  const topic = headerText(headers[DLQ_HEADERS.sourceTopic]);
  if (reason === undefined || topic === undefined) return null;
  const source = { topic, partition: Number(headerText(headers[DLQ_HEADERS.sourcePartition])), offset: headerText(headers[DLQ_HEADERS.sourceOffset]) ?? '' };
  if (headerText(headers[DLQ_HEADERS.truncated]) !== undefined || reason === UNREAD_BATCH_REASON) return { kind: 'not-held', reason, source };
  const original: DlqRecord['headers'] = {};
  for (const [name, value] of Object.entries(headers)) if (!DLQ_HEADER_NAMES.has(name)) keepPresentValues(original, name, value);
  return { kind: 'resend', reason, topic, record: { key: copy.key, value: copy.value, headers: original }, source };
}
