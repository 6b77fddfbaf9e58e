// Issue 10, item 6, through the real scorer: a customer's year of activity loading while the scorer keeps up (no lag
// to show it), with a record from this morning arriving between two parts of it, in a unit of work of its own, after
// the first months of activity and before the rest. `npm run evaluate` found it with another topic's record, the
// contract's renewal (docs/time-and-alerts.md, the fourth finding): judged live, the renewal opened
// NO_RECENT_ACTIVITY ("no activity for 353 days") and CHURN_RISK_HIGH, which resolved as the rest of the year arrived.
// An independent client publishing a history newest first found it with the customer's own activity of the last hours
// (the fifth finding): judged live, it opened CHURN_RISK_HIGH, and HEALTH_BAND_DROPPED against that transient score.
// The same client, its scorer started before the history was published, found a customer seen first with its last
// days of activity and two support tickets opened in them: judged live as a first score, they read as a customer
// drowning in tickets (churn risk 0.61) and opened CHURN_RISK_HIGH, which the rest of its year took back.
// Each part is applied before the next is published, so the units are these three whatever the fetches bring.
import { MS_PER_DAY } from '@churnscore/domain';
import type { AlertEvent, ScoreChangedEvent } from '@churnscore/events';
import { sampleActivity, sampleContract } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ManualClock, ScorerTestBed } from './support';

const NOW = Date.UTC(2026, 4, 20, 12, 30, 0);
const SETTLE_MS = 60_000;
const customerId = 'renewed-after-a-year';
const activeToday = 'active-an-hour-ago';

const bed = new ScorerTestBed('history-between-units');
const clock = new ManualClock(NOW);
const signed = sampleContract({ customerId, eventId: 'signed', contractId: 'subscription', occurredAt: NOW - 364 * MS_PER_DAY, startDate: NOW - 364 * MS_PER_DAY, endDate: NOW + MS_PER_DAY });
// Renewed for more: a change of contract value is published whatever the scorecards weigh (value at risk ranks), so the
// renewal's score is one to judge however little the move from the renewal scorecard to the steady one changes health.
const renewed = sampleContract({ ...signed, eventId: 'renewed', occurredAt: NOW - 5 * 3_600_000, endDate: NOW + 365 * MS_PER_DAY, status: 'RENEWED', totalValue: 150_000 });
/** A call or an email every other day from 353 days ago to yesterday. */
const activity = Array.from({ length: 177 }, (_, i) =>
  sampleActivity({ customerId, eventId: `activity-${i}`, activityType: i % 2 ? 'CALL' : 'EMAIL_RECEIVED', value: null, occurredAt: NOW - (353 - 2 * i) * MS_PER_DAY }),
);
/**
 * Another customer's year of product use, emails and meetings, with an email of an hour ago that arrives after the
 * months before the last two and before those: alone with them it reads as engagement fallen away (churn risk 0.54,
 * CHURN_RISK_HIGH and, the renewal being near, RENEWAL_AT_RISK), the whole year as a healthy customer.
 */
const ACTIVITY_MIX = ['PRODUCT_USAGE', 'EMAIL_RECEIVED', 'MEETING'] as const;
const todaysCustomer = {
  signed: { ...signed, customerId: activeToday },
  activity: activity.map((event, i) => {
    const activityType = ACTIVITY_MIX[i % ACTIVITY_MIX.length]!;
    return { ...event, customerId: activeToday, activityType, value: activityType === 'PRODUCT_USAGE' ? 5 : null };
  }),
  anHourAgo: sampleActivity({ customerId: activeToday, eventId: 'an-hour-ago', activityType: 'EMAIL_RECEIVED', value: null, occurredAt: NOW - 3_600_000 }),
};
const lastTwoMonths = (event: { occurredAt: number }) => event.occurredAt >= NOW - 60 * MS_PER_DAY;
/**
 * A third customer, of two years' standing, whose history arrives newest first: its contract's records and its last
 * four days (product use, an email, two support tickets opened), then the rest of its year. The first part alone reads
 * churn risk 0.61 (two open tickets against two engagement events); the whole history 0.07.
 */
const newestFirst = 'seen-first-with-its-last-days';
const newestFirstCustomer = (() => {
  const contract = sampleContract({ customerId: newestFirst, eventId: 'signed-2y', contractId: 'subscription', occurredAt: NOW - 729 * MS_PER_DAY, startDate: NOW - 729 * MS_PER_DAY, endDate: NOW - 365 * MS_PER_DAY });
  const renewal = sampleContract({ ...contract, eventId: 'renewed-1y', occurredAt: NOW - 365 * MS_PER_DAY, startDate: NOW - 364 * MS_PER_DAY, endDate: NOW + 200 * MS_PER_DAY, status: 'RENEWED' });
  const year = todaysCustomer.activity.map((event) => ({ ...event, customerId: newestFirst }));
  const tickets = [2, 3].map((days) =>
    sampleActivity({ customerId: newestFirst, eventId: `ticket-${days}`, activityType: 'SUPPORT_TICKET_OPENED', value: null, ticketId: `T-${days}`, occurredAt: NOW - days * MS_PER_DAY }),
  );
  const lastDays = (event: { occurredAt: number }) => event.occurredAt >= NOW - 4 * MS_PER_DAY;
  return { first: [contract, renewal, ...year.filter(lastDays), ...tickets], rest: year.filter((event) => !lastDays(event)) };
})();
/** Each round publishes each customer's part of it. */
const rounds = [
  [[signed, ...activity.slice(0, 6)], [todaysCustomer.signed, ...todaysCustomer.activity.filter((event) => !lastTwoMonths(event))], []],
  [[renewed], [todaysCustomer.anHourAgo], []],
  [activity.slice(6), todaysCustomer.activity.filter(lastTwoMonths), newestFirstCustomer.rest],
];
const customers = [customerId, activeToday, newestFirst];

let alerts: AlertEvent[];
let scoreChanges: ScoreChangedEvent[];

beforeAll(async () => {
  await bed.setUp();
  // The third customer's first part is in Kafka before the scorer starts, so that its first fetch brings the contract's
  // records and the last days together, as a load begun before the scorer does.
  await bed.publish(newestFirstCustomer.first);
  await bed.startScorer({ clock: clock.now, settings: { catchUpSettleMs: SETTLE_MS } });
  const revisions = [0, 0, newestFirstCustomer.first.length];
  for (const parts of rounds) {
    await bed.publish(parts.flat());
    parts.forEach((part, i) => (revisions[i]! += part.length));
    await eventually(() => bed.revisions(customers), (scored) => scored.every((revision, i) => revision === revisions[i]), 60_000, `the events up to revisions ${revisions.join(', ')} to be scored`);
  }
  clock.set(NOW + SETTLE_MS + 1_000);
  await eventually(
    () => bed.store.readCustomers(customers, clock.now()),
    (snapshots) => snapshots.every((snapshot) => snapshot.alertBook?.held === undefined && snapshot.outbox.length === 0),
    60_000,
    'the holds to settle',
  );
  alerts = (await bed.everyOutput(bed.topics.alerts)) as AlertEvent[];
  scoreChanges = (await bed.everyOutput(bed.topics.scoreChanged)) as ScoreChangedEvent[];
}, 180_000);
afterAll(() => bed.tearDown());

describe('a record of this morning between two parts of a year of activity', () => {
  it('holds the alerts through it, so no episode opens and resolves again, nor opens against a transient score', () => {
    expect(alerts.map((alert) => `${alert.customerId} ${alert.alertType} ${alert.status}: ${alert.reason}`)).toEqual([]);
  });

  it('publishes the scores meanwhile, said to be catching up, and ends on one that is not', () => {
    for (const eventId of ['renewed', 'an-hour-ago']) {
      const change = scoreChanges.find(({ cause }) => cause.kind === 'event' && cause.eventId === eventId);
      expect(change?.catchingUp, eventId).toBe(true);
    }
    // The customer seen first with its last days: its first score too.
    expect(scoreChanges.find((change) => change.customerId === newestFirst)?.catchingUp).toBe(true);
    for (const customer of customers) expect(scoreChanges.findLast((change) => change.customerId === customer)?.catchingUp, customer).toBe(false);
  });
});
