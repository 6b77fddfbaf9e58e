import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utcDay } from '@churnscore/domain';
import { DAY, Feed, HOUR, NOW, activity, contract, openStateTest, opportunity, profile, storedBytes, type StateTestContext } from './fixtures';

let t: StateTestContext;
beforeAll(async () => {
  t = await openStateTest('apply');
});
afterAll(() => t.close());

const rawState = (customerId: string) => storedBytes(t, customerId);

const readOne = async (customerId: string, asOf = NOW) => {
  const [snapshot] = await t.store.readCustomers([customerId], asOf);
  if (!snapshot) throw new Error('no snapshot');
  return snapshot.state;
};

describe('applyEvents stores each aggregate input', () => {
  // A customerId with every character the key encoding escapes.
  const customerId = 'acme:{eu}%1';
  const today = utcDay(NOW);
  const events = {
    sent1: activity(customerId, 'EMAIL_SENT', NOW - 1 * HOUR),
    sent2: activity(customerId, 'EMAIL_SENT', NOW - 2 * HOUR),
    call: activity(customerId, 'CALL', NOW - 3 * HOUR),
    task: activity(customerId, 'FOLLOW_UP_TASK', NOW),
    received: activity(customerId, 'EMAIL_RECEIVED', NOW - DAY),
    usage1: activity(customerId, 'PRODUCT_USAGE', NOW - DAY, { value: 2.5 }),
    usage2: activity(customerId, 'PRODUCT_USAGE', NOW - DAY - HOUR, { value: 0.125 }),
    usageNoValue: activity(customerId, 'PRODUCT_USAGE', NOW - 2 * DAY),
    sentiment: activity(customerId, 'CSM_SENTIMENT', NOW - 2 * DAY, { value: -1 }),
    ticketOpened: activity(customerId, 'SUPPORT_TICKET_OPENED', NOW - 10 * DAY, { ticketId: 'T1', slaBreached: true }),
    ticketClosed: activity(customerId, 'SUPPORT_TICKET_CLOSED', NOW - 5 * DAY, { ticketId: 'T1' }),
    ticketWithoutId: activity(customerId, 'SUPPORT_TICKET_OPENED', NOW - 4 * DAY, { slaBreached: true }),
    meeting: activity(customerId, 'MEETING', NOW - 6 * DAY),
    npsNew: activity(customerId, 'NPS_RESPONSE', NOW - 20 * DAY, { value: 9 }),
    npsOld: activity(customerId, 'NPS_RESPONSE', NOW - 30 * DAY, { value: 3 }),
    deal: opportunity(customerId, 'O1', 'PROPOSAL', NOW - 3 * DAY, { amount: 5000, probability: 0.4, openQuotes: 2 }),
    subscription: contract(customerId, 'C1', 'ACTIVE', NOW - 100 * DAY),
    segment: profile(customerId, 'ENTERPRISE', NOW - 50 * DAY),
  };

  it('as the hand-worked CustomerState', async () => {
    const results = await t.store.applyEvents(new Feed().items(...Object.values(events)), NOW);
    expect(results.map((r) => r.outcome)).toEqual(Object.values(events).map(() => 'applied'));
    expect(results.map((r) => r.revision)).toEqual(Object.values(events).map((_, i) => i + 1));

    expect(await readOne(customerId)).toEqual({
      customerId,
      segment: 'ENTERPRISE',
      activityDays: [
        { day: today - 30, type: 'NPS_RESPONSE', count: 1, valueSum: 0 },
        { day: today - 20, type: 'NPS_RESPONSE', count: 1, valueSum: 0 },
        { day: today - 10, type: 'SUPPORT_TICKET_OPENED', count: 1, valueSum: 0 },
        { day: today - 6, type: 'MEETING', count: 1, valueSum: 0 },
        { day: today - 5, type: 'SUPPORT_TICKET_CLOSED', count: 1, valueSum: 0 },
        { day: today - 4, type: 'SUPPORT_TICKET_OPENED', count: 1, valueSum: 0 },
        { day: today - 2, type: 'PRODUCT_USAGE', count: 1, valueSum: 0 },
        { day: today - 2, type: 'CSM_SENTIMENT', count: 1, valueSum: 0 },
        { day: today - 1, type: 'EMAIL_RECEIVED', count: 1, valueSum: 0 },
        { day: today - 1, type: 'PRODUCT_USAGE', count: 2, valueSum: 2.625 },
        { day: today, type: 'EMAIL_SENT', count: 2, valueSum: 0 },
        { day: today, type: 'CALL', count: 1, valueSum: 0 },
        { day: today, type: 'FOLLOW_UP_TASK', count: 1, valueSum: 0 },
      ],
      slaBreachDays: [
        { day: today - 10, count: 1 },
        { day: today - 4, count: 1 },
      ],
      lastActivityAt: NOW,
      lastInboundAt: NOW - 3 * HOUR,
      // The call of three hours ago: our emails and follow-up task since are not the customer's own.
      lastCustomerActivityAt: NOW - 3 * HOUR,
      earliestContractStart: Date.UTC(2025, 0, 1),
      opportunities: [
        { opportunityId: 'O1', occurredAt: NOW - 3 * DAY, eventId: events.deal.eventId, stage: 'PROPOSAL', amount: 5000, probability: 0.4, openQuotes: 2 },
      ],
      contracts: [
        {
          contractId: 'C1',
          occurredAt: NOW - 100 * DAY,
          eventId: events.subscription.eventId,
          contractType: 'SUBSCRIPTION',
          totalValue: 12_000,
          startDate: Date.UTC(2025, 0, 1),
          endDate: Date.UTC(2026, 0, 1),
          status: 'ACTIVE',
        },
      ],
      tickets: [
        { ticketId: 'T1', occurredAt: NOW - 5 * DAY, eventId: events.ticketClosed.eventId, open: false },
        { ticketId: events.ticketWithoutId.eventId, occurredAt: NOW - 4 * DAY, eventId: events.ticketWithoutId.eventId, open: true },
      ],
      latestNps: { occurredAt: NOW - 20 * DAY, eventId: events.npsNew.eventId, value: 9 },
      latestCsmSentiment: { occurredAt: NOW - 2 * DAY, eventId: events.sentiment.eventId, value: -1 },
      revision: Object.keys(events).length,
    });
  });

  it('in the documented layout', async () => {
    const k = t.store.keys.customer(customerId);
    expect(k.state).toBe(`${t.prefix}:cust:{acme:%7Beu%7D%251}:state`);
    // a line per 32-day period: period 632 = days 20224–20255 ("0HK"), the day buckets comma-separated
    const act = (await t.redis.get(k.act))?.split('\n');
    expect(today).toBe(20240);
    // (the tickets' SLA breaches are not counted here but in ent, once per ticket)
    expect(act).toContain('0HK,,,,,,f,,,,d,g,f,,hj,bh2u2.625,a2ce');
    expect(act).toContain(`0HJ${','.repeat(18)}i${','.repeat(10)}i`);
    const ent = (await t.redis.get(k.ent)) ?? '';
    // a ticket's eventId carries its phase first ('1' closed), so that a close outranks a same-instant open
    expect(ent.split('\n')).toContain(`t:T1\t[${NOW - 5 * DAY},"1${events.ticketClosed.eventId}",1,0]`);
    // its first SLA breach, earliest wins: [occurredAt, eventId, agesOut 0], gone with the ticket's record
    expect(ent.split('\n')).toContain(`b:T1\t[${NOW - 10 * DAY},"${events.ticketOpened.eventId}",0]`);
    expect(await t.redis.hget(k.state, 'w:crm.activity.v1:0')).toBe('14');
    expect(await t.redis.hget(k.state, 'firstStart')).toBe(String(Date.UTC(2025, 0, 1)));
    expect(await t.redis.object('ENCODING', k.state)).toBe('listpack');
  });
});

describe('idempotence', () => {
  it('a redelivery (same topic, partition and offsets) is a no-op', async () => {
    const customerId = 'redelivered';
    const items = new Feed().items(
      activity(customerId, 'EMAIL_SENT', NOW - HOUR),
      activity(customerId, 'PRODUCT_USAGE', NOW - HOUR, { value: 3 }),
      opportunity(customerId, 'O1', 'LEAD', NOW - DAY),
    );
    await t.store.applyEvents(items, NOW);
    const before = await rawState(customerId);
    const again = await t.store.applyEvents(items, NOW + HOUR);
    expect(again).toEqual(items.map(() => ({ outcome: 'redelivered', revision: 3 })));
    expect(await rawState(customerId)).toEqual(before);
  });

  it('an upstream duplicate (same eventId, new offset) changes nothing but the watermark', async () => {
    const customerId = 'duplicated';
    const feed = new Feed();
    const original = activity(customerId, 'MEETING', NOW - HOUR, { eventId: 'dup-1' });
    const [first] = await t.store.applyEvents(feed.items(original), NOW);
    const before = await rawState(customerId);
    const [duplicate] = await t.store.applyEvents(feed.items({ ...original }), NOW + HOUR);
    expect(first).toEqual({ outcome: 'applied', revision: 1 });
    expect(duplicate).toEqual({ outcome: 'duplicate', revision: 1 });
    const after = await rawState(customerId);
    expect(after.state['w:crm.activity.v1:0']).toBe('1');
    expect({ ...after, state: { ...after.state, 'w:crm.activity.v1:0': '0' } }).toEqual(before);
  });

  it("tells an eventId of one kind from the same id of another (a CRM's ids unique per table), an activity's digest as before", async () => {
    const customerId = 'per-table-ids';
    const feed = new Feed();
    const call = activity(customerId, 'CALL', NOW - HOUR, { eventId: '1001' });
    const deal = opportunity(customerId, 'O-7', 'PROPOSAL', NOW - HOUR, { eventId: '1001', amount: 50_000 });
    const results = await t.store.applyEvents(feed.items(call, deal, deal, call), NOW);
    expect(results.map((r) => r.outcome)).toEqual(['applied', 'applied', 'duplicate', 'duplicate']);
    expect((await readOne(customerId)).opportunities.map((o) => o.opportunityId)).toEqual(['O-7']);
    // The window remembers an activity by the first bytes of SHA-1 of its eventId, as windows written before did.
    const seen = await t.redis.getBuffer(t.store.keys.customer(customerId).seen);
    expect(seen!.subarray(3, 11)).toEqual(createHash('sha1').update('1001').digest().subarray(0, 8));
  });

  it('offsets are watermarked per topic and partition', async () => {
    const customerId = 'partitions';
    const event = (n: number) => activity(customerId, 'CALL', NOW - n * HOUR);
    const results = await t.store.applyEvents(
      [
        { event: event(1), topic: 'crm.activity.v1', partition: 0, offset: '10' },
        { event: event(2), topic: 'crm.activity.v1', partition: 1, offset: '5' },
        { event: event(3), topic: 'crm.other.v1', partition: 0, offset: '5' },
        { event: event(4), topic: 'crm.activity.v1', partition: 0, offset: '9' },
      ],
      NOW,
    );
    expect(results.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied', 'redelivered']);
  });

  it('remembers an eventId for the dedupe window after its arrival, then forgets it', async () => {
    const customerId = 'window';
    const feed = new Feed();
    const event = activity(customerId, 'CALL', NOW - 30 * DAY, { eventId: 'late-1' });
    await t.store.applyEvents(feed.items(event), NOW);
    const [within] = await t.store.applyEvents(feed.items(event), NOW + 7 * DAY);
    const [after] = await t.store.applyEvents(feed.items(event), NOW + 7 * DAY + 2 * HOUR);
    expect(within?.outcome).toBe('duplicate');
    expect(after?.outcome).toBe('applied');
    // the dedupe string holds one 11-byte record per remembered arrival
    expect(await t.redis.strlen(t.store.keys.customer(customerId).seen)).toBe(11);
  });

  it("keeps a busy customer's window exact while it grows by appends: copies within the window are duplicates, the oldest hour leaves first", async () => {
    const customerId = 'busy-window';
    const feed = new Feed();
    const RECORD_BYTES = 11;
    const call = (n: number) => activity(customerId, 'CALL', NOW - DAY, { eventId: `busy-${n}` });
    const first = Array.from({ length: 1_500 }, (_, n) => call(n));
    const second = Array.from({ length: 200 }, (_, n) => call(1_500 + n));
    await t.store.applyEvents(feed.items(...first), NOW);
    // one event a call, as live traffic brings them: each appended to a window already past 16 KB
    for (const event of second) await t.store.applyEvents(feed.items(event), NOW + HOUR);
    const copies = await t.store.applyEvents(feed.items(...first, ...second), NOW + 2 * HOUR);
    expect(new Set(copies.map((r) => r.outcome))).toEqual(new Set(['duplicate']));
    // 170 hours on, the first hour's arrivals are past the window (and its hour of grace), the second hour's not yet
    const later = await t.store.applyEvents(feed.items(call(0), call(1_500)), NOW + 170 * HOUR);
    expect(later.map((r) => r.outcome)).toEqual(['applied', 'duplicate']);
    expect(await t.redis.strlen(t.store.keys.customer(customerId).seen)).toBe((second.length + 1) * RECORD_BYTES);
  });

  /** A busy customer's calls (eventIds numbered), and its window index's filters as `capacity/remaining`. */
  const busyCustomer = (customerId: string) => {
    const call = (n: number) => activity(customerId, 'CALL', NOW - DAY, { eventId: `${customerId}-${n}` });
    const calls = (from: number, count: number) => Array.from({ length: count }, (_, n) => call(from + n));
    const header = () => t.redis.getrange(t.store.keys.customer(customerId).seenIndex, 0, 511);
    const filters = async () => [...(await header()).matchAll(/(\d+):(\d+):(\d+);/g)].map(([, capacity, , left]) => `${capacity}/${left}`);
    return { call, calls, filters };
  };

  it("keeps a busy customer's window exact through its index: filters added as it grows, the oldest dropped once its records left, an index out of step built anew", async () => {
    const customerId = 'indexed-window';
    const { seen, seenIndex } = t.store.keys.customer(customerId);
    const feed = new Feed();
    const { call, calls, filters } = busyCustomer(customerId);
    // 1,500 records reach the window's 16 KB: its first filter, of room for twice as many, in the same call
    await t.store.applyEvents(feed.items(...calls(0, 1_500)), NOW);
    expect(await filters()).toEqual(['3000/1500']);
    // an hour later, 2,000 more in calls of 200: the first filter full at 3,000, then a second of twice its room
    for (let from = 1_500; from < 3_500; from += 200) await t.store.applyEvents(feed.items(...calls(from, 200)), NOW + HOUR);
    expect(await filters()).toEqual(['3000/3000', '6000/500']);
    const copies = await t.store.applyEvents(feed.items(...calls(0, 3_500)), NOW + 2 * HOUR);
    expect(new Set(copies.map((r) => r.outcome))).toEqual(new Set(['duplicate']));
    // a window the index is out of step with (written by a scorer without one, or the index lost): built anew from it
    await t.redis.del(seenIndex);
    const [fresh, copy] = await t.store.applyEvents(feed.items(call(3_500), call(10)), NOW + 2 * HOUR);
    expect([fresh?.outcome, copy?.outcome]).toEqual(['applied', 'duplicate']);
    expect(await filters()).toEqual(['7002/3501']);
    // 170 hours after the first hour, its 1,500 arrivals leave the window; the rest stays
    const later = await t.store.applyEvents(feed.items(call(0), call(1_500)), NOW + 170 * HOUR);
    expect(later.map((r) => r.outcome)).toEqual(['applied', 'duplicate']);
    expect(await filters()).toEqual(['7002/2002']);
    expect(await t.redis.strlen(seen)).toBe(2_002 * 11);
    // and once the second hour's leave too, the window is short again and has no index
    const last = await t.store.applyEvents(feed.items(call(1_501)), NOW + 171 * HOUR);
    expect(last.map((r) => r.outcome)).toEqual(['applied']);
    expect(await t.redis.exists(seenIndex)).toBe(0);
  });

  it("drops a busy window's oldest filter once every record of it has left the window", async () => {
    const customerId = 'indexed-drop';
    const { seenIndex } = t.store.keys.customer(customerId);
    const feed = new Feed();
    const { call, calls, filters } = busyCustomer(customerId);
    await t.store.applyEvents(feed.items(...calls(0, 1_500)), NOW);
    await t.store.applyEvents(feed.items(...calls(1_500, 1_500)), NOW);
    // the first filter is full with the first hour's 3,000; the next hour's go into a second
    for (let from = 3_000; from < 5_000; from += 200) await t.store.applyEvents(feed.items(...calls(from, 200)), NOW + HOUR);
    expect(await filters()).toEqual(['3000/3000', '6000/2000']);
    const bytesBefore = await t.redis.strlen(seenIndex);
    const later = await t.store.applyEvents(feed.items(call(0), call(3_000)), NOW + 170 * HOUR);
    expect(later.map((r) => r.outcome)).toEqual(['applied', 'duplicate']);
    // the first filter (9,000 bytes) gone with its records; call(0) arrived again, into the second
    expect(await filters()).toEqual(['6000/2001']);
    expect(await t.redis.strlen(seenIndex)).toBeLessThanOrEqual(bytesBefore - 9_000);
    const copies = await t.store.applyEvents(feed.items(...calls(3_000, 2_000), call(0)), NOW + 170 * HOUR);
    expect(new Set(copies.map((r) => r.outcome))).toEqual(new Set(['duplicate']));
  });

  it('writes nothing to a Redis server other than the one the writes are fenced to', async () => {
    const customerId = 'fenced';
    const { runId } = await t.store.identity();
    const feed = new Feed();
    const [applied] = await t.store.applyEvents(feed.items(activity(customerId, 'CALL', NOW - HOUR)), NOW, { fence: runId });
    expect(applied?.outcome).toBe('applied');
    const before = await rawState(customerId);
    // As after a restart or a failover: the server's run id is not the one the caller last checked.
    const otherServer = 'f'.repeat(40);
    const refused = await t.store.applyEvents(feed.items(activity(customerId, 'MEETING', NOW - HOUR)), NOW, { fence: otherServer });
    expect(refused).toEqual([{ outcome: 'fenced', revision: 0 }]);
    expect(await rawState(customerId)).toEqual(before);
    // A cluster's fence names every master.
    const [clusterWide] = await t.store.applyEvents(feed.items(activity(customerId, 'MEETING', NOW - HOUR)), NOW, { fence: `${otherServer},${runId}` });
    expect(clusterWide?.outcome).toBe('applied');
  });

  it('refuses an erasure request: that is eraseCustomer', async () => {
    const erase = { ...profile('erase-me', null, NOW), erase: true };
    await expect(t.store.applyEvents(new Feed().items(erase), NOW)).rejects.toThrow(/eraseCustomer/);
  });
});

describe('latest state wins, in any order', () => {
  it('keeps the event with the greatest (occurredAt, eventId) per entity and value', async () => {
    const customerId = 'latest';
    const newest = opportunity(customerId, 'O1', 'NEGOTIATION', NOW - DAY, { amount: 900, eventId: 'b' });
    const tieLoser = opportunity(customerId, 'O1', 'LEAD', NOW - DAY, { amount: 100, eventId: 'a' });
    const older = opportunity(customerId, 'O1', 'CLOSED_LOST', NOW - 2 * DAY, { amount: 5 });
    const renewed = contract(customerId, 'C1', 'RENEWED', NOW - 3 * DAY);
    const signed = contract(customerId, 'C1', 'ACTIVE', NOW - 300 * DAY);
    const nps = activity(customerId, 'NPS_RESPONSE', NOW - 2 * DAY, { value: 10 });
    const olderNps = activity(customerId, 'NPS_RESPONSE', NOW - 9 * DAY, { value: 1 });
    const segment = profile(customerId, 'SMB', NOW - DAY);
    const olderSegment = profile(customerId, 'ENTERPRISE', NOW - 5 * DAY);
    await t.store.applyEvents(new Feed().items(newest, renewed, nps, segment, tieLoser, older, signed, olderNps, olderSegment), NOW);

    const state = await readOne(customerId);
    expect(state.opportunities).toEqual([expect.objectContaining({ stage: 'NEGOTIATION', amount: 900, eventId: 'b' })]);
    expect(state.contracts).toEqual([expect.objectContaining({ status: 'RENEWED', occurredAt: NOW - 3 * DAY })]);
    expect(state.latestNps?.value).toBe(10);
    expect(state.segment).toBe('SMB');
    expect(state.revision).toBe(9);
  });

  it('counts a ticket closed in the millisecond it was opened as closed, whatever the eventIds and the order', async () => {
    const at = NOW - DAY;
    const opened = (customerId: string) => activity(customerId, 'SUPPORT_TICKET_OPENED', at, { ticketId: 'T1', eventId: 'z-open' });
    const closed = (customerId: string) => activity(customerId, 'SUPPORT_TICKET_CLOSED', at, { ticketId: 'T1', eventId: 'a-close' });
    await t.store.applyEvents(new Feed().items(opened('open-first'), closed('open-first')), NOW);
    await t.store.applyEvents(new Feed().items(closed('close-first'), opened('close-first')), NOW);
    for (const customerId of ['open-first', 'close-first']) {
      expect((await readOne(customerId)).tickets).toEqual([{ ticketId: 'T1', occurredAt: at, eventId: 'a-close', open: false }]);
    }
  });
});

describe('SLA breaches', () => {
  // An outside tester's CRM sent the breach flag on a ticket's open and again on its close: four breached tickets read
  // as four breaches, then eight once closed (2026-12-07).
  it('counts a breached ticket once, on the day of its first flagged event, whichever events carry the flag and in any order', async () => {
    const opened = (customerId: string, n: number) =>
      activity(customerId, 'SUPPORT_TICKET_OPENED', NOW - (20 - n) * DAY, { ticketId: `T${n}`, slaBreached: true, eventId: `open-${n}` });
    const closed = (customerId: string, n: number) =>
      activity(customerId, 'SUPPORT_TICKET_CLOSED', NOW - (10 - n) * DAY, { ticketId: `T${n}`, slaBreached: true, eventId: `close-${n}` });
    const tickets = [1, 2, 3, 4];
    const feed = new Feed();
    await t.store.applyEvents(feed.items(...tickets.map((n) => opened('opens-first', n))), NOW);
    await t.store.applyEvents(feed.items(...tickets.map((n) => closed('opens-first', n))), NOW);
    await t.store.applyEvents(new Feed().items(...tickets.flatMap((n) => [closed('closes-first', n), opened('closes-first', n)])), NOW);
    const firstBreaches = tickets.map((n) => ({ day: utcDay(NOW) - (20 - n), count: 1 }));
    for (const customerId of ['opens-first', 'closes-first']) {
      const state = await readOne(customerId);
      expect(state.slaBreachDays, customerId).toEqual(firstBreaches);
      expect(state.tickets.map((ticket) => ticket.open)).toEqual([false, false, false, false]);
    }
    // Flagged on its close only, a ticket's breach is that day's.
    await t.store.applyEvents(
      new Feed().items(opened('close-flagged', 1), { ...closed('close-flagged', 1), slaBreached: false }, { ...opened('close-flagged', 2), slaBreached: null }, closed('close-flagged', 2)),
      NOW,
    );
    expect((await readOne('close-flagged')).slaBreachDays).toEqual([
      { day: utcDay(NOW) - 19, count: 1 },
      { day: utcDay(NOW) - 8, count: 1 },
    ]);
  });

  it("keeps a ticket's first breach as long as the ticket, and forgets both together", async () => {
    const customerId = 'breach-aging';
    const feed = new Feed();
    const early = NOW - 10 * DAY;
    await t.store.applyEvents(
      feed.items(
        activity(customerId, 'SUPPORT_TICKET_OPENED', early, { ticketId: 'T-old', slaBreached: true, eventId: 'open-old' }),
        activity(customerId, 'SUPPORT_TICKET_CLOSED', early + 200 * DAY, { ticketId: 'T-old', slaBreached: true, eventId: 'close-old' }),
      ),
      early + 200 * DAY,
    );
    const k = t.store.keys.customer(customerId);
    const breachLines = async () => ((await t.redis.get(k.ent)) ?? '').split('\n').filter((line) => line.startsWith('b:'));
    // 430 days on the open has left the horizon but the close has not: the ticket and its first breach stay, that breach
    // out of every window; the close, flagged too, does not take its place.
    const first = NOW + 430 * DAY;
    await t.store.applyEvents(feed.items(activity(customerId, 'CALL', first)), first);
    expect(await breachLines()).toEqual([`b:T-old\t[${early},"open-old",0]`]);
    expect((await readOne(customerId, first)).slaBreachDays).toEqual([]);
    // Once the close has left it too, the sweep drops both.
    const second = first + 200 * DAY;
    await t.store.applyEvents(feed.items(activity(customerId, 'CALL', second)), second);
    expect(await breachLines()).toEqual([]);
    expect((await readOne(customerId, second)).tickets).toEqual([]);
  });
});

describe('retention', () => {
  const RETENTION_DAYS = 400;
  const horizon = NOW - (RETENTION_DAYS - 1) * DAY; // inside: the first day of the horizon is day(NOW) − 399

  it('an event older than the horizon changes no window but still updates entity state', async () => {
    const customerId = 'ancient';
    const oldCall = activity(customerId, 'CALL', horizon - DAY);
    const oldContract = contract(customerId, 'C-long', 'ACTIVE', horizon - 100 * DAY);
    const results = await t.store.applyEvents(new Feed().items(oldCall, oldContract), NOW);
    expect(results.map((r) => r.outcome)).toEqual(['applied', 'applied']);
    const state = await readOne(customerId);
    expect(state.activityDays).toEqual([]);
    expect(state.lastActivityAt).toBe(oldCall.occurredAt);
    expect(state.contracts).toEqual([expect.objectContaining({ contractId: 'C-long', status: 'ACTIVE' })]);
  });

  it('trims buckets, drops aged-out tickets and shrinks aged-out deals to tombstones as the clock moves on', async () => {
    const customerId = 'aging';
    const feed = new Feed();
    const early = NOW - 10 * DAY;
    const ticketClosed = activity(customerId, 'SUPPORT_TICKET_CLOSED', early, { ticketId: 'T-old' });
    const won = opportunity(customerId, 'O-won', 'CLOSED_WON', early);
    await t.store.applyEvents(
      feed.items(
        activity(customerId, 'EMAIL_SENT', early),
        ticketClosed,
        won,
        opportunity(customerId, 'O-open', 'PROPOSAL', early),
      ),
      NOW,
    );
    // 430 days later the early day's whole 32-day period has left the horizon; the next event runs the sweep.
    const later = NOW + 430 * DAY;
    await t.store.applyEvents(feed.items(activity(customerId, 'CALL', later)), later);
    const k = t.store.keys.customer(customerId);
    const period = Math.floor(utcDay(later) / 32).toString(36).toUpperCase().padStart(3, '0');
    expect((await t.redis.get(k.act))?.split('\n')).toEqual(['', `${period}${','.repeat(utcDay(later) % 32)}c`]);
    const ent = async () => (await t.redis.get(k.ent))?.split('\n') ?? [];
    expect((await ent()).filter((line) => line.startsWith('t:'))).toEqual([]);
    expect(await ent()).toContain(`o:O-won\t[${early},"${won.eventId}"]`);
    const state = await readOne(customerId, later);
    expect(state.tickets).toEqual([]);
    expect(state.opportunities).toEqual([expect.objectContaining({ opportunityId: 'O-open' })]);

    // The ticket's older open arriving late leaves nothing either, and counts no more than the close did.
    await t.store.applyEvents(feed.items(activity(customerId, 'SUPPORT_TICKET_OPENED', early - DAY, { ticketId: 'T-old' })), later);
    expect((await ent()).filter((line) => line.startsWith('t:'))).toEqual([]);
    expect((await readOne(customerId, later)).tickets).toEqual([]);

    // A tombstone still outranks an older event for the same id: the won deal does not come back open.
    await t.store.applyEvents(feed.items(opportunity(customerId, 'O-won', 'LEAD', early - DAY)), later);
    expect((await readOne(customerId, later)).opportunities.map((o) => o.opportunityId)).toEqual(['O-open']);
    // At the same instant the eventId decides, as it did before the shrink: a smaller one (a prefix) loses,
    // a greater one wins.
    await t.store.applyEvents(feed.items(opportunity(customerId, 'O-won', 'LEAD', early, { eventId: won.eventId.slice(0, -1) })), later);
    expect((await readOne(customerId, later)).opportunities.map((o) => o.opportunityId)).toEqual(['O-open']);
    await t.store.applyEvents(feed.items(opportunity(customerId, 'O-won', 'LEAD', early, { eventId: `${won.eventId}0` })), later);
    expect((await readOne(customerId, later)).opportunities.map((o) => o.opportunityId)).toEqual(['O-open', 'O-won']);
  });

  // Written before 2026-12-04, when an aged-out ticket shrank to a tombstone too: the next day's sweep drops it.
  it("drops tickets' tombstones of before, and keeps deals'", async () => {
    const customerId = 'old-tombstones';
    const feed = new Feed();
    await t.store.applyEvents(feed.items(activity(customerId, 'EMAIL_SENT', NOW - HOUR)), NOW);
    const k = t.store.keys.customer(customerId);
    const early = NOW - 500 * DAY;
    const [ticketTombstone, dealTombstone] = [`t:T-gone\t[${early},"1e-9"]`, `o:O-won\t[${early},"e-8"]`];
    await t.redis.set(k.ent, `\n${ticketTombstone}\n${dealTombstone}`);
    await t.store.applyEvents(feed.items(activity(customerId, 'CALL', NOW + DAY)), NOW + DAY);
    expect((await t.redis.get(k.ent))?.split('\n')).toEqual(['', dealTombstone]);
  });

  it('applies a backlog of one customer larger than one call carries, in order, and redelivery skips it all', async () => {
    const customerId = 'backlog';
    const feed = new Feed();
    // 20,000 events in one batch: one call with all of them overflowed the argument spread (issue 9).
    const events = Array.from({ length: 20_000 }, (_, i) => activity(customerId, 'EMAIL_SENT', NOW - (i % 30) * HOUR));
    const items = feed.items(...events);
    const results = await t.store.applyEvents(items, NOW);
    expect(results.every((r) => r.outcome === 'applied')).toBe(true);
    expect(results.map((r) => r.revision)).toEqual(events.map((_, i) => i + 1));
    expect((await readOne(customerId)).revision).toBe(20_000);
    const again = await t.store.applyEvents(items, NOW);
    expect(new Set(again.map((r) => r.outcome))).toEqual(new Set(['redelivered']));
  });
});
