/**
 * Why an input record was refused. One distinct code per kind of bad input (SPEC §3); the codes are the
 * `reason` label of the rejection metrics and the `dlq.reason` header of the DLQ, so they are a public contract:
 * add codes, never rename or remove one. These are the codec's, decided from the record alone.
 */
export const DECODE_REJECT_REASONS = [
  /** The record came from a topic this codec does not decode. */
  'UNKNOWN_TOPIC',
  /** The value is null or empty (a tombstone on an input topic), or the null branch of a writer's union. */
  'EMPTY_VALUE',
  /** The value is not in the Confluent wire format: too short, or the first byte is not the magic byte 0. */
  'NOT_WIRE_FORMAT',
  /** The schema id in the value is not known to the schema registry. */
  'UNKNOWN_SCHEMA_ID',
  /** The writer's schema cannot be read as this topic's schema (another record, a changed type, not Avro). */
  'SCHEMA_MISMATCH',
  /** The Avro body does not decode with the writer's schema (truncated, corrupt, trailing bytes). */
  'AVRO_DECODE_FAILED',
  /** A required field is absent: the writer's schema lacks it, or it is null, or a type-specific field is missing. */
  'MISSING_FIELD',
  /** A field is present but out of range or malformed (length, NPS 0–10, probability 0–1, endDate < startDate…). */
  'INVALID_FIELD',
  /** An enum field holds a symbol this reader does not know (a newer writer's symbol is read as UNKNOWN). */
  'UNKNOWN_ENUM_SYMBOL',
  /** A money amount is below zero. */
  'NEGATIVE_AMOUNT',
  /** A money amount is not in the reporting currency. */
  'WRONG_CURRENCY',
  /** occurredAt is further in the future than the allowed clock skew. */
  'FUTURE_OCCURRED_AT',
  /** The Kafka message key is missing or differs from the event's customerId. */
  'KEY_MISMATCH',
] as const;

/**
 * Every reason: the codec's, one decided before decoding, of a record never read, and those decided when a valid event
 * is applied, from what the store holds.
 */
export const REJECT_REASONS = [
  ...DECODE_REJECT_REASONS,
  /** The record's compressed batch decompresses to more than KAFKA_MAX_DECOMPRESSION_RATIO times its size: not read. */
  'BATCH_TOO_LARGE',
  /** It would add a ticket, opportunity or contract to a customer that holds MAX_ENTITIES_PER_CUSTOMER of them already. */
  'ENTITY_LIMIT',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  reason: RejectReason;
  /** Names fields and limits only, never field contents: it is logged and copied to the DLQ. */
  message: string;
  /** The offending field, when one field is to blame. */
  field?: string;
}

export type Rejected = { ok: false; rejection: Rejection };

/** A decoded, valid event, or why the record was refused. */
export type DecodeResult<E> = { ok: true; event: E } | Rejected;

export const isRejected = (result: object): result is Rejected => 'rejection' in result;

export const rejected = (reason: RejectReason, message: string, field?: string): Rejected => ({
  ok: false,
  rejection: field === undefined ? { reason, message } : { reason, message, field },
});

/**
 * Thrown deep inside field mapping and validation, caught at the public entry points and turned into a
 * `Rejected` result: it keeps the many field checks flat instead of threading a result through each of them.
 */
class RejectedInput extends Error {
  constructor(readonly rejection: Rejection) {
    super(rejection.message);
  }
}

export function rejectField(reason: RejectReason, field: string, problem: string): never {
  throw new RejectedInput({ reason, message: `${field}: ${problem}`, field });
}

/** Runs a mapping that may reject its input, returning the rejection as a result. */
export function catchRejection<E>(map: () => E): DecodeResult<E> {
  try {
    return { ok: true, event: map() };
  } catch (error) {
    if (error instanceof RejectedInput) return { ok: false, rejection: error.rejection };
    throw error;
  }
}
