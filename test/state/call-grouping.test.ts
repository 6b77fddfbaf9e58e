// The apply script gathers a call's additions per day and splices only the lines it touches into the customer's
// strings (lua/applyEvents-5.lua). How a customer's events are grouped into calls must not change a byte of what
// it stores: one call with all of them writes what one call per event writes, retention sweeps between events of
// the call, additions to the same day and upstream duplicates included. Checked against real Redis.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Feed, HOUR, NOW, eventDraft, eventInstant, openStateTest, storedBytes, type StateTestContext } from './fixtures';

let together: StateTestContext;
let oneByOne: StateTestContext;
beforeAll(async () => {
  together = await openStateTest('grouping-together');
  oneByOne = await openStateTest('grouping-one-by-one');
});
afterAll(async () => {
  await together.close();
  await oneByOne.close();
});

const scenario = fc.record({
  drafts: fc.array(fc.record({ at: eventInstant, draft: eventDraft }), { minLength: 1, maxLength: 40 }),
  // Arrival clocks up to four days back: a call's later events arrive on later days and sweep the retention horizon.
  arrivals: fc.array(fc.nat({ max: 96 }), { minLength: 40, maxLength: 40 }),
  duplicates: fc.array(fc.nat({ max: 39 }), { maxLength: 10 }),
});

let run = 0;

it("one call with all of a customer's events stores what one call per event stores, byte for byte", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ drafts, arrivals, duplicates }) => {
      const customerId = `grouping-${++run}`;
      const events = drafts.map(({ at, draft }, i) => ({ ...draft(customerId, at), eventId: `e${i}` }));
      const delivery = [...events, ...duplicates.filter((i) => i < events.length).map((i) => events[i]!)];
      // A partition delivers in arrival order: the clocks rise along the delivery.
      const clocks = arrivals.slice(0, delivery.length).sort((a, b) => b - a).map((hoursAgo) => NOW - hoursAgo * HOUR);
      const items = new Feed().items(...delivery).map((item, i) => ({ ...item, receivedAt: clocks[i]! }));

      await together.store.applyEvents(items, NOW);
      for (const item of items) await oneByOne.store.applyEvents([item], NOW);

      expect(await storedBytes(together, customerId)).toEqual(await storedBytes(oneByOne, customerId));
    }),
    { numRuns: 60 },
  );
});
