// SPEC §7: scores and alerts move with time alone, within the bound, and instances share the due work.
import type { AlertType } from '@churnscore/domain';
import type { AlertEvent } from '@churnscore/events';
import { decodeAlertBook } from '@churnscore/state';
import { sampleActivity, sampleContract } from '@churnscore/events/testing';
import type { RunningScorer } from '../../services/scorer/src/scorer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ManualClock, ScorerTestBed } from './support';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 1, 2, 10, 0, 0);

const rescoredBy = async (scorer: RunningScorer) => (await scorer.metrics.rescored.get()).values[0]?.value ?? 0;

describe('a customer with an active contract who goes silent', () => {
  const bed = new ScorerTestBed('silence');
  const clock = new ManualClock(T0);
  const customerId = 'silent-co';
  const lastActivityAt = T0 - 2 * HOUR;
  const storedEpisode = async (id: string, alertType: AlertType) => decodeAlertBook(id, await bed.redis.get(bed.keys.customer(id).alerts))?.episodes[alertType];

  beforeAll(async () => {
    await bed.setUp();
    await bed.startScorer({ clock: clock.now });
    await bed.publish([
      sampleContract({ customerId, eventId: 'c1', occurredAt: T0 - 100 * DAY, startDate: Date.UTC(2025, 9, 1), endDate: Date.UTC(2027, 8, 30), totalValue: 90_000 }),
      ...Array.from({ length: 12 }, (_, i) =>
        sampleActivity({ customerId, eventId: `a${i}`, activityType: i % 2 ? 'MEETING' : 'EMAIL_RECEIVED', value: null, occurredAt: lastActivityAt - i * 3 * DAY }),
      ),
    ]);
    await eventually(() => bed.scoreHash(customerId), (s) => Number(s.revision) === 13, 60_000, 'the events to be scored');
  });
  afterAll(() => bed.tearDown());

  it('has its health fall and NO_RECENT_ACTIVITY open with no input event, within the bound', async () => {
    const before = await bed.scoreHash(customerId);
    expect(Number(before.nextDueAt)).toBeGreaterThan(T0);

    // A day short of the 30-day threshold: re-scored by time, but no alert yet.
    clock.set(lastActivityAt + 29 * DAY);
    await eventually(() => bed.scoreHash(customerId), (s) => Number(s.asOf) === clock.now(), 30_000, 'a time-driven re-score');
    const silentFor29Days = await bed.scoreHash(customerId);
    // (Topics are consumed independently: had the contract been scored before any activity arrived, the customer
    // looked silent since the contract's start for a moment, and an episode opened and resolved then.)
    expect((await storedEpisode(customerId, 'NO_RECENT_ACTIVITY'))?.status).not.toBe('OPEN');

    // Just past the threshold: the alert opens at once, no input needed.
    const threshold = lastActivityAt + 30 * DAY;
    clock.set(threshold + 60_000);
    const openedAfterThreshold = (event: AlertEvent) =>
      event.alertType === 'NO_RECENT_ACTIVITY' && event.status === 'OPEN' && event.openedAt >= threshold;
    await eventually(
      async () => (await storedEpisode(customerId, 'NO_RECENT_ACTIVITY'))?.status,
      (status) => status === 'OPEN',
      30_000,
      'NO_RECENT_ACTIVITY to open',
    );
    const alert = (await bed.awaitOutput([bed.topics.alerts], (event) => event.kind === 'alert' && openedAfterThreshold(event))) as AlertEvent;
    expect(alert.customerId).toBe(customerId);
    expect(alert.openedAt - threshold).toBeLessThanOrEqual(HOUR);

    const after = await bed.scoreHash(customerId);
    expect(Number(after.health)).toBeLessThan(Number(before.health));
    expect(Number(after.churnRisk)).toBeGreaterThan(Number(before.churnRisk));
    expect(Number(silentFor29Days.health)).toBeLessThanOrEqual(Number(before.health));

    const published = await bed.awaitOutput([bed.topics.scoreChanged], (event) => event.kind === 'score-changed' && event.version === Number(after.version));
    expect(published.kind === 'score-changed' && published.cause.kind).toBe('time');
  });
});

describe('two scorer instances', () => {
  const bed = new ScorerTestBed('shared-due');
  const clock = new ManualClock(T0);
  const customers = Array.from({ length: 120 }, (_, i) => `due-${i}`);
  const instances: RunningScorer[] = [];

  beforeAll(async () => {
    await bed.setUp(2);
    // One customer per claim and one claim at a time: a round takes one Redis and broker round trip per customer,
    // far longer than the other instance's polling interval, so both instances take part in the same round
    // however fast the machine (with 7-customer claims in two lanes, one instance drained all 120 before the
    // other's next poll once in CI).
    const settings = { rescoreClaimLimit: 1, rescoreConcurrentClaims: 1, rescorePollIntervalMs: 20 };
    instances.push(await bed.startScorer({ clock: clock.now, settings }), await bed.startScorer({ clock: clock.now, settings }));
    await bed.publish(customers.map((customerId, i) => sampleActivity({ customerId, eventId: `e${i}`, activityType: 'CALL', value: null, occurredAt: T0 - HOUR })));
    await eventually(
      async () => (await bed.store.readCustomers(customers, clock.now())).filter((s) => s.score !== null).length,
      (scored) => scored === customers.length,
      60_000,
      'every customer to be scored',
    );
  });
  afterAll(() => bed.tearDown());

  it('share the due work and never re-score a customer twice for the same due time', async () => {
    const before = await Promise.all(instances.map(rescoredBy));
    const dueTimes = (await bed.store.readCustomers(customers, clock.now())).map((s) => s.score!.nextDueAt!);
    expect(new Set(dueTimes).size).toBe(1); // all due at the same window edge

    clock.set(dueTimes[0]! + 1);
    const total = () => Promise.all(instances.map(rescoredBy)).then((counts) => counts.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0));
    await eventually(total, (n) => n >= customers.length, 30_000, 'every due customer to be re-scored');
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a few more polling rounds of both instances
    expect(await total()).toBe(customers.length);
    const perInstance = await Promise.all(instances.map(async (s, i) => (await rescoredBy(s)) - before[i]!));
    expect(perInstance.every((n) => n > 0)).toBe(true);

    const rescored = await bed.store.readCustomers(customers, clock.now());
    expect(rescored.every((s) => s.score!.asOf === clock.now())).toBe(true);
  });
});
