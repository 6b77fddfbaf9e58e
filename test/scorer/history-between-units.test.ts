// Issue 10, item 6, through the real scorer: a customer's year of activity loading while the scorer keeps up (no lag
// to show it), with a record of another topic from this morning arriving between two parts of it: the contract's
// renewal, in a unit of work of its own, after the first months of activity and before the rest. `npm run evaluate`
// found this (docs/time-and-alerts.md, the fourth finding): judged live, the renewal opened NO_RECENT_ACTIVITY ("no
// activity for 353 days") and CHURN_RISK_HIGH, which resolved as the rest of the year arrived. Each part is applied
// before the next is published, so the units are these three whatever the fetches bring.
import { MS_PER_DAY } from '@churnscore/domain';
import type { AlertEvent, ScoreChangedEvent } from '@churnscore/events';
import { sampleActivity, sampleContract } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ManualClock, ScorerTestBed } from './support';

const NOW = Date.UTC(2026, 4, 20, 12, 30, 0);
const SETTLE_MS = 60_000;
const customerId = 'renewed-after-a-year';

const bed = new ScorerTestBed('history-between-units');
const clock = new ManualClock(NOW);
const signed = sampleContract({ customerId, eventId: 'signed', contractId: 'subscription', occurredAt: NOW - 364 * MS_PER_DAY, startDate: NOW - 364 * MS_PER_DAY, endDate: NOW + MS_PER_DAY });
const renewed = sampleContract({ ...signed, eventId: 'renewed', occurredAt: NOW - 5 * 3_600_000, endDate: NOW + 365 * MS_PER_DAY, status: 'RENEWED' });
/** A call or an email every other day from 353 days ago to yesterday. */
const activity = Array.from({ length: 177 }, (_, i) =>
  sampleActivity({ customerId, eventId: `activity-${i}`, activityType: i % 2 ? 'CALL' : 'EMAIL_RECEIVED', value: null, occurredAt: NOW - (353 - 2 * i) * MS_PER_DAY }),
);
const parts = [[signed, ...activity.slice(0, 6)], [renewed], activity.slice(6)];

let alerts: AlertEvent[];
let scoreChanges: ScoreChangedEvent[];

beforeAll(async () => {
  await bed.setUp();
  await bed.startScorer({ clock: clock.now, settings: { catchUpSettleMs: SETTLE_MS } });
  let revision = 0;
  for (const part of parts) {
    await bed.publish(part);
    revision += part.length;
    await eventually(() => bed.scoreHash(customerId), (score) => Number(score.revision) === revision, 60_000, `the events up to revision ${revision} to be scored`);
  }
  clock.set(NOW + SETTLE_MS + 1_000);
  await eventually(
    async () => (await bed.store.readCustomers([customerId], clock.now()))[0]!,
    (snapshot) => snapshot.alertBook?.held === undefined && snapshot.outbox.length === 0,
    60_000,
    'the hold to settle',
  );
  alerts = (await bed.everyOutput(bed.topics.alerts)) as AlertEvent[];
  scoreChanges = (await bed.everyOutput(bed.topics.scoreChanged)) as ScoreChangedEvent[];
}, 180_000);
afterAll(() => bed.tearDown());

describe('a contract renewal of this morning between two parts of a year of activity', () => {
  it('holds the alerts through the renewal, so no episode opens and resolves again', () => {
    expect(alerts.map((alert) => `${alert.alertType} ${alert.status}: ${alert.reason}`)).toEqual([]);
  });

  it('publishes the scores meanwhile, said to be catching up, and ends on one that is not', () => {
    const renewal = scoreChanges.find((change) => change.cause.kind === 'event' && change.cause.eventId === 'renewed');
    expect(renewal?.catchingUp).toBe(true);
    expect(scoreChanges.at(-1)?.catchingUp).toBe(false);
  });
});
