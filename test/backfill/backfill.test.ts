// `npm run backfill` replays a simulated history from the input topics, computes each customer's score as of the
// end of every past UTC week with the scorer's pure code, and writes it to Redis, where the read API's history
// serves it before the points the real scorer published; a re-run replaces it, an erasure deletes it.
import { sampleCustomer } from '@churnscore/events/testing';
import { BACKFILL_EXIT_CODES, backfilledPoints, runBackfillCommand, weekEnds } from '@churnscore/backfill';
import { defaultScoringConfig } from '@churnscore/scoring';
import { generateCustomerHistories, runSimulateCommand } from '@churnscore/simulator';
import { createReadStore, historyTime, type ScoreHistoryPoint } from '@churnscore/state';
import { asHistory } from '@churnscore/trainer';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getHistory } from '../../services/api/src/customer-detail';
import { quietStream } from '../simulator/support';
import { ManualClock, ScorerTestBed, eventually } from '../scorer/support';

const bed = new ScorerTestBed('backfill');
beforeAll(() => bed.setUp());
afterAll(() => bed.tearDown());

const NOW = Date.parse('2025-06-15T12:00:00Z');
// The back-fill runs two weeks after the scorer's clock: its last two week ends are after the first live points.
const BACKFILL_CLOCK = NOW + 14 * 86_400_000;
const SIMULATION = { customers: 12, days: 400, seed: 'backfill' };
const FOLD = { retentionDays: 400, dedupeWindowDays: 7, maxEntities: 10_000 };
const store = createReadStore(bed.redis, { prefix: bed.prefix });

async function backfill() {
  const stdout: string[] = [];
  const code = await runBackfillCommand([], { env: bed.env(), stdout: { write: (text: string) => stdout.push(text) }, stderr: quietStream, clock: () => BACKFILL_CLOCK });
  return { code, stdout: stdout.join('') };
}

const backfilledOf = (points: readonly ScoreHistoryPoint[]) => points.filter((point) => point.backfilled === true);

describe('npm run backfill', () => {
  it('serves a year of weekly scores from event time before the live points, replaces them on a re-run, and erasure deletes them', async () => {
    const argv = ['--customers', `${SIMULATION.customers}`, '--days', `${SIMULATION.days}`, '--seed', SIMULATION.seed, '--now', new Date(NOW).toISOString(), '--rate', '0'];
    expect(await runSimulateCommand(argv, { env: bed.env(), stdout: process.stdout, stderr: quietStream, signal: new AbortController().signal })).toBe(0);
    const customers = generateCustomerHistories({ ...SIMULATION, now: NOW });
    await bed.startScorer({ clock: new ManualClock(NOW).now });
    const live = async () => Promise.all(customers.map(({ customerId }) => store.scoreHistory(customerId, 500)));
    await eventually(live, (histories) => histories.every((history) => history !== null && history.length > 0), 60_000, 'every customer scored');

    const first = await backfill();
    expect(first.code).toBe(BACKFILL_EXIT_CODES.ok);
    expect(first.stdout).toContain(`back-filled ${customers.length} of ${customers.length} customers`);

    const asOf = weekEnds(BACKFILL_CLOCK);
    const config = defaultScoringConfig();
    let stored = 0;
    for (const customer of customers) {
      const points = (await getHistory(store, customer.customerId, 500)) as ScoreHistoryPoint[];
      const firstLive = points.find((point) => point.backfilled !== true)!;
      expect(firstLive.t).toBe(NOW);
      // The scorer's own pure code as of each week end before the first live point, oldest first, then the live points.
      const expected = backfilledPoints(asHistory(customer), asOf, config, FOLD).filter((point) => point.t < firstLive.t);
      const firstEvent = Math.min(...customer.events.map((event) => event.occurredAt));
      expect(expected.map((point) => point.t)).toEqual(asOf.filter((end) => end >= firstEvent && end < NOW));
      expect(backfilledOf(points)).toEqual(expected.map((point) => ({ ...point, t: historyTime(point.t), backfilled: true })));
      expect(points.slice(0, expected.length).every((point) => point.backfilled)).toBe(true);
      expect(points.slice(expected.length).some((point) => point.backfilled)).toBe(false);
      // The two week ends after the scorer's clock are stored, but the live points take their place.
      stored += await bed.redis.llen(bed.keys.customer(customer.customerId).backfill);
      // The default limit holds the whole year and the live points.
      expect(await getHistory(store, customer.customerId, 100)).toEqual(points.slice(-100));
    }
    // The customers there all year have a point every week of it.
    expect(Math.max(...(await live()).map((history) => backfilledOf(history!).length))).toBe(asOf.filter((end) => end < NOW).length);
    expect(stored).toBe(customers.reduce((sum, customer) => sum + backfilledPoints(asHistory(customer), asOf, config, FOLD).length, 0));

    // Idempotent: a re-run replaces the back-fill whole.
    const before = await live();
    expect((await backfill()).code).toBe(BACKFILL_EXIT_CODES.ok);
    expect(await live()).toEqual(before);
    let again = 0;
    for (const { customerId } of customers) again += await bed.redis.llen(bed.keys.customer(customerId).backfill);
    expect(again).toBe(stored);

    // An erasure request deletes the back-fill with the rest of the customer's keys.
    const erased = customers[0]!.customerId;
    await bed.publish([sampleCustomer({ customerId: erased, eventId: 'erase-1', segment: null, erase: true, occurredAt: NOW })]);
    await eventually(() => store.scoreHistory(erased, 500), (history) => history === null, 30_000, 'the customer erased');
    expect(await bed.redis.exists(bed.keys.customer(erased).backfill)).toBe(0);
    // A back-fill after it writes nothing for the erased customer.
    const after = await backfill();
    expect(after.stdout).toContain(`back-filled ${customers.length - 1} of ${customers.length} customers`);
    expect(await bed.redis.exists(bed.keys.customer(erased).backfill)).toBe(0);
  }, 180_000);

  it('says that Redis did not answer, its connection errors logged as JSON lines, never as ioredis prints them', async () => {
    const stderr: string[] = [];
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      // Nothing listens on the discard port.
      const io = { env: { ...bed.env(), REDIS_URL: 'redis://127.0.0.1:9' }, stdout: quietStream, stderr: { write: (text: string) => stderr.push(text), isTTY: false } };
      await expect(runBackfillCommand([], io)).rejects.toThrow('Redis at REDIS_URL did not answer');
      expect(printed).not.toHaveBeenCalled();
      const lines = stderr.join('').split('\n').filter((line) => line !== '');
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(JSON.parse(line)).toMatchObject({ service: 'backfill', dependency: 'redis' });
    } finally {
      printed.mockRestore();
    }
  }, 30_000);

  it('fails, rather than replaying for good, when the schema registry does not answer', async () => {
    // The first test published the history; nothing listens on the discard port.
    const io = { env: { ...bed.env(), SCHEMA_REGISTRY_URL: 'http://127.0.0.1:9/apis/ccompat/v7' }, stdout: quietStream, stderr: quietStream };
    await expect(runBackfillCommand([], io)).rejects.toThrow(/schema registry/);
  }, 60_000);

  it('refuses, writing nothing, a replay by record timestamps of a history none of which was published by the last week end', async () => {
    // The first test published the history today, long after the back-fill's week ends, and back-filled it.
    const backfillKeys = async () => (await bed.redis.keys(`${bed.prefix}:cust:*:backfill`)).length;
    const before = await backfillKeys();
    expect(before).toBeGreaterThan(0);
    const io = { env: bed.env(), stdout: quietStream, stderr: quietStream, clock: () => BACKFILL_CLOCK };
    await expect(runBackfillCommand(['--record-timestamps'], io)).rejects.toThrow(/--record-timestamps: no record was published by the last week end/);
    expect(await backfillKeys()).toBe(before);
  });
});
