// Issue 10, a trained model put into service: a scorer started with another scoring config re-scores every stored
// customer with it, with no input event, and publishes each as a change, so that no stored score goes on saying an
// old model's risk (an independent user found 0 of 780 scores on the new version after a restart, and 302 still on
// the old one once their next evaluations came, their changes too small to publish). Started again with the same
// model, it schedules nothing.
import type { ScoreChangedEvent } from '@churnscore/events';
import { sampleActivity, sampleContract } from '@churnscore/events/testing';
import { defaultScoringConfig, parseScoringConfig, scoringConfigIdentity } from '@churnscore/scoring';
import { modelRolloutMark } from '@churnscore/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ManualClock, ScorerTestBed } from './support';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 1, 2, 10, 0, 0);
const customers = Array.from({ length: 12 }, (_, i) => `rollout-${i}`);
const first = defaultScoringConfig();
/** The same scoring, another version: every value the same, so only the version makes the change. */
const next = { ...first, version: `${first.version}-next` };

const bed = new ScorerTestBed('model-rollout');
/** The scorer of the new model, running from the first test on. */
let nextScorer: Awaited<ReturnType<ScorerTestBed['startScorer']>>;
/** The scorer of the config edited under the same version, from the third test on. */
let editedScorer: Awaited<ReturnType<ScorerTestBed['startScorer']>>;
const scoresOf = () => Promise.all(customers.map((customerId) => bed.scoreHash(customerId)));
const clock = new ManualClock(T0);

beforeAll(async () => {
  // Three partitions: two scorers side by side (the last test) each consume some of every topic.
  await bed.setUp(3);
  const scorer = await bed.startScorer({ clock: clock.now, scoring: first });
  await bed.publish(
    customers.flatMap((customerId, i) => [
      sampleContract({ customerId, eventId: `${customerId}-c`, occurredAt: T0 - 3_600_000, startDate: T0 - 3_600_000, endDate: T0 + 365 * DAY }),
      sampleActivity({ customerId, eventId: `${customerId}-a`, activityType: 'MEETING', value: null, occurredAt: T0 - (i + 1) * 60_000 }),
    ]),
  );
  await eventually(() => bed.revisions(customers), (revisions) => revisions.every((revision) => revision === 2), 60_000, 'the events to be scored');
  await bed.stopScorer(scorer);
}, 120_000);
afterAll(() => bed.tearDown());

describe('a scorer started with a new scoring model', () => {
  it('re-scores every stored customer with it, with no input event, and publishes each score', async () => {
    const before = await Promise.all(customers.map((customerId) => bed.scoreHash(customerId)));
    expect(before.map((score) => score.modelVersion)).toEqual(customers.map(() => first.version));
    clock.set(T0 + 60_000);
    nextScorer = await bed.startScorer({ clock: clock.now, scoring: next });
    await eventually(
      () => Promise.all(customers.map((customerId) => bed.scoreHash(customerId))),
      (scores) => scores.every((score) => score.modelVersion === next.version),
      60_000,
      'every stored score to be of the new model',
    );
    const published = (await bed.everyOutput(bed.topics.scoreChanged)) as ScoreChangedEvent[];
    for (const customerId of customers) {
      const latest = published.findLast((event) => event.customerId === customerId);
      expect(latest, customerId).toMatchObject({ modelVersion: next.version, cause: { kind: 'time' } });
    }
  });

  it('schedules nothing when started again with the model its customers were already made due for', async () => {
    expect(await bed.redis.get(bed.keys.rolledOutModel)).toBe(modelRolloutMark(scoringConfigIdentity(next)));
    expect(await bed.store.scheduleModelRollout(scoringConfigIdentity(next), clock.now(), 60_000)).toBeNull();
  });

  it('re-scores every stored customer with a config edited under the same version, as with a new version', async () => {
    // An outside tester lowered the risk bands' thresholds under the same version: customers re-scored by their events
    // took the new bands, the rest kept the old ones, all under one version.
    const edited = parseScoringConfig({
      ...next,
      bands: { ...next.bands, risk: { mediumMin: 0.0001, highMin: 0.0002 } },
      alerts: { ...next.alerts, renewalAtRisk: { ...next.alerts.renewalAtRisk, recovery: { ...next.alerts.renewalAtRisk.recovery, maxChurnRisk: 0.0001 } } },
    });
    const before = await Promise.all(customers.map((customerId) => bed.scoreHash(customerId)));
    expect(before.some((score) => score.riskBand !== 'high')).toBe(true);
    // Restarted with the edited file.
    await bed.stopScorer(nextScorer);
    clock.set(T0 + 120_000);
    editedScorer = await bed.startScorer({ clock: clock.now, scoring: edited });
    await eventually(
      () => Promise.all(customers.map((customerId) => bed.scoreHash(customerId))),
      (scores) => scores.every((score) => score.riskBand === 'high'),
      60_000,
      "every stored score in the edited config's bands",
    );
    expect(await bed.redis.get(bed.keys.rolledOutModel)).toBe(modelRolloutMark(scoringConfigIdentity(edited)));
  });
});

describe('a rolling restart to a new model', () => {
  it("leaves the customers of the events an instance of the model before consumes to the new model's instances: none of its scores is published meanwhile", async () => {
    // An instance of the model before, in service ...
    await bed.stopScorer(editedScorer);
    clock.set(T0 + 180_000);
    // Polls of 3 s, not the bed's 200 ms: an instance's word that it re-scores for time holds three poll intervals, and
    // the new instance's first round comes once it has joined the group, seconds after its roll-out.
    const settings = { rescorePollIntervalMs: 3_000 };
    const before = await bed.startScorer({ clock: clock.now, scoring: first, settings });
    await eventually(scoresOf, (scores) => scores.every((score) => score.modelVersion === first.version), 60_000, 'every score of the model before');
    // ... and one of the new model started beside it, which rolls it out.
    const rolling = { ...first, version: `${first.version}-rolling` };
    const rolledOutAt = T0 + 240_000;
    clock.set(rolledOutAt);
    await bed.startScorer({ clock: clock.now, scoring: rolling, settings });
    await eventually(scoresOf, (scores) => scores.every((score) => score.modelVersion === rolling.version), 60_000, 'every score of the new model');
    // Events of every customer, on every partition, while both run: the instance of the model before applies those it consumes.
    await bed.publish(customers.map((customerId) => sampleActivity({ customerId, eventId: `${customerId}-rolling`, activityType: 'CALL', value: null, occurredAt: clock.now() - 1_000 })));
    await eventually(scoresOf, (scores) => scores.every((score) => Number(score.revision) === 3 && score.modelVersion === rolling.version), 60_000, 'every event scored by the new model');
    const applied = (await before.metrics.events.get()).values.find((value) => value.labels.outcome === 'applied' && value.labels.topic === bed.topics.activity);
    expect(applied?.value).toBeGreaterThan(0);
    // An old model's score published among the new one's opened and resolved alerts by turns (an outside tester).
    const published = ((await bed.everyOutput(bed.topics.scoreChanged)) as ScoreChangedEvent[]).filter((event) => event.computedAt >= rolledOutAt);
    expect(published.length).toBeGreaterThanOrEqual(customers.length);
    expect(published.filter((event) => event.modelVersion !== rolling.version)).toEqual([]);
  });
});
