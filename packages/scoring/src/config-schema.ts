import { z } from 'zod';
import { MEASURE_INPUT_NAMES } from './measure-inputs';

/** Lifecycle phases a scorecard can be selected for (SPEC §5). */
export const SCORECARD_PHASES = ['onboarding', 'steady', 'renewal'] as const;
export type ScorecardPhase = (typeof SCORECARD_PHASES)[number];

export const listOf = (names: readonly string[]): string => names.join(', ');

const number = z.number({ error: 'must be a number' });
const positive = number.gt(0, 'must be > 0');
const nonNegative = number.min(0, 'must be ≥ 0');
const probability = nonNegative.max(1, 'must be ≤ 1');
const healthPoints = nonNegative.max(100, 'must be ≤ 100');
const wholeDaysOf = (type: z.ZodNumber) => type.int('must be a whole number of days').gt(0, 'must be > 0');
const wholeDays = wholeDaysOf(number);
const name = z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty');
/**
 * The largest churn-model weight (intercept or coefficient) a config may hold. Beyond it the risk is already 0 or 1 for
 * every value a feature takes (each at most 180), and weights near the largest double overflow the logit to ±Infinity,
 * two of them to NaN: an outside tester's 1e308 stored NaN risks and outputs no schema could encode, and the scorer
 * crashed at every start after, the valid config restored. Learnt weights are two orders of magnitude smaller.
 */
export const MAX_CHURN_WEIGHT = 1_000;
const churnWeight = number.min(-MAX_CHURN_WEIGHT, `must be ≥ −${MAX_CHURN_WEIGHT}`).max(MAX_CHURN_WEIGHT, `must be ≤ ${MAX_CHURN_WEIGHT}`);

/**
 * What a model version may be: it is stamped on every output and names its directory under models/ (`npm run train`),
 * so a `/` or `..` in it would put the model elsewhere (an outside tester's `--version ../../x` wrote outside the
 * repository).
 */
export const MODEL_VERSION = {
  pattern: /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/,
  rule: 'must be 1 to 64 letters, digits, ".", "_", "+" or "-", beginning with a letter or digit',
} as const;

const MeasurePointSchema = z.strictObject({
  /** Raw input value. */
  value: number,
  /** Measure score (0–100) at that value; linear in between, flat beyond the first and last point. */
  score: healthPoints,
});

const MeasureSchema = z.strictObject({
  id: name,
  group: name,
  input: z.enum(MEASURE_INPUT_NAMES, {
    error: (issue) => `unknown measure input ${JSON.stringify(issue.input)} (known: ${listOf(MEASURE_INPUT_NAMES)})`,
  }),
  direction: z.enum(['higherIsBetter', 'lowerIsBetter'], { error: 'must be "higherIsBetter" or "lowerIsBetter"' }),
  points: z.array(MeasurePointSchema).min(2, 'needs at least 2 points'),
});

const ScorecardSchema = z.strictObject({
  id: name,
  /** Empty: matches every customer (the default scorecard, which must come last). */
  match: z.strictObject({
    segments: z.array(name).min(1, 'must list at least one segment, or be left out').optional(),
    phases: z
      .array(z.enum(SCORECARD_PHASES, { error: `must be one of ${listOf(SCORECARD_PHASES)}` }))
      .min(1, 'must list at least one phase, or be left out')
      .optional(),
  }),
  measures: z
    .array(z.strictObject({ measure: name, weight: positive }))
    .min(1, 'needs at least one measure'),
});

export const ScoringConfigSchema = z.strictObject({
  /** Stamped on every score and alert as modelVersion. */
  version: z.string({ error: 'must be a string' }).regex(MODEL_VERSION.pattern, MODEL_VERSION.rule),
  bands: z.strictObject({
    health: z.strictObject({ greenMin: healthPoints, redBelow: healthPoints }),
    risk: z.strictObject({ mediumMin: probability, highMin: probability }),
  }),
  /** Health given when no measure of the scorecard has data. */
  noDataHealth: healthPoints.int('must be an integer'),
  engagementTrend: z.strictObject({ minBaselineEvents: number.int('must be an integer').min(1, 'must be ≥ 1') }),
  lifecycle: z.strictObject({
    onboardingDays: wholeDays,
    growthTenureDays: wholeDays,
    growthTrendRatio: positive,
    declineTrendRatio: positive,
  }),
  phases: z.strictObject({ renewalWithinDays: wholeDays }),
  measures: z.array(MeasureSchema).min(1, 'needs at least one measure'),
  scorecards: z.array(ScorecardSchema).min(1, 'needs at least one scorecard'),
  churn: z.strictObject({
    /**
     * churnRisk is the probability of churning within this many days: the horizon the model was trained with (npm
     * run train stamps it). Required: a risk whose horizon is guessed cannot be checked against what happens.
     */
    horizonDays: wholeDaysOf(
      z.number({
        error: (issue) =>
          issue.input === undefined
            ? 'required: the days within which churnRisk is the probability of churning, as the model was trained (a config ' +
              'written by npm run train before it stamped them: the horizonDays of its model-card.json)'
            : 'must be a number',
      }),
    ),
    intercept: churnWeight,
    /**
     * The share of the training snapshots that churned within the horizon: the churn rate the intercept was fitted
     * at, from which `npm run train -- --adapt-base-rate` moves the model to another base's (docs/scoring.md §17).
     * Optional: a config written before training stamped it (or set by hand) cannot be adapted.
     */
    baseRate: probability.gt(0, 'must be > 0').lt(1, 'must be < 1').optional(),
    /** Per churn feature; a feature left out is not part of the model (names checked in parseScoringConfig). */
    coefficients: z.record(z.string(), churnWeight),
  }),
  significance: z.strictObject({ healthPoints: positive, churnRisk: positive }),
  alerts: z.strictObject({
    churnRiskHigh: z.strictObject({ openAt: probability, resolveBelow: probability }),
    healthBandDropped: z.strictObject({ recoveryMarginPoints: healthPoints }),
    renewalAtRisk: z.strictObject({
      withinDays: wholeDays,
      recovery: z.strictObject({ minHealth: healthPoints, maxChurnRisk: probability }),
    }),
    noRecentActivity: z.strictObject({ silentDays: wholeDays }),
    /** Value-at-risk thresholds, in the reporting currency; below mediumFrom an alert is LOW. */
    severity: z.strictObject({ mediumFrom: nonNegative, highFrom: nonNegative, criticalFrom: nonNegative }),
  }),
});

export type ScoringConfig = z.infer<typeof ScoringConfigSchema>;
export type MeasureDefinition = ScoringConfig['measures'][number];
export type ScorecardDefinition = ScoringConfig['scorecards'][number];
