import {
  ACTIVITY_TYPES,
  CONTRACT_DATE_RANGE,
  CONTRACT_STATUSES,
  CONTRACT_TYPES,
  EARLIEST_OCCURRED_AT,
  MAX_OPEN_QUOTES,
  MAX_USAGE_QUANTITY,
  MONEY_AMOUNT,
  MS_PER_DAY,
  OPPORTUNITY_STAGES,
  TEXT_FIELD_MAX_LENGTH,
  textFieldProblem,
  type ActivityEvent,
  type ContractEvent,
  type CustomerEvent,
  type EventEnvelope,
  type InputEvent,
  type InputEventKind,
  type OpportunityEvent,
} from '@churnscore/domain';
import { catchRejection, rejectField, type DecodeResult } from './rejections';

export interface ValidationOptions {
  /** ISO 4217 code every money amount must be in. */
  reportingCurrency: string;
  /** How far occurredAt may lie ahead of `now`. */
  maxFutureSkewMs: number;
  /** The service clock, epoch ms. */
  now: number;
}

export type InputEventOf<K extends InputEventKind> = Extract<InputEvent, { kind: K }>;

const NPS_RANGE = { min: 0, max: 10 } as const;
const CSM_SENTIMENT_RANGE = { min: -2, max: 2 } as const;

type RawEvent = Readonly<Record<string, unknown>>;

// Each reader returns the field's typed value or rejects the event naming the field; messages state limits,
// never the value, because they are logged and copied to the DLQ.

function present(raw: RawEvent, field: string): unknown {
  const value = raw[field];
  if (value === undefined || value === null) rejectField('MISSING_FIELD', field, 'is required');
  return value;
}

function text(raw: RawEvent, field: string, maxLength: number): string {
  const value = present(raw, field);
  if (typeof value !== 'string') rejectField('INVALID_FIELD', field, 'must be a string');
  const problem = textFieldProblem(value, maxLength);
  if (problem !== null) rejectField('INVALID_FIELD', field, problem);
  return value;
}

const optionalText = (raw: RawEvent, field: string, maxLength: number): string | null =>
  raw[field] == null ? null : text(raw, field, maxLength);

function finite(raw: RawEvent, field: string): number {
  const value = present(raw, field);
  if (typeof value !== 'number' || !Number.isFinite(value)) rejectField('INVALID_FIELD', field, 'must be a finite number');
  return value;
}

const optionalFinite = (raw: RawEvent, field: string): number | null => (raw[field] == null ? null : finite(raw, field));

function inRange(field: string, value: number, min: number, max: number): number {
  if (value < min || value > max) rejectField('INVALID_FIELD', field, `must be between ${min} and ${max}`);
  return value;
}

function count(raw: RawEvent, field: string, max: number): number | null {
  if (raw[field] == null) return null;
  const value = finite(raw, field);
  if (!Number.isInteger(value) || value < 0 || value > max) rejectField('INVALID_FIELD', field, `must be a whole number from 0 to ${max}`);
  return value;
}

function flag(raw: RawEvent, field: string): boolean {
  const value = present(raw, field);
  if (typeof value !== 'boolean') rejectField('INVALID_FIELD', field, 'must be true or false');
  return value;
}

const optionalFlag = (raw: RawEvent, field: string): boolean | null => (raw[field] == null ? null : flag(raw, field));

function symbol<S extends string>(raw: RawEvent, field: string, symbols: readonly S[]): S {
  const value = present(raw, field);
  if (typeof value !== 'string') rejectField('INVALID_FIELD', field, 'must be an enum symbol');
  if (!(symbols as readonly string[]).includes(value)) {
    rejectField('UNKNOWN_ENUM_SYMBOL', field, `must be one of ${symbols.join(', ')}`);
  }
  return value as S;
}

const isoDay = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, 10);

function instant(raw: RawEvent, field: string): number {
  const value = finite(raw, field);
  // Also a long beyond JavaScript's safe integers, which the Avro reader hands over as the nearest double.
  if (!Number.isSafeInteger(value)) rejectField('INVALID_FIELD', field, 'must be whole epoch milliseconds within ±(2^53 − 1)');
  if (value < EARLIEST_OCCURRED_AT) {
    rejectField('INVALID_FIELD', field, `must not be before ${new Date(EARLIEST_OCCURRED_AT).toISOString()}`);
  }
  return value;
}

function utcDate(raw: RawEvent, field: string): number {
  const value = finite(raw, field);
  const { earliest, latest } = CONTRACT_DATE_RANGE;
  if (value % MS_PER_DAY !== 0 || value < earliest || value > latest) {
    rejectField('INVALID_FIELD', field, `must be a UTC midnight from ${isoDay(earliest)} to ${isoDay(latest)}`);
  }
  return value;
}

function amount(raw: RawEvent, field: string): number {
  const value = finite(raw, field);
  if (value < 0) rejectField('NEGATIVE_AMOUNT', field, 'must be ≥ 0');
  const { smallestPositive, max } = MONEY_AMOUNT;
  if ((value > 0 && value < smallestPositive) || value > max) rejectField('INVALID_FIELD', field, `must be 0 or ${smallestPositive}–${max}`);
  return value;
}

function currency(raw: RawEvent, field: string, reportingCurrency: string): string {
  const value = text(raw, field, 3);
  if (value !== reportingCurrency) {
    // An ISO 4217 code is not personal data, and naming it makes the DLQ entry actionable.
    const got = /^[A-Z]{3}$/.test(value) ? `, got ${value}` : '';
    rejectField('WRONG_CURRENCY', field, `must be the reporting currency ${reportingCurrency}${got}`);
  }
  return value;
}

function envelope(raw: RawEvent, { maxFutureSkewMs, now }: ValidationOptions): EventEnvelope {
  const eventId = text(raw, 'eventId', TEXT_FIELD_MAX_LENGTH.eventId);
  const customerId = text(raw, 'customerId', TEXT_FIELD_MAX_LENGTH.customerId);
  const occurredAt = instant(raw, 'occurredAt');
  if (occurredAt > now + maxFutureSkewMs) {
    rejectField('FUTURE_OCCURRED_AT', 'occurredAt', `is more than ${maxFutureSkewMs} ms ahead of the service clock`);
  }
  const source = text(raw, 'source', TEXT_FIELD_MAX_LENGTH.source);
  return { eventId, customerId, occurredAt, source };
}

function activityValue(raw: RawEvent, activityType: ActivityEvent['activityType']): number | null {
  switch (activityType) {
    case 'NPS_RESPONSE': {
      const score = inRange('value', finite(raw, 'value'), NPS_RANGE.min, NPS_RANGE.max);
      if (!Number.isInteger(score)) rejectField('INVALID_FIELD', 'value', 'must be a whole NPS score');
      return score;
    }
    case 'CSM_SENTIMENT':
      return inRange('value', finite(raw, 'value'), CSM_SENTIMENT_RANGE.min, CSM_SENTIMENT_RANGE.max);
    case 'PRODUCT_USAGE': {
      const quantity = optionalFinite(raw, 'value');
      return quantity === null ? null : inRange('value', quantity, 0, MAX_USAGE_QUANTITY);
    }
    default:
      return optionalFinite(raw, 'value');
  }
}

const validators: { [K in InputEventKind]: (raw: RawEvent, opts: ValidationOptions) => InputEventOf<K> } = {
  activity: (raw, opts): ActivityEvent => {
    const common = envelope(raw, opts);
    const activityType = symbol(raw, 'activityType', ACTIVITY_TYPES);
    return {
      kind: 'activity',
      ...common,
      activityType,
      value: activityValue(raw, activityType),
      // A close must name the ticket it closes. An open may come without one (SPEC §3: optional); it is then a
      // ticket of its own, which no close can match and which stops counting once it ages out.
      ticketId:
        activityType === 'SUPPORT_TICKET_CLOSED'
          ? text(raw, 'ticketId', TEXT_FIELD_MAX_LENGTH.entityId)
          : optionalText(raw, 'ticketId', TEXT_FIELD_MAX_LENGTH.entityId),
      slaBreached: optionalFlag(raw, 'slaBreached'),
    };
  },
  opportunity: (raw, opts): OpportunityEvent => {
    const probability = optionalFinite(raw, 'probability');
    return {
      kind: 'opportunity',
      ...envelope(raw, opts),
      opportunityId: text(raw, 'opportunityId', TEXT_FIELD_MAX_LENGTH.entityId),
      stage: symbol(raw, 'stage', OPPORTUNITY_STAGES),
      amount: amount(raw, 'amount'),
      currency: currency(raw, 'currency', opts.reportingCurrency),
      probability: probability === null ? null : inRange('probability', probability, 0, 1),
      openQuotes: count(raw, 'openQuotes', MAX_OPEN_QUOTES),
    };
  },
  contract: (raw, opts): ContractEvent => {
    const common = envelope(raw, opts);
    const contractId = text(raw, 'contractId', TEXT_FIELD_MAX_LENGTH.entityId);
    const contractType = symbol(raw, 'contractType', CONTRACT_TYPES);
    const totalValue = amount(raw, 'totalValue');
    const currencyCode = currency(raw, 'currency', opts.reportingCurrency);
    const startDate = utcDate(raw, 'startDate');
    const endDate = utcDate(raw, 'endDate');
    if (endDate < startDate) rejectField('INVALID_FIELD', 'endDate', 'must not be before startDate');
    return {
      kind: 'contract',
      ...common,
      contractId,
      contractType,
      totalValue,
      currency: currencyCode,
      startDate,
      endDate,
      status: symbol(raw, 'status', CONTRACT_STATUSES),
    };
  },
  customer: (raw, opts): CustomerEvent =>
    raw.erase === true
      ? erasureRequest(raw, opts)
      : {
          kind: 'customer',
          ...envelope(raw, opts),
          segment: optionalText(raw, 'segment', TEXT_FIELD_MAX_LENGTH.segment),
          // Absent means false, as in the Avro schema's default.
          erase: raw.erase === undefined ? false : flag(raw, 'erase'),
        },
};

/** The field's value, or `fallback` when it does not pass its check. */
function orElse<T>(read: () => T, fallback: T): T {
  const result = catchRejection(read);
  return result.ok ? result.event : fallback;
}

/**
 * An erasure request is honoured whatever else it holds: only the customer it names must be valid. An outside tester's
 * requests with a segment too long, or an instant ahead of the clock, went to the DLQ and left the customer in place,
 * with nothing saying that an erasure had failed. Its instant is no later than the latest any event may carry (the
 * service clock and MAX_FUTURE_SKEW_MS: the customer's events from before it are never applied again, so an instant
 * further ahead would refuse events no clock skew explains, while one cut to the clock let a CRM running ahead bring
 * back the events it sent just before), and the clock itself when it has none that passes; its segment is not read.
 */
function erasureRequest(raw: RawEvent, { now, maxFutureSkewMs }: ValidationOptions): CustomerEvent {
  const customerId = text(raw, 'customerId', TEXT_FIELD_MAX_LENGTH.customerId);
  return {
    kind: 'customer',
    customerId,
    eventId: orElse(() => text(raw, 'eventId', TEXT_FIELD_MAX_LENGTH.eventId), `erasure-${now}`),
    occurredAt: Math.min(orElse(() => instant(raw, 'occurredAt'), now), now + maxFutureSkewMs),
    source: orElse(() => text(raw, 'source', TEXT_FIELD_MAX_LENGTH.source), 'unknown'),
    segment: null,
    erase: true,
  };
}

/**
 * Checks an event in the domain shape (times and dates as epoch ms, enum symbols as strings) against SPEC §3,
 * whatever its origin (Avro, a file export, a test), and returns a fresh, fully typed event holding only the
 * known fields. The first failing check decides the rejection.
 */
export function validateEvent<K extends InputEventKind>(
  kind: K,
  raw: unknown,
  opts: ValidationOptions,
): DecodeResult<InputEventOf<K>> {
  return catchRejection(() => {
    if (typeof raw !== 'object' || raw === null) rejectField('INVALID_FIELD', 'event', 'must be an object');
    return validators[kind](raw as RawEvent, opts);
  });
}
