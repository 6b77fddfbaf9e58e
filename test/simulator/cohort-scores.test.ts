// The cohorts are meant to look healthy, growing, declining and churning to a customer-success tool.
// Their generated histories go through the real state store (Redis, the scorer's apply scripts) and
// the default scoring model, and each cohort must come out the way its name says.
import type { Score } from '@churnscore/domain';
import { computeInsights, defaultScoringConfig, scoreCustomer } from '@churnscore/scoring';
import { generateCustomerHistories, type Cohort } from '@churnscore/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Feed, openStateTest, type StateTestContext } from '../state/fixtures';

const NOW = Date.parse('2025-06-15T12:00:00Z');
const APPLY_BATCH = 1_000;
const customers = generateCustomerHistories({ customers: 40, days: 400, seed: 'cohort-scores', now: NOW });

let context: StateTestContext;
const scores = new Map<Cohort, Score[]>();

beforeAll(async () => {
  context = await openStateTest('simulator-cohorts');
  const feed = new Feed();
  const items = feed.items(...customers.flatMap((customer) => customer.events));
  for (let start = 0; start < items.length; start += APPLY_BATCH) {
    await context.store.applyEvents(items.slice(start, start + APPLY_BATCH), NOW);
  }
  const snapshots = await context.store.readCustomers(customers.map((customer) => customer.customerId), NOW);
  const config = defaultScoringConfig();
  snapshots.forEach((snapshot, i) => {
    const insights = computeInsights(snapshot.state, NOW, { retentionDays: context.store.retentionDays });
    const cohort = customers[i]!.cohort;
    scores.set(cohort, [...(scores.get(cohort) ?? []), scoreCustomer(insights, null, config, NOW)]);
  });
});
afterAll(() => context.close());

const share = (cohort: Cohort, holds: (score: Score) => boolean): number => {
  const ofCohort = scores.get(cohort) ?? [];
  return ofCohort.filter(holds).length / ofCohort.length;
};

describe('simulated cohorts, scored by the default model', () => {
  it('healthy customers are green with a low churn risk', () => {
    expect(share('healthy', (score) => score.band === 'green' && score.riskBand === 'low')).toBe(1);
  });

  it('growing customers are green and in the GROWTH stage', () => {
    expect(share('growing', (score) => score.band === 'green' && score.lifecycleStage === 'GROWTH')).toBe(1);
  });

  it('declining customers are no longer green, their risk is up, and most are in DECLINE', () => {
    expect(share('declining', (score) => score.band !== 'green' && score.riskBand !== 'low')).toBe(1);
    expect(share('declining', (score) => score.lifecycleStage === 'DECLINE')).toBeGreaterThan(0.5);
  });

  it('churning customers are red, at high risk and CHURNED', () => {
    expect(share('churning', (score) => score.band === 'red' && score.riskBand === 'high' && score.lifecycleStage === 'CHURNED')).toBe(1);
  });
});
