// SPEC §4: any permutation of the same set of events, with any duplicates and redeliveries, gives the
// same stored state. Checked against real Redis: one namespace gets every event once, in order; another
// gets them shuffled, with upstream duplicates (new offsets) and a redelivered stretch (same offsets).
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ACTIVITY_TYPES, CONTRACT_STATUSES, OPPORTUNITY_STAGES } from '@churnscore/domain';
import type { InputEvent } from '@churnscore/domain';
import { DAY, Feed, HOUR, NOW, activity, contract, openStateTest, opportunity, profile, type StateTestContext } from './fixtures';

let inOrder: StateTestContext;
let shuffled: StateTestContext;
beforeAll(async () => {
  inOrder = await openStateTest('order-reference');
  shuffled = await openStateTest('order-shuffled');
});
afterAll(async () => {
  await inOrder.close();
  await shuffled.close();
});

const CUSTOMERS = ['c1', 'c{2}', 'c:3%'];
// Few distinct instants, so that ties on occurredAt (broken by eventId) are common; some lie beyond
// the 400-day retention horizon, where events change no window but still decide entity state.
const instant = fc.constantFrom(...[0, 1, 2, 30, 200, 399, 401, 600].map((days) => NOW - days * DAY), NOW - HOUR, NOW + HOUR);

type Draft = (customerId: string, occurredAt: number) => InputEvent;
const draft: fc.Arbitrary<Draft> = fc.oneof(
  fc
    .record({
      type: fc.constantFrom(...ACTIVITY_TYPES),
      value: fc.option(fc.double({ min: -2, max: 1e6, noNaN: true, noDefaultInfinity: true })),
      ticketId: fc.option(fc.constantFrom('T1', 'T2')),
      slaBreached: fc.option(fc.boolean()),
    })
    .map(({ type, ...extra }): Draft => (c, at) => activity(c, type, at, extra)),
  fc
    .record({ id: fc.constantFrom('O1', 'O2'), stage: fc.constantFrom(...OPPORTUNITY_STAGES), amount: fc.integer({ min: 0, max: 1e7 }) })
    .map(({ id, stage, amount }): Draft => (c, at) => opportunity(c, id, stage, at, { amount })),
  fc
    .record({ id: fc.constantFrom('C1', 'C2'), status: fc.constantFrom(...CONTRACT_STATUSES) })
    .map(({ id, status }): Draft => (c, at) => contract(c, id, status, at)),
  fc.option(fc.constantFrom('SMB', 'ENTERPRISE')).map((segment): Draft => (c, at) => profile(c, segment, at)),
);

const scenario = fc
  .array(fc.record({ customer: fc.constantFrom(...CUSTOMERS), at: instant, draft, eventId: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 6 }) }), {
    minLength: 1,
    maxLength: 60,
  })
  .chain((drafts) =>
    fc.record({
      drafts: fc.constant(drafts),
      // an ordering of the events, and the indexes of events sent twice more
      order: fc.shuffledSubarray(drafts.map((_, i) => i), { minLength: drafts.length, maxLength: drafts.length }),
      duplicates: fc.array(fc.nat({ max: drafts.length - 1 }), { maxLength: 20 }),
      redelivered: fc.nat({ max: drafts.length }),
    }),
  );

let run = 0;

it('any permutation with duplicates and redeliveries stores the same state', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ drafts, order, duplicates, redelivered }) => {
      const customers = CUSTOMERS.map((c) => `run${++run}-${c}`);
      const events = drafts.map(({ customer, at, draft: make, eventId }, i) => {
        const event = make(customers[CUSTOMERS.indexOf(customer)] as string, at);
        // unique per logical event, in a random order relative to occurredAt
        return { ...event, eventId: `${eventId}-${i}` };
      });
      await inOrder.store.applyEvents(new Feed().items(...events), NOW);

      const delivery = [...order, ...duplicates].map((i) => events[i] as InputEvent);
      const items = new Feed().items(...delivery);
      await shuffled.store.applyEvents(items, NOW);
      const again = await shuffled.store.applyEvents(items.slice(0, redelivered), NOW);
      expect(again.every((r) => r.outcome === 'redelivered')).toBe(true);

      const expected = await inOrder.store.readCustomers(customers, NOW);
      expect(await shuffled.store.readCustomers(customers, NOW)).toEqual(expected);
    }),
    { numRuns: 60 },
  );
});
