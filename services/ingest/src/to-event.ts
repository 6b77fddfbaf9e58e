import { createHash } from 'node:crypto';
import { parseIsoInstant, type InputEvent, type InputEventKind } from '@churnscore/domain';
import {
  INPUT_EVENT_KINDS,
  validateEvent,
  type InputEventOf,
  type RejectReason,
  type Rejection,
  type ValidationOptions,
} from '@churnscore/events';

const ENVELOPE_FIELDS = ['eventId', 'customerId', 'occurredAt', 'source'] as const;

/** The fields (CSV columns, NDJSON keys) of each kind of export record: the event's own field names. */
export const EXPORT_FIELDS = {
  activity: [...ENVELOPE_FIELDS, 'activityType', 'value', 'ticketId', 'slaBreached'],
  opportunity: [...ENVELOPE_FIELDS, 'opportunityId', 'stage', 'amount', 'currency', 'probability', 'openQuotes'],
  contract: [...ENVELOPE_FIELDS, 'contractId', 'contractType', 'totalValue', 'currency', 'startDate', 'endDate', 'status'],
  customer: [...ENVELOPE_FIELDS, 'segment', 'erase'],
} as const satisfies { [K in InputEventKind]: ReadonlyArray<keyof InputEventOf<K>> };

/** Optional in every export: says which kind a record is when one file mixes kinds (as the simulator's does). */
export const KIND_FIELD = 'kind';

/** Exports carry times as text; the events carry epoch milliseconds (dates: UTC midnight). */
const INSTANT_FIELDS = new Set(['occurredAt', 'startDate', 'endDate']);
const NUMBER_FIELDS = new Set(['value', 'amount', 'probability', 'openQuotes', 'totalValue']);
const BOOLEAN_FIELDS = new Set(['slaBreached', 'erase']);

export type RecordConversion =
  /** `eventIdGiven`: the record named its eventId (false: derived from its content, contentEventId). */
  | { ok: true; event: InputEvent; ignoredFields: string[]; eventIdGiven: boolean }
  | { ok: false; rejection: Rejection };

export interface RecordConverterOptions extends ValidationOptions {
  /** The kind of every record (--kind); a record's own `kind` field must then agree. */
  kind?: InputEventKind;
  /** `source` of records that have none. */
  defaultSource: string;
}

class InvalidRecord extends Error {
  constructor(readonly rejection: Rejection) {
    super(rejection.message);
  }
}

const invalid = (reason: RejectReason, field: string, problem: string): never => {
  throw new InvalidRecord({ reason, field, message: `${field}: ${problem}` });
};

/**
 * Turns one export record into a valid event, or says why not, with the same rules (and reason
 * codes) the scorer applies to Kafka input: export text is converted to the event's types, then
 * `validateEvent` decides. A record without an eventId gets a deterministic one (see {@link contentEventId}).
 */
export function createRecordConverter(options: RecordConverterOptions): (fields: Readonly<Record<string, unknown>>) => RecordConversion {
  return (fields) => {
    try {
      const kind = kindOf(fields, options.kind);
      const candidate: Record<string, unknown> = {};
      const erasure = kind === 'customer' && isErasure(fields);
      for (const field of EXPORT_FIELDS[kind]) candidate[field] = erasure ? convertedOrAsIs(field, fields[field]) : toEventValue(field, fields[field]);
      candidate.source ??= options.defaultSource;
      const hasEventId = candidate.eventId !== undefined && candidate.eventId !== null && candidate.eventId !== '';
      const result = validateEvent(kind, hasEventId ? candidate : { ...candidate, eventId: 'pending' }, options);
      if (!result.ok) return withNameHint(result.rejection, fields);
      const event: InputEvent = hasEventId ? result.event : { ...result.event, eventId: contentEventId(result.event) };
      const known = new Set<string>([...EXPORT_FIELDS[kind], KIND_FIELD]);
      return { ok: true, event, ignoredFields: Object.keys(fields).filter((field) => !known.has(field)), eventIdGiven: hasEventId };
    } catch (error) {
      if (error instanceof InvalidRecord) return withNameHint(error.rejection, fields);
      throw error;
    }
  };
}

/**
 * A rejection; for a required field that is missing while a column's name differs from it only in case (a CRM's
 * header `CustomerId`), saying so: the column would otherwise only be listed as ignored, and only if some record passed.
 */
function withNameHint(rejection: Rejection, fields: Readonly<Record<string, unknown>>): RecordConversion {
  const { reason, field } = rejection;
  const near = reason === 'MISSING_FIELD' && field !== undefined ? Object.keys(fields).find((name) => name !== field && name.toLowerCase() === field.toLowerCase()) : undefined;
  return { ok: false, rejection: near === undefined ? rejection : { ...rejection, message: `${rejection.message} (the column ${near} is not it: field names are case-sensitive)` } };
}

/** Whether a customer record asks for its customer's erasure (`erase` true, as text or as a boolean). */
const isErasure = (fields: Readonly<Record<string, unknown>>): boolean => convertedOrAsIs('erase', fields.erase) === true;

/**
 * An erasure request's field converted, or left as written when it does not convert: validateEvent honours an erasure
 * whatever else it holds (an unreadable instant reads as the clock), as the scorer does; refused here, an outside
 * tester's one unparsable date kept every erasure of an all-or-nothing file from being sent.
 */
function convertedOrAsIs(field: string, value: unknown): unknown {
  try {
    return toEventValue(field, value);
  } catch (error) {
    if (error instanceof InvalidRecord) return value;
    throw error;
  }
}

function kindOf(fields: Readonly<Record<string, unknown>>, expected: InputEventKind | undefined): InputEventKind {
  const declared = fields[KIND_FIELD];
  if (declared === undefined || declared === null || declared === '') {
    return expected ?? invalid('MISSING_FIELD', KIND_FIELD, 'is required when --kind is not given');
  }
  if (!(INPUT_EVENT_KINDS as readonly unknown[]).includes(declared)) {
    invalid('UNKNOWN_ENUM_SYMBOL', KIND_FIELD, `must be one of ${INPUT_EVENT_KINDS.join(', ')}`);
  }
  if (expected !== undefined && declared !== expected) invalid('INVALID_FIELD', KIND_FIELD, `must be ${expected}, as --kind says`);
  return declared as InputEventKind;
}

/**
 * A number as export text writes it: decimal, optionally signed, with a fraction and a decimal exponent (a spreadsheet
 * writes large numbers as `1.8E+12`). JavaScript's Number() would also take `0x3E8` or `0b1111101000` for 1000: text
 * no CRM means as a number.
 */
const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Converts export text to the event's type. CSV is all text; NDJSON may already hold numbers and
 * booleans, and a JSON number in a time field is taken as epoch milliseconds. Text in a time field
 * must be ISO 8601: a digit string such as 20250301 is ambiguous, so it is refused, not guessed.
 */
function toEventValue(field: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (INSTANT_FIELDS.has(field)) {
    return parseIsoInstant(value) ?? invalid('INVALID_FIELD', field, 'must be an ISO 8601 date, or timestamp with a time zone');
  }
  if (NUMBER_FIELDS.has(field)) {
    const text = value.trim();
    const number = DECIMAL_NUMBER.test(text) ? Number(text) : Number.NaN;
    return Number.isFinite(number) ? number : invalid('INVALID_FIELD', field, 'must be a decimal number');
  }
  if (BOOLEAN_FIELDS.has(field)) {
    const normalised = value.trim().toLowerCase();
    if (normalised === 'true' || normalised === 'false') return normalised === 'true';
    invalid('INVALID_FIELD', field, 'must be true or false');
  }
  // Ids, names and symbols are taken exactly as written: a padded cell (a "comma space" export) would make another
  // customer, deal or segment of the same one, as an outside tester's ' ADV27-21 ' did. Refused, so the export is fixed.
  if (value !== value.trim()) invalid('INVALID_FIELD', field, 'must not begin or end with whitespace (ids, names and symbols are taken exactly as written)');
  return value;
}

/**
 * The eventId of a record exported without one: `ingest-` and 32 hex digits of a SHA-256 over the
 * kind and the event's fields (sorted, eventId excluded, times as epoch ms). The same record always
 * gets the same id, whatever the file's format, column order or time-zone notation, so ingesting a
 * file again, or an overlapping export, is de-duplicated downstream. Two identical rows count once.
 */
export function contentEventId(event: InputEvent): string {
  const content = Object.entries(event)
    .filter(([field]) => field !== 'eventId')
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return `ingest-${createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 32)}`;
}
