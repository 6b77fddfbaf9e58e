import { alertId, type AlertBook, type AlertEpisode, type CustomerInsights, type CustomerState, type Score } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import { alertSeverity, emptyAlertBook, evaluateAlerts } from './alerts';
import { computeInsights } from './insights';
import { scoreCustomer } from './score';
import { DAY, NOW, RETENTION, contract, handSetConfig, healthyState, silentFor } from './test-fixtures';

const config = handSetConfig;
const insightsOf = (state: CustomerState): CustomerInsights => computeInsights(state, NOW, RETENTION);
const healthy = insightsOf(healthyState());
const baseScore = scoreCustomer(healthy, null, config, NOW);

/** The healthy customer's score with some figures overridden (value at risk follows churn risk). */
const scoreWith = (overrides: Partial<Score>): Score => {
  const churnRisk = overrides.churnRisk ?? baseScore.churnRisk;
  return { ...baseScore, valueAtRisk: Math.round(churnRisk * 100_000), ...overrides, churnRisk };
};

const summary = (episode: AlertEpisode): string => `${episode.alertType} ${episode.status} #${episode.episode}`;

/** Feeds scores one by one through evaluateAlerts, each against the previous one, and collects the transitions. */
function run(scores: Score[], insights: CustomerInsights = healthy): { book: AlertBook; steps: string[][] } {
  let book = emptyAlertBook();
  let previous: Score | null = null;
  const steps: string[][] = [];
  scores.forEach((score, i) => {
    const result = evaluateAlerts(book, score, previous, insights, config, NOW + i * 3_600_000);
    book = result.book;
    previous = score;
    steps.push(result.transitions.map(summary));
  });
  return { book, steps };
}

describe('CHURN_RISK_HIGH', () => {
  it('opens at ≥ 0.7 and resolves only below 0.5 (hysteresis)', () => {
    const risks = [0.65, 0.72, 0.6, 0.55, 0.72, 0.49, 0.51, 0.75];
    const { steps } = run(risks.map((churnRisk) => scoreWith({ churnRisk })));
    expect(steps).toEqual([
      [],
      ['CHURN_RISK_HIGH OPEN #1'],
      [],
      [],
      [], // 0.72 again: episode 1 is still open
      ['CHURN_RISK_HIGH RESOLVED #1'],
      [],
      ['CHURN_RISK_HIGH OPEN #2'],
    ]);
  });

  it('carries the figures, a reason and one alertId per episode', () => {
    const opened = evaluateAlerts(emptyAlertBook(), scoreWith({ churnRisk: 0.8 }), null, healthy, config, NOW);
    const resolved = evaluateAlerts(opened.book, scoreWith({ churnRisk: 0.3 }), null, healthy, config, NOW + DAY);
    expect(opened.transitions).toEqual([
      {
        alertId: alertId('customer-1', 'CHURN_RISK_HIGH', 1),
        customerId: 'customer-1',
        alertType: 'CHURN_RISK_HIGH',
        status: 'OPEN',
        severity: 'HIGH',
        episode: 1,
        openedAt: NOW,
        resolvedAt: null,
        valueAtRisk: 80_000,
        churnRisk: 0.8,
        health: baseScore.health,
        band: 'green',
        reason: 'churn risk 80% ≥ 70%',
      },
    ]);
    expect(resolved.transitions).toEqual([
      {
        ...opened.transitions[0],
        status: 'RESOLVED',
        resolvedAt: NOW + DAY,
        valueAtRisk: 30_000,
        churnRisk: 0.3,
        reason: 'churn risk 30% < 50%',
      },
    ]);
  });
});

describe('HEALTH_BAND_DROPPED', () => {
  const health = (value: number): Score =>
    scoreWith({ health: value, band: value >= 70 ? 'green' : value >= 40 ? 'yellow' : 'red' });

  it('opens on a drop, stays one episode through further drops, resolves back in the original band by the margin', () => {
    const { steps } = run([75, 65, 35, 72, 75, 65].map(health));
    expect(steps).toEqual([
      [],
      ['HEALTH_BAND_DROPPED OPEN #1'], // green → yellow
      [], // yellow → red: the same episode
      [], // green again, but 72 < 70 + 5: not clearly recovered
      ['HEALTH_BAND_DROPPED RESOLVED #1'],
      ['HEALTH_BAND_DROPPED OPEN #2'],
    ]);
  });

  it('remembers the band it dropped from while open, and forgets it on resolution', () => {
    expect(run([75, 65].map(health)).book.bandBeforeDrop).toBe('green');
    expect(run([55, 35, 34].map(health)).book.bandBeforeDrop).toBe('yellow');
    const recovered = run([55, 35, 45].map(health));
    expect(recovered.steps.at(-1)).toEqual(['HEALTH_BAND_DROPPED RESOLVED #1']); // 45 = 40 + 5: yellow again
    expect(recovered.book.bandBeforeDrop).toBeNull();
  });
});

describe('RENEWAL_AT_RISK', () => {
  const renewingIn = (days: number) =>
    insightsOf(healthyState({ contracts: [contract({ startDate: NOW - 700 * DAY, endDate: NOW + days * DAY })] }));
  const red = scoreWith({ health: 35, band: 'red', churnRisk: 0.4, riskBand: 'medium' });

  it('opens when the renewal is within 60 days and the band is red or the risk high', () => {
    const at = (days: number, score: Score) => evaluateAlerts(emptyAlertBook(), score, null, renewingIn(days), config, NOW);
    expect(at(60, red).transitions.map(summary)).toEqual(['RENEWAL_AT_RISK OPEN #1']);
    expect(at(60, red).transitions[0]?.reason).toBe('renewal in 60 days with health band red (health 35)');
    expect(at(61, red).transitions).toEqual([]);
    expect(at(30, scoreWith({ churnRisk: 0.65, riskBand: 'high' })).transitions.map(summary)).toEqual(['RENEWAL_AT_RISK OPEN #1']);
    expect(at(30, scoreWith({ churnRisk: 0.4, riskBand: 'medium' })).transitions).toEqual([]);
  });

  it('resolves when the renewal moves out of the window', () => {
    const opened = evaluateAlerts(emptyAlertBook(), red, null, renewingIn(30), config, NOW);
    const renewed = evaluateAlerts(opened.book, red, red, renewingIn(395), config, NOW);
    expect(renewed.transitions.map((t) => `${summary(t)}: ${t.reason}`)).toEqual([
      'RENEWAL_AT_RISK RESOLVED #1: renewal no longer within 60 days',
    ]);
  });

  it('resolves on recovery only past the margin (health ≥ 45 and risk < 0.5), so it does not flap at the band edge', () => {
    const insights = renewingIn(30);
    const { steps } = run(
      [
        red,
        scoreWith({ health: 42, band: 'yellow', churnRisk: 0.4, riskBand: 'medium' }),
        scoreWith({ health: 39, band: 'red', churnRisk: 0.4, riskBand: 'medium' }),
        scoreWith({ health: 50, band: 'yellow', churnRisk: 0.55, riskBand: 'medium' }),
        scoreWith({ health: 50, band: 'yellow', churnRisk: 0.45, riskBand: 'medium' }),
      ].map((score) => ({ ...score, valueAtRisk: 20_000 })), // one severity throughout
      insights,
    );
    expect(steps.map((step) => step.filter((line) => line.startsWith('RENEWAL')))).toEqual([
      ['RENEWAL_AT_RISK OPEN #1'],
      [],
      [],
      [],
      ['RENEWAL_AT_RISK RESOLVED #1'],
    ]);
  });
});

describe('NO_RECENT_ACTIVITY', () => {
  const evaluateSilence = (book: AlertBook, state: CustomerState) => {
    const insights = insightsOf(state);
    return evaluateAlerts(book, scoreWith({}), null, insights, config, NOW);
  };

  it('opens after exactly 30 silent days and resolves on new activity', () => {
    expect(evaluateSilence(emptyAlertBook(), silentFor(29)).transitions).toEqual([]);
    const opened = evaluateSilence(emptyAlertBook(), silentFor(30));
    expect(opened.transitions.map((t) => `${summary(t)}: ${t.reason}`)).toEqual(['NO_RECENT_ACTIVITY OPEN #1: no activity from the customer for 30 days']);
    const resumed = evaluateSilence(opened.book, healthyState());
    expect(resumed.transitions.map((t) => `${summary(t)}: ${t.reason}`)).toEqual(['NO_RECENT_ACTIVITY RESOLVED #1: the customer active again']);
  });

  it('counts silence from the first contract start for a customer with no activity yet', () => {
    const signed = (daysAgo: number) =>
      healthyState({ activityDays: [], lastActivityAt: null, lastInboundAt: null, contracts: [contract({ startDate: NOW - daysAgo * DAY })] });
    expect(evaluateSilence(emptyAlertBook(), signed(29)).transitions).toEqual([]);
    expect(evaluateSilence(emptyAlertBook(), signed(30)).transitions.map(summary)).toEqual(['NO_RECENT_ACTIVITY OPEN #1']);
  });
});

describe('customers without an active contract', () => {
  const churned = insightsOf(silentFor(90, healthyState({ contracts: [contract({ status: 'EXPIRED' })] })));

  it('get no alerts', () => {
    expect(evaluateAlerts(emptyAlertBook(), scoreWith({ churnRisk: 0.9 }), null, churned, config, NOW).transitions).toEqual([]);
  });

  it('have their open alerts resolved', () => {
    const opened = evaluateAlerts(emptyAlertBook(), scoreWith({ churnRisk: 0.9 }), null, insightsOf(silentFor(90)), config, NOW);
    expect(opened.transitions.map(summary)).toEqual(['CHURN_RISK_HIGH OPEN #1', 'NO_RECENT_ACTIVITY OPEN #1']);
    const closed = evaluateAlerts(opened.book, scoreWith({ churnRisk: 0.9 }), null, churned, config, NOW + DAY);
    expect(closed.transitions.map((t) => `${summary(t)}: ${t.reason}`)).toEqual([
      'CHURN_RISK_HIGH RESOLVED #1: the customer churned: no active contract is left',
      'NO_RECENT_ACTIVITY RESOLVED #1: the customer churned: no active contract is left',
    ]);
  });
});

describe('severity', () => {
  it('follows value at risk: LOW < 10 000 ≤ MEDIUM < 50 000 ≤ HIGH < 250 000 ≤ CRITICAL', () => {
    expect([0, 9_999.99, 10_000, 49_999, 50_000, 250_000].map((value) => alertSeverity(value, config))).toEqual([
      'LOW',
      'LOW',
      'MEDIUM',
      'MEDIUM',
      'HIGH',
      'CRITICAL',
    ]);
  });

  it('re-emits an open episode, same alertId, when its severity rises; never when it falls', () => {
    const risky = (valueAtRisk: number): Score => ({ ...scoreWith({ churnRisk: 0.75 }), valueAtRisk });
    const opened = evaluateAlerts(emptyAlertBook(), risky(20_000), null, healthy, config, NOW);
    const raised = evaluateAlerts(opened.book, risky(60_000), null, healthy, config, NOW + DAY);
    const lowered = evaluateAlerts(raised.book, risky(5_000), null, healthy, config, NOW + 2 * DAY);
    const resolved = evaluateAlerts(lowered.book, scoreWith({ churnRisk: 0.05 }), null, healthy, config, NOW + 3 * DAY);
    const [open, raise, resolve] = [opened, raised, resolved].map((result) => result.transitions[0]);
    expect([open?.severity, raise?.severity, resolve?.severity]).toEqual(['MEDIUM', 'HIGH', 'HIGH']);
    expect([raise?.status, raise?.openedAt, raise?.reason]).toEqual(['OPEN', NOW, 'severity raised from MEDIUM to HIGH']);
    expect(new Set([open?.alertId, raise?.alertId, resolve?.alertId]).size).toBe(1);
    expect(lowered.transitions).toEqual([]);
  });
});

describe('determinism', () => {
  it('derives alertId from customer, type and episode only', () => {
    const id = alertId('customer-1', 'CHURN_RISK_HIGH', 1);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(alertId('customer-1', 'CHURN_RISK_HIGH', 1)).toBe(id);
    expect(
      new Set([id, alertId('customer-1', 'CHURN_RISK_HIGH', 2), alertId('customer-2', 'CHURN_RISK_HIGH', 1), alertId('customer-1', 'NO_RECENT_ACTIVITY', 1)])
        .size,
    ).toBe(4);
  });

  it('yields no transitions when re-evaluated with the same score and the returned book', () => {
    const score = scoreWith({ churnRisk: 0.9, health: 30, band: 'red' });
    const first = evaluateAlerts(emptyAlertBook(), score, baseScore, insightsOf(silentFor(40)), config, NOW);
    expect(first.transitions.length).toBeGreaterThan(0);
    const again = evaluateAlerts(first.book, score, baseScore, insightsOf(silentFor(40)), config, NOW);
    expect(again).toEqual({ book: first.book, transitions: [] });
  });

  it('reproduces the same episodes on redelivery against the old book, and keeps the book plain JSON', () => {
    const score = scoreWith({ churnRisk: 0.9, health: 30, band: 'red' });
    const first = evaluateAlerts(emptyAlertBook(), score, baseScore, healthy, config, NOW);
    expect(evaluateAlerts(emptyAlertBook(), score, baseScore, healthy, config, NOW)).toEqual(first);
    expect(JSON.parse(JSON.stringify(first.book))).toEqual(first.book);
  });
});
