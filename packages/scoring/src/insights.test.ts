import type { CustomerState } from '@churnscore/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeInsights } from './insights';
import { DAY, NOW, RETENTION, TODAY, bucket, contract, emptyState, opportunity, permute, stateArbitrary, ticket } from './test-fixtures';

const insightsOf = (overrides: Partial<CustomerState>) => computeInsights(emptyState(overrides), NOW, RETENTION);
const midnight = (day: number): number => day * DAY;

describe('computeInsights: activity windows', () => {
  // Powers of two make every window sum identify exactly which buckets it took.
  const calls = [0, 6, 7, 29, 30, 89, 90, 364, 365, -1].map((daysAgo, i) => bucket(daysAgo, 'CALL', 2 ** i));

  it('a W-day window covers day(T)−W+1 … day(T), both edges inclusive; later days are outside', () => {
    const { activity } = insightsOf({ activityDays: calls });
    // d7: days 0, 6 | d30: + 7, 29 | d90: + 30, 89 | d365: + 90, 364 | never: 365 days ago, tomorrow.
    expect(activity.CALL).toEqual({ d7: 1 + 2, d30: 1 + 2 + 4 + 8, d90: 63, d365: 255 });
    expect(activity.MEETING).toEqual({ d7: 0, d30: 0, d90: 0, d365: 0 });
  });

  it('window edges are UTC days, whatever the time of day of T', () => {
    const lastMsOfDay = midnight(TODAY + 1) - 1;
    const atMidnight = computeInsights(emptyState({ activityDays: calls }), midnight(TODAY), RETENTION);
    const atDayEnd = computeInsights(emptyState({ activityDays: calls }), lastMsOfDay, RETENTION);
    expect(atMidnight.activity.CALL).toEqual(atDayEnd.activity.CALL);
    // One millisecond later it is tomorrow: the future bucket enters, the oldest ones leave.
    const tomorrow = computeInsights(emptyState({ activityDays: calls }), lastMsOfDay + 1, RETENTION);
    // Seen from tomorrow the buckets are one day older: d7 holds −1, 0 | d30: + 6, 7 | d90: + 29, 30 | d365: + 89, 90.
    expect(tomorrow.activity.CALL).toEqual({ d7: 512 + 1, d30: 512 + 1 + 2 + 4, d90: 512 + 31, d365: 512 + 127 });
  });

  it('usage quantity sums PRODUCT_USAGE values per window', () => {
    const { usageQuantity, activity } = insightsOf({
      activityDays: [bucket(0, 'PRODUCT_USAGE', 2, 10.5), bucket(10, 'PRODUCT_USAGE', 1, 4), bucket(100, 'PRODUCT_USAGE', 3, 7)],
    });
    expect(usageQuantity).toEqual({ d7: 10.5, d30: 14.5, d90: 14.5, d365: 21.5 });
    expect(activity.PRODUCT_USAGE).toEqual({ d7: 2, d30: 3, d90: 3, d365: 6 });
  });

  it('passes the latest activity, inbound, NPS and sentiment through', () => {
    const insights = insightsOf({
      lastActivityAt: NOW - DAY,
      lastInboundAt: NOW - 2 * DAY,
      latestNps: { value: 3, occurredAt: NOW, eventId: 'n' },
      latestCsmSentiment: { value: -2, occurredAt: NOW, eventId: 's' },
    });
    expect(insights).toMatchObject({ lastActivityAt: NOW - DAY, lastInboundAt: NOW - 2 * DAY, latestNps: 3, latestCsmSentiment: -2 });
    expect(insightsOf({})).toMatchObject({ lastActivityAt: null, lastInboundAt: null, latestNps: null, latestCsmSentiment: null });
  });

  it("takes the customer's last own activity as stored, or for a state stored before it was kept the start of the last day its buckets hold one", () => {
    // Our email of an hour ago is the latest activity; the customer's own was a meeting five days ago, at 15:00.
    const stored = { lastActivityAt: NOW - 3_600_000, activityDays: [bucket(5, 'MEETING'), bucket(0, 'EMAIL_SENT'), bucket(0, 'CSM_SENTIMENT')] };
    const meeting = (TODAY - 5) * DAY + 15 * 3_600_000;
    expect(insightsOf({ ...stored, lastCustomerActivityAt: meeting }).lastCustomerActivityAt).toBe(meeting);
    expect(insightsOf({ ...stored, lastCustomerActivityAt: null }).lastCustomerActivityAt).toBe((TODAY - 5) * DAY);
    expect(insightsOf({ lastActivityAt: NOW, activityDays: [bucket(0, 'EMAIL_SENT')], lastCustomerActivityAt: null }).lastCustomerActivityAt).toBeNull();
  });

  it('refuses a retention horizon shorter than the 365-day window', () => {
    expect(() => computeInsights(emptyState(), NOW, { retentionDays: 364 })).toThrow(RangeError);
  });
});

describe('computeInsights: opportunities', () => {
  const yearStart = midnight(TODAY - 364);
  const opportunities = [
    opportunity({ opportunityId: 'lead', stage: 'LEAD', amount: 1000, openQuotes: 2 }),
    opportunity({ opportunityId: 'negotiation', stage: 'NEGOTIATION', amount: 2000, probability: 0.9 }),
    // Latest state wins: proposed long ago, won on the first day of the 365-day window.
    opportunity({ opportunityId: 'won', stage: 'PROPOSAL', amount: 4000, occurredAt: NOW - 500 * DAY }),
    opportunity({ opportunityId: 'won', stage: 'CLOSED_WON', amount: 5000, occurredAt: yearStart }),
    // Lost one millisecond before the window: outside.
    opportunity({ opportunityId: 'lost-old', stage: 'CLOSED_LOST', amount: 3000, occurredAt: yearStart - 1 }),
    opportunity({ opportunityId: 'lost', stage: 'CLOSED_LOST', amount: 700, occurredAt: NOW - 10 * DAY }),
    // Same occurredAt: the greater eventId is the latest, so this one is an open LEAD.
    opportunity({ opportunityId: 'tie', stage: 'CLOSED_WON', amount: 100, occurredAt: NOW, eventId: 'a' }),
    opportunity({ opportunityId: 'tie', stage: 'LEAD', amount: 100, occurredAt: NOW, eventId: 'b' }),
  ];

  it('aggregates open pipeline with stage-default probabilities and closed deals in the 365-day window', () => {
    expect(insightsOf({ opportunities })).toMatchObject({
      openOpportunities: 3,
      openPipelineAmount: 3100,
      weightedPipelineAmount: 1000 * 0.1 + 2000 * 0.9 + 100 * 0.1,
      openQuotes: 2,
      won365: 1,
      wonAmount365: 5000,
      lost365: 1,
      lostAmount365: 700,
      winRate365: 0.5,
    });
  });

  it('has no win rate without closed deals', () => {
    expect(insightsOf({ opportunities: [opportunity()] }).winRate365).toBeNull();
  });
});

describe('computeInsights: contracts', () => {
  const contracts = [
    contract({ contractId: 'active', totalValue: 100_000, endDate: NOW + 200 * DAY }),
    contract({ contractId: 'renewed', status: 'RENEWED', totalValue: 50_000, endDate: NOW + 30 * DAY }),
    // Still ACTIVE by status although its end date passed: counted, but it is no upcoming renewal.
    contract({ contractId: 'lapsed', totalValue: 10_000, endDate: NOW - DAY }),
    contract({ contractId: 'cancelled', status: 'CANCELLED', occurredAt: NOW - 100 * DAY }),
    contract({ contractId: 'expired', status: 'EXPIRED', startDate: midnight(TODAY - 1000), occurredAt: NOW - 600 * DAY }),
    contract({ contractId: 'cancelled-old', status: 'ACTIVE', occurredAt: NOW - 800 * DAY }),
    contract({ contractId: 'cancelled-old', status: 'CANCELLED', occurredAt: NOW - 400 * DAY }),
  ];

  it('counts active contracts, their value, the next renewal, cancellations and the first start', () => {
    expect(insightsOf({ contracts })).toMatchObject({
      activeContracts: 3,
      totalContractValue: 160_000,
      nextRenewalAt: NOW + 30 * DAY,
      cancelled365: 1,
      contractsSeen: 6,
      firstContractStartAt: midnight(TODAY - 1000),
    });
  });

  it('takes an end date equal to T as the next renewal, and none before T', () => {
    expect(insightsOf({ contracts: [contract({ endDate: NOW })] }).nextRenewalAt).toBe(NOW);
    expect(insightsOf({ contracts: [contract({ endDate: NOW - 1 })] }).nextRenewalAt).toBeNull();
  });

  it('takes the first start from the earliest start any contract event carried, kept apart from the records', () => {
    const renewed = contract({ contractId: 'renewed', status: 'RENEWED', startDate: midnight(TODAY - 10), occurredAt: NOW - 10 * DAY });
    expect(insightsOf({ contracts: [renewed], earliestContractStart: midnight(TODAY - 1100) }).firstContractStartAt).toBe(midnight(TODAY - 1100));
    expect(insightsOf({ contracts: [renewed] }).firstContractStartAt).toBe(midnight(TODAY - 10));
  });

  it('describes a prospect as having seen no contract', () => {
    expect(insightsOf({})).toMatchObject({ activeContracts: 0, totalContractValue: 0, contractsSeen: 0, firstContractStartAt: null });
  });
});

describe('computeInsights: support', () => {
  it('counts a ticket closed in the millisecond it was opened as closed, whatever the eventIds', () => {
    const tickets = [ticket({ eventId: 'z-open' }), ticket({ eventId: 'a-close', open: false })];
    expect(insightsOf({ tickets }).openTickets).toBe(0);
    expect(insightsOf({ tickets: [...tickets].reverse() }).openTickets).toBe(0);
    expect(insightsOf({ tickets: [ticket({ eventId: 'z-open' }), ticket({ eventId: 'a-open' })] }).openTickets).toBe(1);
  });

  it('counts open tickets whose latest event is inside the retention horizon', () => {
    const tickets = [
      ticket({ ticketId: 'open' }),
      ticket({ ticketId: 'closed', occurredAt: NOW - 9 * DAY }),
      ticket({ ticketId: 'closed', open: false, occurredAt: NOW - 8 * DAY }),
      // The 400-day horizon starts on day(T) − 399.
      ticket({ ticketId: 'stale', occurredAt: midnight(TODAY - 400) }),
      ticket({ ticketId: 'oldest-counted', occurredAt: midnight(TODAY - 399) }),
    ];
    expect(insightsOf({ tickets }).openTickets).toBe(2);
  });

  it('sums SLA breaches over the 90-day window', () => {
    const slaBreachDays = [
      { day: TODAY, count: 1 },
      { day: TODAY - 89, count: 2 },
      { day: TODAY - 90, count: 4 },
      { day: TODAY + 1, count: 8 },
    ];
    expect(insightsOf({ slaBreachDays }).slaBreaches90).toBe(3);
  });
});

describe('computeInsights: delivery order does not matter', () => {
  it('is invariant under any permutation of the state arrays and repeated entity records', () => {
    fc.assert(
      fc.property(stateArbitrary, fc.array(fc.integer(), { minLength: 1, maxLength: 60 }), (state, keys) => {
        const reordered: CustomerState = {
          ...state,
          activityDays: permute(state.activityDays, keys),
          slaBreachDays: permute(state.slaBreachDays, keys),
          // A repeated event leaves a repeated record at worst; it must count once.
          opportunities: permute([...state.opportunities, ...state.opportunities.slice(0, 2)], keys),
          contracts: permute([...state.contracts, ...state.contracts.slice(0, 2)], keys),
          tickets: permute([...state.tickets, ...state.tickets.slice(0, 2)], keys),
        };
        expect(computeInsights(reordered, NOW, RETENTION)).toEqual(computeInsights(state, NOW, RETENTION));
      }),
      { numRuns: 300 },
    );
  });
});
