import { MS_PER_DAY, type InputEvent } from '@churnscore/domain';
import { computeInsights, defaultScoringConfig, foldEvents, scoreCustomer } from '@churnscore/scoring';
import { generateCustomerHistories } from '@churnscore/simulator';
import { asHistory } from '@churnscore/trainer';
import { describe, expect, it } from 'vitest';
import { BACKFILL_DAYS, backfilledPoints, weekEnds } from './score-points';

const NOW = Date.parse('2025-06-18T10:00:00Z'); // a Wednesday
const FOLD = { retentionDays: 400, dedupeWindowDays: 7, maxEntities: 10_000 };
const config = defaultScoringConfig();
const customers = generateCustomerHistories({ customers: 6, days: 500, seed: 'backfill-points', now: NOW });

describe('the week ends back-filled', () => {
  it('are the last millisecond of every UTC Sunday of the past year, oldest first, none after the clock', () => {
    const ends = weekEnds(NOW);
    expect(ends.at(-1)).toBe(Date.parse('2025-06-15T23:59:59.999Z'));
    expect(ends[0]).toBe(Date.parse('2024-06-23T23:59:59.999Z'));
    expect(ends).toHaveLength(52);
    for (const end of ends) {
      expect(new Date(end).getUTCDay()).toBe(0);
      expect(end + 1).toSatisfy((next: number) => next % MS_PER_DAY === 0);
    }
    expect(ends[0]!).toBeGreaterThan(NOW - BACKFILL_DAYS * MS_PER_DAY);
  });

  it('are the same weeks whichever day it runs (calendar weeks), and include a Sunday that has just ended', () => {
    // Monday's run still reaches back to the Sunday a year before it, Wednesday's no longer does.
    expect(weekEnds(Date.parse('2025-06-16T00:00:00Z')).slice(1)).toEqual(weekEnds(NOW));
    expect(weekEnds(Date.parse('2025-06-15T23:59:59.999Z')).at(-1)).toBe(Date.parse('2025-06-15T23:59:59.999Z'));
    expect(weekEnds(Date.parse('2025-06-15T23:59:59.998Z')).at(-1)).toBe(Date.parse('2025-06-08T23:59:59.999Z'));
  });
});

/** The scorer's score for exactly the events that had occurred by `asOf`, each applied at its occurrence. */
function scoreOfEventsUpTo(customerId: string, events: readonly InputEvent[], asOf: number) {
  const known = events.filter((event) => event.occurredAt <= asOf).sort((a, b) => a.occurredAt - b.occurredAt);
  const state = foldEvents(
    customerId,
    known.map((event) => ({ event, receivedAt: event.occurredAt })),
    { ...FOLD, asOf },
  );
  return scoreCustomer(computeInsights(state, asOf, FOLD), null, config, asOf);
}

describe('the back-filled points', () => {
  const asOf = weekEnds(NOW);

  it('are the score of the fold of the events known by each week end, from the first week the customer has an event', () => {
    for (const customer of customers) {
      const points = backfilledPoints(asHistory(customer), asOf, config, FOLD);
      const firstEvent = Math.min(...customer.events.map((event) => event.occurredAt));
      const weeks = asOf.filter((end) => end >= firstEvent);
      expect(points.map((point) => point.t)).toEqual(weeks);
      for (const point of points) {
        const score = scoreOfEventsUpTo(customer.customerId, customer.events, point.t);
        expect(point).toEqual({ t: point.t, health: score.health, churnRisk: score.churnRisk, band: score.band });
      }
    }
  });

  it('use nothing that occurred after a week end, nor anything that arrived after it', () => {
    const customer = customers[0]!;
    const history = asHistory(customer);
    const cut = asOf[30]!;
    const before = backfilledPoints(history, asOf, config, FOLD).filter((point) => point.t <= cut);
    const burst = Array.from({ length: 40 }, (_, i): InputEvent => ({
      kind: 'activity',
      eventId: `late-${i}`,
      customerId: customer.customerId,
      occurredAt: cut + 1 + i * 3_600_000,
      source: 'test',
      activityType: 'SUPPORT_TICKET_OPENED',
      value: null,
      ticketId: `late-ticket-${i}`,
      slaBreached: true,
    }));
    // Occurred before the cut, but arrived after it: unknown to the weeks before its arrival.
    const late = burst.map((event) => ({ event: { ...event, eventId: `${event.eventId}-arrived-late`, occurredAt: cut - 5 * MS_PER_DAY }, receivedAt: cut + 1 }));
    const withLater = { customerId: customer.customerId, events: [...history.events, ...burst.map((event) => ({ event })), ...late] };
    const after = backfilledPoints(withLater, asOf, config, FOLD);
    expect(after.filter((point) => point.t <= cut)).toEqual(before);
    expect(after.find((point) => point.t > cut)).not.toEqual(backfilledPoints(history, asOf, config, FOLD).find((point) => point.t > cut));
  });

  it('are none for a customer erased since, and only what came after an erasure otherwise', () => {
    const customer = customers[1]!;
    const history = asHistory(customer);
    const erasure: InputEvent = { kind: 'customer', eventId: 'erase', customerId: customer.customerId, occurredAt: NOW - MS_PER_DAY, source: 'test', segment: null, erase: true };
    expect(backfilledPoints({ ...history, events: [...history.events, { event: erasure }] }, asOf, config, FOLD)).toEqual([]);
    const again: InputEvent = { ...erasure, kind: 'customer', eventId: 'back', erase: false, segment: 'SMB', occurredAt: NOW - 0.5 * MS_PER_DAY };
    expect(backfilledPoints({ ...history, events: [...history.events, { event: erasure }, { event: again }] }, asOf, config, FOLD)).toEqual([]);
    const earlier = { ...erasure, occurredAt: asOf[40]! - MS_PER_DAY };
    const points = backfilledPoints({ ...history, events: [...history.events, { event: earlier }] }, asOf, config, FOLD);
    const firstAfter = Math.min(...customer.events.filter((event) => event.occurredAt > earlier.occurredAt).map((event) => event.occurredAt));
    expect(points.map((point) => point.t)).toEqual(asOf.filter((end) => end >= firstAfter));
    const kept = customer.events.filter((event) => event.occurredAt > earlier.occurredAt);
    for (const point of points) expect(point.health).toBe(scoreOfEventsUpTo(customer.customerId, kept, point.t).health);
  });
});
