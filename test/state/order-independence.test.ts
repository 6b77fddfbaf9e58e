// SPEC §4: any permutation of the same set of events, with any duplicates and redeliveries, gives the
// same stored state. Checked against real Redis: one namespace gets every event once, in order; another
// gets them shuffled, with upstream duplicates (new offsets) and a redelivered stretch (same offsets).
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { InputEvent } from '@churnscore/domain';
import { Feed, NOW, eventDraft, eventInstant, openStateTest, type StateTestContext } from './fixtures';

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
const scenario = fc
  .array(fc.record({ customer: fc.constantFrom(...CUSTOMERS), at: eventInstant, draft: eventDraft, eventId: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 6 }) }), {
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

      // Everything but the incarnation, which is when each store created the state; each store has one.
      const read = async (t: StateTestContext) =>
        (await t.store.readCustomers(customers, NOW)).map(({ incarnation, ...snapshot }) => ({ ...snapshot, incarnated: incarnation !== '' }));
      expect(await read(shuffled)).toEqual(await read(inOrder));
    }),
    { numRuns: 60 },
  );
});
