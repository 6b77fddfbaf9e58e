// The limits every input event is held to (docs/events.md, "Validation of input events"). Validation enforces
// them on arrival; the Redis key contract and the scoring arithmetic rely on them, so each is defined here once.

/** Maximum length of each text field, in characters: Unicode code points, as SPEC §3 counts them. */
export const TEXT_FIELD_MAX_LENGTH = {
  eventId: 256,
  customerId: 128,
  source: 128,
  /** ticketId, opportunityId, contractId. */
  entityId: 256,
  segment: 64,
} as const;

/** Why `value` is not 1 to `maxLength` code points long, or null when it is. Names the limit, never the value. */
export function textLengthProblem(value: string, maxLength: number): string | null {
  // A string has at most as many characters (code points) as UTF-16 units: counted only when that is not enough,
  // as spreading every id into an array of its characters was most of the garbage of validating an event.
  const length = value.length <= maxLength ? value.length : codePointCount(value);
  return length < 1 || length > maxLength ? `must be 1–${maxLength} characters` : null;
}

/** `[...value].length` without the array: a surrogate pair is one character, an unpaired surrogate one too. */
function codePointCount(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i += 1, count += 1) {
    const unit = value.charCodeAt(i);
    const next = value.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i += 1;
  }
  return count;
}

// Cc: the C0 controls (NUL, \t, \n, …), DEL and the C1 controls. Cs: an unpaired UTF-16 surrogate, which no
// UTF-8 encodes, so two different ids holding one would meet in the same Redis key.
const NOT_TEXT = /[\p{Cc}\p{Cs}]/u;

/**
 * Why `value` is not a valid text field (an id, a source, a segment) of at most `maxLength` characters, or null
 * when it is one: the right length, something other than spaces (an id of spaces is a missing one: an export's blank
 * cell), and no control character or unpaired surrogate, which break the lines of logs, exports and terminals, and
 * C strings, wherever an id travels next. Names the rule, never the value.
 */
export function textFieldProblem(value: string, maxLength: number): string | null {
  return (
    textLengthProblem(value, maxLength) ??
    (NOT_TEXT.test(value) ? 'must not contain control characters or unpaired surrogates' : HAS_NON_SPACE.test(value) ? null : 'must not be blank')
  );
}
const HAS_NON_SPACE = /\S/u;

/**
 * occurredAt may not be earlier: no CRM event predates it, and an instant near the epoch is an unset field
 * or a producer's default, which would otherwise count as a real (very old) event.
 */
export const EARLIEST_OCCURRED_AT = Date.UTC(2000, 0, 1);

/**
 * Contract dates (startDate, endDate): before 1970 is valid (a customer since 1965), and the bounds only rule
 * out nonsense such as the last Avro `int` day. Every date in range is a JavaScript Date with a 4-digit ISO
 * year, and the days between any two of them are few, so renewal and tenure arithmetic stays small.
 */
export const CONTRACT_DATE_RANGE = { earliest: Date.UTC(1900, 0, 1), latest: Date.UTC(9999, 11, 31) } as const;

/**
 * Money amounts (deal amount, contract value) in the reporting currency: 0, or from one hundredth of a unit
 * to 10^12. The maximum is beyond any real contract, keeps cents exact in a double (10^14 < 2^53) and every
 * sum of accepted amounts finite; the smallest positive amount keeps a ratio over an amount (pipeline ÷
 * contract value) finite.
 */
export const MONEY_AMOUNT = { smallestPositive: 0.01, max: 1e12 } as const;

/**
 * A PRODUCT_USAGE quantity. A day's usage is summed in Redis in thousandths as an integer, exact up to 2^53
 * thousandths (9 × 10^12 per customer and day): over 9,000 events of the maximum quantity in one day.
 */
export const MAX_USAGE_QUANTITY = 1e9;
/** Usage quantities add up as whole thousandths (each value rounded to 0.001): integers sum exactly in any order. */
export const USAGE_SUM_SCALE = 1000;

/** openQuotes of one opportunity. */
export const MAX_OPEN_QUOTES = 1_000_000;
