import { alertMessage, bandBaseline, scoreValues, utcDay, type AlertEpisode, type AlertMessage, type CustomerState, type ScoreCause } from '@churnscore/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyAlertBook, evaluateAlerts } from './alerts';
import { nextDueAt } from './due';
import { evaluateCustomer, type CustomerEvaluation, type CustomerEvaluationInput } from './evaluate';
import { computeInsights } from './insights';
import { scoreCustomer } from './score';
import { contract, DAY, emptyState, EVALUATION_OPTIONS, NOW, RETENTION, TODAY, bucket, handSetConfig, healthyState, opportunity, silentFor, stateArbitrary } from './test-fixtures';

const config = handSetConfig;
const CAUSE: ScoreCause = { kind: 'event', eventId: 'evt-1' };

const evaluate = (customer: Partial<CustomerEvaluationInput> = {}, now = NOW): CustomerEvaluation =>
  evaluateCustomer(
    { state: healthyState(), published: null, alertBook: null, cause: CAUSE, newGeneration: false, inputsBehind: false, ...customer },
    config,
    now,
    EVALUATION_OPTIONS,
  );

const summary = (episode: AlertEpisode): string => `${episode.alertType} ${episode.status}`;
const alertsOf = (evaluation: CustomerEvaluation): AlertMessage[] =>
  evaluation.outbox.flatMap((message) => (message.kind === 'alert' ? [message] : []));

/**
 * A customer of long standing seen for the first time is held for settleMs, as the first sight of a load is
 * (catch-up.ts): its score as published once that hold settled with nothing more arriving.
 */
const settledFirstSight = (state: CustomerState = healthyState(), now = NOW): CustomerEvaluation => {
  const firstSight = evaluate({ state }, now - EVALUATION_OPTIONS.catchUp.settleMs);
  return evaluate({ state, published: firstSight.score, alertBook: firstSight.alertBook, cause: { kind: 'time' } }, now);
};
/** A customer signing today: live from its first event. */
const signingToday = healthyState({ contracts: [contract({ occurredAt: NOW - 3_600_000, startDate: utcDay(NOW) * DAY })] });

/** A healthy customer scored live: first seen (held, as any customer of long standing is), then judged on an event of today. */
const healthy = (() => {
  const loaded = settledFirstSight();
  return evaluate({ published: loaded.score, alertBook: loaded.alertBook, newestEventAt: NOW });
})();
/** A customer that went silent after a healthy score was published: its band dropped and it has been inactive for 45 days. */
const silent = evaluate({ state: silentFor(45), published: healthy.score });
/** The silent customer after one call yesterday: activity resumed, health not yet back in its band. */
const silentState = silentFor(45);
const calledYesterday: CustomerState = { ...silentState, lastActivityAt: NOW - DAY, activityDays: [...silentState.activityDays, bucket(1, 'CALL')] };

describe('evaluateCustomer', () => {
  it("publishes a customer's first score: the score-changed event without a version, carrying the cause", () => {
    const first = evaluate({ state: signingToday });
    expect(first).toMatchObject({ significant: true, transitions: [], alertBook: emptyAlertBook(), hasOpenAlerts: false });
    expect(first.insights).toEqual(computeInsights(signingToday, NOW, RETENTION));
    expect(first.outbox).toEqual([
      {
        kind: 'score-changed',
        customerId: 'customer-1',
        cause: CAUSE,
        previous: null,
        current: scoreValues(first.score),
        segment: 'SMB',
        explanation: first.score.explanation,
        modelVersion: config.version,
        computedAt: NOW,
        catchingUp: false,
      },
    ]);
    expect(first.nextDueAt).toBeGreaterThan(NOW);
    expect(evaluate({ state: signingToday, cause: { kind: 'time' } }).outbox[0]).toMatchObject({ kind: 'score-changed', cause: { kind: 'time' } });
  });

  it('holds the alerts of a customer of long standing seen for the first time, for settleMs: the first of its history to arrive', () => {
    // Found by an independent client publishing a history newest first while the scorer kept up: a customer's
    // contracts and its last two days of activity, its first unit of work, read as engagement fallen away and opened
    // CHURN_RISK_HIGH (and, against that score, HEALTH_BAND_DROPPED later), which the rest of its past took back.
    const firstSight = evaluate({ state: silentFor(45) });
    expect(firstSight).toMatchObject({ catchingUp: true, significant: true, transitions: [], nextDueAt: NOW + EVALUATION_OPTIONS.catchUp.settleMs });
    expect(firstSight.alertBook.held).toEqual({ since: NOW, baseline: null, settlesAt: NOW + EVALUATION_OPTIONS.catchUp.settleMs });
    // Nothing more arrived: what the state supports opens once the hold settles.
    expect(settledFirstSight(silentFor(45)).transitions.map(summary)).toEqual(['NO_RECENT_ACTIVITY OPEN']);
  });

  it('keeps a hold for history arriving while a load of history goes on, past its settle time, and releases it once the load stopped', () => {
    // Found by an outside tester (adv50 F1): `ingest` one kind after another at --rate 1000 published a customer's
    // contracts a minute before its activity; released after settleMs, its contracts alone opened NO_RECENT_ACTIVITY
    // ("no activity from the customer for 171 days" for a customer active an hour before), resolved as its activity came.
    const { settleMs } = EVALUATION_OPTIONS.catchUp;
    const contractsOnly = emptyState({ contracts: [contract()] });
    const firstSight = evaluate({ state: contractsOnly });
    const recheck = (historyLoading: boolean, at: number, earlier: CustomerEvaluation = firstSight) =>
      evaluate({ state: contractsOnly, published: earlier.score, publishedCatchingUp: true, alertBook: earlier.alertBook, cause: { kind: 'time' }, historyLoading }, at);
    const whileLoading = recheck(true, NOW + settleMs);
    expect(whileLoading).toMatchObject({ catchingUp: true, transitions: [] });
    expect(whileLoading.alertBook.held).toEqual(firstSight.alertBook.held);
    // Rechecked as long again as it has been held: a long load costs a few rechecks per customer.
    expect(whileLoading.nextDueAt).toBe(NOW + 2 * settleMs);
    // A record younger than the history age arriving meanwhile says nothing of whether more of its history follows.
    const emailed = evaluate({ state: contractsOnly, published: whileLoading.score, alertBook: whileLoading.alertBook, historyLoading: true, newestEventAt: NOW + settleMs }, NOW + settleMs + 1);
    expect(emailed).toMatchObject({ catchingUp: true, transitions: [] });
    // The load stopped with nothing more for this customer: what its state supports opens, as without the load.
    const released = recheck(false, NOW + 2 * settleMs, whileLoading);
    expect(released.catchingUp).toBe(false);
    expect(released.transitions.map(summary)).toEqual(recheck(false, NOW + settleMs).transitions.map(summary));
    expect(released.transitions.map(summary)).toContain('NO_RECENT_ACTIVITY OPEN');
  });

  it('holds a customer seen for the first time while a load of history arrives, whatever its first events', () => {
    // Found by an outside tester (adv52 F6): an export published customer by customer, newest first, at a pace the scorer
    // kept up with: a prospect's first unit (its last hours of activity, no contract yet) was judged live and published
    // as settled (health 30 red against a final 85 green), a point left in its score history.
    const lastHours = emptyState({ lastActivityAt: NOW - 3_600_000, activityDays: [bucket(0, 'EMAIL_RECEIVED')] });
    expect(evaluate({ state: lastHours, newestEventAt: NOW - 3_600_000 }).catchingUp).toBe(false);
    const loading = evaluate({ state: lastHours, newestEventAt: NOW - 3_600_000, historyLoading: true });
    expect(loading).toMatchObject({ catchingUp: true, nextDueAt: NOW + EVALUATION_OPTIONS.catchUp.settleMs });
    expect(loading.alertBook.held).toEqual({ since: NOW, baseline: null, settlesAt: NOW + EVALUATION_OPTIONS.catchUp.settleMs });
  });

  it('takes no baseline for a hold begun before a customer first seen in a backlog was judged on live events', () => {
    // Found by an outside tester (adv50 F2): a load's recent part (contracts, the last 20 days) and, after a pause longer
    // than the settle time, its older activity. The first part's score, released by time, was green (78); the hold the
    // older activity began took it for its baseline, and HEALTH_BAND_DROPPED opened "from green to yellow (health 78 →
    // 66)" where the same history loaded in one go opens none.
    const recentPart = settledFirstSight();
    expect(recentPart.alertBook.seenOnlyInBacklog).toBe(true);
    const olderHistory = evaluate({ state: silentFor(45), published: recentPart.score, alertBook: recentPart.alertBook, newestEventAt: NOW - 100 * DAY, newestActivityAt: NOW - 100 * DAY });
    expect(olderHistory.alertBook.held?.baseline).toBeNull();
    const loaded = evaluate({ state: silentFor(45), published: olderHistory.score, alertBook: olderHistory.alertBook, cause: { kind: 'time' } }, NOW + EVALUATION_OPTIONS.catchUp.settleMs);
    expect(loaded.transitions.map(summary)).toEqual(settledFirstSight(silentFor(45), NOW + EVALUATION_OPTIONS.catchUp.settleMs).transitions.map(summary));
    expect(loaded.transitions.map(summary)).not.toContain('HEALTH_BAND_DROPPED OPEN');
    // Judged on a live event, the customer's score is a baseline again: a later hold keeps it.
    expect(healthy.alertBook.seenOnlyInBacklog).toBeUndefined();
    const held = evaluate({ state: silentFor(45), published: healthy.score, alertBook: healthy.alertBook, newestEventAt: NOW - 100 * DAY, newestActivityAt: NOW - 100 * DAY });
    expect(held.alertBook.held?.baseline).toEqual(bandBaseline(healthy.score));
  });

  it('publishes nothing when re-evaluated against what it produced (a redelivery, a retried commit)', () => {
    const again = evaluate({ state: silentFor(45), published: silent.score, alertBook: silent.alertBook });
    expect(again).toMatchObject({ significant: false, transitions: [], outbox: [], alertBook: silent.alertBook, hasOpenAlerts: true });
    expect(again.score).toEqual({ ...silent.score, explanation: { ...silent.score.explanation, topDrivers: [] } });
  });

  it('measures significance against the published score, a change of segment included', () => {
    const published = { ...healthy.score, segment: 'ENTERPRISE' };
    const moved = evaluate({ published, alertBook: healthy.alertBook });
    expect(moved.significant).toBe(true);
    expect(moved.outbox).toEqual([expect.objectContaining({ kind: 'score-changed', previous: scoreValues(published), segment: 'SMB' })]);
    expect(evaluate({ published: healthy.score, alertBook: healthy.alertBook }).significant).toBe(false);
  });

  it('publishes an upsell at once, however little the risk moved: value at risk follows the contract value', () => {
    // Found by an outside tester (adv35): a 900,000 contract added to a healthy customer left its value at risk, its
    // place in the value-at-risk ranking and the portfolio's total where they were, until health or risk moved.
    // The contract's value raised tenfold by a later event (the same contract: health's contract breadth unchanged).
    const upsold = healthyState({ contracts: [contract({ totalValue: 1_000_000, occurredAt: NOW - DAY })] });
    const evaluation = evaluate({ state: upsold, published: healthy.score, alertBook: healthy.alertBook });
    expect(evaluation.score).toMatchObject({ health: healthy.score.health, churnRisk: healthy.score.churnRisk });
    expect(evaluation.significant).toBe(true);
    expect(evaluation.outbox[0]).toMatchObject({ kind: 'score-changed', current: { valueAtRisk: Math.round(evaluation.score.churnRisk * 1_000_000 * 100) / 100 } });
  });

  it("ends no silence with what we do: our emails, follow-up tasks and the CSM's sentiment leave a silent customer silent", () => {
    // Found by an outside tester (adv35): one outbound email to a customer silent for 40 days resolved its
    // NO_RECENT_ACTIVITY ("activity resumed") and raised its health from 53 to 64, as did the CSM logging a sentiment of −2.
    const silent40 = silentFor(40);
    const before = evaluate({ state: silent40, published: healthy.score, alertBook: healthy.alertBook });
    expect(before.alertBook.episodes.NO_RECENT_ACTIVITY).toMatchObject({ status: 'OPEN' });
    const chased: CustomerState = {
      ...silent40,
      activityDays: [...silent40.activityDays, bucket(0, 'EMAIL_SENT'), bucket(0, 'FOLLOW_UP_TASK'), bucket(0, 'CSM_SENTIMENT')],
      lastActivityAt: NOW - 3_600_000,
      latestCsmSentiment: { value: -2, occurredAt: NOW - 3_600_000, eventId: 'csm-chased' },
      revision: silent40.revision + 3,
    };
    const after = evaluate({ state: chased, published: before.score, alertBook: before.alertBook });
    expect(after.transitions.map(summary)).not.toContain('NO_RECENT_ACTIVITY RESOLVED');
    expect(after.alertBook.episodes.NO_RECENT_ACTIVITY).toMatchObject({ status: 'OPEN', episode: before.alertBook.episodes.NO_RECENT_ACTIVITY!.episode });
    expect(after.score.health).toBeLessThanOrEqual(before.score.health);
    expect(after.score.churnRisk).toBeGreaterThanOrEqual(before.score.churnRisk);
    // The customer's own reply does end it.
    const replied = { ...chased, activityDays: [...chased.activityDays, bucket(0, 'EMAIL_RECEIVED')], lastCustomerActivityAt: NOW - 60_000, lastActivityAt: NOW - 60_000 };
    expect(evaluate({ state: replied, published: after.score, alertBook: after.alertBook }).transitions.map(summary)).toContain('NO_RECENT_ACTIVITY RESOLVED');
  });

  it('publishes the score with every alert transition, so that the alert and the score beside it agree', () => {
    // The score the silent customer's alerts were opened with, stored with a book that has not opened them yet.
    const opening = evaluate({ state: silentFor(45), published: silent.score, alertBook: healthy.alertBook });
    expect(opening.score).toMatchObject({ health: silent.score.health, churnRisk: silent.score.churnRisk, band: silent.score.band });
    expect(opening.transitions.map(summary)).toEqual(['NO_RECENT_ACTIVITY OPEN']);
    expect(opening.significant).toBe(true);
    expect(opening.outbox.map((message) => message.kind)).toEqual(['score-changed', 'alert']);
  });

  it('turns alert transitions into alert events of its clock and model version, after the score change', () => {
    expect(silent.transitions.map(summary)).toEqual(['HEALTH_BAND_DROPPED OPEN', 'NO_RECENT_ACTIVITY OPEN']);
    expect(silent.outbox.map((message) => message.kind)).toEqual(['score-changed', 'alert', 'alert']);
    expect(alertsOf(silent)).toEqual(silent.transitions.map((episode) => alertMessage(episode, { modelVersion: config.version, updatedAt: NOW })));
    expect(silent.alertBook.episodes.NO_RECENT_ACTIVITY).toEqual(silent.transitions[1]);
    expect(silent.hasOpenAlerts).toBe(true);
    expect(silent.lastResolvedAt).toBeNull();

    const recovered = evaluate({ published: silent.score, alertBook: silent.alertBook }, NOW + DAY);
    expect(recovered.transitions.map(summary)).toEqual(['HEALTH_BAND_DROPPED RESOLVED', 'NO_RECENT_ACTIVITY RESOLVED']);
    expect(alertsOf(recovered).map((alert) => alert.updatedAt)).toEqual([NOW + DAY, NOW + DAY]);
    expect(recovered.hasOpenAlerts).toBe(false);
    // Both resolved now: the customer's place in the resolved-alert index.
    expect(recovered.lastResolvedAt).toBe(NOW + DAY);
  });

  describe("in a customer's first commit of a new generation", () => {
    it('publishes the score and every episode of the alert book again, even when nothing changed', () => {
      const republished = evaluate({ state: silentFor(45), published: silent.score, alertBook: silent.alertBook, newGeneration: true });
      expect(republished.significant).toBe(true);
      expect(republished.transitions).toEqual([]);
      expect(republished.outbox[0]).toMatchObject({ kind: 'score-changed', previous: scoreValues(silent.score) });
      expect(alertsOf(republished)).toEqual(silent.transitions.map((episode) => alertMessage(episode, { modelVersion: config.version, updatedAt: NOW })));
    });

    it('publishes an episode that changed once, in its new state, beside the unchanged ones', () => {
      const evaluation = evaluate({ state: calledYesterday, published: silent.score, alertBook: silent.alertBook, newGeneration: true });
      expect(evaluation.transitions.map(summary)).toEqual(['NO_RECENT_ACTIVITY RESOLVED']);
      expect(alertsOf(evaluation).map(summary)).toEqual(['NO_RECENT_ACTIVITY RESOLVED', 'HEALTH_BAND_DROPPED OPEN']);
      expect(evaluation.hasOpenAlerts).toBe(true);
    });
  });

  it('gives what insights, score, alert rules and due time give on their own: sharing the signals changes nothing', () => {
    fc.assert(
      fc.property(stateArbitrary, stateArbitrary, (state, earlier) => {
        const insights = computeInsights(state, NOW, RETENTION);
        const published = scoreCustomer(computeInsights(earlier, NOW - DAY, RETENTION), null, config, NOW - DAY);
        const book = evaluateAlerts(emptyAlertBook(), published, null, computeInsights(earlier, NOW - DAY, RETENTION), config, NOW - DAY).book;
        const evaluation = evaluate({ state, published, alertBook: book, cause: { kind: 'time' } });
        const score = scoreCustomer(insights, published, config, NOW);
        expect(evaluation.catchingUp).toBe(false);
        expect(evaluation.insights).toEqual(insights);
        expect(evaluation.score).toEqual(score);
        expect(evaluation.transitions).toEqual(evaluateAlerts(book, score, bandBaseline(published), insights, config, NOW).transitions);
        expect(evaluation.nextDueAt).toBe(nextDueAt(state, insights, config, NOW, RETENTION));
      }),
      { numRuns: 50 },
    );
  });
  describe('on an instance whose clock is behind the stored score (instances a little apart at a midnight)', () => {
    const midnight = (TODAY + 1) * DAY;
    const scoredPastMidnight = settledFirstSight(healthyState(), midnight + 300);
    const stored = { published: scoredPastMidnight.score, alertBook: scoredPastMidnight.alertBook, lastEvaluatedAt: midnight + 300 };

    it("evaluates just after the stored score's instant: the day it entered is not undone, nothing flips or alerts", () => {
      const behind = evaluate({ state: healthyState(), ...stored, cause: { kind: 'time' } }, midnight - 57_000);
      expect(behind.asOf).toBe(midnight + 301);
      expect(behind.insights).toEqual(computeInsights(healthyState(), midnight + 301, RETENTION));
      // What the instance's own clock would have given: the windows of the day before, another score.
      expect(computeInsights(healthyState(), midnight - 57_000, RETENTION)).not.toEqual(behind.insights);
      expect(evaluate({ state: healthyState(), ...stored, lastEvaluatedAt: undefined, cause: { kind: 'time' } }, midnight - 57_000).significant).toBe(true);
      expect(behind).toMatchObject({ significant: false, transitions: [], outbox: [] });
    });

    it('evaluates as of its clock once the clock has passed the stored instant, or stands on it', () => {
      expect(evaluate({ state: healthyState(), ...stored }, midnight + 5_000).asOf).toBe(midnight + 5_000);
      expect(evaluate({ state: healthyState(), ...stored }, midnight + 300).asOf).toBe(midnight + 300);
    });
  });

  it('compares bands only with a score under contract: a prospect signing, or its contract read after its deals, is no drop', () => {
    const prospect = evaluate({ state: healthyState({ contracts: [] }) });
    expect(prospect.score.lifecycleStage).toBe('PROSPECT');
    const signed = evaluate({ state: silentFor(45), published: prospect.score, alertBook: prospect.alertBook });
    expect([prospect.score.band, signed.score.band]).toEqual(['green', 'yellow']);
    expect(signed.transitions.map(summary)).not.toContain('HEALTH_BAND_DROPPED OPEN');
    // Under contract before, the same fall is a drop.
    expect(silent.transitions.map(summary)).toContain('HEALTH_BAND_DROPPED OPEN');
  });

  it("raises a new customer's health with its first sign of engagement: no drop from a health its silence since signing alone gave", () => {
    // Found by an outside tester: signed today with no activity, health 100 (the days since signing alone); one email
    // received two days before, and health fell to 52 and HEALTH_BAND_DROPPED opened.
    const signed = emptyState({ contracts: [contract({ occurredAt: NOW - 3_600_000, startDate: utcDay(NOW) * DAY })] });
    const first = evaluate({ state: signed });
    const emailed = { ...signed, activityDays: [bucket(2, 'EMAIL_RECEIVED')], lastActivityAt: NOW - 2 * DAY, lastInboundAt: NOW - 2 * DAY };
    const withEmail = evaluate({ state: emailed, published: first.score, alertBook: first.alertBook }, NOW + 1);
    const { settleMs } = EVALUATION_OPTIONS.catchUp;
    const settled = evaluate({ state: emailed, published: withEmail.score, alertBook: withEmail.alertBook, cause: { kind: 'time' } }, NOW + settleMs);
    expect(first.score.health).toBeLessThan(settled.score.health);
    expect([...first.transitions, ...withEmail.transitions, ...settled.transitions].map(summary)).toEqual([]);
  });

  describe("while the customer's inputs are caught up", () => {
    const { settleMs, historyAgeMs } = EVALUATION_OPTIONS.catchUp;
    /** Read from a backlog: the healthy customer's silent-looking part of the history, more of it still ahead. */
    const transient = evaluate({ state: silentFor(45), published: healthy.score, alertBook: healthy.alertBook, inputsBehind: true });

    it('publishes no alert transition, keeps the episodes, and says the score is catching up', () => {
      expect(transient).toMatchObject({ catchingUp: true, significant: true, transitions: [], hasOpenAlerts: false });
      expect(transient.outbox).toEqual([expect.objectContaining({ kind: 'score-changed', catchingUp: true })]);
      expect(transient.alertBook).toEqual({
        ...healthy.alertBook,
        held: { since: NOW, baseline: { band: healthy.score.band, health: healthy.score.health }, settlesAt: null },
      });
      expect(transient.nextDueAt).toBe(NOW + settleMs);
    });

    it('once caught up, publishes only the net transitions, against the score from before the hold', () => {
      const backToHealthy = evaluate({ state: healthyState(), published: transient.score, alertBook: transient.alertBook }, NOW + 1);
      expect(backToHealthy).toMatchObject({ catchingUp: false, significant: true, transitions: [], alertBook: emptyAlertBook() });
      expect(backToHealthy.outbox).toEqual([expect.objectContaining({ kind: 'score-changed', catchingUp: false })]);

      // The history really ends silent: the band dropped from the one published before the hold, not from the transient one.
      const stillSilent = evaluate({ state: silentFor(45), published: transient.score, alertBook: transient.alertBook });
      expect(stillSilent.transitions).toEqual(silent.transitions);
      expect(stillSilent.alertBook).toEqual(silent.alertBook);
    });

    it("publishes nothing when a hold that published nothing ends on an unchanged score: a re-ingest's duplicates, an outside tester's unchanged scores and history points", () => {
      // Re-scored by time while a re-ingested export (every record a duplicate) is consumed: held, nothing to publish.
      const heldByTime = evaluate({ state: healthyState(), published: healthy.score, publishedCatchingUp: false, alertBook: healthy.alertBook, cause: { kind: 'time' }, inputsBehind: true }, NOW + 1);
      expect(heldByTime).toMatchObject({ catchingUp: true, significant: false, outbox: [] });
      const released = evaluate({ state: healthyState(), published: healthy.score, publishedCatchingUp: false, alertBook: heldByTime.alertBook, cause: { kind: 'time' } }, NOW + 2);
      expect(released).toMatchObject({ catchingUp: false, significant: false, outbox: [], transitions: [] });
      expect(released.alertBook.held).toBeUndefined();
      // A hold that did publish (its score said catching up) publishes once more, to say it no longer is.
      const afterPublishing = evaluate({ state: silentFor(45), published: transient.score, publishedCatchingUp: true, alertBook: transient.alertBook, cause: { kind: 'time' } }, NOW + 1);
      expect(afterPublishing.outbox[0]).toMatchObject({ kind: 'score-changed', catchingUp: false });
    });

    it('opens, for a history loaded from nothing, the alerts its final state alone supports', () => {
      const partial = evaluate({ state: healthyState(), inputsBehind: true });
      expect(partial.alertBook.held?.baseline).toBeNull();
      // Its first sight (a customer of long standing) held it for settleMs too: released once both ended.
      const loaded = evaluate({ state: silentFor(45), published: partial.score, alertBook: partial.alertBook }, NOW + settleMs);
      expect(loaded.transitions).toEqual(settledFirstSight(silentFor(45), NOW + settleMs).transitions);
      expect(loaded.transitions.map(summary)).toEqual(['NO_RECENT_ACTIVITY OPEN']);
    });

    it('explains the scores of a history loaded from nothing as a first score, not against parts of the load', () => {
      // Found by an independent client: after a load, drivers such as "recency 94 → 0 days" compared the final score
      // with one the load published from part of the history.
      const partial = evaluate({ state: silentFor(45), inputsBehind: true });
      const stillLoading = evaluate({ state: silentFor(20), published: partial.score, alertBook: partial.alertBook, inputsBehind: true });
      const loaded = evaluate({ state: healthyState(), published: stillLoading.score, alertBook: stillLoading.alertBook });
      expect([stillLoading.significant, loaded.significant]).toEqual([true, true]);
      expect(stillLoading.score.explanation.topDrivers).toEqual([]);
      expect(loaded.score.explanation.topDrivers).toEqual([]);
      // A customer scored live before the backlog: its drivers say what changed since the last score published.
      const known = evaluate({ state: healthyState(), published: silent.score, alertBook: transient.alertBook });
      expect(known.score.explanation.topDrivers).not.toEqual([]);
    });

    it('keeps the first hold: its start and baseline survive later held evaluations', () => {
      const later = evaluate({ state: silentFor(45), published: transient.score, alertBook: transient.alertBook, inputsBehind: true }, NOW + 10 * 60_000);
      expect(later.alertBook.held).toEqual(transient.alertBook.held);
      // Held ten minutes so far: the next recheck is as long again away, not settleMs.
      expect(later.nextDueAt).toBe(NOW + 20 * 60_000);
    });

    it("republishes the book's episodes in a new generation, still holding the transitions", () => {
      const republished = evaluate({ state: healthyState(), published: silent.score, alertBook: silent.alertBook, inputsBehind: true, newGeneration: true });
      expect(republished.transitions).toEqual([]);
      expect(alertsOf(republished).map(summary)).toEqual(['HEALTH_BAND_DROPPED OPEN', 'NO_RECENT_ACTIVITY OPEN']);
      expect(republished.outbox[0]).toMatchObject({ kind: 'score-changed', catchingUp: true });
    });

    describe('history delivered while the scorer keeps up (no lag shows it)', () => {
      /** The healthy customer's history a month back: a replay published oldest first reaches that point first. */
      const monthAgo = NOW - 30 * DAY;
      const old = evaluate({ state: silentFor(30), published: healthy.score, alertBook: healthy.alertBook, newestEventAt: monthAgo });

      it('holds the alerts events older than the history age bring, for settleMs', () => {
        expect(old).toMatchObject({ catchingUp: true, transitions: [], nextDueAt: NOW + settleMs });
        expect(old.alertBook.held).toEqual({ since: NOW, baseline: { band: healthy.score.band, health: healthy.score.health }, settlesAt: NOW + settleMs });
      });

      it('keeps the hold through events younger than the history age until it settles: they do not say the past is all in', () => {
        // Found by an independent client publishing a history newest first while the scorer kept up: a customer's
        // hour-old events came between parts of its past, were judged live, and opened CHURN_RISK_HIGH (and, against
        // that transient score, HEALTH_BAND_DROPPED) that the rest of the past took back.
        const present = { state: healthyState(), published: old.score, alertBook: old.alertBook, newestEventAt: NOW - historyAgeMs + 1 };
        const kept = evaluate(present, NOW + 1);
        expect(kept).toMatchObject({ catchingUp: true, transitions: [] });
        // Kept, not extended: the younger events are live traffic.
        expect(kept.alertBook.held).toEqual(old.alertBook.held);
        // Nothing older followed within settleMs: the history has reached the present, and the next event is judged afresh.
        const next = { ...present, published: kept.score, alertBook: kept.alertBook, newestEventAt: NOW + settleMs };
        expect(evaluate(next, NOW + settleMs)).toMatchObject({ catchingUp: false, transitions: [] });
      });

      it('judges events first evaluated by time (their scoring deferred) as history too, by the newest event the state knows of', () => {
        // Found by an outside tester loading with small units and three instances: a customer deferred while its partition
        // was behind was scored by time as settled once the partition caught up mid-load, from part of its history.
        const byTime = { state: silentFor(30), published: healthy.score, alertBook: healthy.alertBook, cause: { kind: 'time' as const } };
        const deferred = evaluate({ ...byTime, unjudgedEvents: true });
        expect(deferred).toMatchObject({ catchingUp: true, transitions: [], nextDueAt: NOW + settleMs });
        expect(deferred.alertBook.held).toEqual(old.alertBook.held);
        // Judged already (the stored score is of this state): time alone changes nothing of the kind.
        expect(evaluate(byTime)).toMatchObject({ catchingUp: false });
        // Events of the present, deferred: live, judged afresh.
        expect(evaluate({ ...byTime, state: healthyState(), unjudgedEvents: true })).toMatchObject({ catchingUp: false });
        // A contract changed today, and the latest activity the state knows a month old: a year of activity may be arriving
        // behind the contract, as in a unit that brings both.
        const changedToday = silentFor(30, healthyState({ contracts: [contract({ occurredAt: NOW - 3_600_000 })] }));
        expect(evaluate({ ...byTime, state: changedToday, unjudgedEvents: true })).toMatchObject({ catchingUp: true, nextDueAt: NOW + settleMs });
      });

      it('once settled with nothing younger, publishes what the history supports, against the score from before the hold', () => {
        const settled = evaluate({ state: silentFor(30), published: old.score, alertBook: old.alertBook, cause: { kind: 'time' } }, NOW + settleMs);
        expect(settled.catchingUp).toBe(false);
        expect(settled.transitions).toEqual(evaluate({ state: silentFor(30), published: healthy.score, alertBook: healthy.alertBook }, NOW + settleMs).transitions);
      });
    });

    describe('history without activity', () => {
      /** A contract signed long ago and no activity at all: what a topic-by-topic load shows before the activity topic. */
      const contractOnly = emptyState({ contracts: [contract()] });
      const held = evaluate({ state: contractOnly });

      it('holds the alerts an event brought it for settleMs, and is rechecked then', () => {
        expect(held).toMatchObject({ catchingUp: true, transitions: [], nextDueAt: NOW + settleMs });
        expect(held.alertBook.held).toEqual({ since: NOW, baseline: null, settlesAt: NOW + settleMs });
        const byTime = (now: number) => evaluate({ state: contractOnly, published: held.score, alertBook: held.alertBook, cause: { kind: 'time' } }, now);
        expect(byTime(NOW + settleMs - 1).catchingUp).toBe(true);
        // Nothing else arrived: the customer really is signed without activity, and alerted as such.
        const settled = byTime(NOW + settleMs);
        expect(settled.catchingUp).toBe(false);
        expect(settled.transitions).toEqual(evaluate({ state: contractOnly, cause: { kind: 'time' } }, NOW + settleMs).transitions);
        expect(settled.transitions.length).toBeGreaterThan(0);
      });

      it('is released, once it settles, with the activity that arrived meanwhile', () => {
        const arrived = evaluate({ state: healthyState(), published: held.score, alertBook: held.alertBook }, NOW + 1);
        expect(arrived).toMatchObject({ catchingUp: true, transitions: [] });
        const settled = evaluate({ state: healthyState(), published: arrived.score, alertBook: arrived.alertBook, cause: { kind: 'time' } }, NOW + settleMs);
        expect(settled).toMatchObject({ catchingUp: false, transitions: [] });
      });

      it('holds a customer known from its profile alone: the first of a history, with nothing that could alert yet', () => {
        expect(evaluate({ state: emptyState() }).alertBook.held).toEqual({ since: NOW, baseline: null, settlesAt: NOW + settleMs });
      });

      it('is live when the contract is younger than the history age: a signing in live traffic, whatever deals came before', () => {
        const signed = contract({ occurredAt: NOW - historyAgeMs + 1, startDate: utcDay(NOW) * DAY });
        expect(evaluate({ state: emptyState({ contracts: [signed] }) }).catchingUp).toBe(false);
        const preSale = opportunity({ occurredAt: NOW - 60 * DAY, stage: 'CLOSED_WON' });
        expect(evaluate({ state: emptyState({ contracts: [signed], opportunities: [preSale] }) }).catchingUp).toBe(false);
      });

      it('holds a customer of long standing known only from its last hours: a history published newest first', () => {
        // Found by an independent client publishing a history newest first while the scorer kept up: a customer's
        // contract of long standing and its activity of the last hours, judged live, opened CHURN_RISK_HIGH, which
        // resolved as the rest of its past arrived.
        const lastHours = emptyState({ contracts: [contract()], activityDays: [bucket(0, 'EMAIL_RECEIVED')], lastActivityAt: NOW - 3_600_000 });
        const held = evaluate({ state: lastHours, newestEventAt: NOW - 3_600_000, newestActivityAt: NOW - 3_600_000 });
        expect(held).toMatchObject({ catchingUp: true, transitions: [] });
        expect(held.alertBook.held).toEqual({ since: NOW, baseline: null, settlesAt: NOW + settleMs });
        // Activity known from before the history age once the hold settles: the customer's past is in, and it is judged live.
        const pastIn = { ...lastHours, activityDays: [bucket(0, 'EMAIL_RECEIVED'), bucket(2, 'MEETING')] };
        expect(evaluate({ state: pastIn, published: held.score, alertBook: held.alertBook }, NOW + settleMs).catchingUp).toBe(false);
      });

      it('holds a customer whose renewal, recorded just now with the dates of a term still ahead, is all it shows of its past', () => {
        // Found by an independent client publishing a history newest first while the scorer kept up: its CRM records a
        // renewal on the same contract with the new term's dates, weeks ahead. Read before the contract's older
        // records, with the activity of the last hours, it looked like a customer about to start, was judged live and
        // opened CHURN_RISK_HIGH, which resolved as the rest of the past arrived.
        const renewal = contract({ occurredAt: NOW - 3_600_000, status: 'RENEWED', startDate: utcDay(NOW + 20 * DAY) * DAY, endDate: utcDay(NOW + 385 * DAY) * DAY });
        const lastHours = emptyState({ contracts: [renewal], activityDays: [bucket(0, 'EMAIL_RECEIVED')], lastActivityAt: NOW - 3_600_000 });
        const held = evaluate({ state: lastHours, newestEventAt: NOW - 3_600_000, newestActivityAt: NOW - 3_600_000 });
        expect(held).toMatchObject({ catchingUp: true, transitions: [] });
        // The same contract signed for the first time is a new customer: judged live.
        const signed = { ...renewal, status: 'ACTIVE' as const };
        expect(evaluate({ state: { ...lastHours, contracts: [signed] }, newestEventAt: NOW - 3_600_000 }).catchingUp).toBe(false);
      });

      it('holds a customer of long standing whose contract changed just now: its activity may still be on its way', () => {
        // Found through the real scorer (npm run evaluate): a contract upsold an hour ago, started 254 days ago, read
        // before the activity topic opened NO_RECENT_ACTIVITY ("no activity for 254 days"), resolved once it arrived.
        const upsold = contract({ occurredAt: NOW - DAY / 24, startDate: utcDay(NOW - 254 * DAY) * DAY });
        const held = evaluate({ state: emptyState({ contracts: [upsold] }) });
        expect(held).toMatchObject({ catchingUp: true, transitions: [] });
        // Its activity arrived meanwhile: judged on it once the hold settles.
        expect(evaluate({ state: healthyState({ contracts: [upsold] }), published: held.score, alertBook: held.alertBook }, NOW + settleMs)).toMatchObject({
          catchingUp: false,
          transitions: [],
        });
      });

      it('holds a unit that brings a contract change of yesterday with the first of a year of activity', () => {
        // Found through the real scorer (npm run evaluate on another draw): the contract topic's last record (a sales
        // contract closed 18 hours before) and the activity topic's first (364 days old) in one unit of work. Judged by
        // its newest event alone that unit was live, and opened NO_RECENT_ACTIVITY ("no activity for 364 days") and
        // CHURN_RISK_HIGH, both resolved as the rest of the year arrived.
        const closedAt = NOW - 18 * 3_600_000;
        const closed = contract({ contractId: 'sales', occurredAt: closedAt, startDate: utcDay(NOW - 364 * DAY) * DAY });
        const firstDay = emptyState({ contracts: [contract(), closed], activityDays: [bucket(364, 'EMAIL_SENT')], lastActivityAt: NOW - 364 * DAY });
        const unit = { newestEventAt: closedAt, newestActivityAt: NOW - 364 * DAY };
        const held = evaluate({ state: firstDay, ...unit });
        expect(held).toMatchObject({ catchingUp: true, transitions: [] });
        // Old activity that is not the customer's latest (a late record of a customer scored live, active today) is judged afresh.
        expect(evaluate({ state: { ...firstDay, lastActivityAt: NOW - 3_600_000 }, published: healthy.score, alertBook: healthy.alertBook, ...unit }).catchingUp).toBe(false);
        // The rest of the year, up to yesterday: released with what the whole history supports, nothing opened.
        const rest = { newestEventAt: NOW - DAY / 2, newestActivityAt: NOW - DAY / 2 };
        const caughtUp = evaluate({ state: healthyState({ contracts: [contract(), closed] }), published: held.score, alertBook: held.alertBook, ...rest }, NOW + settleMs);
        expect(caughtUp).toMatchObject({ catchingUp: false, transitions: [] });
      });

      it("keeps a settling hold through a contract change of this morning that arrives between parts of a customer's year of activity", () => {
        // Found through the real scorer (npm run evaluate, --scorer-base seed=hid-s1,churn-rate=0.15,
        // silent-churn-share=0.4,activity-spread=50,usage-signal=0.5): a customer's first activities, 353 days old,
        // were applied and held; then its contract's renewal of that morning came in a unit of its own and, judged
        // live, opened NO_RECENT_ACTIVITY ("no activity for 353 days") and CHURN_RISK_HIGH, resolved once the rest of
        // the year arrived.
        const renewed = contract({ occurredAt: NOW - 5 * 3_600_000, startDate: utcDay(NOW - 364 * DAY) * DAY });
        const firstActivity = NOW - 353 * DAY;
        const firstDays = emptyState({ contracts: [contract()], activityDays: [bucket(353, 'EMAIL_SENT')], lastActivityAt: firstActivity });
        const held = evaluate({ state: firstDays, newestEventAt: firstActivity, newestActivityAt: firstActivity });
        expect(held.alertBook.held?.settlesAt).toBe(NOW + settleMs);

        const renewal = { state: { ...firstDays, contracts: [renewed] }, published: held.score, alertBook: held.alertBook, newestEventAt: renewed.occurredAt };
        const kept = evaluate(renewal, NOW + 1);
        expect(kept).toMatchObject({ catchingUp: true, transitions: [] });
        // Kept, not extended: the renewal itself is live traffic.
        expect(kept.alertBook.held).toEqual(held.alertBook.held);

        const rest = { newestEventAt: NOW - DAY / 2, newestActivityAt: NOW - DAY / 2 };
        const caughtUp = evaluate({ state: healthyState({ contracts: [renewed] }), published: kept.score, alertBook: kept.alertBook, ...rest }, NOW + settleMs);
        expect(caughtUp).toMatchObject({ catchingUp: false, transitions: [] });

        // A customer silent for a year whose contract renews, with no history arriving (no hold, or one settled), is
        // alerted at once.
        const alerted = (customer: Partial<CustomerEvaluationInput>, now: number) => alertsOf(evaluate(customer, now)).map(({ alertType }) => alertType);
        expect(alerted({ ...renewal, published: healthy.score, alertBook: healthy.alertBook }, NOW + 1)).toContain('NO_RECENT_ACTIVITY');
        expect(alerted(renewal, NOW + settleMs)).toContain('NO_RECENT_ACTIVITY');
      });
    });
  });
});
