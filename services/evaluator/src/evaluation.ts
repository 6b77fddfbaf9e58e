// The evaluation behind `npm run evaluate` (docs/evaluation.md): a model trained on one simulated customer base,
// the shipped default, two single signals and an oracle that knows the simulated latent state, all judged on
// another simulated base. The held-out customers are scored by the scorer's own pure code: the event fold, then
// evaluateCustomer (insights, score, alerts with their book) as of each snapshot, the published score and the alert
// book carried from one evaluation to the next as the scorer stores them.
import type { AlertBook, CustomerState, Score } from '@churnscore/domain';
import {
  BASELINE_RISK_SIGNALS,
  churnFeatureValue,
  churnSnapshot,
  evaluateCustomer,
  logistic,
  type ChurnSnapshot,
  type FoldOptions,
  type ScoringConfig,
} from '@churnscore/scoring';
import { createRandom, latentState, seedFrom, type CustomerHistory as SimulatedHistory, type LatentState } from '@churnscore/simulator';
import { asHistory, type SimulatedPopulation } from '@churnscore/trainer';
import {
  DEFAULT_L2,
  DEFAULT_TRAINING_FEATURES,
  AdaptationRefusedError,
  adaptToBase,
  alertOutcome,
  averagePrecision,
  calibrationTable,
  chooseAlertThresholds,
  customerRows,
  customerSnapshots,
  fitLogisticRegression,
  knownSpan,
  replayAlert,
  riskTrajectories,
  rocAuc,
  settledPlan,
  type AlertOutcome,
  type AdaptationRefusal,
  type AlertThresholds,
  type CustomerHistory,
  type DatasetRow,
  type SnapshotPlan,
} from '@churnscore/training';

/**
 * The base the model is trained on and the base it is judged on: other seeds, another churn rate, more silent
 * churners (whom no behaviour announces) and a tenfold rather than threefold spread of activity levels, so a model
 * that learnt one base's quirks, or its customers' sizes, shows it. Neither is one the shipped default learnt from.
 */
export const EVALUATION_POPULATIONS: { train: SimulatedPopulation; heldOut: SimulatedPopulation } = {
  train: { seed: 'evaluate-train', customers: 1_000, days: 730, churnRate: 0.35, silentChurnShare: 0.15, activitySpread: 3, usageSignal: 1, usageReporting: 1 },
  heldOut: { seed: 'evaluate-held-out', customers: 600, days: 730, churnRate: 0.2, silentChurnShare: 0.35, activitySpread: 10, usageSignal: 1, usageReporting: 1 },
};
/** The simulator's clock for both populations. */
export const EVALUATION_CLOCK = Date.parse('2025-06-15T12:00:00Z');

/** The targets (docs/evaluation.md): what the trained and the default model should reach on the held-out base. */
export const TARGETS = {
  /** The trained model's AUC at most this far below the oracle's. */
  oracleAucGap: 0.03,
  /** CHURN_RISK_HIGH's precision, and its recall on churners at least EARLY_WARNING_DAYS out, at least these. */
  alertPrecision: 0.6,
  alertEarlyRecall: 0.6,
  /** The count-weighted calibration error by decile at most this. */
  calibrationError: 0.05,
} as const;

/**
 * The scoring configs judged, each scored exactly as the scorer would score with it: the trained model, the shipped
 * default, and the default adapted to the judged base's churn rate without labels (`npm run train -- --adapt-base-rate`
 * on the customers under contract at each instant judged).
 */
export const MODELS = ['trained', 'default', 'adapted'] as const;
export type ModelName = (typeof MODELS)[number];
/** The configs judged as given; the adapted one is derived from the default on the judged base. */
export type JudgedConfigs = Record<Exclude<ModelName, 'adapted'>, ScoringConfig>;
/** The config a model scores with as of an instant: the adapted default moves with the base it is judged on. */
export type ConfigAt = (asOf: number) => ScoringConfig;

/**
 * CHURN_RISK_HIGH's thresholds of each model as the report shows them: the adapted default's are those of the config
 * it scores with at `lastInstant` (chosen on the base's settled outcomes once they hold enough churners, else the
 * default's), the ones the alert books of the last weeks were kept with.
 */
export const modelAlertsOf = (configs: Record<ModelName, ConfigAt>, lastInstant: number): Record<ModelName, AlertThresholds> => ({
  trained: configs.trained(lastInstant).alerts.churnRiskHigh,
  default: configs.default(lastInstant).alerts.churnRiskHigh,
  adapted: configs.adapted(lastInstant).alerts.churnRiskHigh,
});

/** How the default was adapted to the judged base, for the report. */
export interface AdaptationSummary {
  /** The rate the default's intercept was fitted at; null when it does not say (it is then never adapted). */
  fittedAt: number | null;
  /** One per instant at which it was adapted. */
  estimated: readonly number[];
  /** The churning customers of the settled outcomes, one per rate measured on them; the other rates were estimated from risks alone. */
  settledChurners: readonly number[];
  /** Instants at which the default was kept, by why the adaptation was refused there. */
  kept: Partial<Record<AdaptationRefusal, number>>;
  /** Instants at which CHURN_RISK_HIGH's thresholds were chosen on the settled outcomes too. */
  thresholdsChosen: number;
  /** The log-odds' slope, one per instant at which it was fitted on the settled outcomes too. */
  slopes: readonly number[];
}

/**
 * The default adapted to a base at each of the plan's instants from the history known then, as
 * `npm run train -- --adapt-base-rate` with that --observed-until writes it; the default itself at an instant where
 * the command refuses (the scorer keeps the config it has), counted by the reason. Every instant's settled snapshots
 * are folded once: their labels are those the history up to that instant gives, since a settled label's churn and
 * renewal grace both end before it (the simulator's events are known when they occur).
 */
export function adaptedAtEachInstant(
  histories: readonly CustomerHistory[],
  plan: SnapshotPlan,
  base: ScoringConfig,
  fold: FoldOptions,
): { configAt: ConfigAt; summary: AdaptationSummary } {
  const { activityFrom } = knownSpan(histories);
  const settledAt = new Map(plan.asOfDates.map((asOf) => [asOf, new Set(settledPlan(activityFrom, asOf, base.churn.horizonDays).asOfDates)]));
  const everyInstant = new Set([...plan.asOfDates, ...[...settledAt.values()].flatMap((dates) => [...dates])]);
  const rowsByInstant = new Map<number, DatasetRow[]>([...everyInstant].map((asOf) => [asOf, []]));
  const foldPlan = { ...plan, asOfDates: [...everyInstant].sort((a, b) => a - b) };
  for (const history of histories) for (const row of customerRows(history, foldPlan, fold)) rowsByInstant.get(row.asOf)!.push(row);
  const adapted = new Map<number, ScoringConfig>();
  const settledChurners: number[] = [];
  let thresholdsChosen = 0;
  const slopes: number[] = [];
  const kept: AdaptationSummary['kept'] = {};
  for (const asOf of plan.asOfDates) {
    try {
      const settled = [...settledAt.get(asOf)!].flatMap((instant) => rowsByInstant.get(instant)!);
      const { config, adaptation } = adaptToBase(base, { settled, underContract: rowsByInstant.get(asOf)!, asOf, historyFrom: activityFrom });
      adapted.set(asOf, config);
      if (adaptation.outcomes !== undefined) settledChurners.push(adaptation.outcomes.churningCustomers);
      if (adaptation.alert !== undefined) thresholdsChosen += 1;
      if (adaptation.slope !== undefined) slopes.push(adaptation.slope);
    } catch (error) {
      if (!(error instanceof AdaptationRefusedError)) throw error;
      kept[error.reason] = (kept[error.reason] ?? 0) + 1;
    }
  }
  return {
    configAt: (asOf) => adapted.get(asOf) ?? base,
    summary: { fittedAt: base.churn.baseRate ?? null, estimated: [...adapted.values()].map((config) => config.churn.baseRate!), settledChurners, kept, thresholdsChosen, slopes },
  };
}

/** What a single-signal ranking reads: the scorer's snapshot of the customer, and (for the oracle) its hidden state. */
interface SignalContext {
  snapshot: ChurnSnapshot;
  latent: LatentState;
}

/** Single signals, each a risk ranking (higher = riskier), turned into probabilities on the training base (calibrateSignal). */
export const SINGLE_SIGNALS = {
  /** 100 − health, the default config's health. */
  healthAlone: ({ snapshot }: SignalContext) => BASELINE_RISK_SIGNALS.healthAlone(snapshot),
  /** Engagement of the last 30 days against the 60 before (BASELINE_RISK_SIGNALS). */
  engagementTrend: ({ snapshot }: SignalContext) => BASELINE_RISK_SIGNALS.engagementTrend(snapshot),
  /** The share of engagement the customer has lost to the decline that ends in its churn: what no behaviour shows exactly. */
  oracle: ({ latent }: SignalContext) => latent.decline,
} as const;
export type SingleSignalName = keyof typeof SINGLE_SIGNALS;
export const SINGLE_SIGNAL_NAMES = Object.keys(SINGLE_SIGNALS) as SingleSignalName[];

/**
 * A logistic regression on the trained model's features, learnt on the judged base itself, each customer scored by a
 * fit on the other folds' customers: what those features tell on this base with no shift between bases, the yardstick
 * for the gap between the trained model and the oracle (the issue's own table had it). Not a model anyone could ship:
 * it reads the judged base's labels.
 */
export const LEARNT_ON_THE_BASE = 'learntOnTheBase';
const LEARNT_ON_THE_BASE_FOLDS = 5;
export type SignalName = ModelName | SingleSignalName | typeof LEARNT_ON_THE_BASE;

export const SIGNAL_LABELS: Record<SignalName, string> = {
  trained: 'trained model',
  default: 'default model',
  adapted: "default model, adapted to the base's churn rate",
  [LEARNT_ON_THE_BASE]: `the trained model's features learnt on this base (${LEARNT_ON_THE_BASE_FOLDS} folds by customer, out of fold)`,
  healthAlone: 'health alone (100 − health)',
  engagementTrend: 'engagement trend (30 days vs the 60 before)',
  oracle: 'oracle (latent decline)',
};

/** The values of the trained model's features (those `npm run train` fits by default) in a snapshot. */
export const trainingFeatures = (snapshot: ChurnSnapshot): number[] => DEFAULT_TRAINING_FEATURES.map((feature) => churnFeatureValue(feature, snapshot));

/**
 * Each row's risk from a logistic regression (the training's L2 penalty) fitted on the rows of the customers in the
 * other folds; a customer's fold is drawn from its id, so its snapshots are never fitted on while they are scored.
 */
export function outOfFoldRisks(rows: ReadonlyArray<Pick<HeldOutRow, 'customerId' | 'label' | 'features'>>, folds = LEARNT_ON_THE_BASE_FOLDS): number[] {
  const foldOf = new Map<string, number>();
  for (const { customerId } of rows) {
    if (!foldOf.has(customerId)) foldOf.set(customerId, Math.floor(createRandom(seedFrom('out-of-fold', customerId)).next() * folds));
  }
  const rowFolds = rows.map((row) => foldOf.get(row.customerId)!);
  const risks = new Array<number>(rows.length);
  for (let fold = 0; fold < folds; fold += 1) {
    const fitted = rows.filter((_, i) => rowFolds[i] !== fold);
    if (fitted.length === rows.length) continue;
    if (fitted.length === 0) throw new RangeError('scoring out of fold needs customers in at least two folds');
    const fit = fitLogisticRegression(fitted.map((row) => row.features), fitted.map((row) => row.label), { l2: DEFAULT_L2 });
    rows.forEach((row, i) => {
      if (rowFolds[i] === fold) risks[i] = logistic(fit.coefficients.reduce((logit, coefficient, j) => logit + coefficient * row.features[j]!, fit.intercept));
    });
  }
  return risks;
}

/** The customer's value of every single signal as of a snapshot. */
export const singleSignals = (context: SignalContext): Record<SingleSignalName, number> =>
  Object.fromEntries(SINGLE_SIGNAL_NAMES.map((name) => [name, SINGLE_SIGNALS[name](context)])) as Record<SingleSignalName, number>;

/** A one-feature logistic regression (Platt scaling): the signal as a probability of churn within the horizon. */
export interface SignalCalibration {
  intercept: number;
  slope: number;
}

export const calibratedRisk = ({ intercept, slope }: SignalCalibration, value: number): number => 1 / (1 + Math.exp(-(intercept + slope * value)));

/** Fits the signal's calibration on labelled values, with the training's L2 penalty. */
export function calibrateSignal(values: readonly number[], labels: readonly boolean[]): SignalCalibration {
  const fit = fitLogisticRegression(values.map((value) => [value]), labels, { l2: DEFAULT_L2 });
  return { intercept: fit.intercept, slope: fit.coefficients[0]! };
}

/** A single signal prepared on the training base: its calibration, and CHURN_RISK_HIGH thresholds for it (null when none reach the target). */
export interface PreparedSignal {
  calibration: SignalCalibration;
  alert: AlertThresholds | null;
}

/**
 * Prepares a single signal as training prepares a model: calibrated on the training snapshots, its alert thresholds
 * chosen on the validation snapshots for the same target precision (chooseAlertThresholds).
 */
export function prepareSignal(
  split: { train: ReadonlyArray<{ value: number; row: DatasetRow }>; validation: ReadonlyArray<{ value: number; row: DatasetRow }> },
  asOfDates: readonly number[],
  targetPrecision: number,
): PreparedSignal {
  const calibration = calibrateSignal(split.train.map(({ value }) => value), split.train.map(({ row }) => row.label));
  const risks = split.validation.map(({ value }) => calibratedRisk(calibration, value));
  const validationRate = split.validation.filter(({ row }) => row.label).length / split.validation.length;
  const choice = chooseAlertThresholds(riskTrajectories(split.validation.map(({ row }) => row), risks, asOfDates), targetPrecision, validationRate);
  return { calibration, alert: choice.ok ? choice.thresholds : null };
}

/**
 * What a simulated customer is going through at a snapshot, from its latent state: in the decline that ends in its
 * churn, in a passing dip it recovers from, or neither. Behaviour shows the first two alike for a while; the
 * evaluation uses it only to say why an alert that no churn followed was raised.
 */
export const LATENT_CONDITIONS = ['dipping', 'declining', 'calm'] as const;
export type LatentCondition = (typeof LATENT_CONDITIONS)[number];
export const latentCondition = ({ decline, dip }: LatentState): LatentCondition => (decline > 0 ? 'declining' : dip > 0 ? 'dipping' : 'calm');

/** One held-out snapshot as scored. */
export interface HeldOutRow {
  customerId: string;
  asOf: number;
  label: boolean;
  churnsAt: number | null;
  /** The customer's own activity level (simulated), to split the base into quiet and busy thirds. */
  activityLevel: number;
  /** The published churn risk under each model, and whether its CHURN_RISK_HIGH alert is open. */
  risk: Record<ModelName, number>;
  alertOpen: Record<ModelName, boolean>;
  signals: Record<SingleSignalName, number>;
  /** The trained model's features (trainingFeatures), for the model learnt on the judged base itself. */
  features: number[];
  condition: LatentCondition;
}

/** What the scorer stores for a customer between evaluations: the last published score and the alert book. */
interface StoredCustomer {
  published: Score | null;
  alertBook: AlertBook | null;
}

/** The scorer's evaluation of a customer due by time, nothing behind in its inputs; returns what the scorer stores after the commit. */
function evaluateAsScorer(state: CustomerState, stored: StoredCustomer, config: ScoringConfig, asOf: number, fold: FoldOptions) {
  const evaluation = evaluateCustomer(
    { state, ...stored, cause: { kind: 'time' }, newGeneration: false, inputsBehind: false },
    config,
    asOf,
    // Held alerts need a backlog or an event: an evaluation by time with nothing behind never holds, whatever the policy.
    { retentionDays: fold.retentionDays, catchUp: { historyAgeMs: 0, settleMs: 0 } },
  );
  const next: StoredCustomer = { published: evaluation.significant ? evaluation.score : stored.published, alertBook: evaluation.alertBook };
  const alertOpen = evaluation.alertBook.episodes.CHURN_RISK_HIGH?.status === 'OPEN';
  return { evaluation, next, alertOpen };
}

/**
 * A held-out customer's snapshots (the plan's as-of instants at which it holds an active contract), each scored by
 * every model as the scorer scores it and read by every single signal. Each model's published score and alert book
 * carry over from one snapshot to the next: a scorer that re-evaluates the customer at each as-of instant.
 */
export function scoreHeldOutCustomer(customer: SimulatedHistory, plan: SnapshotPlan, configs: Record<ModelName, ConfigAt>, fold: FoldOptions): HeldOutRow[] {
  const history = asHistory(customer);
  const stored = Object.fromEntries(MODELS.map((model) => [model, { published: null, alertBook: null }])) as Record<ModelName, StoredCustomer>;
  const rows: HeldOutRow[] = [];
  for (const snapshot of customerSnapshots(history, plan, fold)) {
    const risk = {} as Record<ModelName, number>;
    const alertOpen = {} as Record<ModelName, boolean>;
    let insights;
    for (const model of MODELS) {
      const scored = evaluateAsScorer(snapshot.state, stored[model], configs[model](snapshot.asOf), snapshot.asOf, fold);
      stored[model] = scored.next;
      risk[model] = scored.evaluation.score.churnRisk;
      alertOpen[model] = scored.alertOpen;
      insights = scored.evaluation.insights;
    }
    const latent = latentState(customer, snapshot.asOf);
    const context = { snapshot: churnSnapshot(insights!, configs.default(snapshot.asOf), snapshot.asOf), latent };
    rows.push({
      customerId: snapshot.customerId,
      asOf: snapshot.asOf,
      label: snapshot.label,
      churnsAt: snapshot.churnsAt,
      activityLevel: customer.latent.activityLevel,
      risk,
      alertOpen,
      signals: singleSignals(context),
      features: trainingFeatures(context.snapshot),
      condition: latentCondition(latent),
    });
  }
  return rows;
}

/** How one signal did on the held-out base. */
export interface SignalReport {
  signal: SignalName;
  auc: number | null;
  prAuc: number | null;
  /** AUC among the customers of the quietest and of the busiest third by activity level. */
  aucQuietThird: number | null;
  aucBusyThird: number | null;
  /** Of the probabilities: the model's risk, or the signal calibrated on the training base. */
  calibrationError: number;
  /** CHURN_RISK_HIGH: the model's own, or one on the calibrated signal with thresholds chosen on the training base. */
  alert: (AlertThresholds & AlertOutcome) | null;
  /** A model's snapshots with its CHURN_RISK_HIGH open and no churn within the horizon, by what the customer was going through (null for a single signal). */
  falseAlerts: Record<LatentCondition, number> | null;
  /** A model's calibration error by chance alone, on its own risks (null for a single signal): see calibrationByChance. */
  calibrationByChance: ChanceCalibration | null;
}

function falseAlertsBy(rows: readonly HeldOutRow[], model: ModelName): Record<LatentCondition, number> {
  const counts = Object.fromEntries(LATENT_CONDITIONS.map((condition) => [condition, 0])) as Record<LatentCondition, number>;
  for (const row of rows) if (row.alertOpen[model] && !row.label) counts[row.condition] += 1;
  return counts;
}

/** How often the outcomes are drawn to tell the calibration error chance alone gives. */
const CHANCE_DRAWS = 200;

export interface ChanceCalibration {
  mean: number;
  /** 90 % of the draws give less. */
  p90: number;
}

/**
 * The calibration error a perfectly calibrated model with these risks shows by chance alone: each snapshot's outcome
 * drawn from its own risk, CHANCE_DRAWS times (seeded: every run prints the same). Few snapshots leave a decile
 * group of a few dozen customers, whose churn rate wanders from the truth by several points; this is that floor,
 * for reading a model's calibration error against the target on the same snapshots.
 */
export function calibrationByChance(risks: readonly number[], seed: string): ChanceCalibration {
  const random = createRandom(seedFrom('calibration-by-chance', seed));
  const errors: number[] = [];
  for (let draw = 0; draw < CHANCE_DRAWS; draw += 1) errors.push(calibrationTable(risks.map((score) => ({ score, label: random.next() < score }))).error);
  errors.sort((a, b) => a - b);
  return { mean: errors.reduce((sum, error) => sum + error, 0) / errors.length, p90: errors[Math.floor(0.9 * errors.length)]! };
}

/** The activity level below which a customer is in the quietest third, and from which in the busiest. */
function activityTerciles(rows: readonly HeldOutRow[]): { quietBelow: number; busyFrom: number } {
  const levels = [...new Map(rows.map((row) => [row.customerId, row.activityLevel])).values()].sort((a, b) => a - b);
  return { quietBelow: levels[Math.floor(levels.length / 3)]!, busyFrom: levels[Math.floor((2 * levels.length) / 3)]! };
}

/**
 * Every signal's report on the held-out rows (by customer, then as-of instant, as scoreHeldOutCustomer gives them):
 * the models with their own risks and alerts, the single signals calibrated and alerted as prepared on the training base.
 */
export function reportSignals(
  rows: readonly HeldOutRow[],
  prepared: Record<SingleSignalName, PreparedSignal>,
  modelAlerts: Record<ModelName, AlertThresholds>,
  asOfDates: readonly number[],
): SignalReport[] {
  const { quietBelow, busyFrom } = activityTerciles(rows);
  const report = (
    signal: SignalName,
    risks: readonly number[],
    alert: SignalReport['alert'],
    falseAlerts: SignalReport['falseAlerts'] = null,
    byChance: SignalReport['calibrationByChance'] = null,
  ): SignalReport => {
    const samples = risks.map((score, i) => ({ score, label: rows[i]!.label }));
    return {
      signal,
      auc: rocAuc(samples),
      prAuc: averagePrecision(samples),
      aucQuietThird: rocAuc(samples.filter((_, i) => rows[i]!.activityLevel < quietBelow)),
      aucBusyThird: rocAuc(samples.filter((_, i) => rows[i]!.activityLevel >= busyFrom)),
      calibrationError: calibrationTable(samples).error,
      alert,
      falseAlerts,
      calibrationByChance: byChance,
    };
  };
  const models = MODELS.map((model) => {
    const risks = rows.map((row) => row.risk[model]);
    return report(
      model,
      risks,
      { ...modelAlerts[model], ...alertOutcome(rows.map((row) => ({ ...row, open: row.alertOpen[model] }))) },
      falseAlertsBy(rows, model),
      calibrationByChance(risks, model),
    );
  });
  const signals = SINGLE_SIGNAL_NAMES.map((name) => {
    const { calibration, alert } = prepared[name];
    const risks = rows.map((row) => calibratedRisk(calibration, row.signals[name]));
    return report(name, risks, alert === null ? null : { ...alert, ...replayAlert(riskTrajectories(rows, risks, asOfDates), alert) });
  });
  return [...models, report(LEARNT_ON_THE_BASE, outOfFoldRisks(rows), null), ...signals];
}

/** Each target, whether it is met, and the figures it was judged on. */
export function judgeTargets(reports: readonly SignalReport[]): Array<{ target: string; met: boolean; figures: string }> {
  const of = (signal: SignalReport['signal']) => reports.find((report) => report.signal === signal)!;
  const fixed = (value: number | null) => (value === null ? '–' : value.toFixed(3));
  const [trained, byDefault, adapted, trend, oracle] = [of('trained'), of('default'), of('adapted'), of('engagementTrend'), of('oracle')];
  const alertMet = (report: SignalReport) =>
    report.alert !== null &&
    (report.alert.precision ?? 0) >= TARGETS.alertPrecision &&
    (report.alert.earlyRecall ?? 0) >= TARGETS.alertEarlyRecall;
  return [
    {
      target: `trained model AUC within ${TARGETS.oracleAucGap} of the oracle`,
      met: (trained.auc ?? 0) >= (oracle.auc ?? 1) - TARGETS.oracleAucGap,
      figures: `${fixed(trained.auc)} vs ${fixed(oracle.auc)}`,
    },
    {
      target: 'default model AUC at least the engagement trend’s',
      met: (byDefault.auc ?? 0) >= (trend.auc ?? 1),
      figures: `${fixed(byDefault.auc)} vs ${fixed(trend.auc)}`,
    },
    ...[trained, byDefault, adapted].flatMap((report) => [
      {
        target: `${SIGNAL_LABELS[report.signal]}: CHURN_RISK_HIGH precision ≥ ${TARGETS.alertPrecision} at recall ≥ ${TARGETS.alertEarlyRecall} on churners 30+ days out`,
        met: alertMet(report),
        figures: `precision ${fixed(report.alert?.precision ?? null)}, recall ${fixed(report.alert?.earlyRecall ?? null)}`,
      },
      {
        target: `${SIGNAL_LABELS[report.signal]}: calibration error ≤ ${TARGETS.calibrationError}`,
        met: report.calibrationError <= TARGETS.calibrationError,
        figures: fixed(report.calibrationError),
      },
    ]),
  ];
}
