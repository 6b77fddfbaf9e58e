// The model card: what a trained churn model was learnt from and how well it did on data it never saw, as JSON
// (for the dashboard and tools) and Markdown (for people).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_MODEL_CARDS_DIR, type ScoringConfig } from '@churnscore/scoring';
import type { BaseRateAdaptation } from './base-rate';
import type { CalibrationTable } from './metrics';
import { mediumBandAtBaseRate, riskBandsFor, type AlertOutcome, type AlertReport, type AlertThresholds } from './thresholds';
import { significant } from './train';

/**
 * When the base config's risk is of another horizon than this card's labels: its calibration and alert figures judge a
 * risk of churning within its horizon by churn within this one, which they are bound to miss (an outside tester read
 * default-2025.5's calibration error of 0.079 against 30-day labels as the default's).
 */
function baseHorizonNote(card: ModelCard): string[] {
  if (card.baseHorizonDays === undefined || card.baseHorizonDays === card.horizonDays) return [];
  return [
    `${card.baseVersion}'s risk is of churning within ${card.baseHorizonDays} days, judged here by churn within ${card.horizonDays}: its calibration and ` +
      'alert figures say how far apart the two horizons are more than how good it is; its AUC and PR-AUC compare the rankings.',
    '',
  ];
}

/** Where the medium risk band starts, and why there (riskBandsFor): the validation base rate, unless high starts at or below it. */
function mediumBandOrigin(alert: AlertThresholds, baseRate: number): string {
  const { mediumMin } = riskBandsFor(alert, baseRate);
  return mediumMin === mediumBandAtBaseRate(baseRate)
    ? `the validation base rate, ${fixed(mediumMin, 2)} (a risk above the average customer's)`
    : `${fixed(mediumMin, 2)}, a step below high (the validation base rate, ${fixed(baseRate, 3)}, is not below where high starts)`;
}

/**
 * The files `npm run train` writes into its output directory: a scoring config and its model card beside it, where
 * the API looks for the card of the config it loaded (SCORING_CONFIG_PATH).
 */
export const TRAINED_MODEL_FILES = { config: 'scoring-config.json', cardMarkdown: 'model-card.md', cardJson: 'model-card.json' } as const;

/**
 * Where the card of the configuration at `configPath` may be, in the order to look: beside it, as `npm run train
 * --out DIR` writes it; then among the shipped default's cards, under its version, as `npm run train:default` does.
 */
const modelCardPaths = (configPath: string, version: string): string[] => [
  join(dirname(configPath), TRAINED_MODEL_FILES.cardJson),
  join(DEFAULT_MODEL_CARDS_DIR, `${version}.json`),
];

/** A file where a card may be, passed over: not JSON, not a card (by the reader's check), or the card of another version. */
export type PassedOverCard =
  | { path: string; problem: 'not JSON'; error: unknown }
  | { path: string; problem: 'not a card' }
  | { path: string; problem: 'another version'; cardVersion: string };

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * The card of the configuration `version` loaded from `configPath`: the first of modelCardPaths holding JSON that
 * `isCard` accepts, of that version; null when none does. A missing file is skipped; any other is passed over and
 * told to `passedOver` (a config copied away from its training's directory finds the card of another version there).
 */
export async function findModelCard<Card extends { version: string }>(
  configPath: string,
  version: string,
  isCard: (json: unknown) => json is Card,
  passedOver: (why: PassedOverCard) => void,
): Promise<Card | null> {
  for (const path of modelCardPaths(configPath, version)) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      if (!isMissing(error)) passedOver({ path, problem: 'not JSON', error });
      continue;
    }
    if (!isCard(json)) passedOver({ path, problem: 'not a card' });
    else if (json.version !== version) passedOver({ path, problem: 'another version', cardVersion: json.version });
    else return json;
  }
  return null;
}

export interface SampleCounts {
  /** (customer, as-of date) pairs. */
  snapshots: number;
  /** Snapshots whose customer churns within the horizon. */
  positives: number;
  customers: number;
  /** Customers with at least one positive snapshot. */
  churners: number;
}

/** How well a risk ranks the validation snapshots; null where the validation holds a single class. */
export interface RankingScore {
  name: string;
  auc: number | null;
  /** Average precision. */
  prAuc: number | null;
}

export interface ModelCard {
  /** The trained scoring config's version, stamped on every score and alert as modelVersion. */
  version: string;
  /** The config it copies everything but the churn model, CHURN_RISK_HIGH's thresholds and what follows them (risk bands, RENEWAL_AT_RISK's recovery) from. */
  baseVersion: string;
  /** The horizon of the base config's risk, which its baselines and alert below are judged by this card's labels against; absent in cards of before 2026-12-07. */
  baseHorizonDays?: number;
  trainedAt: string;
  /** leftOut: records of the sources rejected and left out (exports with --partial; a replay, what the scorer dead-letters); absent in cards of before. */
  history: { sources: string[]; observedUntil: string; leftOut?: number };
  /** The risk is the probability of churning within this many days. */
  horizonDays: number;
  renewalGraceDays: number;
  split: { asOfDates: number; firstAsOf: string; trainUntil: string; validateFrom: string; lastAsOf: string };
  samples: { train: SampleCounts; validation: SampleCounts };
  minimums: { churningCustomers: number; customers: number };
  fit: { l2: number; iterations: number; converged: boolean };
  model: {
    intercept: number;
    /** Every churn feature fitted (TrainOptions.features); coefficient null for one left out, and why. */
    coefficients: Array<{
      feature: string;
      coefficient: number | null;
      leftOut: 'varies in too few customers' | 'against its direction' | null;
      perStandardDeviation: number;
      mean: number;
      standardDeviation: number;
    }>;
  };
  validation: RankingScore & { baseRate: number; meanPredicted: number; calibration: CalibrationTable };
  /** The base config's churn model (with its calibration error), then single signals, on the same snapshots. */
  baselines: Array<RankingScore & { calibrationError?: number }>;
  alert: AlertReport;
  /**
   * Set when the model was moved to another base's churn rate (`npm run train -- --adapt-base-rate`): the intercept is
   * the moved one, every other figure the card of `figuresOf` gave, measured on that model's own validation snapshots.
   */
  adaptation?: BaseRateAdaptation & {
    figuresOf: string;
    /** The end of the history the rate comes from. */
    observedUntil: string;
  };
}

const leftOutNote = (leftOut: number | undefined): string =>
  leftOut === undefined || leftOut === 0 ? '' : `; ${leftOut} rejected ${leftOut === 1 ? 'record' : 'records'} left out`;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** Whether JSON read from a file is a card as training writes it: every part the adapted card copies and renders. */
/**
 * The settings of `config` its card of the same version does not describe: the churn model's intercept and coefficients,
 * CHURN_RISK_HIGH's thresholds. A config edited by hand since it was trained keeps its version, and its card would show
 * the figures of another model as its own (an outside tester, 2026-12-07: thresholds and intercept edited, the old
 * card's expected precision still served).
 */
export function settingsCardMisses(card: Pick<ModelCard, 'model' | 'alert'>, config: ScoringConfig): string[] {
  const fitted = cardCoefficients(card);
  const { openAt, resolveBelow } = config.alerts.churnRiskHigh;
  return [
    ...(card.model.intercept === config.churn.intercept ? [] : ['churn.intercept']),
    ...(isDeepStrictEqual(fitted, config.churn.coefficients) ? [] : ['churn.coefficients']),
    ...(card.alert.openAt === openAt && card.alert.resolveBelow === resolveBelow ? [] : ['alerts.churnRiskHigh']),
  ];
}

/** The coefficients a card lists as its config stores them: by feature, those left out absent. */
export const cardCoefficients = (card: Pick<ModelCard, 'model'>): Record<string, number> =>
  Object.fromEntries(card.model.coefficients.flatMap(({ feature, coefficient }) => (coefficient === null ? [] : [[feature, coefficient]])));

export const isModelCard = (json: unknown): json is ModelCard => {
  if (!isObject(json) || typeof json.version !== 'string' || typeof json.baseVersion !== 'string') return false;
  const { history, split, samples, minimums, fit, model, validation, baselines, alert } = json;
  return (
    isObject(history) && Array.isArray(history.sources) && isObject(split) && isObject(samples) && isObject(samples.train) &&
    isObject(samples.validation) && isObject(minimums) && isObject(fit) && isObject(model) && Array.isArray(model.coefficients) &&
    isObject(validation) && isObject(validation.calibration) && Array.isArray(validation.calibration.bins) && Array.isArray(baselines) &&
    isObject(alert) && isObject(alert.base)
  );
};

/**
 * The card of a model moved to another base's churn rate: the base model's card, with the moved intercept (and the
 * coefficients multiplied by the slope, when one was fitted, as the adapted config's are) and what moved it. Its
 * baseVersion stays the base model's own, the config its baselines and base alert were judged against.
 */
export function adaptedModelCard(base: ModelCard, adapted: { version: string; intercept: number }, adaptation: Omit<NonNullable<ModelCard['adaptation']>, 'figuresOf'>): ModelCard {
  const { slope } = adaptation;
  const coefficients =
    slope === undefined
      ? base.model.coefficients
      : base.model.coefficients.map((c) => ({
          ...c,
          coefficient: c.coefficient === null ? null : significant(c.coefficient * slope),
          perStandardDeviation: c.perStandardDeviation * slope,
        }));
  return {
    ...base,
    version: adapted.version,
    model: { ...base.model, intercept: adapted.intercept, coefficients },
    // Thresholds chosen on the settled snapshots are the adapted config's: the alert's figures are theirs there.
    alert: adaptation.alert ?? base.alert,
    adaptation: { figuresOf: base.adaptation?.figuresOf ?? base.version, ...adaptation },
  };
}

const fixed = (value: number | null, digits = 3): string => (value === null ? '–' : value.toFixed(digits));
/** A rate as the cards and the commands print it: "7.8 %". */
export const formatRate = (value: number): string => `${(value * 100).toFixed(1)} %`;
const percent = (value: number | null): string => (value === null ? '–' : formatRate(value));
const row = (cells: ReadonlyArray<string | number>): string => `| ${cells.join(' | ')} |`;
const table = (header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string =>
  [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');

/** What moved an adapted model's intercept, and whose figures the card shows. */
function adaptationParagraph({ from, to, customers, observedUntil, outcomes, slope, figuresOf, alert }: NonNullable<ModelCard['adaptation']>): string {
  const how =
    outcomes === undefined
      ? `at an estimated ${percent(to)} (the model was fitted at ${percent(from)}): estimated without labels from the risks of ${customers} customers under contract at ${observedUntil}`
      : `at ${percent(to)} (the model was fitted at ${percent(from)}): measured on ${outcomes.snapshots} settled snapshots of ${customers} customers ` +
        `(${outcomes.churningCustomers} of them churning) as of ${outcomes.firstAsOf} to ${outcomes.lastAsOf}, in the history until ${observedUntil}`;
  const figures =
    alert === undefined
      ? `The figures below are ${figuresOf}'s, on its own validation snapshots; on the adapted base its risks are calibrated to that rate.`
      : `CHURN_RISK_HIGH's thresholds were chosen on the same settled snapshots, for precision ${alert.targetPrecision}: its figures below are ` +
        `theirs there (the base model's thresholds with its own risks beside them); the other figures are ${figuresOf}'s, on its own validation snapshots.`;
  const moved =
    slope === undefined
      ? 'the intercept moved accordingly'
      : `the log-odds' slope fitted on the same snapshots too (${slope}: every coefficient below multiplied by it) and the intercept moved accordingly`;
  return `**Adapted to a base** whose customers churn within the horizon ${how}, ${moved} (docs/scoring.md §17). ${figures}`;
}

/** The card as Markdown. */
export function renderModelCard(card: ModelCard): string {
  const { samples, validation, alert } = card;
  const sampleRow = (name: string, counts: SampleCounts) => [name, counts.snapshots, counts.positives, counts.customers, counts.churners];
  const alertRow = (name: string, a: AlertThresholds & AlertOutcome) => [
    name,
    a.openAt,
    a.resolveBelow,
    fixed(a.precision),
    fixed(a.recall),
    fixed(a.earlyRecall),
    a.alerted,
  ];
  return [
    `# Churn model ${card.version}`,
    '',
    ...(card.adaptation === undefined ? [] : [adaptationParagraph(card.adaptation), '']),
    `Churn risk = the probability that a customer with an active contract churns within **${card.horizonDays} days** ` +
      `(its last active contract cancelled or ended with no new one within ${card.renewalGraceDays} days). ` +
      `Learnt from ${card.history.sources.join(', ')} (history until ${card.history.observedUntil}${leftOutNote(card.history.leftOut)}) on ${card.trainedAt}; ` +
      `everything but the churn model, CHURN_RISK_HIGH's thresholds and what follows them (the risk bands, RENEWAL_AT_RISK's recovery) is copied from ${card.baseVersion}.`,
    '',
    '## Samples',
    '',
    `Snapshots of every customer with an active contract as of ${card.split.asOfDates} dates from ${card.split.firstAsOf} to ${card.split.lastAsOf}, ` +
      `each computed from only what was known then. Trained on those as of ${card.split.trainUntil} or earlier, validated on those as of ` +
      `${card.split.validateFrom} or later: every training label was settled before validation starts.`,
    '',
    table(['set', 'snapshots', 'positive snapshots', 'customers', 'churning customers'], [
      sampleRow('training', samples.train),
      sampleRow('validation', samples.validation),
    ]),
    '',
    `Training needs at least ${card.minimums.churningCustomers} churning customers and ${card.minimums.customers} customers in each set.`,
    '',
    '## Validation',
    '',
    table(['risk', 'AUC', 'PR-AUC', 'calibration error'], [
      [`**${validation.name}** (this model)`, fixed(validation.auc), fixed(validation.prAuc), fixed(validation.calibration.error)],
      ...card.baselines.map((b) => [b.name, fixed(b.auc), fixed(b.prAuc), b.calibrationError === undefined ? '–' : fixed(b.calibrationError)]),
    ]),
    '',
    `Base rate ${percent(validation.baseRate)}, mean predicted risk ${percent(validation.meanPredicted)}. PR-AUC is the average precision; ` +
      'a ranking that knows nothing scores the base rate.',
    '',
    ...baseHorizonNote(card),
    '### Calibration (validation, by decile of predicted risk)',
    '',
    table(
      ['decile', 'risk from', 'risk to', 'snapshots', 'mean predicted', 'observed'],
      validation.calibration.bins.map((bin, i) => [i + 1, fixed(bin.from, 4), fixed(bin.to, 4), bin.count, percent(bin.meanPredicted), percent(bin.observedRate)]),
    ),
    '',
    `Calibration error (count-weighted mean of |predicted − observed| over the deciles): ${fixed(validation.calibration.error)}.`,
    '',
    '## CHURN_RISK_HIGH',
    '',
    `Thresholds chosen for precision ≥ ${alert.targetPrecision} on the validation snapshots, the alert replayed snapshot by snapshot with its ` +
      'hysteresis: precision = share of snapshots with the alert open whose customer churns within the horizon; recall = share of ' +
      `positive snapshots with the alert open; early recall = the same among positive snapshots at least ${alert.earlyWarningDays} days before the churn. ` +
      'The thresholds were chosen on these snapshots, so their figures are at their best here: on later snapshots, or another base, expect the ' +
      'precision to vary around the target.',
    '',
    table(['alert', 'opens at ≥', 'resolves below', 'precision', 'recall', 'early recall', 'alerted snapshots'], [
      alertRow('**this model**', alert),
      alertRow(card.baseVersion, alert.base),
    ]),
    '',
    ...baseHorizonNote(card),
    `The risk bands follow: **high** from ${alert.openAt}, where the alert opens; **medium** from ${mediumBandOrigin(alert, validation.baseRate)}. ` +
      `RENEWAL_AT_RISK, which opens on a high ` +
      `risk band near a renewal, recovers below ${alert.resolveBelow}, where CHURN_RISK_HIGH resolves.`,
    '',
    '## Coefficients',
    '',
    `logit = ${card.model.intercept} + Σ coefficient × feature (features as in docs/scoring.md §4). Per standard deviation: the ` +
      `coefficient × the feature's standard deviation in training, comparable across features. L2 penalty λ = ${card.fit.l2} on ` +
      `standardised features; ${card.fit.converged ? 'converged' : 'did NOT converge'} in ${card.fit.iterations} Newton steps.`,
    '',
    table(
      ['feature', 'coefficient', 'per standard deviation', 'training mean', 'training standard deviation'],
      card.model.coefficients.map((c) => [
        c.feature,
        c.coefficient === null ? `left out (${c.leftOut})` : c.coefficient,
        fixed(c.perStandardDeviation),
        fixed(c.mean),
        fixed(c.standardDeviation),
      ]),
    ),
    '',
  ].join('\n');
}
