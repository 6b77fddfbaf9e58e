// A churn model learnt on one customer base, moved to another base's churn level without a single label: the
// prior-shift adjustment of Saerens, Latinne & Decaestecker (2002, "Adjusting the outputs of a classifier to new a
// priori probabilities"). A calibrated model's risks on a base churning more (or less) than the one it learnt from
// rank the customers as well but are all too low (or too high); how the risks of the base's customers are spread
// tells how much, and shifting the model's intercept by the difference of the two priors' log-odds moves every risk
// to the new base's level, the ranking untouched.
import { churnLogitOf, churnSnapshot, logOdds, logistic, parseScoringConfig, type ScoringConfig } from '@churnscore/scoring';
import { DEFAULT_RENEWAL_GRACE_DAYS } from './churn';
import type { DatasetRow, SnapshotPlan } from './dataset';
import { MIN_CUSTOMERS, TrainingRefusedError, significant } from './train';

/** The estimate has settled when an iteration moves it by less than this. */
const CONVERGED_WITHIN = 1e-7;
/** The EM converges in tens of iterations on real bases; this only stops a pathological input. */
const MAX_ITERATIONS = 1_000;
/** An estimated churn rate is kept this far inside (0, 1): a log-odds shift to 0 or 1 would be infinite. */
export const RATE_FLOOR = 1e-4;

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
export type AdaptationRefusal = 'no rate stated' | 'too few customers' | 'no rate fits';

export class AdaptationRefusedError extends TrainingRefusedError {
  constructor(
    readonly reason: AdaptationRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** How the model was moved to a base. */
export interface BaseRateAdaptation {
  /** The rate the base config's intercept embodied (its churn.baseRate). */
  from: number;
  /** The rate estimated for the base, as stored in the adapted config. */
  to: number;
  /** Customers under contract the estimate comes from. */
  customers: number;
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
  const config = parseScoringConfig({
    ...baseConfig,
    // The rate as stored, in percent: one version per rate, so one intercept per version.
    version: version ?? `${baseConfig.version}-base${Number((to * 100).toPrecision(6))}`,
    churn: { ...baseConfig.churn, intercept: significant(baseConfig.churn.intercept + logOdds(to) - logOdds(from)), baseRate: to },
  });
  return { config, adaptation: { from, to, customers: logits.length } };
}

/** Every customer under contract at `asOf`, once (customerRows of this plan): the base whose churn rate is estimated. */
export const crossSectionPlan = (asOf: number, horizonDays: number): SnapshotPlan => ({
  asOfDates: [asOf],
  horizonDays,
  renewalGraceDays: DEFAULT_RENEWAL_GRACE_DAYS,
  // Labels are not read: the history need not run on past the instant.
  observedUntil: asOf,
});

/** `baseConfig` moved to the churn rate of the customers of `rows` (one instant's, under contract then). */
export const adaptToRows = (baseConfig: ScoringConfig, rows: readonly DatasetRow[], version?: string): AdaptedConfig =>
  adaptToBaseRate(
    baseConfig,
    rows.map((row) => churnLogitOf(baseConfig.churn, churnSnapshot(row.insights, baseConfig, row.asOf))),
    version,
  );
