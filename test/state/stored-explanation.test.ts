// A stored explanation keeps a customer's own numbers and derives each contribution again from the stated numbers it
// multiplies (docs/redis-contract.md, "Explanation"): what the scorer computes must read back from Redis exactly as
// computed, for the explanations it really computes (every scorecard phase, measures without data, drivers against a
// previous score), not only for hand-written ones.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultScoringConfig, evaluateCustomer } from '@churnscore/scoring';
import { generateCustomerHistories } from '@churnscore/simulator';
import type { ApplyItem, StoredScore } from '@churnscore/state';
import { DAY, NOW, openStateTest, type StateTestContext } from './fixtures';

let t: StateTestContext;
beforeAll(async () => {
  t = await openStateTest('stored-explanation');
});
afterAll(() => t.close());

it('reads back every explanation the scorer computes for simulated customers exactly as computed', async () => {
  const histories = generateCustomerHistories({ customers: 60, days: 400, seed: 'stored-explanation', now: NOW });
  for (const { events } of histories) {
    const items: ApplyItem[] = events.map((event, offset) => ({ event, topic: `crm.${event.kind}.v1`, partition: 0, offset: String(offset), receivedAt: Math.min(event.occurredAt, NOW) }));
    await t.store.applyEvents(items, NOW);
  }
  const config = defaultScoringConfig();
  const options = { retentionDays: t.store.retentionDays, catchUp: { historyAgeMs: 0, settleMs: 0 } };
  const ids = histories.map((h) => h.customerId);
  let published: Array<StoredScore | null> = ids.map(() => null);
  let compared = 0;
  // A first score, then one a month later explained against it.
  for (const asOf of [NOW - 30 * DAY, NOW]) {
    const snapshots = await t.store.readCustomers(ids, asOf);
    const evaluations = snapshots.map(({ state }, i) =>
      evaluateCustomer({ state, published: published[i] ?? null, alertBook: null, cause: { kind: 'time' }, newGeneration: true, inputsBehind: false }, config, asOf, options),
    );
    await t.store.commitScores(
      snapshots.map(({ state, incarnation }, i) => {
        const { score, insights, alertBook, outbox, nextDueAt, hasOpenAlerts, lastResolvedAt } = evaluations[i]!;
        return { score, insights, alertBook, outbox, nextDueAt, hasOpenAlerts, lastResolvedAt, revision: state.revision, incarnation, asOf, basedOn: published[i] ?? null };
      }),
    );
    const readBack = await t.store.readCustomers(ids, asOf);
    readBack.forEach(({ score }, i) => {
      expect(score?.explanation, ids[i]).toEqual(evaluations[i]!.score.explanation);
      compared += evaluations[i]!.score.explanation.measures.length;
    });
    published = readBack.map(({ score }) => score);
  }
  // Every customer's measures were compared, drivers against a previous score among them.
  expect(compared).toBeGreaterThan(ids.length);
  expect(published.some((score) => (score?.explanation.topDrivers.length ?? 0) > 0)).toBe(true);
});
