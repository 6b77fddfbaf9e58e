import { describe, expect, it } from 'vitest';
import { ACTIVITY_TYPES, type ActivityEvent, type ActivityType, type InputEvent } from '@churnscore/domain';
import { APPLY_OP, opsForEvent, opsAsValues, opsValueCount, type ApplyOp } from './apply-ops';
import { LAST_BUCKET_DAY } from './layout';

const AT = Date.UTC(2025, 5, 1, 12); // UTC day 20240
const envelope = { eventId: 'e1', customerId: 'c1', occurredAt: AT, source: 'test' };
const activity = (fields: Partial<ActivityEvent>): InputEvent => ({
  ...envelope,
  kind: 'activity',
  activityType: 'EMAIL_SENT',
  value: null,
  ticketId: null,
  slaBreached: null,
  ...fields,
});

describe('opsForEvent', () => {
  it('counts an activity in its day bucket and raises lastActivityAt', () => {
    expect(opsForEvent(activity({}))).toEqual([
      { op: 'add', day: 20240, counter: 'a', amount: 1 },
      { op: 'max', field: 'lastAct', value: AT },
    ]);
  });

  it("raises lastInboundAt for inbound types, lastCustomerActivityAt for the customer's own, and counts an SLA breach", () => {
    expect(opsForEvent(activity({ activityType: 'CALL', slaBreached: true }))).toEqual([
      { op: 'add', day: 20240, counter: 'c', amount: 1 },
      { op: 'max', field: 'lastAct', value: AT },
      { op: 'max', field: 'lastIn', value: AT },
      { op: 'max', field: 'lastCust', value: AT },
      { op: 'add', day: 20240, counter: 's', amount: 1 },
    ]);
  });

  it("leaves lastCustomerActivityAt to the customer's own activities: our emails, follow-ups and the CSM's sentiment end no silence", () => {
    const raisesOwn = (activityType: ActivityType) =>
      opsForEvent(activity({ activityType, value: activityType === 'CSM_SENTIMENT' || activityType === 'NPS_RESPONSE' ? 1 : null })).some(
        (op) => op.op === 'max' && op.field === 'lastCust',
      );
    expect(ACTIVITY_TYPES.filter(raisesOwn)).toEqual(['EMAIL_RECEIVED', 'CALL', 'MEETING', 'SUPPORT_TICKET_OPENED', 'PRODUCT_USAGE', 'NPS_RESPONSE']);
  });

  it('adds product usage in thousandths, so sums are exact in any order', () => {
    expect(opsForEvent(activity({ activityType: 'PRODUCT_USAGE', value: 0.1 }))).toContainEqual({ op: 'add', day: 20240, counter: 'u', amount: 100 });
  });

  it('keeps tickets latest-wins per ticketId, or per eventId without one; they age out', () => {
    expect(opsForEvent(activity({ activityType: 'SUPPORT_TICKET_OPENED', ticketId: 'T1' }))).toContainEqual({
      op: 'latest',
      field: 't:T1',
      record: `[${AT},"0e1",1,1]`,
    });
    expect(opsForEvent(activity({ activityType: 'SUPPORT_TICKET_OPENED' }))).toContainEqual(
      expect.objectContaining({ field: 't:e1', record: `[${AT},"0e1",1,1]` }),
    );
  });

  it("keeps a breached ticket's first breach earliest-wins beside its record, instead of counting the event on its day", () => {
    expect(opsForEvent(activity({ activityType: 'SUPPORT_TICKET_CLOSED', ticketId: 'T1', slaBreached: true }))).toEqual([
      { op: 'add', day: 20240, counter: 'g', amount: 1 },
      { op: 'max', field: 'lastAct', value: AT },
      { op: 'latest', field: 't:T1', record: `[${AT},"1e1",1,0]` },
      { op: 'earliest', field: 'b:T1', record: `[${AT},"e1",0]` },
    ]);
  });

  it('ranks a ticket close above an open of the same instant, whatever their eventIds', () => {
    const rankOf = (fields: Partial<ActivityEvent>) => {
      const op = opsForEvent(activity({ ticketId: 'T1', ...fields })).find((candidate) => candidate.op === 'latest');
      return op?.op === 'latest' ? (JSON.parse(op.record) as [number, string])[1] : undefined;
    };
    const open = rankOf({ activityType: 'SUPPORT_TICKET_OPENED', eventId: 'zzz' });
    const close = rankOf({ activityType: 'SUPPORT_TICKET_CLOSED', eventId: 'aaa' });
    // applyEvents-5.lua compares this element byte by byte, as JavaScript compares these ASCII strings
    expect(open! < close!).toBe(true);
    expect(rankOf({ activityType: 'SUPPORT_TICKET_OPENED', eventId: 'a' })! < open!).toBe(true);
  });

  it('keeps the latest NPS and CSM sentiment, when the event carries a value', () => {
    expect(opsForEvent(activity({ activityType: 'NPS_RESPONSE', value: 7 }))).toContainEqual({
      op: 'latest',
      field: 'v:nps',
      record: `[${AT},"e1",0,7]`,
    });
    expect(opsForEvent(activity({ activityType: 'CSM_SENTIMENT' })).some((op) => op.op === 'latest')).toBe(false);
  });

  it('keeps opportunities, contracts and the segment latest-wins; only closed deals age out', () => {
    const deal = { ...envelope, kind: 'opportunity', opportunityId: 'O\t1', amount: 10, currency: 'USD', probability: null, openQuotes: 1 } as const;
    expect(opsForEvent({ ...deal, stage: 'PROPOSAL' })).toEqual([
      { op: 'latest', field: 'o:O%091', record: `[${AT},"e1",0,"PROPOSAL",10,null,1]` },
    ]);
    expect(opsForEvent({ ...deal, stage: 'CLOSED_WON' })[0]).toMatchObject({ record: `[${AT},"e1",1,"CLOSED_WON",10,null,1]` });
    expect(
      opsForEvent({ ...envelope, kind: 'contract', contractId: 'C1', contractType: 'SALES', totalValue: 5, currency: 'USD', startDate: 1, endDate: 2, status: 'EXPIRED' }),
    ).toEqual([
      { op: 'latest', field: 'c:C1', record: `[${AT},"e1",0,"SALES",5,1,2,"EXPIRED"]` },
      // The earliest start apart from the record, which a renewal with the new term's dates replaces.
      { op: 'min', field: 'firstStart', value: 1 },
    ]);
    expect(opsForEvent({ ...envelope, kind: 'customer', segment: null, erase: false })).toEqual([
      { op: 'latest', field: 'v:segment', record: `[${AT},"e1",0,null]` },
    ]);
  });

  it('refuses an activity outside the days its bucket key can name', () => {
    expect(() => opsForEvent(activity({ occurredAt: -1 }))).toThrow(RangeError);
    expect(() => opsForEvent(activity({ occurredAt: (LAST_BUCKET_DAY + 1) * 86_400_000 }))).toThrow(RangeError);
  });

  it('refuses an erasure request', () => {
    expect(() => opsForEvent({ ...envelope, kind: 'customer', segment: null, erase: true })).toThrow(/eraseCustomer/);
  });
});

describe('opsAsValues', () => {
  it('flattens each op to its opcode and arguments, numbers it computes with as numbers', () => {
    expect(
      opsAsValues([
        { op: 'latest', field: 'o:1', record: '[]' },
        { op: 'max', field: 'lastAct', value: 5 },
        { op: 'min', field: 'firstStart', value: 2 },
        { op: 'add', day: 3, counter: 'a', amount: 1 },
      ]),
    ).toEqual(['L', 'o:1', '[]', 'M', 'lastAct', '5', 'N', 'firstStart', '2', 'A', 3, 'a', 1]);
  });

  it('gives each op the number of arguments the script decodes it by', () => {
    const ops: ApplyOp[] = [
      { op: 'latest', field: 'o:1', record: '[]' },
      { op: 'max', field: 'lastAct', value: 5 },
      { op: 'min', field: 'firstStart', value: 2 },
      { op: 'add', day: 3, counter: 'a', amount: 1 },
    ];
    for (const op of ops) expect(opsAsValues([op])).toHaveLength(1 + APPLY_OP[op.op].arguments);
    expect(opsValueCount(ops)).toBe(opsAsValues(ops).length);
  });

  it('appends to the values it is given', () => {
    expect(opsAsValues([{ op: 'max', field: 'lastAct', value: 5 }], [7, 'w'])).toEqual([7, 'w', 'M', 'lastAct', '5']);
  });
});
