import { MS_PER_DAY, type ActivityType, type ContractEvent, type ContractStatus, type InputEvent } from '@churnscore/domain';
import { computeInsights, foldEvents } from '@churnscore/scoring';
import { describe, expect, it } from 'vitest';
import { activeSpells } from './churn';
import { buildDataset, groupByCustomer, splitByTime, type CustomerHistory, type DatasetOptions, type HistoryEvent } from './dataset';

const DAY = MS_PER_DAY;
/** Day 0 of every history: 2024-01-01, a UTC midnight. */
const T0 = Date.UTC(2024, 0, 1);
const at = (days: number): number => T0 + days * DAY;
/** The end of UTC day `days`: what an as-of date means in a schedule. */
const endOf = (days: number): number => at(days + 1) - 1;
const FOLD = { retentionDays: 400, dedupeWindowDays: 7, maxEntities: 10_000 };

let nextId = 0;
const envelope = (customerId: string, day: number) => ({ eventId: `e${++nextId}`, customerId, occurredAt: at(day) + 10 * 3_600_000, source: 'test' });
const activity = (customerId: string, day: number, activityType: ActivityType, value: number | null = null): InputEvent => ({
  ...envelope(customerId, day),
  kind: 'activity',
  activityType,
  value,
  ticketId: null,
  slaBreached: null,
});
const contract = (customerId: string, contractId: string, status: ContractStatus, day: number, startDay: number, endDay: number): ContractEvent => ({
  ...envelope(customerId, day),
  kind: 'contract',
  contractId,
  contractType: 'SUBSCRIPTION',
  totalValue: 12_000,
  currency: 'USD',
  startDate: at(startDay),
  endDate: at(endDay),
  status,
});
/** A meeting every `every` days from `from` up to `to`. */
const meetings = (customerId: string, from: number, to: number, every = 7): InputEvent[] =>
  Array.from({ length: Math.floor((to - from) / every) + 1 }, (_, i) => activity(customerId, from + i * every, 'MEETING'));
const history = (customerId: string, events: ReadonlyArray<InputEvent | HistoryEvent>): CustomerHistory => ({
  customerId,
  events: events.map((item) => ('event' in item ? item : { event: item })),
});

// A churner: signed on day 0, engaged until day 200, cancelled on day 300. A renewer: renewed on day 365, engaged
// throughout. A prospect: talks to us, never signs. The history ends on day 600.
const churner = history('churner', [contract('churner', 'K1', 'ACTIVE', 0, 0, 365), ...meetings('churner', 0, 200), contract('churner', 'K1', 'CANCELLED', 300, 0, 365)]);
const renewer = history('renewer', [
  contract('renewer', 'K2', 'ACTIVE', 0, 0, 365),
  ...meetings('renewer', 0, 600),
  contract('renewer', 'K2', 'RENEWED', 365, 0, 730),
]);
const prospect = history('prospect', meetings('prospect', 0, 600, 3));
const observedUntil = at(600);
const options = (asOf: DatasetOptions['asOf'], extra: Partial<DatasetOptions> = {}): DatasetOptions => ({ ...FOLD, asOf, observedUntil, ...extra });

describe('buildDataset: labels', () => {
  const dates = [endOf(100), endOf(209), endOf(210), endOf(299), endOf(300), endOf(400)];
  const { rows } = buildDataset([churner, renewer, prospect], options({ dates }));
  const rowsOf = (customerId: string) => rows.filter((row) => row.customerId === customerId).map(({ asOf, label, churnsAt }) => ({ asOf, label, churnsAt }));
  const cancelledAt = churner.events.at(-1)!.event.occurredAt;

  it('a churner is positive from the horizon (90 days) before its last contract is cancelled, and no sample after', () => {
    expect(rowsOf('churner')).toEqual([
      { asOf: endOf(100), label: false, churnsAt: null },
      { asOf: endOf(209), label: false, churnsAt: null },
      { asOf: endOf(210), label: true, churnsAt: cancelledAt },
      { asOf: endOf(299), label: true, churnsAt: cancelledAt },
    ]);
  });

  it('a customer who renews is negative throughout; one who never signed is no sample', () => {
    expect(rowsOf('renewer').map((row) => row.label)).toEqual([false, false, false, false, false, false]);
    expect(rowsOf('prospect')).toEqual([]);
  });

  it('read the contracts the store applies: a later copy of an eventId with other content is dropped, as the fold drops it', () => {
    // Two exports: the first cancels K on day 300, the second reuses that eventId a day later for an active K.
    const cancelled = churner.events.at(-1)!.event as ContractEvent;
    const copy: ContractEvent = { ...cancelled, occurredAt: cancelled.occurredAt + DAY, status: 'ACTIVE', endDate: at(730) };
    const { rows: copied } = buildDataset([history('churner', [...churner.events, copy])], options({ dates }));
    // The state holds K cancelled from day 300 (the copy a duplicate): churned then, no sample after, as without the copy.
    expect(copied.map(({ asOf, label, churnsAt }) => ({ asOf, label, churnsAt }))).toEqual(rowsOf('churner'));
  });

  it('a horizon of other length moves the first positive', () => {
    const horizon30 = buildDataset([churner], options({ dates }, { horizonDays: 30 }));
    expect(horizon30.rows.map((row) => row.label)).toEqual([false, false, false, true]);
  });
});

describe('buildDataset: point in time', () => {
  const asOf = endOf(150);
  // Known only after the as-of date: a detractor's NPS, a meeting on the next day, and a meeting that occurred
  // before it but reached the product (a live replay) only after it.
  const later = [
    activity('churner', 151, 'NPS_RESPONSE', 2),
    activity('churner', 151, 'MEETING'),
    { event: activity('churner', 149, 'MEETING'), receivedAt: at(152) },
  ];
  const withLater = history('churner', [...churner.events, activity('churner', 120, 'NPS_RESPONSE', 9), ...later]);

  it('an event that became known after the as-of date leaves its snapshot unchanged', () => {
    const [row] = buildDataset([withLater], options({ dates: [asOf] })).rows;
    const knownEvents = [...churner.events, { event: activity('churner', 120, 'NPS_RESPONSE', 9) }].filter(({ event }) => event.occurredAt <= asOf);
    expect(row?.insights.latestNps).toBe(9);
    // The weekly meeting of day 147 only: neither day 151's nor day 149's, which arrived on day 152.
    expect(row?.insights.activity.MEETING.d7).toBe(1);
    expect(row?.insights).toEqual(computeInsights(foldEvents('churner', knownEvents, { ...FOLD, asOf }), asOf, FOLD));
  });

  it('every snapshot equals the scorer’s insights from exactly the events known by its date', () => {
    const dates = [endOf(100), endOf(151), endOf(152), endOf(250)];
    for (const row of buildDataset([withLater, renewer], options({ dates })).rows) {
      const events = [withLater, renewer]
        .find((h) => h.customerId === row.customerId)!
        .events.filter((item) => Math.max(item.event.occurredAt, item.receivedAt ?? 0) <= row.asOf)
        .map(({ event, receivedAt = event.occurredAt }) => ({ event, receivedAt }));
      const known = foldEvents(row.customerId, events, { ...FOLD, asOf: row.asOf });
      expect(row.insights).toEqual(computeInsights(known, row.asOf, FOLD));
    }
  });

  it('refuses an as-of date whose horizon and renewal grace reach past the end of the history', () => {
    expect(() => buildDataset([churner], options({ dates: [at(600 - 120) + 1] }))).toThrow(/labels are unknown/);
    expect(() => buildDataset([churner], options({ dates: [at(600 - 120)] }))).not.toThrow();
  });

  it('a customer who asked to be erased is learnt from only after its last erasure request', () => {
    const erasure: InputEvent = { ...envelope('churner', 250), kind: 'customer', segment: null, erase: true };
    const { rows } = buildDataset([history('churner', [...churner.events, erasure])], options({ dates: [endOf(100), endOf(299)] }));
    expect(rows).toEqual([]);
  });

  it('nor from an event of before the request that reached the topics after it (a replay), as the store refuses it', () => {
    const signed = contract('late', 'K', 'ACTIVE', 0, 0, 730);
    const erasure: HistoryEvent = { event: { ...envelope('late', 100), kind: 'customer', segment: null, erase: true }, receivedAt: at(100) };
    // Signed again after the request, then a meeting of day 90 arriving on day 130, and one of day 120.
    const signedAgain: HistoryEvent = { event: contract('late', 'K2', 'ACTIVE', 110, 110, 730), receivedAt: at(110) };
    const lateMeeting: HistoryEvent = { event: activity('late', 90, 'MEETING'), receivedAt: at(130) };
    const meeting: HistoryEvent = { event: activity('late', 120, 'MEETING'), receivedAt: at(120) };
    const { rows } = buildDataset([history('late', [signed, erasure, signedAgain, lateMeeting, meeting])], options({ dates: [endOf(150)] }));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.insights.activity.MEETING.d90).toBe(1);
  });
});

describe('activeSpells: when a customer churns', () => {
  it('a renewal recorded as a new contract within the grace is no churn; a later one is a churn and a new start', () => {
    const expire = contract('c', 'OLD', 'EXPIRED', 365, 0, 365);
    const renewedLate = (days: number) => contract('c', `NEW${days}`, 'ACTIVE', 365 + days, 365 + days, 730);
    const signed = contract('c', 'OLD', 'ACTIVE', 0, 0, 365);
    expect(activeSpells([signed, expire, renewedLate(10)])).toEqual([
      { from: signed.occurredAt, until: expire.occurredAt, churnsAt: null },
      { from: renewedLate(10).occurredAt, until: null, churnsAt: null },
    ]);
    const late = renewedLate(40);
    expect(activeSpells([late, expire, signed]).map((spell) => spell.churnsAt)).toEqual([expire.occurredAt, null]);
  });

  it('a contract that ends as its successor starts, at the same instant, leaves no gap; the last to end decides', () => {
    const signed = contract('c', 'A', 'ACTIVE', 0, 0, 365);
    const swap = [{ ...contract('c', 'A', 'EXPIRED', 365, 0, 365), eventId: 'z' }, { ...contract('c', 'B', 'ACTIVE', 365, 365, 730), eventId: 'a' }];
    swap[1]!.occurredAt = swap[0]!.occurredAt;
    expect(activeSpells([signed, ...swap], 0)).toEqual([{ from: signed.occurredAt, until: null, churnsAt: null }]);
    const second = contract('c', 'S', 'ACTIVE', 10, 10, 365);
    const ends = [contract('c', 'A', 'CANCELLED', 100, 0, 365), contract('c', 'S', 'EXPIRED', 200, 10, 200)];
    expect(activeSpells([signed, second, ...ends], 0).map((spell) => spell.churnsAt)).toEqual([ends[1]!.occurredAt]);
  });
});

describe('schedule and time split', () => {
  it('a schedule takes the end of every n-th UTC day from the warm-up to the last labelable date', () => {
    const { asOfDates } = buildDataset([churner, renewer], options({ everyDays: 30 }));
    // First activity on day 0 + 90 days of warm-up; the last labelable date is day 600 − (90 + 30).
    expect(asOfDates[0]).toBe(endOf(90));
    expect(asOfDates.at(-1)).toBe(endOf(450));
    expect(asOfDates.every((date, i) => i === 0 || date - asOfDates[i - 1]! === 30 * DAY)).toBe(true);
  });

  it('the warm-up counts from the first activity, not from contracts signed before the activity history begins', () => {
    // An export whose contracts go back three years before its activity: snapshots of those years would read them as silence.
    const signedLongBefore = history('veteran', [contract('veteran', 'K3', 'ACTIVE', -1_000, -1_000, 2_000), ...meetings('veteran', 0, 600)]);
    const { asOfDates } = buildDataset([signedLongBefore, renewer], options({ everyDays: 30 }));
    expect(asOfDates[0]).toBe(endOf(90));
    // Histories with no activity at all count from their first event.
    const contractsOnly = history('silent', [contract('silent', 'K4', 'ACTIVE', -200, -200, 2_000)]);
    expect(buildDataset([contractsOnly], options({ everyDays: 30 })).asOfDates[0]).toBe(endOf(-110));
  });

  it('trains on snapshots whose horizon ended before validation starts, and validates on later ones', () => {
    const dataset = buildDataset([churner, renewer], options({ everyDays: 10 }));
    const split = splitByTime(dataset, { validationShare: 0.25 });
    expect(split.train.length).toBeGreaterThan(0);
    expect(split.validation.length).toBeGreaterThan(0);
    expect(split.train.every((row) => row.asOf + 90 * DAY <= split.validateFrom)).toBe(true);
    expect(split.validation.every((row) => row.asOf >= split.validateFrom)).toBe(true);
    const validationDates = new Set(split.validation.map((row) => row.asOf));
    expect(validationDates.size).toBe(Math.ceil(dataset.asOfDates.length * 0.25));
    for (const customerId of ['churner', 'renewer']) {
      const trainedUntil = Math.max(...split.train.filter((row) => row.customerId === customerId).map((row) => row.asOf));
      const validatedFrom = Math.min(...split.validation.filter((row) => row.customerId === customerId).map((row) => row.asOf));
      expect(trainedUntil).toBeLessThan(validatedFrom);
    }
    expect(splitByTime(dataset, { validateFrom: split.validateFrom })).toEqual(split);
  });
});

it('groupByCustomer gathers each customer’s events of a mixed stream, in order', () => {
  const stream = [...churner.events, ...renewer.events].reverse();
  expect(groupByCustomer(stream).map((h) => [h.customerId, h.events.length])).toEqual([
    ['renewer', renewer.events.length],
    ['churner', churner.events.length],
  ]);
});
