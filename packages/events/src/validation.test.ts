import { CONTRACT_DATE_RANGE, EARLIEST_OCCURRED_AT, MAX_OPEN_QUOTES, MAX_USAGE_QUANTITY, MONEY_AMOUNT, type InputEventKind } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import type { RejectReason } from './rejections';
import { SAMPLE_NOW, sampleActivity, sampleContract, sampleCustomer, sampleOpportunity } from './testing';
import { validateEvent, type ValidationOptions } from './validation';

const OPTS: ValidationOptions = { reportingCurrency: 'USD', maxFutureSkewMs: 3_600_000, now: SAMPLE_NOW };

function rejectionOf(kind: InputEventKind, raw: unknown, opts = OPTS) {
  const result = validateEvent(kind, raw, opts);
  if (result.ok) throw new Error('expected a rejection');
  return result.rejection;
}

const expectRejected = (kind: InputEventKind, raw: unknown, reason: RejectReason, field: string) =>
  expect(rejectionOf(kind, raw)).toMatchObject({ reason, field, message: expect.stringMatching(new RegExp(`^${field}: `)) });

const DAY = 86_400_000;
/** What a Java producer's Long.MAX_VALUE reads as (the nearest double; see strict-avro.ts). */
const JAVA_LONG_MAX_READ = 2 ** 63;
/** The last day an Avro `int` date can name, as epoch ms. */
const LAST_AVRO_INT_DAY = (2 ** 31 - 1) * DAY;

describe('validateEvent accepts', () => {
  it.each([sampleActivity(), sampleOpportunity(), sampleContract(), sampleCustomer()])('a valid $kind event as is', (event) => {
    expect(validateEvent(event.kind, event, OPTS)).toEqual({ ok: true, event });
  });

  it('optional fields left out, as null', () => {
    const { value: _value, ticketId: _ticketId, slaBreached: _slaBreached, ...activity } = sampleActivity({ activityType: 'CALL' });
    expect(validateEvent('activity', activity, OPTS)).toEqual({
      ok: true,
      event: { ...activity, value: null, ticketId: null, slaBreached: null },
    });
    const { erase: _erase, segment: _segment, ...customer } = sampleCustomer();
    expect(validateEvent('customer', customer, OPTS)).toEqual({ ok: true, event: { ...customer, segment: null, erase: false } });
  });

  it("an erasure request whatever else it holds, naming a valid customer: its instant no later than any event's may be (an outside tester's erasures went to the DLQ)", () => {
    const request = sampleCustomer({ erase: true, segment: 's'.repeat(65), occurredAt: OPTS.now + 2 * 3_600_000 });
    expect(validateEvent('customer', request, OPTS)).toEqual({ ok: true, event: { ...request, segment: null, occurredAt: OPTS.now + OPTS.maxFutureSkewMs } });
    // A CRM running ahead within the skew: its instant as sent, so that the events it sent just before stay erased.
    const ahead = sampleCustomer({ erase: true, occurredAt: OPTS.now + 30 * 60_000 });
    expect(validateEvent('customer', ahead, OPTS)).toEqual({ ok: true, event: { ...ahead, segment: null } });
    const bare = { customerId: request.customerId, erase: true, eventId: '', occurredAt: 'soon', source: null };
    expect(validateEvent('customer', bare, OPTS)).toEqual({
      ok: true,
      event: { kind: 'customer', customerId: request.customerId, eventId: `erasure-${OPTS.now}`, occurredAt: OPTS.now, source: 'unknown', segment: null, erase: true },
    });
    expectRejected('customer', { ...request, customerId: '' }, 'INVALID_FIELD', 'customerId');
  });

  it('only the known fields', () => {
    const result = validateEvent('customer', { ...sampleCustomer(), notes: 'free text' }, OPTS);
    expect(result.ok && result.event).toEqual(sampleCustomer());
  });

  it('the limits themselves', () => {
    const customerId = 'c'.repeat(128);
    for (const event of [
      sampleActivity({ customerId, occurredAt: SAMPLE_NOW + 3_600_000, value: 0 }),
      sampleActivity({ activityType: 'NPS_RESPONSE', value: 10 }),
      sampleActivity({ activityType: 'CSM_SENTIMENT', value: -2 }),
      sampleActivity({ activityType: 'CSM_SENTIMENT', value: 1.5 }),
      sampleActivity({ activityType: 'PRODUCT_USAGE', value: 0 }),
      sampleOpportunity({ amount: 0, probability: 1, openQuotes: 0 }),
      sampleContract({ totalValue: 0, endDate: sampleContract().startDate }),
      sampleActivity({ occurredAt: EARLIEST_OCCURRED_AT }),
      sampleActivity({ activityType: 'PRODUCT_USAGE', value: MAX_USAGE_QUANTITY }),
      sampleOpportunity({ amount: MONEY_AMOUNT.max, openQuotes: MAX_OPEN_QUOTES }),
      sampleOpportunity({ amount: MONEY_AMOUNT.smallestPositive }),
      sampleContract({ totalValue: MONEY_AMOUNT.max, startDate: CONTRACT_DATE_RANGE.earliest, endDate: CONTRACT_DATE_RANGE.latest }),
    ]) {
      expect(validateEvent(event.kind, event, OPTS).ok).toBe(true);
    }
  });

  it('a customerId of 128 characters outside the Basic Multilingual Plane', () => {
    expect(validateEvent('customer', sampleCustomer({ customerId: '😀'.repeat(128) }), OPTS).ok).toBe(true);
  });

  it('text in any script, with spaces and symbols', () => {
    const event = sampleCustomer({ customerId: 'Ünïcødé Kunde 株式会社 {#1} 😀', source: 'CRM · EU', segment: 'Mid Market / DACH' });
    expect(validateEvent('customer', event, OPTS).ok).toBe(true);
  });

  it('a contract that started before 1970', () => {
    const event = sampleContract({ startDate: Date.UTC(1965, 0, 1) });
    expect(validateEvent('contract', event, OPTS)).toEqual({ ok: true, event });
  });

  it('a ticket opened without a ticketId', () => {
    expect(validateEvent('activity', sampleActivity({ activityType: 'SUPPORT_TICKET_OPENED', value: null, ticketId: null }), OPTS).ok).toBe(true);
  });
});

describe('validateEvent rejects', () => {
  it('a non-object', () => {
    expect(rejectionOf('activity', 'text')).toEqual({ reason: 'INVALID_FIELD', field: 'event', message: 'event: must be an object' });
  });

  it.each(['eventId', 'customerId', 'occurredAt', 'source'])('an event without %s', (field) => {
    expectRejected('opportunity', { ...sampleOpportunity(), [field]: undefined }, 'MISSING_FIELD', field);
    expectRejected('opportunity', { ...sampleOpportunity(), [field]: null }, 'MISSING_FIELD', field);
  });

  it.each([
    ['activity', 'activityType'],
    ['opportunity', 'opportunityId'],
    ['opportunity', 'stage'],
    ['opportunity', 'amount'],
    ['opportunity', 'currency'],
    ['contract', 'contractId'],
    ['contract', 'contractType'],
    ['contract', 'totalValue'],
    ['contract', 'currency'],
    ['contract', 'startDate'],
    ['contract', 'endDate'],
    ['contract', 'status'],
  ] as const)('a %s event without %s', (kind, field) => {
    const samples = { activity: sampleActivity, opportunity: sampleOpportunity, contract: sampleContract };
    expectRejected(kind, { ...samples[kind](), [field]: undefined }, 'MISSING_FIELD', field);
  });

  it.each(['NPS_RESPONSE', 'CSM_SENTIMENT'] as const)('a %s without its value', (activityType) => {
    expectRejected('activity', sampleActivity({ activityType, value: null }), 'MISSING_FIELD', 'value');
  });

  it('a customerId out of 1–128 characters', () => {
    expect(rejectionOf('activity', sampleActivity({ customerId: 'c'.repeat(129) }))).toEqual({
      reason: 'INVALID_FIELD',
      field: 'customerId',
      message: 'customerId: must be 1–128 characters',
    });
    expectRejected('activity', sampleActivity({ customerId: '' }), 'INVALID_FIELD', 'customerId');
  });

  it.each([
    ['eventId', { eventId: 'e'.repeat(257) }],
    ['source', { source: '' }],
    ['occurredAt', { occurredAt: -1 }],
    ['occurredAt', { occurredAt: 1.5 }],
    ['occurredAt', { occurredAt: Number.NaN }],
    ['occurredAt', { occurredAt: Date.UTC(1970, 0, 2) }],
    ['occurredAt', { occurredAt: EARLIEST_OCCURRED_AT - 1 }],
    ['ticketId', { ticketId: '' }],
    ['slaBreached', { slaBreached: 'yes' as unknown as boolean }],
  ] as const)('an invalid %s', (field, overrides) => {
    expectRejected('activity', sampleActivity(overrides), 'INVALID_FIELD', field);
  });

  it.each([
    ['NUL', '\u0000'],
    ['a tab', '\t'],
    ['a newline', '\n'],
    ['a carriage return', '\r'],
    ['DEL', '\u007f'],
    ['a C1 control', '\u0085'],
    ['an unpaired surrogate', '\ud800'],
  ])('%s in any id or text field', (_, character) => {
    const withCharacter = `a${character}b`;
    expectRejected('activity', sampleActivity({ customerId: withCharacter }), 'INVALID_FIELD', 'customerId');
    expectRejected('activity', sampleActivity({ eventId: withCharacter }), 'INVALID_FIELD', 'eventId');
    expectRejected('activity', sampleActivity({ source: withCharacter }), 'INVALID_FIELD', 'source');
    expectRejected('activity', sampleActivity({ ticketId: withCharacter }), 'INVALID_FIELD', 'ticketId');
    expectRejected('opportunity', sampleOpportunity({ opportunityId: withCharacter }), 'INVALID_FIELD', 'opportunityId');
    expectRejected('contract', sampleContract({ contractId: withCharacter }), 'INVALID_FIELD', 'contractId');
    expectRejected('customer', sampleCustomer({ segment: withCharacter }), 'INVALID_FIELD', 'segment');
    expect(rejectionOf('activity', sampleActivity({ customerId: withCharacter })).message).toBe(
      'customerId: must not contain control characters or unpaired surrogates',
    );
  });

  it('a text field of spaces alone, as missing as an empty one (an export with a blank cell)', () => {
    expect(rejectionOf('activity', sampleActivity({ customerId: '  ' }))).toEqual({ reason: 'INVALID_FIELD', field: 'customerId', message: 'customerId: must not be blank' });
    expectRejected('contract', sampleContract({ contractId: '\u00a0' }), 'INVALID_FIELD', 'contractId');
    expect(validateEvent('activity', sampleActivity({ customerId: ' padded ' }), OPTS).ok).toBe(true);
  });

  it('an occurredAt before 2000, naming the floor', () => {
    expect(rejectionOf('activity', sampleActivity({ occurredAt: 0 })).message).toBe('occurredAt: must not be before 2000-01-01T00:00:00.000Z');
  });

  it('an occurredAt beyond the safe integers (a Java Long.MAX) as out of range, not as in the future', () => {
    expect(rejectionOf('customer', sampleCustomer({ occurredAt: JAVA_LONG_MAX_READ }))).toEqual({
      reason: 'INVALID_FIELD',
      field: 'occurredAt',
      message: 'occurredAt: must be whole epoch milliseconds within ±(2^53 − 1)',
    });
  });

  it('a ticket close without the ticketId of the ticket it closes', () => {
    expectRejected('activity', sampleActivity({ activityType: 'SUPPORT_TICKET_CLOSED', value: null, ticketId: null }), 'MISSING_FIELD', 'ticketId');
  });

  it.each([
    ['an NPS above 10', 'NPS_RESPONSE', 11],
    ['an NPS below 0', 'NPS_RESPONSE', -1],
    ['a fractional NPS', 'NPS_RESPONSE', 7.5],
    ['a sentiment above +2', 'CSM_SENTIMENT', 2.5],
    ['a sentiment below −2', 'CSM_SENTIMENT', -3],
    ['a negative usage quantity', 'PRODUCT_USAGE', -4],
    ['a usage quantity above the maximum', 'PRODUCT_USAGE', MAX_USAGE_QUANTITY + 1],
    ['a usage quantity of 1e300', 'PRODUCT_USAGE', 1e300],
    ['an infinite value', 'EMAIL_SENT', Number.POSITIVE_INFINITY],
  ] as const)('%s', (_, activityType, value) => {
    expectRejected('activity', sampleActivity({ activityType, value }), 'INVALID_FIELD', 'value');
  });

  it('the NPS range in the message', () => {
    expect(rejectionOf('activity', sampleActivity({ value: 11 })).message).toBe('value: must be between 0 and 10');
  });

  it.each([
    ['probability', { probability: 1.01 }],
    ['probability', { probability: -0.1 }],
    ['openQuotes', { openQuotes: -1 }],
    ['openQuotes', { openQuotes: 1.5 }],
    ['openQuotes', { openQuotes: MAX_OPEN_QUOTES + 1 }],
    ['openQuotes', { openQuotes: 1e300 }],
    ['amount', { amount: MONEY_AMOUNT.max * 1.000001 }],
    ['amount', { amount: 1e300 }],
    ['amount', { amount: Number.MAX_VALUE }],
    ['amount', { amount: 0.001 }],
    ['amount', { amount: Number.MIN_VALUE }],
    ['opportunityId', { opportunityId: '' }],
  ] as const)('an opportunity with an invalid %s', (field, overrides) => {
    expectRejected('opportunity', sampleOpportunity(overrides), 'INVALID_FIELD', field);
  });

  it('a contract that ends before it starts', () => {
    expect(rejectionOf('contract', sampleContract({ startDate: Date.UTC(2025, 5, 1), endDate: Date.UTC(2025, 4, 31) }))).toEqual({
      reason: 'INVALID_FIELD',
      field: 'endDate',
      message: 'endDate: must not be before startDate',
    });
  });

  it('a contract date that is not a UTC midnight', () => {
    expectRejected('contract', sampleContract({ startDate: Date.UTC(2025, 0, 1, 6) }), 'INVALID_FIELD', 'startDate');
  });

  it.each([
    ['startDate', { startDate: CONTRACT_DATE_RANGE.earliest - DAY }],
    ['endDate', { endDate: CONTRACT_DATE_RANGE.latest + DAY }],
    ['endDate', { endDate: LAST_AVRO_INT_DAY }],
  ] as const)('a contract %s outside 1900-01-01 … 9999-12-31', (field, overrides) => {
    expect(rejectionOf('contract', sampleContract(overrides))).toEqual({
      reason: 'INVALID_FIELD',
      field,
      message: `${field}: must be a UTC midnight from 1900-01-01 to 9999-12-31`,
    });
  });

  it.each([
    ['totalValue', { totalValue: 1.79e308 }],
    ['totalValue', { totalValue: 0.005 }],
  ] as const)('a contract %s outside the money range', (field, overrides) => {
    expect(rejectionOf('contract', sampleContract(overrides))).toEqual({
      reason: 'INVALID_FIELD',
      field,
      message: `${field}: must be 0 or 0.01–1000000000000`,
    });
  });

  it('a segment longer than 64 characters', () => {
    expectRejected('customer', sampleCustomer({ segment: 's'.repeat(65) }), 'INVALID_FIELD', 'segment');
  });

  it('an erase flag that is not a boolean', () => {
    expectRejected('customer', { ...sampleCustomer(), erase: 'true' }, 'INVALID_FIELD', 'erase');
  });

  it.each([
    ['activity', 'activityType', sampleActivity],
    ['opportunity', 'stage', sampleOpportunity],
    ['contract', 'contractType', sampleContract],
    ['contract', 'status', sampleContract],
  ] as const)('a %s event whose %s is UNKNOWN or unheard of', (kind, field, sample) => {
    expectRejected(kind, { ...sample(), [field]: 'UNKNOWN' }, 'UNKNOWN_ENUM_SYMBOL', field);
    expectRejected(kind, { ...sample(), [field]: 'email_sent' }, 'UNKNOWN_ENUM_SYMBOL', field);
  });

  it('an enum field that is not a string', () => {
    expectRejected('opportunity', { ...sampleOpportunity(), stage: 3 }, 'INVALID_FIELD', 'stage');
  });

  it.each([
    ['opportunity', 'amount', sampleOpportunity({ amount: -0.01 })],
    ['contract', 'totalValue', sampleContract({ totalValue: -1 })],
  ] as const)('a negative %s %s', (kind, field, event) => {
    expectRejected(kind, event, 'NEGATIVE_AMOUNT', field);
  });

  it.each([
    ['opportunity', sampleOpportunity({ currency: 'EUR' })],
    ['contract', sampleContract({ currency: 'usd' })],
  ] as const)('a %s in another currency', (kind, event) => {
    expectRejected(kind, event, 'WRONG_CURRENCY', 'currency');
  });

  it('a wrong currency naming both codes, but never echoing free text', () => {
    expect(rejectionOf('opportunity', sampleOpportunity({ currency: 'EUR' })).message).toBe(
      'currency: must be the reporting currency USD, got EUR',
    );
    expect(rejectionOf('opportunity', sampleOpportunity({ currency: 'ab' })).message).toBe(
      'currency: must be the reporting currency USD',
    );
  });

  it('a currency other than a configured non-default one', () => {
    const opts = { ...OPTS, reportingCurrency: 'EUR' };
    expect(validateEvent('opportunity', sampleOpportunity({ currency: 'EUR' }), opts).ok).toBe(true);
    expect(rejectionOf('opportunity', sampleOpportunity(), opts).reason).toBe('WRONG_CURRENCY');
  });

  it('an occurredAt beyond the allowed clock skew', () => {
    expect(rejectionOf('customer', sampleCustomer({ occurredAt: SAMPLE_NOW + 3_600_001 }))).toEqual({
      reason: 'FUTURE_OCCURRED_AT',
      field: 'occurredAt',
      message: 'occurredAt: is more than 3600000 ms ahead of the service clock',
    });
    expect(rejectionOf('customer', sampleCustomer({ occurredAt: SAMPLE_NOW + 1001 }), { ...OPTS, maxFutureSkewMs: 1000 }).reason).toBe(
      'FUTURE_OCCURRED_AT',
    );
  });

  it('without quoting field contents in the message', () => {
    const secret = 'jane.doe@example.com';
    const messages = [
      rejectionOf('activity', sampleActivity({ customerId: secret.repeat(10) })),
      rejectionOf('activity', sampleActivity({ ticketId: secret.repeat(20) })),
      rejectionOf('customer', sampleCustomer({ segment: secret.repeat(5) })),
      rejectionOf('activity', { ...sampleActivity(), activityType: secret }),
    ].map((rejection) => rejection.message);
    for (const message of messages) expect(message).not.toContain('jane');
  });
});
