// A scorer restarted with a backlog in its input partitions, and customers due in Redis. The first one applied the
// oldest part of the histories and stopped before their holds settled (a crash mid-load); the rest was published
// while no scorer ran. The restarted scorer's time-driven re-scoring must not take the partial states it finds in
// Redis for settled ones before its consumer has seen the backlog: an outside tester's crash test found 322 alert
// episodes opened, 301 of them resolved within 70 s, on 200 customers (SPEC §8: a history loading publishes no
// alert transition its data does not support).
import type { AlertEvent, ScoreChangedEvent } from '@churnscore/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKLOG_NOW, BACKLOG_PARTITIONS, BACKLOG_SETTINGS, bookedOpenAlerts, everyEventScored, heldOrUnpublished, openedAndResolvedAgain, supportedOpenAlerts, unsupported } from './backlog-checks';
import { customerHistories } from './backlog-histories';
import { eventually, ManualClock, ScorerTestBed } from './support';

const CUSTOMERS = 120;
const NOW = BACKLOG_NOW;
/** The share of the histories, oldest first, applied before the crash. */
const BEFORE_CRASH = 0.12;

const bed = new ScorerTestBed('restart-backlog');
const clock = new ManualClock(NOW);
const settings = BACKLOG_SETTINGS;
const histories = customerHistories({ customers: CUSTOMERS, now: NOW, seed: 'restart-backlog' });
const customerIds = histories.map((history) => history.customerId);
const oldestFirst = histories.flatMap((history) => history.events).sort((a, b) => a.occurredAt - b.occurredAt);
const split = Math.round(oldestFirst.length * BEFORE_CRASH);

const snapshots = () => bed.store.readCustomers(customerIds, clock.now());
const heldCustomers = async () => heldOrUnpublished(await snapshots());

let alertsBeforeRestart: number;
let alerts: AlertEvent[];
let settledBeforeCaughtUp: string[];
let supported: Set<string>;

beforeAll(async () => {
  await bed.setUp(BACKLOG_PARTITIONS);
  const first = await bed.startScorer({ clock: clock.now, settings });
  await bed.publish(oldestFirst.slice(0, split));
  const appliedBefore = new Map<string, number>();
  for (const event of oldestFirst.slice(0, split)) appliedBefore.set(event.customerId, (appliedBefore.get(event.customerId) ?? 0) + 1);
  await eventually(
    snapshots,
    (all) => all.every((s) => s.state.revision === (appliedBefore.get(s.customerId) ?? 0) && (s.state.revision === 0 || s.score?.revision === s.state.revision)),
    60_000,
    'the oldest part of the histories to be applied and scored',
  );
  await bed.stopScorer(first);
  alertsBeforeRestart = (await bed.everyOutput(bed.topics.alerts)).length;

  // The rest arrives while no scorer runs; by the restart, the holds have settled and every customer is due.
  await bed.publish(oldestFirst.slice(split));
  clock.set(NOW + settings.catchUpSettleMs + 1_000);
  await bed.store.scheduleDueBy([...appliedBefore.keys()], clock.now());
  const restartedAt = clock.now();
  await bed.startScorer({ clock: clock.now, settings });

  await everyEventScored(bed, histories, clock.now());
  // Scores the restarted scorer computed (told by its clock: the output topic's partitions are read one after
  // another, so where a record comes in what is read says nothing of when it was published) as settled while some
  // of the customer's history was still unapplied.
  const scoreChanges = ((await bed.everyOutput(bed.topics.scoreChanged)) as ScoreChangedEvent[]).filter((change) => change.computedAt >= restartedAt);
  const caughtUpAt = new Map<string, number>();
  for (const change of scoreChanges) {
    if (!caughtUpAt.has(change.customerId) && change.cause.kind === 'event') caughtUpAt.set(change.customerId, change.version);
  }
  settledBeforeCaughtUp = scoreChanges
    .filter((change) => !change.catchingUp && change.cause.kind === 'time' && change.version < (caughtUpAt.get(change.customerId) ?? 0))
    .map((change) => change.customerId);

  clock.set(NOW + 2 * settings.catchUpSettleMs + 2_000);
  await eventually(heldCustomers, (held) => held.length === 0, 60_000, 'every hold to be released');
  supported = supportedOpenAlerts(bed, await snapshots(), clock.now());
  alerts = (await bed.everyOutput(bed.topics.alerts)) as AlertEvent[];
}, 240_000);
afterAll(() => bed.tearDown());

describe('a scorer restarted with a backlog in its partitions and customers due', () => {
  it('publishes no settled score from the partial state it finds before it has read the backlog', () => {
    expect(alertsBeforeRestart).toBe(0);
    expect(settledBeforeCaughtUp).toEqual([]);
  });

  it('opens no alert that resolves again, and ends with the alerts the final state supports', async () => {
    expect(openedAndResolvedAgain(alerts)).toEqual([]);
    expect(supported.size).toBeGreaterThan(0);
    expect(unsupported(alerts, supported)).toEqual([]);
    expect(bookedOpenAlerts(await snapshots())).toEqual(supported);
  });
});
