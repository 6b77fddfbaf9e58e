// SPEC §4/§8: any permutation of the same events, with any duplicates, spread over partitions, gives
// exactly the aggregates and scores of the same set delivered once, in order.
import type { InputEvent } from '@churnscore/domain';
import { ACTIVITY_TYPES, OPPORTUNITY_STAGES, CONTRACT_STATUSES } from '@churnscore/domain';
import { sampleActivity, sampleContract, sampleCustomer, sampleOpportunity } from '@churnscore/events/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ManualClock, ScorerTestBed } from './support';

const DAY = 86_400_000;
const T = Date.UTC(2026, 3, 10, 9, 30, 0);
const PARTITIONS = 3;
const SCORE_FIELDS = ['health', 'band', 'churnRisk', 'riskBand', 'lifecycleStage', 'valueAtRisk', 'segment'] as const;

const inOrder = new ScorerTestBed('in-order');
const shuffled = new ScorerTestBed('shuffled');
const clock = new ManualClock(T);

beforeAll(async () => {
  await Promise.all([inOrder.setUp(1), shuffled.setUp(PARTITIONS)]);
  await Promise.all([inOrder.startScorer({ clock: clock.now }), shuffled.startScorer({ clock: clock.now })]);
});
afterAll(() => Promise.all([inOrder.tearDown(), shuffled.tearDown()]));

/** Events of a few customers: activity of every type, and opportunity, contract and profile updates. */
const eventsArbitrary = (run: number) => {
  const customerId = fc.constantFrom(`run${run}-a`, `run${run}-b`, `run${run}-c`);
  const ago = fc.integer({ min: 0, max: 420 * DAY });
  const activity = fc.record({ customerId, ago, type: fc.constantFrom(...ACTIVITY_TYPES), value: fc.integer({ min: -2, max: 2 }), ticket: fc.constantFrom('t1', 't2', 't3'), sla: fc.boolean() });
  const opportunity = fc.record({ customerId, ago, id: fc.constantFrom('o1', 'o2', 'o3'), stage: fc.constantFrom(...OPPORTUNITY_STAGES), amount: fc.integer({ min: 0, max: 100_000 }) });
  const contract = fc.record({ customerId, ago, id: fc.constantFrom('k1', 'k2'), status: fc.constantFrom(...CONTRACT_STATUSES), value: fc.integer({ min: 0, max: 200_000 }), length: fc.integer({ min: 30, max: 700 }) });
  const profile = fc.record({ customerId, ago, segment: fc.constantFrom('SMB', 'ENTERPRISE') });
  return fc.array(fc.oneof(activity.map((a) => ({ a })), opportunity.map((o) => ({ o })), contract.map((c) => ({ c })), profile.map((p) => ({ p }))), { minLength: 5, maxLength: 40 }).map((specs) =>
    specs.map((spec, i): InputEvent => {
      const eventId = `run${run}-e${i}`;
      if ('a' in spec) {
        const { customerId, ago, type, value, ticket, sla } = spec.a;
        const scaled = type === 'NPS_RESPONSE' ? value + 8 : type === 'PRODUCT_USAGE' ? value + 3 : value;
        const carriesValue = ['NPS_RESPONSE', 'CSM_SENTIMENT', 'PRODUCT_USAGE'].includes(type);
        const isTicket = type.startsWith('SUPPORT_TICKET');
        return sampleActivity({ customerId, eventId, occurredAt: T - ago, activityType: type, value: carriesValue ? scaled : null, ticketId: isTicket ? ticket : null, slaBreached: isTicket ? sla : null });
      }
      if ('o' in spec) {
        const { customerId, ago, id, stage, amount } = spec.o;
        return sampleOpportunity({ customerId, eventId, occurredAt: T - ago, opportunityId: id, stage, amount, probability: null, openQuotes: null });
      }
      if ('c' in spec) {
        const { customerId, ago, id, status, value, length } = spec.c;
        const start = Math.floor((T - ago) / DAY) * DAY;
        return sampleContract({ customerId, eventId, occurredAt: T - ago, contractId: id, status, totalValue: value, startDate: start, endDate: start + length * DAY });
      }
      const { customerId, ago, segment } = spec.p;
      return sampleCustomer({ customerId, eventId, occurredAt: T - ago, segment });
    }),
  );
};

/** Duplicates some events (same eventId), shuffles everything, and spreads it over the partitions. */
const redeliveryArbitrary = (events: InputEvent[]) =>
  fc
    .tuple(fc.array(fc.nat({ max: events.length - 1 }), { maxLength: events.length }), fc.array(fc.nat({ max: PARTITIONS - 1 }), { minLength: events.length * 2, maxLength: events.length * 2 }))
    .chain(([duplicates, partitions]) =>
      fc.shuffledSubarray([...events, ...duplicates.map((i) => events[i]!)], { minLength: events.length + duplicates.length }).map((messy) => ({ messy, partitions })),
    );

async function settled(bed: ScorerTestBed, events: readonly InputEvent[]) {
  const customers = [...new Set(events.map((e) => e.customerId))].sort();
  const expected = new Map(customers.map((c) => [c, new Set(events.filter((e) => e.customerId === c).map((e) => e.eventId)).size]));
  return eventually(
    async () => Promise.all(customers.map(async (c) => ({ customer: c, score: await bed.scoreHash(c), insights: await bed.insightsHash(c) }))),
    (views) => views.every((v) => Number(v.score.revision) === expected.get(v.customer)),
    60_000,
    'every distinct event to be applied',
  );
}

describe('aggregates and scores are independent of delivery order and duplicates', () => {
  it('holds for random event sets', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer().chain(() => eventsArbitrary(++run)).chain((events) => redeliveryArbitrary(events).map((r) => ({ events, ...r }))),
        async ({ events, messy, partitions }) => {
          await inOrder.publish(events);
          await shuffled.publish(messy, (_event, index) => partitions[index] ?? 0);
          const [once, redelivered] = await Promise.all([settled(inOrder, events), settled(shuffled, events)]);
          for (const [i, view] of once.entries()) {
            const other = redelivered[i]!;
            const { asOf: _a, ...insights } = view.insights;
            const { asOf: _b, ...otherInsights } = other.insights;
            // Every customer here has an event, so something besides asOf is non-zero or set (zeros and nulls are left out).
            expect(Object.keys(insights).length).toBeGreaterThan(0);
            expect(otherInsights).toEqual(insights);
            for (const field of SCORE_FIELDS) expect(other.score[field]).toEqual(view.score[field]);
          }
        },
      ),
      // Each run goes through Kafka: report a counterexample as found rather than shrink it for minutes.
      { numRuns: 8, endOnFailure: true },
    );
    // Eight rounds through Kafka and two scorers: seconds on a quiet machine, much more on a loaded one.
  }, 240_000);
});
