// What a customer costs in Redis after a simulated year of activity, scored and committed: the layout's
// compact encodings must hold (docs/redis-contract.md, "Memory"). Measured with MEMORY USAGE on this
// file's own keys, so other test files sharing the Redis do not disturb it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultScoringConfig, evaluateCustomer } from '@churnscore/scoring';
import { generateCustomerHistories } from '@churnscore/simulator';
import { CUSTOMER_KEY_PARTS, encodeScoreHistoryEntry, SCORE_HISTORY_LENGTH, type ApplyItem, type CustomerKeyPart } from '@churnscore/state';
import { DAY, NOW, openStateTest, type StateTestContext } from './fixtures';

// Enough customers for the rankings to reach their large-set encoding (skiplist beyond 128 members).
const CUSTOMERS = 200;

let t: StateTestContext;
beforeAll(async () => {
  t = await openStateTest('memory');
});
afterAll(() => t.close());

const memoryUsage = async (key: string) => Number((await t.redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);

it('a customer with a year of typical activity fits the measured per-customer budget', async () => {
  const histories = generateCustomerHistories({ customers: CUSTOMERS, days: 365, seed: 'state-memory', now: NOW });
  for (const { events } of histories) {
    // Each event arrives when it happens (steady state): the dedupe window then holds about a week of ids.
    const items: ApplyItem[] = events.map((event, offset) => ({
      event,
      topic: `crm.${event.kind}.v1`,
      partition: 0,
      offset: String(offset),
      receivedAt: Math.min(event.occurredAt, NOW),
    }));
    await t.store.applyEvents(items, NOW);
  }
  const config = defaultScoringConfig();
  // Scored by time with nothing held and no backlog: no catch-up rule applies.
  const options = { retentionDays: t.store.retentionDays, catchUp: { historyAgeMs: 0, settleMs: 0 } };
  const snapshots = await t.store.readCustomers(
    histories.map((h) => h.customerId),
    NOW,
  );
  const committed = await t.store.commitScores(
    snapshots.map(({ state, incarnation }) => {
      const { score, insights, alertBook, outbox, nextDueAt, hasOpenAlerts, lastResolvedAt } = evaluateCustomer(
        { state, published: null, alertBook: null, cause: { kind: 'time' }, newGeneration: false, inputsBehind: false },
        config,
        NOW,
        options,
      );
      return { score, insights, alertBook, outbox, nextDueAt, hasOpenAlerts, lastResolvedAt, revision: state.revision, incarnation, asOf: NOW, basedOn: null };
    }),
  );
  // Published and acknowledged: the outbox is empty between commits.
  await Promise.all(snapshots.map(({ customerId }, i) => t.store.ackOutbox(customerId, Math.max(0, ...committed[i]!.outbox.map((entry) => entry.seq)))));

  const perPart = Object.fromEntries(CUSTOMER_KEY_PARTS.map((part) => [part, 0])) as Record<CustomerKeyPart, number>;
  for (const { customerId } of histories) {
    const keys = t.store.keys.customer(customerId);
    for (const part of CUSTOMER_KEY_PARTS) perPart[part] += (await memoryUsage(keys[part])) / CUSTOMERS;
  }
  let shared = 0;
  for (const key of await t.keysUnderPrefix()) if (!key.includes(':cust:')) shared += (await memoryUsage(key)) / CUSTOMERS;
  const total = Object.values(perPart).reduce((a, b) => a + b, 0) + shared;
  const events = histories.reduce((n, h) => n + h.events.length, 0) / CUSTOMERS;
  console.log(
    `[state memory] ${events.toFixed(0)} events/customer/year → ${total.toFixed(0)} bytes/customer: ` +
      [...Object.entries(perPart), ['rankings+due', shared] as const].map(([part, bytes]) => `${part} ${bytes.toFixed(0)}`).join(', '),
  );

  const sample = t.store.keys.customer(histories[0]?.customerId ?? '');
  for (const part of ['state', 'score', 'insights'] as const) expect(await t.redis.object('ENCODING', sample[part])).toBe('listpack');
  // About a week of 11-byte arrivals, not a year's.
  expect(perPart.seen).toBeLessThan(512);
  // The explanation as compact JSON, its items the customer's own numbers (no contribution: each is derived), the ids,
  // groups, weights, feature names and coefficients in the legend it names: measured at 345 B (chs:v7); 589 B with the
  // contributions and weights in its tuples (chs:v6), 1.4 KB with the legend's values in every tuple (chs:v4), ~2.9 KB with field names too.
  expect(perPart.explanation).toBeLessThan(400);
  // One history point, an integer as chs:v6 stores it (its full list: the test below): measured at 216 B with its key.
  expect(perPart.history).toBeLessThan(240);
  // An activity type's windowed counts in one field: measured at about 800 B, ~1.3 KB with a field per window (chs:v3).
  expect(perPart.insights).toBeLessThan(1_024);
  // Measured at 5,394 B under chs:v7 (2026-12-08; 5,583 B under chs:v6 that day; the shared keys 71 B more, a legend
  // for each set of measures with data shared by only 200 customers here), 5,481 B under chs:v5, 6,290 B under chs:v4 (docs/redis-contract.md
  // explains where it goes); this guards against regressions.
  expect(total).toBeLessThan(5.4 * 1024);
});

it('a full score history, the points a customer scored for a year holds, is stored as integers', async () => {
  const key = t.store.keys.customer('full-history').history;
  const points = Array.from({ length: SCORE_HISTORY_LENGTH }, (_, i) => ({ t: NOW - i * 7 * DAY + 12_345, health: 40 + i, churnRisk: 0.3 + i / 100, band: 'yellow' as const }));
  await t.redis.lpush(key, ...points.map(encodeScoreHistoryEntry));
  // Measured at 504 B with its key; 1,192 B as chs:v5's comma-separated text (`1748779200000,54,0.7603,yellow`), ~2.0 KB as chs:v2's objects.
  expect(await memoryUsage(key)).toBeLessThan(560);
});
