// The fold's rules, case by case (test/state/fold.test.ts checks it equal to the Redis store on random events).
import type { ActivityEvent, ActivityType, ContractEvent, ContractStatus, InputEvent, OpportunityEvent, OpportunityStage } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import { compareUtf8, CustomerFold, foldEvents } from './fold';
import { computeInsights } from './insights';
import { DAY, NOW, TODAY } from './test-fixtures';

const OPTIONS = { retentionDays: 400, dedupeWindowDays: 7, maxEntities: 10_000 };
const HOUR = 3_600_000;

const envelope = (eventId: string, occurredAt: number) => ({ eventId, customerId: 'c1', occurredAt, source: 'test' });
const activity = (eventId: string, activityType: ActivityType, occurredAt: number, extra: Partial<ActivityEvent> = {}): ActivityEvent => ({
  ...envelope(eventId, occurredAt),
  kind: 'activity',
  activityType,
  value: null,
  ticketId: null,
  slaBreached: null,
  ...extra,
});
const DEAL = { kind: 'opportunity', amount: 1000, currency: 'USD', probability: null, openQuotes: null } as const;
const deal = (eventId: string, opportunityId: string, stage: OpportunityStage, occurredAt: number): OpportunityEvent => ({
  ...envelope(eventId, occurredAt),
  ...DEAL,
  opportunityId,
  stage,
});
const contract = (eventId: string, status: ContractStatus, occurredAt: number): ContractEvent => ({
  ...envelope(eventId, occurredAt),
  kind: 'contract',
  contractId: 'K1',
  contractType: 'SUBSCRIPTION',
  totalValue: 12_000,
  currency: 'USD',
  startDate: Date.UTC(2024, 0, 1),
  endDate: Date.UTC(2025, 0, 1),
  status,
});

/** The state as of NOW after loading `events` at NOW, in the order given. */
const fold = (...events: InputEvent[]) => foldEvents('c1', events.map((event) => ({ event })), { ...OPTIONS, asOf: NOW });

describe('foldEvents: day buckets', () => {
  it('counts each activity on its UTC day and sums usage in exact thousandths', () => {
    const state = fold(
      activity('u1', 'PRODUCT_USAGE', NOW - 2 * DAY, { value: 0.1 }),
      activity('u2', 'PRODUCT_USAGE', NOW - 2 * DAY, { value: 0.2 }),
      activity('t1', 'SUPPORT_TICKET_CLOSED', NOW - 2 * DAY, { ticketId: 'T1', slaBreached: true }),
      activity('m1', 'MEETING', NOW),
    );
    expect(state.activityDays).toEqual([
      { day: TODAY - 2, type: 'SUPPORT_TICKET_CLOSED', count: 1, valueSum: 0 },
      { day: TODAY - 2, type: 'PRODUCT_USAGE', count: 2, valueSum: 0.3 },
      { day: TODAY, type: 'MEETING', count: 1, valueSum: 0 },
    ]);
    expect(state.slaBreachDays).toEqual([{ day: TODAY - 2, count: 1 }]);
    expect(state).toMatchObject({ lastActivityAt: NOW, lastInboundAt: NOW, revision: 4 });
  });

  it('an event older than the retention horizon changes no window, but still the latest activity', () => {
    const state = fold(activity('old', 'CALL', NOW - 400 * DAY));
    expect(state.activityDays).toEqual([]);
    expect(state.lastActivityAt).toBe(NOW - 400 * DAY);
  });
});

describe('foldEvents: latest wins', () => {
  it('the greatest (occurredAt, eventId) is the state, whatever the order; eventIds compare as UTF-8 bytes', () => {
    const stages = [deal('b', 'O1', 'PROPOSAL', NOW - DAY), deal('a', 'O1', 'LEAD', NOW - 2 * DAY)];
    expect(fold(...stages).opportunities).toEqual(fold(...stages.reverse()).opportunities);
    expect(fold(...stages).opportunities).toMatchObject([{ opportunityId: 'O1', stage: 'PROPOSAL' }]);
    // U+FFFD sorts before an astral character in UTF-8 (and in code points), after it in UTF-16 units.
    const tie = [deal('\uFFFD', 'O1', 'LEAD', NOW), deal('😀', 'O1', 'NEGOTIATION', NOW)];
    expect(compareUtf8('\uFFFD', '😀')).toBeLessThan(0);
    expect(fold(...tie).opportunities[0]?.stage).toBe('NEGOTIATION');
    expect(fold(...tie.reverse()).opportunities[0]?.stage).toBe('NEGOTIATION');
  });

  it("a ticket closed in the millisecond it was opened is closed, whatever the eventIds", () => {
    const ticket = [activity('z-open', 'SUPPORT_TICKET_OPENED', NOW, { ticketId: 'T1' }), activity('a-close', 'SUPPORT_TICKET_CLOSED', NOW, { ticketId: 'T1' })];
    expect(fold(...ticket).tickets).toEqual([{ ticketId: 'T1', occurredAt: NOW, eventId: 'a-close', open: false }]);
    expect(fold(...ticket.reverse()).tickets).toEqual([{ ticketId: 'T1', occurredAt: NOW, eventId: 'a-close', open: false }]);
  });

  it('counts a breached ticket once, on the day of its first flagged event, in any order (slaBreaches90: tickets, not events)', () => {
    const tickets = [1, 2, 3, 4].flatMap((n) => [
      activity(`open-${n}`, 'SUPPORT_TICKET_OPENED', NOW - (20 - n) * DAY, { ticketId: `T${n}`, slaBreached: true }),
      activity(`close-${n}`, 'SUPPORT_TICKET_CLOSED', NOW - (10 - n) * DAY, { ticketId: `T${n}`, slaBreached: true }),
    ]);
    for (const events of [tickets, [...tickets].reverse()]) {
      const state = fold(...events);
      expect(state.slaBreachDays).toEqual([1, 2, 3, 4].map((n) => ({ day: TODAY - (20 - n), count: 1 })));
      expect(computeInsights(state, NOW, OPTIONS).slaBreaches90).toBe(4);
    }
  });

  it('NPS, sentiment and segment keep their latest value; an NPS event without a value changes nothing', () => {
    const state = fold(
      activity('n1', 'NPS_RESPONSE', NOW - 3 * DAY, { value: 9 }),
      activity('n2', 'NPS_RESPONSE', NOW - DAY, { value: null }),
      activity('s1', 'CSM_SENTIMENT', NOW - DAY, { value: -2 }),
      { ...envelope('p1', NOW - DAY), kind: 'customer', segment: 'SMB', erase: false },
      { ...envelope('p0', NOW - 5 * DAY), kind: 'customer', segment: 'ENTERPRISE', erase: false },
    );
    expect(state).toMatchObject({
      segment: 'SMB',
      latestNps: { value: 9, eventId: 'n1' },
      latestCsmSentiment: { value: -2, eventId: 's1' },
    });
  });
});

describe('foldEvents: retention', () => {
  it('tickets and closed deals age out with the horizon, and an older event cannot bring them back', () => {
    const agedOut = [
      activity('open', 'SUPPORT_TICKET_OPENED', NOW - 401 * DAY, { ticketId: 'T1' }),
      deal('won', 'O1', 'CLOSED_WON', NOW - 401 * DAY),
      contract('k', 'CANCELLED', NOW - 401 * DAY),
    ];
    const revived = [activity('older', 'SUPPORT_TICKET_OPENED', NOW - 402 * DAY, { ticketId: 'T1' }), deal('lead', 'O1', 'LEAD', NOW - 403 * DAY)];
    for (const state of [fold(...agedOut), fold(...agedOut, ...revived), fold(...revived, ...agedOut)]) {
      expect(state.tickets).toEqual([]);
      expect(state.opportunities).toEqual([]);
      expect(state.contracts).toMatchObject([{ contractId: 'K1', status: 'CANCELLED' }]);
    }
  });

  it('what was inside the horizon when applied leaves it as the read time moves on', () => {
    const customer = new CustomerFold('c1', OPTIONS);
    customer.apply(activity('open', 'SUPPORT_TICKET_OPENED', NOW, { ticketId: 'T1' }), NOW);
    customer.apply(activity('call', 'CALL', NOW), NOW);
    expect(customer.stateAsOf(NOW + 399 * DAY)).toMatchObject({ tickets: [{ ticketId: 'T1', open: true }], activityDays: [{}, {}] });
    expect(customer.stateAsOf(NOW + 400 * DAY)).toMatchObject({ tickets: [], activityDays: [] });
  });

  it('refuses a read as of a day before a clock it applied: the store keeps nothing older', () => {
    const customer = new CustomerFold('c1', OPTIONS);
    customer.apply(activity('call', 'CALL', NOW - 10 * DAY), NOW);
    expect(() => customer.stateAsOf(NOW - DAY)).toThrow(RangeError);
    expect(() => customer.stateAsOf(NOW - 12 * HOUR)).not.toThrow();
  });
});

describe('CustomerFold: dedupe and erasure', () => {
  it('an eventId repeated within the dedupe window counts once; after it, again', () => {
    const customer = new CustomerFold('c1', OPTIONS);
    const call = activity('call', 'CALL', NOW - 30 * DAY);
    expect(customer.apply(call, NOW - 20 * DAY)).toBe('applied');
    expect(customer.apply(call, NOW - 13 * DAY - 2 * HOUR)).toBe('duplicate');
    // The window is 7 days of arrival time, at hour granularity, plus the hour it may be rounded by.
    expect(customer.apply(call, NOW - 13 * DAY + 2 * HOUR)).toBe('applied');
    expect(customer.stateAsOf(NOW)).toMatchObject({ activityDays: [{ type: 'CALL', count: 2 }], revision: 2 });
  });

  it('an erasure empties the state; events from before it are not applied again, later ones start from revision 1', () => {
    const customer = new CustomerFold('c1', OPTIONS);
    customer.apply(activity('call', 'CALL', NOW - DAY), NOW);
    expect(customer.apply({ ...envelope('erase', NOW - HOUR), kind: 'customer', segment: null, erase: true }, NOW)).toBe('erased');
    expect(customer.stateAsOf(NOW)).toEqual(fold());
    expect(customer.apply(activity('call', 'CALL', NOW - DAY), NOW)).toBe('predatesErasure');
    expect(customer.apply(activity('late', 'EMAIL_SENT', NOW - HOUR), NOW)).toBe('predatesErasure');
    expect(customer.stateAsOf(NOW)).toEqual(fold());
    expect(customer.apply(activity('after', 'CALL', NOW - HOUR + 1), NOW)).toBe('applied');
    expect(customer.stateAsOf(NOW).revision).toBe(1);
  });

  it("refuses another customer's event", () => {
    expect(() => new CustomerFold('c2', OPTIONS).apply(activity('call', 'CALL', NOW), NOW)).toThrow(RangeError);
  });
});

it('computeInsights of the fold gives the SPEC §4 aggregates', () => {
  const state = fold(
    contract('k1', 'ACTIVE', NOW - 100 * DAY),
    activity('t1', 'SUPPORT_TICKET_OPENED', NOW - 5 * DAY, { ticketId: 'T1' }),
    activity('t2', 'SUPPORT_TICKET_OPENED', NOW - 4 * DAY),
    activity('t3', 'SUPPORT_TICKET_CLOSED', NOW - DAY, { ticketId: 'T1', slaBreached: true }),
  );
  expect(computeInsights(state, NOW, OPTIONS)).toMatchObject({ activeContracts: 1, openTickets: 1, slaBreaches90: 1, contractsSeen: 1 });
});
