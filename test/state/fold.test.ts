// The pure fold (packages/scoring fold.ts) is the store: for random events, applied in a random order with
// random arrival clocks, upstream duplicates, erasures and a bound on entities, the CustomerState foldEvents builds equals the one
// read back from Redis after applyEvents, as of the latest clock and as of a later day. Training computes its
// features with the fold, so a difference here would train the model on other numbers than the scorer sees.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ACTIVITY_TYPES, CONTRACT_STATUSES, OPPORTUNITY_STAGES, type InputEvent } from '@churnscore/domain';
import { CustomerFold } from '@churnscore/scoring';
import { DAY, Feed, HOUR, NOW, activity, contract, openStateTest, opportunity, profile, type StateTestContext } from './fixtures';

let context: StateTestContext;
/** A store that keeps two entities per customer: the bound is met in most scenarios, by tickets, deals and contracts alike. */
let bounded: StateTestContext;
beforeAll(async () => {
  context = await openStateTest('fold');
  bounded = await openStateTest('fold-bounded', { maxEntities: 2 });
});
afterAll(async () => {
  await context.close();
  await bounded.close();
});

// Few distinct instants, so that ties on occurredAt are common; some beyond the 400-day horizon of some clocks.
const occurredAt = fc.constantFrom(...[0, 2, 399, 401, 900].map((days) => NOW - days * DAY), NOW + HOUR);
// Arrival clocks: a backlog at NOW, live arrivals over time, and pairs just inside and outside the 7-day dedupe window.
const receivedAt = fc.constantFrom(...[0, 1, 7, 8, 30, 500].map((days) => NOW - days * DAY), NOW - 7 * DAY - 2 * HOUR, NOW - 7 * DAY + 2 * HOUR);
// Characters whose UTF-16 order differs from their UTF-8 byte order (U+FFFD vs an astral one), so ties test the byte order.
const eventId = fc.string({ unit: fc.constantFrom('a', '\uFFFD', '😀'), minLength: 1, maxLength: 3 });

type Draft = (customerId: string, at: number, id: string) => InputEvent;
const draft: fc.Arbitrary<Draft> = fc.oneof(
  fc
    .record({
      type: fc.constantFrom(...ACTIVITY_TYPES),
      value: fc.option(fc.oneof(fc.integer({ min: -2, max: 10 }), fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant(0.0004))),
      ticketId: fc.option(fc.constantFrom('T1', 'T{2}%')),
      slaBreached: fc.option(fc.boolean()),
    })
    .map(({ type, ...extra }): Draft => (c, at, id) => activity(c, type, at, { ...extra, eventId: id })),
  // one ticket's opens and closes, often at the same instant: a close outranks its open whatever the eventIds
  fc
    .record({ type: fc.constantFrom('SUPPORT_TICKET_OPENED', 'SUPPORT_TICKET_CLOSED' as const), slaBreached: fc.option(fc.boolean()) })
    .map(({ type, slaBreached }): Draft => (c, at, id) => activity(c, type, at, { ticketId: 'T1', slaBreached, eventId: id })),
  fc
    .record({
      id: fc.constantFrom('O1', 'O2'),
      stage: fc.constantFrom(...OPPORTUNITY_STAGES),
      amount: fc.integer({ min: 0, max: 1e7 }),
      probability: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
      openQuotes: fc.option(fc.nat({ max: 5 })),
    })
    .map(({ id, stage, ...extra }): Draft => (c, at, eventId) => opportunity(c, id, stage, at, { ...extra, eventId })),
  fc
    .record({
      id: fc.constantFrom('C1', 'C2'),
      status: fc.constantFrom(...CONTRACT_STATUSES),
      // Terms move on: a renewal may carry the new term's start, and the earliest start any event carried is kept apart.
      startsInDays: fc.integer({ min: -800, max: -400 }),
      endsInDays: fc.integer({ min: -400, max: 400 }),
    })
    .map(({ id, status, startsInDays, endsInDays }): Draft => (c, at, eventId) =>
      contract(c, id, status, at, { eventId, startDate: NOW + startsInDays * DAY, endDate: NOW + endsInDays * DAY }),
    ),
  fc.option(fc.constantFrom('SMB', 'ENTERPRISE')).map((segment): Draft => (c, at, id) => profile(c, segment, at, id)),
);

const delivery = fc.oneof(
  { weight: 50, arbitrary: fc.record({ draft, at: occurredAt, eventId, receivedAt }) },
  // An erasure request, as of when it occurred: the customer's events from before it are never applied afterwards.
  { weight: 1, arbitrary: fc.record({ erasedAt: occurredAt }) },
);
// Each delivery is sent once or more (upstream duplicates: the same eventId at other offsets, at any clock).
const scenario = fc.array(fc.record({ delivery, copies: fc.array(receivedAt, { maxLength: 2 }) }), { minLength: 1, maxLength: 60, size: 'large' });

let run = 0;

async function foldEqualsStore({ store }: StateTestContext): Promise<void> {
  await fc.assert(
    fc.asyncProperty(scenario, async (deliveries) => {
      const customerId = `fold{${++run}}%`;
      const fold = new CustomerFold(customerId, { retentionDays: store.retentionDays, dedupeWindowDays: store.dedupeWindowDays, maxEntities: store.maxEntities });
      const feed = new Feed();
      let latestClock = NOW - 500 * DAY;
      for (const { delivery: sent, copies } of deliveries) {
        if ('erasedAt' in sent) {
          await store.eraseCustomer(customerId, sent.erasedAt);
          fold.apply({ ...profile(customerId, null, sent.erasedAt), erase: true }, NOW);
          continue;
        }
        const event = sent.draft(customerId, sent.at, sent.eventId);
        const clocks = [sent.receivedAt, ...copies];
        const items = clocks.map((clock) => ({ ...feed.items(event)[0]!, receivedAt: clock }));
        const outcomes = await store.applyEvents(items, NOW);
        expect(outcomes.map((outcome) => outcome.outcome)).toEqual(clocks.map((clock) => fold.apply(event, clock)));
        latestClock = Math.max(latestClock, ...clocks);
      }
      for (const asOf of [latestClock, NOW + 200 * DAY]) {
        const [snapshot] = await store.readCustomers([customerId], asOf);
        expect(fold.stateAsOf(asOf)).toEqual(snapshot?.state);
      }
    }),
    { numRuns: 80 },
  );
}

it('foldEvents builds the state the store reads back, for any events, order, clocks, duplicates and erasures', () => foldEqualsStore(context));

it('and refuses, as the store does, events that would add an entity past the bound', () => foldEqualsStore(bounded));
