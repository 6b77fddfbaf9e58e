// Issue 10, item 6: history loads without alert storms. Three hundred customers' histories reach a running
// scorer in the order that used to page people for nothing: the contract topic first (each customer looked
// "signed, no activity" at first), then the activity customer by customer, newest first, split across sends
// (a customer's records straddle units of work). Whatever the order, alert transitions are published only
// for states the data supports: no episode opens from a transient state (to resolve once the rest arrives),
// and the open alerts at the end are those the final state alone gives.
import type { InputEvent } from '@churnscore/domain';
import type { AlertEvent, ScoreChangedEvent } from '@churnscore/events';
import { decodeScoreHistoryEntry, historyTime, SCORE_HISTORY_LENGTH } from '@churnscore/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKLOG_NOW, BACKLOG_PARTITIONS, BACKLOG_SETTINGS, bookedOpenAlerts, everyEventScored, heldOrUnpublished, openedAndResolvedAgain, supportedOpenAlerts, unsupported } from './backlog-checks';
import { customerHistories } from './backlog-histories';
import { eventually, ManualClock, ScorerTestBed } from './support';

const CUSTOMERS = 300;
const NOW = BACKLOG_NOW;
/** Records per send: each partition's share is several units of work, and a send ends mid-customer. */
const SEND = 3_000;

const bed = new ScorerTestBed('backlog-alerts');
const clock = new ManualClock(NOW);
const histories = customerHistories({ customers: CUSTOMERS, now: NOW, seed: 'backlog-alerts' });
const customerIds = histories.map((history) => history.customerId);
const withoutActivity = new Set(histories.filter((h) => !h.events.some((event) => event.kind === 'activity')).map((h) => h.customerId));
const settings = BACKLOG_SETTINGS;

const isBackground = (event: InputEvent) => event.kind === 'contract' || event.kind === 'customer';
/** The contract and profile topics, whole, before anything else. */
const contractsFirst = histories.flatMap((history) => history.events.filter(isBackground));
/** Then the rest, customer by customer, each customer's newest event first. */
const newestFirst = histories.flatMap((history) => history.events.filter((event) => !isBackground(event)).sort((a, b) => b.occurredAt - a.occurredAt));

const snapshots = () => bed.store.readCustomers(customerIds, clock.now());
const heldCustomers = async () => heldOrUnpublished(await snapshots());
/** Customers still held for the backlog itself (a hold with no settling time: it waits for the partitions to catch up). */
const heldForBacklog = async () => (await snapshots()).filter((s) => s.alertBook?.held !== undefined && s.alertBook.held.settlesAt === null).map((s) => s.customerId);

let alerts: AlertEvent[];
let scoreChanges: ScoreChangedEvent[];
/** alertIds of the OPEN episodes evaluateCustomer gives each customer's final state alone (no earlier score, no book). */
let supported: Set<string>;
/** Customers whose alerts were still held once every partition had caught up: history settling, none for the backlog. */
let heldAfterCatchUp: string[];

beforeAll(async () => {
  await bed.setUp(BACKLOG_PARTITIONS);
  await bed.startScorer({ clock: clock.now, settings });
  await bed.publish(contractsFirst);
  for (let start = 0; start < newestFirst.length; start += SEND) await bed.publish(newestFirst.slice(start, start + SEND));

  await everyEventScored(bed, histories, clock.now());
  // A second later the customers held for the backlog are evaluated again. What their last events left as history
  // (history without activity; newest first, a customer's oldest events came last) settles later.
  clock.set(NOW + 1_000);
  await eventually(heldForBacklog, (held) => held.length === 0, 60_000, 'the backlog holds to be released');
  heldAfterCatchUp = await heldCustomers();
  clock.set(NOW + settings.catchUpSettleMs + 1_000);
  await eventually(heldCustomers, (held) => held.length === 0, 60_000, 'every hold to be released');

  supported = supportedOpenAlerts(bed, await snapshots(), clock.now());
  alerts = (await bed.everyOutput(bed.topics.alerts)) as AlertEvent[];
  scoreChanges = (await bed.everyOutput(bed.topics.scoreChanged)) as ScoreChangedEvent[];
}, 180_000);
afterAll(() => bed.tearDown());

describe('a history loaded contract topic first, then customer by customer, newest first', () => {
  it('opens no alert that resolves again: no OPEN → RESOLVED pair from a transient state', () => {
    expect(openedAndResolvedAgain(alerts)).toEqual([]);
  });

  it('opens only alerts the final state supports, and ends with exactly those open', async () => {
    // The comparison means something: the population ends with alerts of several kinds open.
    expect(supported.size).toBeGreaterThanOrEqual(30);
    expect(new Set(alerts.map((a) => a.alertType)).size).toBeGreaterThanOrEqual(3);

    expect(unsupported(alerts, supported)).toEqual([]);
    const latest = new Map<string, AlertEvent>();
    for (const alert of alerts) if (alert.version > (latest.get(alert.alertId)?.version ?? 0)) latest.set(alert.alertId, alert);
    const openAtEnd = [...latest.values()].filter((a) => a.status === 'OPEN').map((a) => a.alertId);
    expect(new Set(openAtEnd)).toEqual(supported);
    expect(bookedOpenAlerts(await snapshots())).toEqual(supported);
  });

  it('released the backlog holds once caught up, and history once it settled', () => {
    expect(withoutActivity.size).toBeGreaterThan(0);
    expect(heldAfterCatchUp).toEqual(expect.arrayContaining([...withoutActivity]));
  });

  it('says which scores were computed while catching up, and ends every customer on a score that is not', () => {
    expect(scoreChanges.filter((s) => s.catchingUp).length).toBeGreaterThan(CUSTOMERS);
    const last = new Map<string, ScoreChangedEvent>();
    for (const change of scoreChanges) if (change.version > (last.get(change.customerId)?.version ?? 0)) last.set(change.customerId, change);
    expect([...last.values()].filter((s) => s.catchingUp).map((s) => s.customerId)).toEqual([]);
    expect(last.size).toBe(CUSTOMERS);
  });

  it('charts only the scores published once caught up, none of the states the load passed through', async () => {
    for (const customerId of customerIds) {
      const byVersion = new Map(scoreChanges.filter((s) => s.customerId === customerId && !s.catchingUp).map((s) => [s.version, s]));
      const settled = [...byVersion.values()].sort((a, b) => b.version - a.version).slice(0, SCORE_HISTORY_LENGTH);
      const points = (await bed.redis.lrange(bed.keys.customer(customerId).history, 0, -1)).map(decodeScoreHistoryEntry);
      const charted = settled.map((s) => ({ t: historyTime(s.computedAt), health: s.current.health, churnRisk: s.current.churnRisk, band: s.current.band }));
      expect(points, customerId).toEqual(charted);
    }
  });
});
