// CHURN_RISK_HIGH's open and resolve thresholds, chosen on validation data for a target precision: the alert
// replayed over each customer's validation snapshots with the scorer's hysteresis (opens at ≥ openAt, resolves
// below resolveBelow, unchanged in between), and the pair that catches the most churners while at least the
// target share of alerted snapshots are customers who do churn within the horizon.
import { MS_PER_DAY } from '@churnscore/domain';
import type { ScoringConfig } from '@churnscore/scoring';

/** What the alert's value is measured against: a warning at least this many days before the churn leaves time to act. */
export const EARLY_WARNING_DAYS = 30;
/** Thresholds are chosen on a grid of this step, so the config reads 0.45 rather than 0.4487. */
export const THRESHOLD_STEP = 0.01;
/**
 * The least gap between openAt and resolveBelow: a customer whose risk wobbles by a few points from one week to
 * the next must not open and resolve the alert each time.
 */
export const MIN_ALERT_HYSTERESIS = 0.05;
export const DEFAULT_TARGET_PRECISION = 0.6;

/** One validation snapshot of a customer: its risk then, and whether (and when) it churned within the horizon. */
export interface RiskPoint {
  asOf: number;
  risk: number;
  label: boolean;
  churnsAt: number | null;
}

export interface AlertThresholds {
  openAt: number;
  resolveBelow: number;
}

export interface AlertOutcome {
  /** Snapshots at which the alert is open. */
  alerted: number;
  truePositives: number;
  /** Share of alerted snapshots whose customer churns within the horizon; null when the alert never opens. */
  precision: number | null;
  /** Share of positive snapshots at which the alert is open; null without positives. */
  recall: number | null;
  /** The same among positive snapshots at least EARLY_WARNING_DAYS before the churn; null without any. */
  earlyRecall: number | null;
}

const isEarly = (point: Pick<RiskPoint, 'asOf' | 'churnsAt'>): boolean => point.churnsAt !== null && point.churnsAt - point.asOf >= EARLY_WARNING_DAYS * MS_PER_DAY;
const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

/** One snapshot and whether the alert was open at it. */
export interface AlertPoint extends Omit<RiskPoint, 'risk'> {
  open: boolean;
}

/** Counts snapshots as they come, alerted or not (no allocation per snapshot: the threshold search replays thousands of pairs). */
function outcomeTally() {
  let alerted = 0;
  let truePositives = 0;
  let positives = 0;
  let early = 0;
  let earlyCaught = 0;
  return {
    add(point: Pick<RiskPoint, 'asOf' | 'label' | 'churnsAt'>, open: boolean): void {
      const earlyPoint = isEarly(point);
      if (point.label) positives += 1;
      if (earlyPoint) early += 1;
      if (!open) return;
      alerted += 1;
      if (point.label) truePositives += 1;
      if (earlyPoint) earlyCaught += 1;
    },
    outcome: (): AlertOutcome => ({
      alerted,
      truePositives,
      precision: ratio(truePositives, alerted),
      recall: ratio(truePositives, positives),
      earlyRecall: ratio(earlyCaught, early),
    }),
  };
}

/** Precision, recall and early recall of an alert from whether it was open at each snapshot. */
export function alertOutcome(points: Iterable<AlertPoint>): AlertOutcome {
  const tally = outcomeTally();
  for (const point of points) tally.add(point, point.open);
  return tally.outcome();
}

/** The scorer's hysteresis: an open alert stays open down to resolveBelow; a closed one opens at openAt. */
const staysOrOpens = (open: boolean, risk: number, { openAt, resolveBelow }: AlertThresholds): boolean => (open ? risk >= resolveBelow : risk >= openAt);

/** Whether the alert is open at each point of one customer's snapshots, oldest first, starting with none open. */
export function alertOpenings(trajectory: readonly RiskPoint[], thresholds: AlertThresholds): boolean[] {
  let open = false;
  return trajectory.map((point) => (open = staysOrOpens(open, point.risk, thresholds)));
}

/**
 * The alert replayed over `trajectories`: each one customer's snapshots on consecutive as-of dates, oldest first,
 * starting with no alert open.
 */
export function replayAlert(trajectories: readonly (readonly RiskPoint[])[], thresholds: AlertThresholds): AlertOutcome {
  const tally = outcomeTally();
  for (const trajectory of trajectories) {
    let open = false;
    for (const point of trajectory) {
      open = staysOrOpens(open, point.risk, thresholds);
      tally.add(point, open);
    }
  }
  return tally.outcome();
}

/** CHURN_RISK_HIGH's thresholds as chosen for a target precision, how they did, and the base config's beside them. */
export type AlertReport = AlertThresholds &
  AlertOutcome & {
    targetPrecision: number;
    earlyWarningDays: number;
    /** The base config's CHURN_RISK_HIGH with the base model's risks, replayed the same way. */
    base: AlertThresholds & AlertOutcome;
  };

export type ThresholdChoice =
  | { ok: true; thresholds: AlertThresholds; outcome: AlertOutcome }
  /** No pair reaches the target; `bestPrecision` is the highest any pair reached (null if none ever alerts). */
  | { ok: false; bestPrecision: number | null };

/**
 * Among the thresholds on the THRESHOLD_STEP grid with openAt − resolveBelow ≥ MIN_ALERT_HYSTERESIS and resolveBelow
 * at least where the medium risk band starts for `baseRate` (the snapshots' churn rate: mediumBandAtBaseRate), the pair
 * whose alert reaches `targetPrecision` with the highest recall; on a tie the higher precision, then the higher
 * thresholds (fewer alerts for the same catch).
 *
 * The floor on resolveBelow: an alert open while the risk reads low contradicts itself, and a resolve level below most
 * of the base's risks is a latch, kept open by customers back to an average customer's risk. A replay over a few
 * validation weeks cannot see what a latch costs (its false alerts never close), so left free it chose one: an outside
 * tester's training resolved below 0.02, under the model's own risk for a customer with no sign of risk at all (0.028),
 * and a customer at risk 0.049, green and with the best survey answers, kept CHURN_RISK_HIGH and RENEWAL_AT_RISK open.
 */
export function chooseAlertThresholds(trajectories: readonly (readonly RiskPoint[])[], targetPrecision: number, baseRate: number): ThresholdChoice {
  if (!(targetPrecision > 0 && targetPrecision < 1)) throw new RangeError(`the target precision must be between 0 and 1, got ${targetPrecision}`);
  const steps = Math.round(1 / THRESHOLD_STEP);
  const minGapSteps = Math.round(MIN_ALERT_HYSTERESIS / THRESHOLD_STEP);
  const minResolveSteps = Math.round(mediumBandAtBaseRate(baseRate) / THRESHOLD_STEP);
  let best: { thresholds: AlertThresholds; outcome: AlertOutcome } | null = null;
  let bestPrecision: number | null = null;
  const better = (a: AlertOutcome, b: AlertOutcome): boolean => a.recall! > b.recall! || (a.recall === b.recall && a.precision! > b.precision!);
  // Highest thresholds first, so that on a tie the first pair found stays.
  for (let open = steps - 1; open >= minResolveSteps + minGapSteps; open -= 1) {
    for (let resolve = open - minGapSteps; resolve >= minResolveSteps; resolve -= 1) {
      const thresholds = { openAt: open / steps, resolveBelow: resolve / steps };
      const outcome = replayAlert(trajectories, thresholds);
      if (outcome.precision === null || outcome.recall === null) continue;
      bestPrecision = Math.max(bestPrecision ?? 0, outcome.precision);
      if (outcome.precision < targetPrecision) continue;
      if (best === null || better(outcome, best.outcome)) best = { thresholds, outcome };
    }
  }
  return best === null ? { ok: false, bestPrecision } : { ok: true, ...best };
}

/**
 * The risk bands a trained model's risks read in (docs/scoring.md §15): **high** from CHURN_RISK_HIGH's `openAt`, so
 * the band and the alert say the same; **medium** from the validation base rate, rounded to the hundredth: a risk
 * above the average customer's (kept a step below high).
 */
export function riskBandsFor(thresholds: AlertThresholds, baseRate: number): { mediumMin: number; highMin: number } {
  const highMin = thresholds.openAt;
  const mediumMin = Math.min(mediumBandAtBaseRate(baseRate), highMin - THRESHOLD_STEP);
  return { mediumMin: Number(mediumMin.toFixed(2)), highMin };
}

/** Where the medium band starts when high starts above it: the base rate, rounded to the hundredth, one at least. */
export const mediumBandAtBaseRate = (baseRate: number): number => Number(Math.max(THRESHOLD_STEP, Math.round(baseRate / THRESHOLD_STEP) * THRESHOLD_STEP).toFixed(2));

/**
 * `config`'s settings that follow CHURN_RISK_HIGH's thresholds, set for `thresholds` chosen on snapshots churning at
 * `baseRate`: the alert's own, the risk bands (riskBandsFor), and RENEWAL_AT_RISK's recovery: that alert opens on the
 * high band near a renewal, and recovering below a higher risk than CHURN_RISK_HIGH resolves at would open and recover
 * it at once between the two.
 */
export function alertSettings(config: ScoringConfig, thresholds: AlertThresholds, baseRate: number): Pick<ScoringConfig, 'bands' | 'alerts'> {
  const { renewalAtRisk } = config.alerts;
  return {
    bands: { ...config.bands, risk: riskBandsFor(thresholds, baseRate) },
    alerts: {
      ...config.alerts,
      churnRiskHigh: thresholds,
      renewalAtRisk: { ...renewalAtRisk, recovery: { ...renewalAtRisk.recovery, maxChurnRisk: thresholds.resolveBelow } },
    },
  };
}
