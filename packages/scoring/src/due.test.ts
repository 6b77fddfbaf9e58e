import { utcDay, type AlertBook, type CustomerState, type Score } from '@churnscore/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyAlertBook, evaluateAlerts } from './alerts';
import type { ScoringConfig } from './config-schema';
import { churnFeatureValue, churnSnapshot } from './churn-features';
import { defaultScoringConfig } from './config';
import { nextDueAt } from './due';
import { computeInsights } from './insights';
import { scoreCustomer } from './score';
import {
  DAY,
  NOW,
  RETENTION,
  TODAY,
  bucket,
  configWith,
  contract,
  emptyState,
  handSetConfig,
  healthyState,
  opportunity,
  stateArbitrary,
  ticket,
} from './test-fixtures';

const config = handSetConfig;
const midnight = (day: number): number => day * DAY;
const dueOf = (state: CustomerState, now = NOW, scoring: ScoringConfig = config): number | null =>
  nextDueAt(state, computeInsights(state, now, RETENTION), scoring, now, RETENTION);

/** A configuration in which nothing moves day by day with silence: no recency measure, no silence feature. */
const withoutDailySilence = configWith((c) => {
  delete c.churn.coefficients.daysSinceLastActivity;
  for (const scorecard of c.scorecards) scorecard.measures = scorecard.measures.filter((m) => m.measure !== 'recency');
});

/**
 * Evaluated at `at`: the customer's insights, score (as a first score: no drivers) and alert
 * transitions, without the fields that name the instant itself. The recency measure's raw day
 * count is left out too: it keeps counting after its score stopped moving, which is no change
 * nextDueAt schedules.
 */
function outcomeAt(state: CustomerState, at: number, book: AlertBook, previous: Score | null, scoring: ScoringConfig = config) {
  const insights = computeInsights(state, at, RETENTION);
  const score = scoreCustomer(insights, null, scoring, at);
  const alerts = evaluateAlerts(book, score, previous, insights, scoring, at);
  const measures = score.explanation.measures.map((m) => (m.measureId === 'recency' ? { ...m, rawValue: null } : m));
  return {
    insights: { ...insights, asOf: 0 },
    score: { ...score, computedAt: 0, explanation: { ...score.explanation, measures } },
    alerts,
  };
}

describe('nextDueAt: silence', () => {
  it('leads, due time by due time, to NO_RECENT_ACTIVITY opening exactly 30 days after the last activity', () => {
    const lastActivityAt = NOW - 3 * DAY + 5 * 3_600_000;
    const state = healthyState({
      activityDays: [bucket(3, 'MEETING'), bucket(40, 'MEETING')],
      lastActivityAt,
      lastInboundAt: lastActivityAt,
    });
    let now = NOW;
    let book = emptyAlertBook();
    let previous: Score | null = null;
    const visited: number[] = [];
    for (let step = 0; step < 100 && !book.episodes.NO_RECENT_ACTIVITY; step++) {
      const insights = computeInsights(state, now, RETENTION);
      const score = scoreCustomer(insights, previous, config, now);
      book = evaluateAlerts(book, score, previous, insights, config, now).book;
      previous = score;
      const due = nextDueAt(state, insights, config, now, RETENTION);
      if (book.episodes.NO_RECENT_ACTIVITY || due === null) break;
      expect(due).toBeGreaterThan(now);
      visited.push(due);
      now = due;
    }
    expect(book.episodes.NO_RECENT_ACTIVITY).toMatchObject({ status: 'OPEN', openedAt: lastActivityAt + 30 * DAY });
    expect(visited).toContain(lastActivityAt + 30 * DAY);
  });

  it('is exactly the 30-day threshold when nothing else moves before it', () => {
    const lastActivityAt = NOW - 20 * DAY;
    const state = healthyState({ activityDays: [], lastActivityAt, lastInboundAt: null });
    expect(dueOf(state, NOW, withoutDailySilence)).toBe(lastActivityAt + 30 * DAY);
  });

  it('ticks daily while the silence still moves the churn risk, and stops once every threshold is passed', () => {
    const lastActivityAt = NOW - 20 * DAY + 1; // 19 whole days ago
    expect(dueOf(healthyState({ activityDays: [], lastActivityAt }))).toBe(lastActivityAt + 20 * DAY);
    // Silent for two years, first contract long ago, renewal already passed: nothing left to happen.
    const dormant = healthyState({
      activityDays: [],
      lastActivityAt: NOW - 730 * DAY,
      contracts: [contract({ startDate: NOW - 1500 * DAY, endDate: NOW - DAY })],
    });
    expect(dueOf(dormant)).toBeNull();
  });
});

describe('nextDueAt: a drop that becomes a stop', () => {
  it('is due on the day of silence at which less than 90 days of the earlier span remain: 276 days for 90 of 365', () => {
    // Usage 300 days ago, silent for 275 days and a half: at 276 whole days the 90-day usage drops become stops (1).
    const lastActivityAt = NOW - 275.5 * DAY;
    const state = emptyState({ activityDays: [bucket(300, 'PRODUCT_USAGE', 5, 100)], lastActivityAt });
    const shipped = defaultScoringConfig();
    const due = dueOf(state, NOW, shipped)!;
    expect(due).toBe(lastActivityAt + 276 * DAY);
    // The feature, not the risk: the shipped default's other drops already put this customer's risk at 1.
    const usageDropAt = (instant: number) => churnFeatureValue('usageDrop90d', churnSnapshot(computeInsights(state, instant, RETENTION), shipped, instant));
    expect(usageDropAt(due - 1)).toBe(usageDropAt(NOW));
    expect(usageDropAt(NOW)).toBeLessThan(1);
    expect(usageDropAt(due)).toBe(1);
  });
});

describe('nextDueAt: window edges', () => {
  it('is the next midnight for a customer with activity every day', () => {
    expect(dueOf(healthyState())).toBe(midnight(TODAY + 1));
  });

  it('is the midnight when the oldest in-window day leaves a window', () => {
    const lastActivityAt = NOW - 10 * DAY + 3 * 3_600_000;
    const state = emptyState({ activityDays: [bucket(10, 'CALL')], lastActivityAt });
    // Leaves the 30-day window when day(T) − 10 + 30 begins; the silence threshold comes later that day.
    const due = dueOf(state, NOW, withoutDailySilence);
    expect(due).toBe(midnight(TODAY + 20));
    const before = computeInsights(state, (due ?? 0) - 1, RETENTION).activity.CALL;
    const after = computeInsights(state, due ?? 0, RETENTION).activity.CALL;
    expect([before.d30, after.d30]).toEqual([1, 0]);
  });

  it('is the midnight a future-dated bucket enters', () => {
    const lateEvening = midnight(TODAY + 1) - 30 * 60_000;
    const state = emptyState({ activityDays: [bucket(-1, 'CALL')], lastActivityAt: lateEvening + 45 * 60_000 });
    expect(dueOf(state, lateEvening, withoutDailySilence)).toBe(midnight(TODAY + 1));
  });

  it('is the midnight a closed deal leaves the 365-day window', () => {
    const state = emptyState({ opportunities: [opportunity({ stage: 'CLOSED_WON', occurredAt: NOW - 300 * DAY })] });
    expect(dueOf(state)).toBe(midnight(utcDay(NOW - 300 * DAY) + 365));
  });

  it('is the midnight an open ticket leaves the retention horizon', () => {
    const state = emptyState({ tickets: [ticket({ occurredAt: midnight(TODAY - 399) })], lastActivityAt: NOW - 399 * DAY });
    const due = dueOf(state);
    expect(due).toBe(midnight(TODAY + 1));
    expect(computeInsights(state, (due ?? 0) - 1, RETENTION).openTickets).toBe(1);
    expect(computeInsights(state, due ?? 0, RETENTION).openTickets).toBe(0);
  });
});

describe('nextDueAt: renewal and tenure', () => {
  const renewal = midnight(TODAY + 100);
  const dormantRenewing = healthyState({
    activityDays: [],
    lastActivityAt: NOW - 800 * DAY,
    contracts: [contract({ startDate: NOW - 800 * DAY, endDate: renewal })],
  });

  it('is the start of the renewal phase, then each day of the renewal-proximity horizon, then the renewal date passing', () => {
    expect(dueOf(dormantRenewing)).toBe(renewal - 90 * DAY);
    expect(dueOf(dormantRenewing, renewal - 90 * DAY)).toBe(renewal - 89 * DAY);
    expect(dueOf(dormantRenewing, renewal - DAY)).toBe(renewal);
    expect(dueOf(dormantRenewing, renewal)).toBe(renewal + 1);
    expect(dueOf(dormantRenewing, renewal + 1)).toBeNull();
  });

  it('without the proximity feature: only the phase (90 days), the alert window (60 days) and the date itself', () => {
    const scoring = configWith((c) => delete c.churn.coefficients.renewalProximity);
    expect(dueOf(dormantRenewing, NOW, scoring)).toBe(renewal - 90 * DAY);
    expect(dueOf(dormantRenewing, renewal - 90 * DAY, scoring)).toBe(renewal - 60 * DAY);
    expect(dueOf(dormantRenewing, renewal - 60 * DAY, scoring)).toBe(renewal + 1);
  });

  it('is the end of onboarding, 90 days after the first contract started', () => {
    const start = NOW - 80 * DAY;
    const onboarding = healthyState({ activityDays: [], lastActivityAt: null, contracts: [contract({ startDate: start })] });
    expect(dueOf(onboarding, NOW, withoutDailySilence)).toBe(start + 90 * DAY);
  });

  it('is null for a customer with no data', () => {
    expect(dueOf(emptyState())).toBeNull();
  });

  it('is the same whether the day buckets come in day order, as the store reads them back, or in any other', () => {
    fc.assert(
      fc.property(stateArbitrary, (state) => {
        const inDayOrder = {
          ...state,
          activityDays: [...state.activityDays].sort((a, b) => a.day - b.day),
          slaBreachDays: [...state.slaBreachDays].sort((a, b) => a.day - b.day),
        };
        const reversed = { ...inDayOrder, activityDays: [...inDayOrder.activityDays].reverse(), slaBreachDays: [...inDayOrder.slaBreachDays].reverse() };
        expect(dueOf(inDayOrder)).toBe(dueOf(state));
        expect(dueOf(reversed)).toBe(dueOf(state));
      }),
      { numRuns: 300 },
    );
  });
});

// The shipped default too: its relative drops move day by day with silence (churnSilenceHorizonDays).
describe.each([
  ['the hand-set model', handSetConfig],
  ['the shipped default', defaultScoringConfig()],
])('nextDueAt with %s: nothing changes before the due time', (_name, scoring) => {
  it('gives the same insights, score and alerts at any instant before it, up to 1 ms before', () => {
    fc.assert(
      fc.property(stateArbitrary, fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })), (state, fraction) => {
        const now = outcomeAt(state, NOW, emptyAlertBook(), null, scoring);
        const due = dueOf(state, NOW, scoring);
        const horizon = due ?? NOW + 3 * 365 * DAY;
        const later = NOW + Math.floor(fraction * (horizon - 1 - NOW));
        const then = outcomeAt(state, later, now.alerts.book, now.score, scoring);
        expect(then.insights).toEqual(now.insights);
        expect(then.score).toEqual(now.score);
        expect(then.alerts.transitions).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
