// The bound on a customer's entities (maxEntities): an event that would add a ticket, opportunity or contract past it
// is refused and changes nothing but its watermark and its partition's refused offsets; the customer's other events go
// on being applied; and a refused event stays refused however it comes back (redelivered after a crash lost its
// dead-lettering, or sent again) until there is room or the caller says it is settled, while an applied one
// redelivered is never applied twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, Feed, HOUR, NOW, activity, contract, openStateTest, opportunity, profile, storedBytes, type StateTestContext } from './fixtures';

const MAX_ENTITIES = 3;

let t: StateTestContext;
beforeAll(async () => {
  t = await openStateTest('entity-limit', { maxEntities: MAX_ENTITIES });
});
afterAll(() => t.close());

const outcomes = async (items: Parameters<typeof t.store.applyEvents>[0], now = NOW) => (await t.store.applyEvents(items, now)).map((result) => result.outcome);

describe('a customer at the bound', () => {
  it('has events adding an entity refused, whatever its kind, and every other event applied', async () => {
    const customerId = 'full{1}';
    const feed = new Feed();
    expect(
      await outcomes(
        feed.items(
          opportunity(customerId, 'O1', 'LEAD', NOW - 3 * HOUR),
          contract(customerId, 'C1', 'ACTIVE', NOW - 3 * HOUR),
          activity(customerId, 'SUPPORT_TICKET_OPENED', NOW - 3 * HOUR, { ticketId: 'T1' }),
        ),
      ),
    ).toEqual(['applied', 'applied', 'applied']);
    const before = await storedBytes(t, customerId);

    const adding = feed.items(
      opportunity(customerId, 'O2', 'LEAD', NOW - 2 * HOUR),
      contract(customerId, 'C2', 'ACTIVE', NOW - 2 * HOUR),
      activity(customerId, 'SUPPORT_TICKET_OPENED', NOW - 2 * HOUR, { ticketId: 'T2' }),
      // a ticket opened without an id is an entity of its own
      activity(customerId, 'SUPPORT_TICKET_OPENED', NOW - 2 * HOUR),
    );
    expect(await outcomes(adding)).toEqual(['refused', 'refused', 'refused', 'refused']);
    const after = await storedBytes(t, customerId);
    // nothing but the watermarks moved, and each partition's refused offsets were kept
    expect({ ...after, state: {} }).toEqual({ ...before, state: {} });
    const changed = Object.keys(after.state).filter((field) => after.state[field] !== before.state[field]);
    expect(Object.fromEntries(changed.filter((field) => !field.startsWith('w:')).map((field) => [field, after.state[field]]))).toEqual({
      'x:crm.opportunity.v1:0': '1',
      'x:crm.contract.v1:0': '1',
      'x:crm.activity.v1:0': '1-2',
    });

    expect(
      await outcomes(
        feed.items(
          opportunity(customerId, 'O1', 'CLOSED_WON', NOW - HOUR),
          contract(customerId, 'C1', 'CANCELLED', NOW - HOUR),
          activity(customerId, 'SUPPORT_TICKET_CLOSED', NOW - HOUR, { ticketId: 'T1' }),
          activity(customerId, 'MEETING', NOW - HOUR),
          activity(customerId, 'NPS_RESPONSE', NOW - HOUR, { value: 9 }),
          profile(customerId, 'ENTERPRISE', NOW - HOUR),
        ),
      ),
    ).toEqual(['applied', 'applied', 'applied', 'applied', 'applied', 'applied']);
    const [snapshot] = await t.store.readCustomers([customerId], NOW);
    expect(snapshot!.state.revision).toBe(9);
    expect(snapshot!.state.opportunities.map((o) => [o.opportunityId, o.stage])).toEqual([['O1', 'CLOSED_WON']]);
    expect(snapshot!.state.segment).toBe('ENTERPRISE');
  });

  it('keeps its entity records bounded however many new ids a producer mints', async () => {
    const customerId = 'minting';
    const feed = new Feed();
    const results = await outcomes(feed.items(...Array.from({ length: 500 }, (_, n) => opportunity(customerId, `line-item-${n}`, 'LEAD', NOW - HOUR))));
    expect(results.filter((outcome) => outcome === 'applied')).toHaveLength(MAX_ENTITIES);
    expect(results.slice(MAX_ENTITIES).every((outcome) => outcome === 'refused')).toBe(true);
    const ent = (await t.redis.get(t.store.keys.customer(customerId).ent)) ?? '';
    expect(ent.split('\n').filter(Boolean)).toHaveLength(MAX_ENTITIES);
  });
});

describe('a refused event', () => {
  it('is refused again when redelivered, even behind applied offsets, and applied once there is room', async () => {
    const customerId = 'redelivered-refusal';
    const feed = new Feed();
    // The oldest ticket leaves the 400-day horizon two days after NOW: its record is then dropped, which makes room.
    const [oldTicket, ...others] = feed.items(
      activity(customerId, 'SUPPORT_TICKET_OPENED', NOW - 399 * DAY, { ticketId: 'T-old' }),
      opportunity(customerId, 'O1', 'LEAD', NOW - DAY),
      opportunity(customerId, 'O2', 'LEAD', NOW - DAY),
    );
    const [refused, afterIt, alsoRefused] = feed.items(
      opportunity(customerId, 'O3', 'LEAD', NOW - HOUR),
      opportunity(customerId, 'O1', 'PROPOSAL', NOW - HOUR),
      opportunity(customerId, 'O4', 'LEAD', NOW - HOUR),
    );
    const unit = [oldTicket!, ...others, refused!, afterIt!, alsoRefused!];
    expect(await outcomes(unit)).toEqual(['applied', 'applied', 'applied', 'refused', 'applied', 'refused']);

    // A crash before the refusals reached the DLQ: the unit is consumed again from its committed offset.
    expect(await outcomes(unit, NOW + HOUR)).toEqual(['redelivered', 'redelivered', 'redelivered', 'refused', 'redelivered', 'refused']);
    // Two days later the old ticket has aged out (it counts no more and its record is dropped): the first refusal now
    // fits, and the second is still refused, still kept.
    expect(await outcomes([refused!, alsoRefused!], NOW + 2 * DAY)).toEqual(['applied', 'refused']);
    expect(await t.redis.hget(t.store.keys.customer(customerId).state, 'x:crm.opportunity.v1:0')).toBe(alsoRefused!.offset);
    expect(await outcomes([refused!, alsoRefused!], NOW + 2 * DAY)).toEqual(['redelivered', 'refused']);
    const [snapshot] = await t.store.readCustomers([customerId], NOW + 2 * DAY);
    expect(snapshot!.state.opportunities.map((o) => [o.opportunityId, o.stage])).toEqual([
      ['O1', 'PROPOSAL'],
      ['O2', 'LEAD'],
      ['O3', 'LEAD'],
    ]);
    expect(snapshot!.state.revision).toBe(5);
  });

  it('is not remembered as seen: a copy at a new offset is judged afresh', async () => {
    const customerId = 'copied-refusal';
    const feed = new Feed();
    await outcomes(feed.items(...['O1', 'O2', 'O3'].map((id) => opportunity(customerId, id, 'LEAD', NOW - DAY))));
    const extra = opportunity(customerId, 'O4', 'LEAD', NOW - HOUR, { eventId: 'sent-twice' });
    expect(await outcomes(feed.items(extra))).toEqual(['refused']);
    expect(await outcomes(feed.items({ ...extra }))).toEqual(['refused']);
    expect(await t.redis.strlen(t.store.keys.customer(customerId).seen)).toBe(3 * 11);
  });
});

describe('a refused event settled', () => {
  const settled = (items: ReturnType<Feed['items']>, settledBelow: string) => items.map((item) => ({ ...item, settledBelow }));

  it('is a redelivery once a later unit says its partition is settled past it, and its offsets are forgotten', async () => {
    const customerId = 'settled-refusal';
    const feed = new Feed();
    await outcomes(feed.items(...['O1', 'O2', 'O3'].map((id) => opportunity(customerId, id, 'LEAD', NOW - DAY))));
    const refused = feed.items(opportunity(customerId, 'O4', 'LEAD', NOW - HOUR), opportunity(customerId, 'O5', 'LEAD', NOW - HOUR));
    expect(await outcomes(settled(refused, '3'))).toEqual(['refused', 'refused']);
    const state = t.store.keys.customer(customerId).state;
    expect(await t.redis.hget(state, 'x:crm.opportunity.v1:0')).toBe('3-4');
    // the next unit starts at offset 5: the two were dead-lettered before it
    expect(await outcomes(settled(feed.items(opportunity(customerId, 'O1', 'PROPOSAL', NOW)), '5'))).toEqual(['applied']);
    expect(await t.redis.hexists(state, 'x:crm.opportunity.v1:0')).toBe(0);
    expect(await outcomes(settled(refused, '5'), NOW + HOUR)).toEqual(['redelivered', 'redelivered']);
  });

  it('is kept as runs of consecutive offsets, split when one of them is applied, cut where they are settled', async () => {
    const customerId = 'refusal-runs';
    const feed = new Feed();
    // a ticket that leaves the horizon two days after NOW, and two deals: at the bound
    await outcomes([
      ...feed.items(activity(customerId, 'SUPPORT_TICKET_OPENED', NOW - 399 * DAY, { ticketId: 'T-old' })),
      ...feed.items(...['O1', 'O2'].map((id) => opportunity(customerId, id, 'LEAD', NOW - DAY))),
    ]);
    const flood = feed.items(...['A', 'B', 'C', 'D', 'E'].map((id) => opportunity(customerId, id, 'LEAD', NOW - HOUR)));
    expect(flood.map((item) => item.offset)).toEqual(['2', '3', '4', '5', '6']);
    expect(await outcomes(flood)).toEqual(['refused', 'refused', 'refused', 'refused', 'refused']);
    const state = t.store.keys.customer(customerId).state;
    expect(await t.redis.hget(state, 'x:crm.opportunity.v1:0')).toBe('2-6');
    // room for one two days later: the middle one, redelivered alone, is applied and splits the run
    expect(await outcomes([flood[2]!], NOW + 2 * DAY)).toEqual(['applied']);
    expect(await t.redis.hget(state, 'x:crm.opportunity.v1:0')).toBe('2-3,5-6');
    // a unit starting at offset 3 settles what lies before it
    expect(await outcomes(flood.slice(1).map((item) => ({ ...item, settledBelow: '3' })), NOW + 2 * DAY)).toEqual(['refused', 'redelivered', 'refused', 'refused']);
    expect(await t.redis.hget(state, 'x:crm.opportunity.v1:0')).toBe('3,5-6');
    expect(await outcomes([flood[0]!], NOW + 2 * DAY)).toEqual(['redelivered']);
  });

  it('is judged by its own clock: back-dated records refused, redelivered unsettled, are refused again', async () => {
    // A history import keeping event time: tickets of 410 days ago, in records stamped 405 days ago, reach a customer
    // at the bound whose sweep of today has run (their tickets count as of their own clock, not as of today's).
    const customerId = 'back-dated';
    const feed = new Feed();
    await outcomes(feed.items(...['O1', 'O2', 'O3'].map((id) => opportunity(customerId, id, 'LEAD', NOW - HOUR))));
    const backDated = feed
      .items(...[1, 2].map((n) => activity(customerId, 'SUPPORT_TICKET_OPENED', NOW - 410 * DAY, { ticketId: `old-${n}` })))
      .map((item) => ({ ...item, receivedAt: NOW - 405 * DAY }));
    expect(await outcomes(backDated)).toEqual(['refused', 'refused']);
    expect(await outcomes(backDated, NOW + HOUR)).toEqual(['refused', 'refused']);
  });
});

describe('an applied event redelivered at the bound', () => {
  it('is a redelivery, never applied twice, even once its ticket has aged out and been dropped', async () => {
    const customerId = 'redelivered-applied';
    const feed = new Feed();
    const items = feed.items(
      activity(customerId, 'SUPPORT_TICKET_OPENED', NOW - 399 * DAY, { ticketId: 'T-old' }),
      opportunity(customerId, 'O1', 'LEAD', NOW - DAY),
      contract(customerId, 'C1', 'ACTIVE', NOW - DAY),
    );
    expect(await outcomes(items)).toEqual(['applied', 'applied', 'applied']);
    expect(await outcomes(items, NOW + HOUR)).toEqual(['redelivered', 'redelivered', 'redelivered']);
    // The sweep two days later drops the aged ticket; its event redelivered with its original clock is still known.
    expect(await outcomes(feed.items(activity(customerId, 'CALL', NOW + 2 * DAY)), NOW + 2 * DAY)).toEqual(['applied']);
    expect(await outcomes(items.map((item) => ({ ...item, receivedAt: NOW })), NOW + 2 * DAY)).toEqual(['redelivered', 'redelivered', 'redelivered']);
    const [snapshot] = await t.store.readCustomers([customerId], NOW + 2 * DAY);
    expect(snapshot!.state.revision).toBe(4);
    expect(snapshot!.state.tickets).toEqual([]);
  });
});
