import { MS_PER_DAY } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import { MIN_ALERT_HYSTERESIS, alertOpenings, alertOutcome, chooseAlertThresholds, replayAlert, type RiskPoint } from './thresholds';

const WEEK = 7 * MS_PER_DAY;
/** A customer's weekly snapshots with these risks; a churner churns `churnsInWeeks` after the first. */
const trajectory = (risks: number[], churnsInWeeks: number | null = null): RiskPoint[] =>
  risks.map((risk, i) => ({
    asOf: i * WEEK,
    risk,
    label: churnsInWeeks !== null,
    churnsAt: churnsInWeeks === null ? null : churnsInWeeks * WEEK,
  }));

describe('replayAlert', () => {
  const churner = trajectory([0.3, 0.5, 0.8, 0.6, 0.45], 7);
  const dipper = trajectory([0.2, 0.75, 0.4, 0.2]);

  it('opens at ≥ openAt, stays open down to resolveBelow, and counts the snapshots it is open at', () => {
    // Churner open at 0.8 and 0.6; the dipper at 0.75 only.
    expect(replayAlert([churner, dipper], { openAt: 0.7, resolveBelow: 0.5 })).toEqual({
      alerted: 3,
      truePositives: 2,
      precision: 2 / 3,
      recall: 2 / 5,
      // Positive snapshots ≥ 30 days before the churn (week 7): weeks 0, 1 and 2 (35 days), of which week 2 is alerted.
      earlyRecall: 1 / 3,
    });
  });

  it('a lower resolve threshold keeps alerts open longer, catching more and wrongly more', () => {
    expect(replayAlert([churner, dipper], { openAt: 0.7, resolveBelow: 0.4 })).toMatchObject({ alerted: 5, truePositives: 3, precision: 3 / 5 });
  });

  it('starts every trajectory with no alert open', () => {
    expect(replayAlert([trajectory([0.6]), trajectory([0.6])], { openAt: 0.7, resolveBelow: 0.5 }).alerted).toBe(0);
  });

  it('counts what alertOutcome counts from the openings alertOpenings gives, snapshot by snapshot', () => {
    const thresholds = { openAt: 0.7, resolveBelow: 0.5 };
    expect(alertOpenings(churner, thresholds)).toEqual([false, false, true, true, false]);
    expect(alertOpenings(dipper, thresholds)).toEqual([false, true, false, false]);
    const points = [churner, dipper].flatMap((t) => t.map((point, i) => ({ ...point, open: alertOpenings(t, thresholds)[i]! })));
    expect(alertOutcome(points)).toEqual(replayAlert([churner, dipper], thresholds));
  });
});

describe('chooseAlertThresholds', () => {
  it('takes the pair that catches the most churners at the target precision; on a tie, the highest thresholds', () => {
    // Catching the second churner needs openAt ≤ 0.65 (not ≤ 0.62, which alerts the healthy customer) and
    // resolveBelow ≤ 0.3 so that its alert stays open.
    const trajectories = [trajectory([0.9, 0.9], 10), trajectory([0.65, 0.3], 10), trajectory([0.62, 0.62]), trajectory([0.2])];
    const choice = chooseAlertThresholds(trajectories, 0.6, 0.1);
    expect(choice).toEqual({
      ok: true,
      thresholds: { openAt: 0.65, resolveBelow: 0.3 },
      outcome: { alerted: 4, truePositives: 4, precision: 1, recall: 1, earlyRecall: 1 },
    });
  });

  it('keeps at least MIN_ALERT_HYSTERESIS between the thresholds', () => {
    // The best alert without hysteresis would open at 0.5 and resolve below 0.49 to keep the churner's 0.49.
    const choice = chooseAlertThresholds([trajectory([0.5, 0.49, 0.2], 3), trajectory([0.46, 0.3])], 0.5, 0.1);
    expect(choice.ok).toBe(true);
    if (choice.ok) expect(choice.thresholds.openAt - choice.thresholds.resolveBelow).toBeGreaterThanOrEqual(MIN_ALERT_HYSTERESIS - 1e-9);
  });

  it('resolves no lower than where the medium risk band starts for the base rate: an open alert never reads low, nor latches', () => {
    // Left free, the pair with the highest recall keeps the churner's alert open down to its 0.03 (an outside tester's
    // training chose 0.02, below the model's own risk for a customer with no sign of risk at all).
    const churnerDipping = trajectory([0.5, 0.04, 0.03, 0.5], 5);
    const calm = trajectory([0.02, 0.02]);
    expect(chooseAlertThresholds([churnerDipping, calm], 0.6, 0.01)).toMatchObject({ ok: true, thresholds: { openAt: 0.5, resolveBelow: 0.03 } });
    // At a base rate of 8 % the medium band starts at 0.08: the alert resolves at the churner's dip (at the highest
    // resolve level that catches as much, the tie rule).
    const choice = chooseAlertThresholds([churnerDipping, calm], 0.6, 0.08);
    expect(choice).toMatchObject({ ok: true, thresholds: { openAt: 0.5, resolveBelow: 0.45 }, outcome: { recall: 0.5 } });
  });

  it('says so, with the best precision any pair reached, when none reaches the target', () => {
    expect(chooseAlertThresholds([trajectory([0.9]), trajectory([0.8], 4)], 0.6, 0.1)).toEqual({ ok: false, bestPrecision: 0.5 });
    expect(() => chooseAlertThresholds([], 1, 0.1)).toThrow(/target precision/);
  });
});
