// The churn model learnt from a customer base's own history: an L2 logistic regression on the scorer's churn
// features, fitted on earlier as-of dates and judged on later ones, with CHURN_RISK_HIGH thresholds chosen for a
// target precision; the result is a scoring config the scorer loads and a model card (docs/scoring.md §15).
import { createHash } from 'node:crypto';
import {
  BASELINE_RISK_SIGNALS,
  churnFeatureDirection,
  churnFeatureValue,
  churnRiskOf,
  churnSnapshot,
  parseScoringConfig,
  type ChurnFeatureName,
  type ChurnSnapshot,
  type ScoringConfig,
} from '@churnscore/scoring';
import { DEFAULT_WARM_UP_DAYS, splitByTime, type Dataset, type DatasetRow } from './dataset';
import { fitLogisticRegression } from './logistic-regression';
import { averagePrecision, calibrationTable, rocAuc, type ScoredSample } from './metrics';
import type { ModelCard, RankingScore, SampleCounts } from './model-card';
import { DEFAULT_TARGET_PRECISION, EARLY_WARNING_DAYS, alertSettings, chooseAlertThresholds, replayAlert, type RiskPoint } from './thresholds';

/**
 * The fewest churning customers, and customers, that the training period and the validation period must each
 * hold. Snapshots of one customer are strongly correlated, so customers count, not snapshots. 50 churners give
 * about 3 per coefficient of the default features (DEFAULT_TRAINING_FEATURES): below the 5 to 10 events per
 * variable an unpenalised logistic regression needs to keep its coefficients from inflating (Vittinghoff &
 * McCulloch 2007), which the L2 penalty makes up for by shrinking them; Salesforce Einstein asks for 100
 * positives among 400 records. With 50 churners and 150 others, the standard error of a validation AUC near 0.8
 * is about 0.04 (Hanley & McNeil 1982): enough to tell a useful model from health alone, not less.
 */
export const MIN_CHURNING_CUSTOMERS = 50;
export const MIN_CUSTOMERS = 200;
/**
 * A feature is left out unless at least this many training customers show a value other than its commonest one. A
 * coefficient learnt from a handful of customers is theirs, not the base's: a 90-day usage drop that a few customers
 * of a year-long replay showed (its earlier span before the history began for everyone else) came out at 2.5, and
 * then pushed every declining customer's risk up by half a unit of log-odds once the windows filled. Customers count,
 * not snapshots, for the reason above; 20 is a tenth of MIN_CUSTOMERS.
 */
export const MIN_VARYING_CUSTOMERS = 20;
/**
 * The churn features training fits unless told otherwise: those relative to the customer's own baseline (engagement
 * and usage drops, usage per reading, tickets, SLA breaches and open tickets per engagement event), what the
 * customer and its CSM say (NPS, sentiment), the health score, and the two contract signals no account size
 * inflates (renewal proximity, cancellations). Left out: the absolute counts of open tickets, SLA breaches and lost
 * deals and the days of silence, which a busy account piles up and a quiet one shows in good health alike, so
 * they rank by account size rather than by risk; and `activityTrendDrop`, which `engagementDrop30d` measures
 * for every customer rather than only those with 4 baseline events. A feature that varies in too few training
 * customers (MIN_VARYING_CUSTOMERS) is left out of the model whatever the list.
 */
export const DEFAULT_TRAINING_FEATURES: readonly ChurnFeatureName[] = [
  'engagementDrop7d',
  'engagementDrop30d',
  'engagementDrop90d',
  'usageDrop30d',
  'usageDrop90d',
  'usageIntensityDrop30d',
  'usageIntensityDrop90d',
  'ticketsPerEngagement90',
  'slaBreachesPerEngagement90',
  'openTicketsPerEngagement90',
  'csmSentiment',
  'npsDeviation',
  'healthShortfall',
  'renewalProximity',
  'cancellations365',
];
/** λ of the L2 penalty on standardised features: mild for thousands of snapshots, enough to keep a feature that barely varies finite. */
export const DEFAULT_L2 = 1;
/** The latest quarter of the as-of dates validates. */
export const DEFAULT_VALIDATION_SHARE = 0.25;
/** Coefficients are written with this many significant digits: far below any effect on a rounded churn risk. */
const COEFFICIENT_DIGITS = 6;

/** Training refused, for a reason the user can act on (too few churners, no alert threshold reaches the target). */
export class TrainingRefusedError extends Error {
  override readonly name = 'TrainingRefusedError';
}

/** Refused for too little labelled history (too short, too few churners or customers): what the snapshot plan took in may be why. */
export class TooLittleHistoryError extends TrainingRefusedError {}

export interface TrainOptions {
  /** The configuration the trained one copies: everything but the churn model, CHURN_RISK_HIGH's thresholds and the version. */
  baseConfig: ScoringConfig;
  /** When training ran (the model card says so). */
  trainedAt: number;
  /** What the history came from (file names), for the model card. */
  sources: readonly string[];
  /** Records of the sources rejected and left out (exports read with --partial, a replay's dead-lettered records), for the model card. */
  leftOut?: number;
  /** Default DEFAULT_VALIDATION_SHARE. */
  validationShare?: number;
  /** CHURN_RISK_HIGH's target precision; default DEFAULT_TARGET_PRECISION. */
  targetPrecision?: number;
  /** Default DEFAULT_L2. */
  l2?: number;
  /** The churn features to fit; default DEFAULT_TRAINING_FEATURES. */
  features?: readonly ChurnFeatureName[];
  /** The trained config's version; default `churn-h<horizon>-<date the history ends>-<hash of the model>`. */
  version?: string;
  /** Each stage as it starts, for a progress display. */
  onStage?: (stage: string) => void;
}

export interface TrainingResult {
  config: ScoringConfig;
  card: ModelCard;
}

const isoDate = (instant: number): string => new Date(instant).toISOString().slice(0, 10);
export const significant = (value: number): number => Number(value.toPrecision(COEFFICIENT_DIGITS));

/** 8 hex digits of what a model learnt, for its version: another model, another version. */
export const shortHash = (learnt: unknown): string => createHash('sha256').update(JSON.stringify(learnt)).digest('hex').slice(0, 8);

/** Snapshots, positives, customers and churning customers among labelled rows. */
export function sampleCounts(rows: ReadonlyArray<Pick<DatasetRow, 'customerId' | 'label'>>): SampleCounts {
  const customers = new Set(rows.map((row) => row.customerId));
  const churners = new Set(rows.filter((row) => row.label).map((row) => row.customerId));
  return { snapshots: rows.length, positives: rows.filter((row) => row.label).length, customers: customers.size, churners: churners.size };
}

export function refuseIfTooFew(counts: { train: SampleCounts; validation: SampleCounts }): void {
  // What each period lacks, named first: 58 churners of 181 customers lack customers, not churners.
  const lacking = (set: 'train' | 'validation') => [
    ...(counts[set].churners < MIN_CHURNING_CUSTOMERS ? ['churners'] : []),
    ...(counts[set].customers < MIN_CUSTOMERS ? ['customers'] : []),
  ];
  const short = (['train', 'validation'] as const).filter((set) => lacking(set).length > 0);
  if (short.length === 0) return;
  const lacks = [...new Set(short.flatMap(lacking))];
  const describe = (set: 'train' | 'validation') =>
    `${set === 'train' ? 'training' : 'validation'}: ${counts[set].churners} churning customers of ${counts[set].customers}, too few ${lacking(set).join(' and ')}`;
  throw new TooLittleHistoryError(
    `too few ${lacks.join(' and ')} to learn from (${short.map(describe).join('; ')}): the training and the validation periods each need at least ` +
      `${MIN_CHURNING_CUSTOMERS} customers who churn within the horizon and ${MIN_CUSTOMERS} customers in all, ` +
      'or the coefficients and the validation figures would be noise. A longer history, more customers or a longer horizon may do.',
  );
}

/**
 * Each customer's snapshots on consecutive as-of dates, with their risks, for replaying an alert: a customer who
 * left and came back starts afresh. `rows` by customer, then as-of instant, as a dataset holds them.
 */
export function riskTrajectories(
  rows: ReadonlyArray<Pick<DatasetRow, 'customerId' | 'asOf' | 'label' | 'churnsAt'>>,
  risks: readonly number[],
  asOfDates: readonly number[],
): RiskPoint[][] {
  const position = new Map(asOfDates.map((date, index) => [date, index]));
  const result: RiskPoint[][] = [];
  let previous: (typeof rows)[number] | undefined;
  rows.forEach((row, i) => {
    const point = { asOf: row.asOf, risk: risks[i]!, label: row.label, churnsAt: row.churnsAt };
    const continues = previous?.customerId === row.customerId && position.get(row.asOf)! - position.get(previous.asOf)! === 1;
    if (continues) result.at(-1)!.push(point);
    else result.push([point]);
    previous = row;
  });
  return result;
}

/**
 * The columns of `rows` in which fewer than MIN_VARYING_CUSTOMERS customers show a value other than the column's
 * commonest (a constant column included): nothing about the base can be learnt from them.
 */
function rarelyVarying(rows: readonly number[][], customerIds: readonly string[]): Set<number> {
  const width = rows[0]?.length ?? 0;
  const rare = new Set<number>();
  for (let j = 0; j < width; j += 1) {
    const frequency = new Map<number, number>();
    for (const row of rows) frequency.set(row[j]!, (frequency.get(row[j]!) ?? 0) + 1);
    const commonest = [...frequency].reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];
    const varying = new Set(customerIds.filter((_, i) => rows[i]![j] !== commonest));
    if (varying.size < MIN_VARYING_CUSTOMERS) rare.add(j);
  }
  return rare;
}

/**
 * The fit with every coefficient in its feature's direction (churnFeatureDirection), `rare` columns left out: while
 * some come out against theirs (features that move together can share their effect with opposite signs), the one
 * most against, per standard deviation, is left out and the rest refitted. Deterministic, at most one refit per
 * feature.
 */
function fitWithDirections(rows: readonly number[][], labels: readonly boolean[], features: readonly ChurnFeatureName[], l2: number, rare: ReadonlySet<number>) {
  const againstDirection = new Set<number>();
  for (;;) {
    const fit = fitLogisticRegression(rows, labels, { l2, leaveOut: [...rare, ...againstDirection] });
    const signed = features.map((feature, j) => fit.standardisedCoefficients[j]! * churnFeatureDirection(feature));
    const worst = signed.indexOf(Math.min(...signed));
    if (!(signed[worst]! < 0)) return { fit, againstDirection };
    againstDirection.add(worst);
  }
}

function rankingScore(name: string, scores: readonly number[], rows: readonly DatasetRow[]): RankingScore {
  const samples = scores.map((score, i) => ({ score, label: rows[i]!.label }));
  return { name, auc: rocAuc(samples), prAuc: averagePrecision(samples) };
}

/**
 * Fits the churn model on `dataset` (see buildDataset) and builds the scoring config and model card. Throws
 * TrainingRefusedError when either period has too few churners or customers, or when no CHURN_RISK_HIGH
 * thresholds reach the target precision on the validation snapshots.
 */
export function trainChurnModel(dataset: Dataset, options: TrainOptions): TrainingResult {
  const { baseConfig, l2 = DEFAULT_L2, targetPrecision = DEFAULT_TARGET_PRECISION, features = DEFAULT_TRAINING_FEATURES, onStage } = options;
  if (features.length === 0) throw new RangeError('training needs at least one churn feature');
  if (dataset.asOfDates.length === 0) {
    throw new TooLittleHistoryError(
      `the history is too short: its first snapshot (after ${DEFAULT_WARM_UP_DAYS} days of warm-up from its first activity) needs ${dataset.horizonDays} days of horizon ` +
        `and ${dataset.renewalGraceDays} days of renewal grace after it to be labelled`,
    );
  }
  const split = splitByTime(dataset, { validationShare: options.validationShare ?? DEFAULT_VALIDATION_SHARE });
  if (dataset.asOfDates[0]! > split.trainUntil) {
    // Not too few churners or customers: no instant at all, which more of either would not change.
    const day = (instant: number) => new Date(instant).toISOString().slice(0, 10);
    throw new TooLittleHistoryError(
      `the history is too short to split by time: its snapshots run from ${day(dataset.asOfDates[0]!)} to ${day(dataset.asOfDates.at(-1)!)}, and training ` +
        `takes only those ${dataset.horizonDays} days (the horizon) or more before validation begins (${day(split.validateFrom)}), so that no training label ` +
        `comes from the validation period: none is left. A longer history may do`,
    );
  }
  const counts = { train: sampleCounts(split.train), validation: sampleCounts(split.validation) };
  refuseIfTooFew(counts);

  onStage?.('computing churn features');
  const snapshotsOf = (rows: readonly DatasetRow[]): ChurnSnapshot[] => rows.map((row) => churnSnapshot(row.insights, baseConfig, row.asOf));
  const trainSnapshots = snapshotsOf(split.train);
  const validationSnapshots = snapshotsOf(split.validation);
  const vector = (snapshot: ChurnSnapshot): number[] => features.map((feature) => churnFeatureValue(feature, snapshot));

  onStage?.(`fitting on ${counts.train.snapshots} snapshots`);
  const trainRows = trainSnapshots.map(vector);
  const rare = rarelyVarying(trainRows, split.train.map((row) => row.customerId));
  const { fit, againstDirection } = fitWithDirections(trainRows, split.train.map((row) => row.label), features, l2, rare);
  // A feature that varied in too few customers taught nothing about the base, and one against its direction would
  // explain the risk backwards: both are left out of the model rather than kept at 0.
  const coefficients: Partial<Record<ChurnFeatureName, number>> = {};
  features.forEach((feature, j) => {
    if (fit.coefficients[j] !== 0) coefficients[feature] = significant(fit.coefficients[j]!);
  });
  // The horizon goes with the model into the config, so every service reading it can say what the risk means.
  // So is the churn rate the intercept was fitted at, from which adaptToBaseRate moves the model to another base's.
  const churn = {
    horizonDays: dataset.horizonDays,
    intercept: significant(fit.intercept),
    baseRate: significant(counts.train.positives / counts.train.snapshots),
    coefficients,
  };

  onStage?.(`validating on ${counts.validation.snapshots} snapshots`);
  // The risks the scorer would publish with the trained and with the base model: the card judges exactly them.
  const trainedRisks = validationSnapshots.map((snapshot) => churnRiskOf(churn, snapshot));
  const baseRisks = validationSnapshots.map((snapshot) => churnRiskOf(baseConfig.churn, snapshot));
  const validationSamples: ScoredSample[] = trainedRisks.map((score, i) => ({ score, label: split.validation[i]!.label }));

  onStage?.(`choosing CHURN_RISK_HIGH thresholds for precision ${targetPrecision}`);
  const baseRate = counts.validation.positives / counts.validation.snapshots;
  const choice = chooseAlertThresholds(riskTrajectories(split.validation, trainedRisks, dataset.asOfDates), targetPrecision, baseRate);
  if (!choice.ok) {
    const best = choice.bestPrecision === null ? 'no alert ever opens' : `the best any reaches is ${choice.bestPrecision.toFixed(2)}`;
    throw new TrainingRefusedError(
      `no CHURN_RISK_HIGH thresholds reach precision ${targetPrecision} on the validation snapshots (${best}): lower the target precision, or train on more history`,
    );
  }

  const alertConfig = alertSettings(baseConfig, choice.thresholds, baseRate);
  const learnt = { churn, churnRiskHigh: choice.thresholds, riskBands: alertConfig.bands.risk, base: baseConfig.version };
  const version = options.version ?? `churn-h${dataset.horizonDays}-${isoDate(dataset.observedUntil)}-${shortHash(learnt)}`;
  const config = parseScoringConfig({ ...baseConfig, version, churn, ...alertConfig });

  const validationRows = split.validation;
  const card: ModelCard = {
    version,
    baseVersion: baseConfig.version,
    baseHorizonDays: baseConfig.churn.horizonDays,
    trainedAt: new Date(options.trainedAt).toISOString(),
    history: { sources: [...options.sources], observedUntil: new Date(dataset.observedUntil).toISOString(), leftOut: options.leftOut ?? 0 },
    horizonDays: dataset.horizonDays,
    renewalGraceDays: dataset.renewalGraceDays,
    split: {
      asOfDates: dataset.asOfDates.length,
      firstAsOf: new Date(dataset.asOfDates[0]!).toISOString(),
      trainUntil: new Date(split.trainUntil).toISOString(),
      validateFrom: new Date(split.validateFrom).toISOString(),
      lastAsOf: new Date(dataset.asOfDates.at(-1)!).toISOString(),
    },
    samples: counts,
    minimums: { churningCustomers: MIN_CHURNING_CUSTOMERS, customers: MIN_CUSTOMERS },
    fit: { l2, iterations: fit.iterations, converged: fit.converged },
    model: {
      intercept: churn.intercept,
      coefficients: features.map((feature, j) => ({
        feature,
        coefficient: coefficients[feature] ?? null,
        leftOut: coefficients[feature] !== undefined ? null : againstDirection.has(j) ? 'against its direction' : 'varies in too few customers',
        perStandardDeviation: fit.standardisedCoefficients[j]!,
        mean: fit.means[j]!,
        standardDeviation: fit.standardDeviations[j]!,
      })),
    },
    validation: {
      ...rankingScore(version, trainedRisks, validationRows),
      baseRate,
      meanPredicted: trainedRisks.reduce((sum, risk) => sum + risk, 0) / trainedRisks.length,
      calibration: calibrationTable(validationSamples),
    },
    baselines: [
      { ...rankingScore(baseConfig.version, baseRisks, validationRows), calibrationError: calibrationTable(baseRisks.map((score, i) => ({ score, label: validationRows[i]!.label }))).error },
      rankingScore('health alone (100 − health)', validationSnapshots.map(BASELINE_RISK_SIGNALS.healthAlone), validationRows),
      rankingScore('engagement trend (last 30 days vs the 60 before)', validationSnapshots.map(BASELINE_RISK_SIGNALS.engagementTrend), validationRows),
    ],
    alert: {
      targetPrecision,
      earlyWarningDays: EARLY_WARNING_DAYS,
      ...choice.thresholds,
      ...choice.outcome,
      base: {
        ...baseConfig.alerts.churnRiskHigh,
        ...replayAlert(riskTrajectories(validationRows, baseRisks, dataset.asOfDates), baseConfig.alerts.churnRiskHigh),
      },
    },
  };
  return { config, card };
}
