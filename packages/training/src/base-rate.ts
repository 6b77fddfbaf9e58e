// A churn model learnt on one customer base, moved to another base's churn level. A calibrated model's risks on a base
// churning more (or less) than the one it learnt from rank the customers as well but are all too low (or too high);
// moving the model's intercept moves every risk to the new base's level, the ranking untouched. How far: measured on
// the base's own settled outcomes once its history holds enough of them (the intercept that makes the model's risks
// of those snapshots average to the share that churned, by maximum likelihood), else estimated without a single
// label from how the risks of its customers are spread: the prior-shift adjustment of Saerens, Latinne &
// Decaestecker (2002, "Adjusting the outputs of a classifier to new a priori probabilities"). Once the outcomes hold
// as many churners as training asks for, the log-odds' slope is fitted beside the intercept (Platt scaling): the
// risks then spread as that base's outcomes do, not only average to its rate, and the ranking is still untouched.
import { MS_PER_DAY } from '@churnscore/domain';
import { LONGEST_WINDOW_DAYS, churnLogitOf, churnSnapshot, compareUtf8, logOdds, logistic, parseScoringConfig, type ScoringConfig } from '@churnscore/scoring';
import { DEFAULT_RENEWAL_GRACE_DAYS } from './churn';
import { DEFAULT_WARM_UP_DAYS, type DatasetRow, type SnapshotPlan } from './dataset';
import { DEFAULT_TARGET_PRECISION, EARLY_WARNING_DAYS, alertSettings, chooseAlertThresholds, replayAlert, type AlertReport, type AlertThresholds } from './thresholds';
import { MIN_CHURNING_CUSTOMERS, MIN_CUSTOMERS, TrainingRefusedError, riskTrajectories, shortHash, significant } from './train';

/** The estimate has settled when an iteration moves it by less than this. */
const CONVERGED_WITHIN = 1e-7;
/** The EM converges in tens of iterations on real bases; this only stops a pathological input. */
const MAX_ITERATIONS = 1_000;
/** An estimated churn rate is kept this far inside (0, 1): a log-odds shift to 0 or 1 would be infinite. */
export const RATE_FLOOR = 1e-4;
/**
 * Settled outcomes, not the risks alone, set the rate once they hold this many churning customers. One parameter is
 * fitted (the intercept), so what limits it is how many churners the snapshots hold (they are weekly, so a customer's
 * are alike): from 20 its log-odds are good to about ±0.25, a rate of 10 % to about ±2 points, closer than the
 * label-free estimate comes on bases unlike the model's own (docs/scoring.md §17), and far fewer than training's 50.
 */
export const MIN_SETTLED_CHURNERS = 20;
/** Settled snapshots over at most this many days back from the latest: the base's recent churn, not its whole history's. */
const SETTLED_SPAN_DAYS = 365;
/** A snapshot of every customer under contract once a week, as training takes them. */
const SETTLED_EVERY_DAYS = 7;

/**
 * The share of a customer base churning within the model's horizon, estimated from the model's log-odds for each of
 * its customers alone (no labels) by expectation-maximisation: risks shifted to a candidate rate, averaged, give the
 * next candidate, until it no longer moves. `modelBaseRate`: the rate the model's intercept was fitted at.
 */
export function estimateBaseRate(logits: readonly number[], modelBaseRate: number): number {
  if (logits.length === 0) throw new RangeError('no customers to estimate a churn rate from');
  const modelLogOdds = logOdds(modelBaseRate);
  let rate = modelBaseRate;
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration += 1) {
    const shift = logOdds(rate) - modelLogOdds;
    let sum = 0;
    for (const logit of logits) sum += logistic(logit + shift);
    const next = Math.min(1 - RATE_FLOOR, Math.max(RATE_FLOOR, sum / logits.length));
    if (Math.abs(next - rate) < CONVERGED_WITHIN) return next;
    rate = next;
  }
  return rate;
}

/** Why a model could not be moved to a base: each a reason the evaluation and the command report as such. */
export type AdaptationRefusal = 'no rate stated' | 'too few customers' | 'no rate fits' | 'history too short';

export class AdaptationRefusedError extends TrainingRefusedError {
  constructor(
    readonly reason: AdaptationRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** The settled snapshots an intercept was fitted on. */
export interface SettledOutcomes {
  snapshots: number;
  churningCustomers: number;
  /** The first and last as-of instants, ISO 8601. */
  firstAsOf: string;
  lastAsOf: string;
}

/** How the model was moved to a base. */
export interface BaseRateAdaptation {
  /** The rate the base config's intercept embodied (its churn.baseRate). */
  from: number;
  /** The rate of the base, as stored in the adapted config. */
  to: number;
  /** Customers the rate comes from: those of the settled snapshots, or those under contract at the instant. */
  customers: number;
  /** Set when the rate was measured on the base's settled outcomes; absent, it was estimated from risks alone. */
  outcomes?: SettledOutcomes;
  /**
   * Set when the log-odds' slope was fitted on the settled outcomes too (they hold MIN_CHURNING_CUSTOMERS churning
   * customers): every coefficient was multiplied by it, the intercept with them before it moved; absent, only the
   * intercept moved.
   */
  slope?: number;
  /**
   * Set when CHURN_RISK_HIGH's thresholds were chosen on the settled outcomes too (they hold MIN_CHURNING_CUSTOMERS
   * churning customers and a pair reaches the target precision), with how the alert did there; absent, the base
   * config's thresholds were kept.
   */
  alert?: AlertReport;
}

export interface AdaptedConfig {
  config: ScoringConfig;
  adaptation: BaseRateAdaptation;
}

/**
 * `baseConfig` with its churn model moved to the churn rate of the base whose customers under contract have the
 * model log-odds `logits` (as the scorer computes them now). Refused, like training, for fewer than MIN_CUSTOMERS
 * customers (the estimate of a rate of ~10 % from 200 customers is good to a few points), for a config that does
 * not say the rate its intercept was fitted at, and for a base no rate fits.
 */
export function adaptToBaseRate(baseConfig: ScoringConfig, logits: readonly number[], version?: string): AdaptedConfig {
  const from = baseConfig.churn.baseRate;
  if (from === undefined) {
    throw new AdaptationRefusedError(
      'no rate stated',
      `the scoring config ${baseConfig.version} does not say the churn rate its model was fitted at (churn.baseRate): train it again with npm run train`,
    );
  }
  if (logits.length < MIN_CUSTOMERS) {
    throw new AdaptationRefusedError(
      'too few customers',
      `${logits.length} customers under contract: at least ${MIN_CUSTOMERS} are needed to estimate their churn rate`,
    );
  }
  const estimate = estimateBaseRate(logits, from);
  // At a bound the likelihood only grows towards 0 or 1: the base's customers do not look like the model's base with
  // more or fewer churners (features the model leans on missing from this base, say), and no shift would calibrate it.
  if (estimate <= RATE_FLOOR || estimate >= 1 - RATE_FLOOR) {
    throw new AdaptationRefusedError(
      'no rate fits',
      `the model's risks of these ${logits.length} customers fit no churn rate (every one looks ${estimate <= RATE_FLOOR ? 'less' : 'more'} likely to ` +
        `churn than the model's base does on average): this base differs from the one the model learnt from by more than how many churn; train on its history instead`,
    );
  }
  const to = significant(estimate);
  const intercept = significant(baseConfig.churn.intercept + logOdds(to) - logOdds(from));
  return { config: movedTo(baseConfig, to, { intercept }, undefined, version), adaptation: { from, to, customers: logits.length } };
}

/** A recalibration of the model's log-odds: `slope` × logit + `shift`. */
export interface LogitRecalibration {
  slope: number;
  shift: number;
}

/** What the moved churn model is made of: its intercept, and the slope its coefficients were multiplied by (if fitted). */
interface MovedChurn {
  intercept: number;
  slope?: number;
}

/** What an adapted version appends to its base's: `-base<r in %>-<8 hex digits>`. */
const ADAPTED_SUFFIX = /-base\d+(?:\.\d+)?(?:e[+-]?\d+)?-[0-9a-f]{8}$/;

/**
 * The version an adaptation names itself after: the base's, less what an earlier adaptation appended. A model adapted
 * again (now and then, as its base's churn moves) is its root moved to the new rate; appending again grew the name past
 * the 64 characters a version may have, refused only once everything was computed (an outside tester, 2026-12-07).
 */
export const unadaptedVersion = (version: string): string => version.replace(ADAPTED_SUFFIX, '');

/** The longest suffix an adaptation appends (a rate of six significant digits in exponent form): what a base's version must leave room for. */
export const LONGEST_ADAPTED_SUFFIX = '-base1.23457e-7-00000000';

/** `baseConfig` with the churn model fitted at the rate `to` given `churn`, and CHURN_RISK_HIGH's `thresholds` if chosen. */
function movedTo(baseConfig: ScoringConfig, to: number, churn: MovedChurn, thresholds: AlertThresholds | undefined, version: string | undefined): ScoringConfig {
  // An intercept-only fit hashes as it always has: the same fit, the same version.
  const fitted = churn.slope === undefined ? { intercept: churn.intercept } : { intercept: churn.intercept, slope: churn.slope };
  return parseScoringConfig({
    ...baseConfig,
    ...(thresholds === undefined ? {} : alertSettings(baseConfig, thresholds, to)),
    // The rate as stored, in percent, and a hash of what was fitted: two histories churning alike give two intercepts (or slopes).
    version: version ?? `${unadaptedVersion(baseConfig.version)}-base${Number((to * 100).toPrecision(6))}-${shortHash({ ...fitted, thresholds: thresholds ?? null })}`,
    churn: { ...movedChurnModel(baseConfig.churn, churn), baseRate: to },
  });
}

/** The base config's churn model with `churn`'s intercept and its coefficients multiplied by the slope, rounded as training rounds what it learns. */
const movedChurnModel = (base: ScoringConfig['churn'], { intercept, slope }: MovedChurn): ScoringConfig['churn'] => ({
  ...base,
  intercept,
  coefficients:
    slope === undefined ? base.coefficients : Object.fromEntries(Object.entries(base.coefficients).map(([feature, coefficient]) => [feature, significant(coefficient * slope)])),
});

/**
 * The shift of the log-odds `logits` that makes their risks the likeliest for `labels` (maximum likelihood of one
 * intercept, by Newton's method): the risks of the shifted model then average to the share of positive labels.
 */
export function fitInterceptShift(logits: readonly number[], labels: readonly boolean[]): number {
  const positives = labels.filter(Boolean).length;
  if (positives === 0 || positives === labels.length) throw new RangeError('an intercept needs positive and negative labels');
  let shift = 0;
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration += 1) {
    let gradient = positives;
    let curvature = 0;
    for (const logit of logits) {
      const risk = logistic(logit + shift);
      gradient -= risk;
      curvature += risk * (1 - risk);
    }
    // The likelihood is concave in the shift; a step of at most one log-odds keeps Newton's method from overshooting
    // where the risks are all near 0 or 1 and the curvature tiny (or, in floating point, none).
    const step = curvature > 0 ? Math.max(-1, Math.min(1, gradient / curvature)) : Math.sign(gradient);
    shift += step;
    if (Math.abs(step) < CONVERGED_WITHIN) break;
  }
  return shift;
}

/**
 * The slope and shift of the log-odds `logits` that make their risks the likeliest for `labels` (maximum likelihood of
 * two parameters, Platt scaling, by Newton's method): the risks of the recalibrated model then average to the share of
 * positive labels, as fitInterceptShift's do, and are as spread as the labels say. From slope 1 and shift 0, the model
 * as it is.
 */
export function fitPlattScaling(logits: readonly number[], labels: readonly boolean[]): LogitRecalibration {
  const positives = labels.filter(Boolean).length;
  if (positives === 0 || positives === labels.length) throw new RangeError('a slope and an intercept need positive and negative labels');
  // A step's largest move of a log-odds is at one of the two extremes, the move being linear in the log-odds.
  const lowest = logits.reduce((least, logit) => Math.min(least, logit), Infinity);
  const highest = logits.reduce((most, logit) => Math.max(most, logit), -Infinity);
  let slope = 1;
  let shift = 0;
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration += 1) {
    // The gradient and (minus) the Hessian of the log-likelihood in (slope, shift).
    let gradientSlope = 0;
    let gradientShift = 0;
    let curvatureSlope = 0;
    let curvatureCross = 0;
    let curvatureShift = 0;
    for (const [i, logit] of logits.entries()) {
      const risk = logistic(slope * logit + shift);
      const residual = (labels[i] ? 1 : 0) - risk;
      const weight = risk * (1 - risk);
      gradientSlope += residual * logit;
      gradientShift += residual;
      curvatureSlope += weight * logit * logit;
      curvatureCross += weight * logit;
      curvatureShift += weight;
    }
    const determinant = curvatureSlope * curvatureShift - curvatureCross * curvatureCross;
    // The likelihood is concave; where its curvature gives no Newton step (log-odds all alike, or risks all 0 or 1 in
    // floating point) the slope cannot be told from the shift, and the shift alone moves, as fitInterceptShift moves it.
    let stepSlope = 0;
    let stepShift = curvatureShift > 0 ? gradientShift / curvatureShift : Math.sign(gradientShift);
    if (determinant > 0) {
      stepSlope = (curvatureShift * gradientSlope - curvatureCross * gradientShift) / determinant;
      stepShift = (curvatureSlope * gradientShift - curvatureCross * gradientSlope) / determinant;
    }
    // No log-odds moves by more than one in a step: it keeps Newton's method from overshooting where the curvature is tiny.
    const largestMove = Math.max(Math.abs(stepSlope * lowest + stepShift), Math.abs(stepSlope * highest + stepShift));
    const scale = largestMove > 1 ? 1 / largestMove : 1;
    slope += stepSlope * scale;
    shift += stepShift * scale;
    if (largestMove * scale < CONVERGED_WITHIN) break;
  }
  return { slope, shift };
}

/**
 * The snapshots whose outcome the history up to `asOf` settles: every customer under contract, weekly back from the
 * last instant whose label it decides (the horizon and the renewal grace before `asOf`) over a year, none within the
 * warm-up after `activityFrom` (the history's first activity, knownSpan). No instant when the history is too short.
 */
export function settledPlan(activityFrom: number, asOf: number, horizonDays: number): SnapshotPlan {
  const lastSettled = asOf - (horizonDays + DEFAULT_RENEWAL_GRACE_DAYS) * MS_PER_DAY;
  const earliest = Math.max(activityFrom + DEFAULT_WARM_UP_DAYS * MS_PER_DAY, lastSettled - SETTLED_SPAN_DAYS * MS_PER_DAY);
  const asOfDates: number[] = [];
  for (let instant = lastSettled; instant >= earliest; instant -= SETTLED_EVERY_DAYS * MS_PER_DAY) asOfDates.unshift(instant);
  return { asOfDates, horizonDays, renewalGraceDays: DEFAULT_RENEWAL_GRACE_DAYS, observedUntil: asOf };
}

/** How many customers of `settled` churned within the horizon of one of their snapshots. */
export const churningCustomers = (settled: readonly DatasetRow[]): number => new Set(settled.flatMap((row) => (row.label ? [row.customerId] : []))).size;

/**
 * `baseConfig` moved to the churn of the base's settled snapshots (settledPlan's rows): the intercept fitted on them,
 * and the log-odds' slope with it once they hold MIN_CHURNING_CUSTOMERS churning customers, the rate the share that
 * churned. null when they hold fewer than MIN_SETTLED_CHURNERS churning customers.
 */
export function adaptToOutcomes(
  baseConfig: ScoringConfig,
  settled: readonly DatasetRow[],
  version?: string,
  targetPrecision = DEFAULT_TARGET_PRECISION,
): AdaptedConfig | null {
  const from = baseConfig.churn.baseRate;
  const churning = churningCustomers(settled);
  if (from === undefined || churning < MIN_SETTLED_CHURNERS) return null;
  const snapshots = settled.map((row) => churnSnapshot(row.insights, baseConfig, row.asOf));
  const logits = snapshots.map((snapshot) => churnLogitOf(baseConfig.churn, snapshot));
  const labels = settled.map((row) => row.label);
  const enough = churning >= MIN_CHURNING_CUSTOMERS;
  const churn: MovedChurn = (enough ? plattMoved(baseConfig, logits, labels) : undefined) ?? {
    intercept: significant(baseConfig.churn.intercept + fitInterceptShift(logits, labels)),
  };
  const to = significant(settled.filter((row) => row.label).length / settled.length);
  // Thresholds from as many churners as training chooses them from on its validation snapshots, for the same target,
  // on the risks of the moved model as it is stored (its rounded intercept and coefficients).
  const movedModel = movedChurnModel(baseConfig.churn, churn);
  const alert = enough
    ? alertOnSettled(settled, baseConfig, { base: logits, moved: snapshots.map((snapshot) => churnLogitOf(movedModel, snapshot)) }, targetPrecision, to)
    : undefined;
  const outcomes: SettledOutcomes = {
    snapshots: settled.length,
    churningCustomers: churning,
    firstAsOf: new Date(settled.reduce((first, row) => Math.min(first, row.asOf), Infinity)).toISOString(),
    lastAsOf: new Date(settled.reduce((last, row) => Math.max(last, row.asOf), -Infinity)).toISOString(),
  };
  return {
    config: movedTo(baseConfig, to, churn, alert && { openAt: alert.openAt, resolveBelow: alert.resolveBelow }, version),
    adaptation: {
      from,
      to,
      customers: new Set(settled.map((row) => row.customerId)).size,
      outcomes,
      ...(churn.slope === undefined ? {} : { slope: churn.slope }),
      ...(alert === undefined ? {} : { alert }),
    },
  };
}

/**
 * The churn model of `baseConfig` recalibrated by Platt scaling on the settled snapshots' `logits` and `labels`: with
 * as many churners as training fits every coefficient from, the two parameters are well determined, and the slope
 * corrects a model whose risks are right on average but spread unlike this base's outcomes. undefined for a slope of
 * 0 or below, which would reverse the ranking (every coefficient against its direction): the intercept alone moves then.
 */
function plattMoved(baseConfig: ScoringConfig, logits: readonly number[], labels: readonly boolean[]): MovedChurn | undefined {
  const fit = fitPlattScaling(logits, labels);
  if (!(fit.slope > 0)) return undefined;
  const slope = significant(fit.slope);
  return { intercept: significant(slope * baseConfig.churn.intercept + fit.shift), slope };
}

/**
 * CHURN_RISK_HIGH's thresholds chosen on the settled snapshots for `targetPrecision` with the moved model's risks, as
 * training chooses them on its validation snapshots (chooseAlertThresholds over each customer's weekly trajectory),
 * and the base config's thresholds with its own risks replayed beside them; undefined when no pair reaches the target.
 */
function alertOnSettled(
  settled: readonly DatasetRow[],
  baseConfig: ScoringConfig,
  logits: { base: readonly number[]; moved: readonly number[] },
  targetPrecision: number,
  baseRate: number,
): AlertReport | undefined {
  // A customer's snapshots in a row, in time: the trajectories the alert is replayed along.
  const order = settled.map((_, i) => i).sort((a, b) => compareUtf8(settled[a]!.customerId, settled[b]!.customerId) || settled[a]!.asOf - settled[b]!.asOf);
  const rows = order.map((i) => settled[i]!);
  const asOfDates = [...new Set(rows.map((row) => row.asOf))].sort((a, b) => a - b);
  const trajectories = (of: readonly number[]) => riskTrajectories(rows, order.map((i) => logistic(of[i]!)), asOfDates);
  const choice = chooseAlertThresholds(trajectories(logits.moved), targetPrecision, baseRate);
  if (!choice.ok) return undefined;
  const kept = baseConfig.alerts.churnRiskHigh;
  return {
    targetPrecision,
    earlyWarningDays: EARLY_WARNING_DAYS,
    ...choice.thresholds,
    ...choice.outcome,
    base: { openAt: kept.openAt, resolveBelow: kept.resolveBelow, ...replayAlert(trajectories(logits.base), kept) },
  };
}

/**
 * `baseConfig` moved to a base's churn as of an instant: measured on its settled snapshots (settledPlan's rows) when
 * they hold enough churners, else estimated from the risks of its customers under contract then (their rows as of it),
 * provided the history known then (from `historyFrom`, its first activity) covers the longest window the model's
 * features read: a shorter one leaves those windows partly empty, the months before the history read as silence, and
 * the risks, and a rate estimated from them, tell the history's length more than the base's churn (an outside tester,
 * 2026-12-07: one base, 1.8 % from 60 days of history, 16.7 % from 150, 8.6 % measured on 400).
 */
export function adaptToBase(
  baseConfig: ScoringConfig,
  rows: { settled: readonly DatasetRow[]; underContract: readonly DatasetRow[]; asOf: number; historyFrom: number },
  version?: string,
  targetPrecision = DEFAULT_TARGET_PRECISION,
): AdaptedConfig {
  const measured = adaptToOutcomes(baseConfig, rows.settled, version, targetPrecision);
  if (measured !== null) return measured;
  let estimated: AdaptedConfig;
  try {
    estimated = adaptToBaseRate(
      baseConfig,
      rows.underContract.map((row) => churnLogitOf(baseConfig.churn, churnSnapshot(row.insights, baseConfig, row.asOf))),
      version,
    );
  } catch (error) {
    if (!(error instanceof AdaptationRefusedError) || error.reason !== 'too few customers') throw error;
    const churning = churningCustomers(rows.settled);
    throw new AdaptationRefusedError(
      error.reason,
      `${error.message}, and the settled history holds ${churning} churning customers (at least ${MIN_SETTLED_CHURNERS} are needed to measure it)`,
    );
  }
  const historyDays = Math.floor((rows.asOf - rows.historyFrom) / MS_PER_DAY);
  if (historyDays < LONGEST_WINDOW_DAYS) {
    throw new AdaptationRefusedError(
      'history too short',
      `the history before ${new Date(rows.asOf).toISOString()} spans ${historyDays} days of activity, and the model's features read ${LONGEST_WINDOW_DAYS} days: ` +
        `its risks would read the days before the history as silence, so no churn rate is estimated from them; give a history of a year or more, or one whose ` +
        `settled outcomes hold ${MIN_SETTLED_CHURNERS} churning customers (the settled history holds ${churningCustomers(rows.settled)})`,
    );
  }
  return estimated;
}
