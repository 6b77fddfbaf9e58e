import { alertMessage, scoreValues, type AlertEpisode, type AlertMessage, type CustomerState, type ScoreCause } from '@churnscore/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyAlertBook, evaluateAlerts } from './alerts';
import { defaultScoringConfig } from './config';
import { nextDueAt } from './due';
import { evaluateCustomer, type CustomerEvaluation, type CustomerEvaluationInput } from './evaluate';
import { computeInsights } from './insights';
import { scoreCustomer } from './score';
import { DAY, NOW, RETENTION, bucket, healthyState, silentFor, stateArbitrary } from './test-fixtures';

const config = defaultScoringConfig();
const CAUSE: ScoreCause = { kind: 'event', eventId: 'evt-1' };

const evaluate = (customer: Partial<CustomerEvaluationInput> = {}, now = NOW): CustomerEvaluation =>
  evaluateCustomer({ state: healthyState(), published: null, alertBook: null, cause: CAUSE, newGeneration: false, ...customer }, config, now, RETENTION);

const summary = (episode: AlertEpisode): string => `${episode.alertType} ${episode.status}`;
const alertsOf = (evaluation: CustomerEvaluation): AlertMessage[] =>
  evaluation.outbox.flatMap((message) => (message.kind === 'alert' ? [message] : []));

/** A customer that went silent after a healthy score was published: its band dropped and it has been inactive for 45 days. */
const healthy = evaluate();
const silent = evaluate({ state: silentFor(45), published: healthy.score });
/** The silent customer after one call yesterday: activity resumed, health not yet back in its band. */
const silentState = silentFor(45);
const calledYesterday: CustomerState = { ...silentState, lastActivityAt: NOW - DAY, activityDays: [...silentState.activityDays, bucket(1, 'CALL')] };

describe('evaluateCustomer', () => {
  it("publishes a customer's first score: the score-changed event without a version, carrying the cause", () => {
    expect(healthy).toMatchObject({ significant: true, transitions: [], alertBook: emptyAlertBook(), hasOpenAlerts: false });
    expect(healthy.insights).toEqual(computeInsights(healthyState(), NOW, RETENTION));
    expect(healthy.outbox).toEqual([
      {
        kind: 'score-changed',
        customerId: 'customer-1',
        cause: CAUSE,
        previous: null,
        current: scoreValues(healthy.score),
        segment: 'SMB',
        explanation: healthy.score.explanation,
        modelVersion: config.version,
        computedAt: NOW,
      },
    ]);
    expect(healthy.nextDueAt).toBeGreaterThan(NOW);
    expect(evaluate({ cause: { kind: 'time' } }).outbox[0]).toMatchObject({ kind: 'score-changed', cause: { kind: 'time' } });
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

  it('turns alert transitions into alert events of its clock and model version, after the score change', () => {
    expect(silent.transitions.map(summary)).toEqual(['HEALTH_BAND_DROPPED OPEN', 'NO_RECENT_ACTIVITY OPEN']);
    expect(silent.outbox.map((message) => message.kind)).toEqual(['score-changed', 'alert', 'alert']);
    expect(alertsOf(silent)).toEqual(silent.transitions.map((episode) => alertMessage(episode, { modelVersion: config.version, updatedAt: NOW })));
    expect(silent.alertBook.episodes.NO_RECENT_ACTIVITY).toEqual(silent.transitions[1]);
    expect(silent.hasOpenAlerts).toBe(true);

    const recovered = evaluate({ published: silent.score, alertBook: silent.alertBook }, NOW + DAY);
    expect(recovered.transitions.map(summary)).toEqual(['HEALTH_BAND_DROPPED RESOLVED', 'NO_RECENT_ACTIVITY RESOLVED']);
    expect(alertsOf(recovered).map((alert) => alert.updatedAt)).toEqual([NOW + DAY, NOW + DAY]);
    expect(recovered.hasOpenAlerts).toBe(false);
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
        const evaluation = evaluate({ state, published, alertBook: book });
        const score = scoreCustomer(insights, published, config, NOW);
        expect(evaluation.insights).toEqual(insights);
        expect(evaluation.score).toEqual(score);
        expect(evaluation.transitions).toEqual(evaluateAlerts(book, score, published, insights, config, NOW).transitions);
        expect(evaluation.nextDueAt).toBe(nextDueAt(state, insights, config, NOW, RETENTION));
      }),
      { numRuns: 50 },
    );
  });
});
