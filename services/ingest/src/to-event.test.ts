import type { InputEvent } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import { contentEventId, createRecordConverter, type RecordConversion } from './to-event';

const NOW = Date.parse('2025-06-15T12:00:00Z');
const convert = createRecordConverter({ reportingCurrency: 'USD', maxFutureSkewMs: 3_600_000, now: NOW, defaultSource: 'crm-export' });
const convertAs = (kind: 'activity' | 'opportunity' | 'contract' | 'customer') =>
  createRecordConverter({ kind, reportingCurrency: 'USD', maxFutureSkewMs: 3_600_000, now: NOW, defaultSource: 'crm-export' });
const eventOf = (result: RecordConversion): InputEvent => {
  if (!result.ok) throw new Error(`rejected: ${result.rejection.message}`);
  return result.event;
};

describe('createRecordConverter', () => {
  it('converts CSV text to the event types and fills in the default source', () => {
    const event = eventOf(
      convertAs('contract')({
        eventId: 'e1',
        customerId: 'c1',
        occurredAt: '2025-06-01T10:00:00Z',
        contractId: 'k1',
        contractType: 'SUBSCRIPTION',
        totalValue: '12000.50',
        currency: 'USD',
        startDate: '2025-06-01',
        endDate: '2026-05-31',
        status: 'ACTIVE',
      }),
    );
    expect(event).toEqual({
      kind: 'contract',
      eventId: 'e1',
      customerId: 'c1',
      occurredAt: Date.UTC(2025, 5, 1, 10),
      source: 'crm-export',
      contractId: 'k1',
      contractType: 'SUBSCRIPTION',
      totalValue: 12000.5,
      currency: 'USD',
      startDate: Date.UTC(2025, 5, 1),
      endDate: Date.UTC(2026, 4, 31),
      status: 'ACTIVE',
    });
  });

  it('takes NDJSON numbers and booleans as they are, epoch ms in time fields included', () => {
    const event = eventOf(
      convertAs('activity')({ eventId: 'e2', customerId: 'c1', occurredAt: NOW - 1000, source: 's', activityType: 'SUPPORT_TICKET_CLOSED', ticketId: 't', slaBreached: true }),
    );
    expect(event).toMatchObject({ occurredAt: NOW - 1000, slaBreached: true, value: null });
  });

  it("rejects with the scorer's reason codes, naming the field but never its value", () => {
    const opportunity = { eventId: 'e', customerId: 'c1', occurredAt: '2025-06-01T00:00:00Z', opportunityId: 'o', stage: 'PROPOSAL', amount: '100', currency: 'USD' };
    const rejection = (fields: Record<string, unknown>) => {
      const result = convertAs('opportunity')({ ...opportunity, ...fields });
      return result.ok ? null : result.rejection;
    };
    expect(rejection({})).toBeNull();
    expect(rejection({ amount: '-5' })).toEqual({ reason: 'NEGATIVE_AMOUNT', field: 'amount', message: 'amount: must be ≥ 0' });
    expect(rejection({ amount: 'lots' })).toEqual({ reason: 'INVALID_FIELD', field: 'amount', message: 'amount: must be a decimal number' });
    // JavaScript reads these as 1000; no export means them so (an outside tester's numbers.csv).
    for (const amount of ['0x3E8', '0b1111101000', '0o1750', 'Infinity', '18,000', '1_000']) {
      expect(rejection({ amount }), amount).toMatchObject({ reason: 'INVALID_FIELD', field: 'amount' });
    }
    for (const [amount, value] of [[' 18000.50 ', 18_000.5], ['1.8E+4', 18_000], ['+7', 7], ['.5', 0.5], ['12.', 12]] as const) {
      const converted = convertAs('opportunity')({ ...opportunity, amount });
      expect(converted.ok && converted.event, amount).toMatchObject({ amount: value });
    }
    expect(rejection({ currency: 'EUR' })).toMatchObject({ reason: 'WRONG_CURRENCY', field: 'currency' });
    expect(rejection({ customerId: undefined })).toMatchObject({ reason: 'MISSING_FIELD', field: 'customerId' });
    // A header that differs in case only (a CRM's `CustomerId`) is named, not just ignored.
    expect(rejection({ customerId: undefined, CustomerId: 'c1' })).toEqual({
      reason: 'MISSING_FIELD',
      field: 'customerId',
      message: 'customerId: is required (the column CustomerId is not it: field names are case-sensitive)',
    });
    expect(rejection({ stage: 'WON' })).toMatchObject({ reason: 'UNKNOWN_ENUM_SYMBOL', field: 'stage' });
    expect(rejection({ occurredAt: '2025-06-15T13:00:01Z' })).toMatchObject({ reason: 'FUTURE_OCCURRED_AT', field: 'occurredAt' });
    expect(rejection({ occurredAt: '15/06/2025' })).toEqual({
      reason: 'INVALID_FIELD',
      field: 'occurredAt',
      message: 'occurredAt: must be an ISO 8601 date, or timestamp with a time zone',
    });
    expect(rejection({ probability: '1.5' })).toMatchObject({ reason: 'INVALID_FIELD', field: 'probability' });
  });

  it('refuses an id, name or symbol padded with whitespace, which would be another customer, deal or segment', () => {
    const opportunity = { customerId: 'ADV-21', occurredAt: '2025-05-02T14:03:11Z', opportunityId: 'o-21', stage: 'PROPOSAL', amount: ' 5 ', currency: 'USD' };
    expect(eventOf(convertAs('opportunity')(opportunity))).toMatchObject({ customerId: 'ADV-21', amount: 5 });
    for (const [field, padded] of [['customerId', ' ADV-21 '], ['opportunityId', 'o-21 '], ['stage', ' PROPOSAL']] as const) {
      const result = convertAs('opportunity')({ ...opportunity, [field]: padded });
      expect(result.ok ? null : result.rejection, field).toEqual({
        reason: 'INVALID_FIELD',
        field,
        message: `${field}: must not begin or end with whitespace (ids, names and symbols are taken exactly as written)`,
      });
    }
  });

  it("decides each record's kind from its kind field or --kind, which must agree", () => {
    const profile = { eventId: 'e', customerId: 'c1', occurredAt: '2025-06-01', segment: 'SMB' };
    expect(eventOf(convert({ ...profile, kind: 'customer' }))).toMatchObject({ kind: 'customer', segment: 'SMB', erase: false });
    expect(convert(profile)).toMatchObject({ ok: false, rejection: { reason: 'MISSING_FIELD', field: 'kind' } });
    expect(convert({ ...profile, kind: 'lead' })).toMatchObject({ ok: false, rejection: { reason: 'UNKNOWN_ENUM_SYMBOL', field: 'kind' } });
    expect(convertAs('activity')({ ...profile, kind: 'customer' })).toMatchObject({ ok: false, rejection: { reason: 'INVALID_FIELD', field: 'kind' } });
  });

  it('takes an erasure request whatever else it holds, as the scorer does: an unparsable instant reads as the clock', () => {
    // One bad date in a deletion-request export used to refuse the line, and with it (all-or-nothing) every erasure.
    expect(eventOf(convertAs('customer')({ customerId: 'c1', occurredAt: 'not a time', erase: 'true' }))).toMatchObject({ customerId: 'c1', erase: true, occurredAt: NOW });
    // Not an erasure: the same date refused.
    expect(convertAs('customer')({ customerId: 'c1', occurredAt: 'not a time', segment: 'SMB' })).toMatchObject({ ok: false, rejection: { field: 'occurredAt' } });
  });

  it('lists fields that are not part of the event, and leaves them out of it', () => {
    const result = convertAs('customer')({ eventId: 'e', customerId: 'c1', occurredAt: '2025-06-01', segment: 'SMB', accountName: 'x', owner: 'y' });
    expect(result).toMatchObject({ ok: true, ignoredFields: ['accountName', 'owner'] });
    expect(eventOf(result)).not.toHaveProperty('accountName');
  });

  it('gives a record without an eventId a content hash, the same whatever the file notation', () => {
    const fromCsv = eventOf(convertAs('activity')({ customerId: 'c1', occurredAt: '2025-06-01T12:00:00+02:00', activityType: 'PRODUCT_USAGE', value: '12' }));
    const fromNdjson = eventOf(convert({ kind: 'activity', value: 12, activityType: 'PRODUCT_USAGE', occurredAt: Date.UTC(2025, 5, 1, 10), customerId: 'c1' }));
    expect(fromCsv.eventId).toMatch(/^ingest-[0-9a-f]{32}$/);
    expect(fromNdjson.eventId).toBe(fromCsv.eventId);
    expect(contentEventId({ ...fromCsv, value: 13 } as InputEvent)).not.toBe(fromCsv.eventId);
  });
});
