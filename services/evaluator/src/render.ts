// The evaluation's report as Markdown: readable in a terminal and pasted as is into docs/evaluation.md.
import type { AlertType } from '@churnscore/domain';
import { MIN_CUSTOMERS, MIN_SETTLED_CHURNERS, formatRate, type AdaptationRefusal, type SampleCounts } from '@churnscore/training';
import { LATENT_CONDITIONS, LEARNT_ON_THE_BASE, SIGNAL_LABELS, type AdaptationSummary, type LatentCondition, type ModelName, type SignalReport, judgeTargets } from './evaluation';
import type { AlertTraffic } from './through-scorer';

export interface EvaluationSummary {
  /** What the model was trained on and what it is judged on, as the simulate command's options. */
  trainedOn: string;
  heldOut: string;
  /** The trained config's version and its own validation AUC (on the training base's later snapshots). */
  trainedVersion: string;
  trainedValidationAuc: number | null;
  defaultVersion: string;
  /** Held-out snapshots, as-of instants and how often the customers were scored. */
  heldOutCounts: SampleCounts;
  asOfDates: number;
  everyDays: number;
  adaptation: AdaptationSummary;
  reports: readonly SignalReport[];
}

const KEPT_BECAUSE: Record<AdaptationRefusal, string> = {
  'no rate stated': 'the default does not state the rate it was fitted at',
  'too few customers': `fewer than ${MIN_SETTLED_CHURNERS} churning customers settled and ${MIN_CUSTOMERS} customers under contract`,
  'no rate fits': 'no churn rate fits its customers',
  'history too short': `fewer than ${MIN_SETTLED_CHURNERS} churning customers settled and less than a year of history`,
};

const median = (sorted: readonly number[]): number => {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const instants = (count: number): string => `${count} instant${count === 1 ? '' : 's'}`;

/** The values from lowest to highest with their median (`withMedian` puts it beside the range), or the one value. */
function spreadOf(values: readonly number[], format: (value: number) => string, withMedian: (median: string) => string): string {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 1 ? format(sorted[0]!) : `${format(sorted[0]!)} to ${format(sorted.at(-1)!)}${withMedian(format(median(sorted)))}`;
}

/** A step the adaptation took on the settled outcomes too: at `count` of the `adapted` instants, unless it is the one instant adapted. */
function onSettledToo(step: string, count: number, adapted: number, detail: (oneInstant: boolean) => string): string {
  const oneInstant = count === adapted && adapted === 1;
  return `; ${step} on the settled outcomes too${oneInstant ? '' : ` at ${instants(count)}`}${detail(oneInstant)}`;
}

/** The adaptation's estimates against the share of the snapshots that did churn within the horizon, and where it was refused. */
function adaptationLine({ fittedAt, estimated, settledChurners, kept, thresholdsChosen, slopes }: AdaptationSummary, counts: SampleCounts): string {
  const keptAt = Object.entries(kept).map(([reason, count]) => `${instants(count)} (${KEPT_BECAUSE[reason as AdaptationRefusal]})`);
  if (estimated.length === 0) return `  → adapted default: the default itself at every instant: ${keptAt.join(', ')}`;
  const range = spreadOf(estimated, formatRate, (middle) => ` (median ${middle})`);
  const measured = settledChurners.length;
  const churners = measured === 0 ? '' : ` (${Math.min(...settledChurners)}${measured === 1 ? '' : ` to ${Math.max(...settledChurners)}`} churning customers)`;
  const from =
    measured === estimated.length
      ? `measured on the settled outcomes of the history known then${churners}`
      : measured === 0
        ? 'estimated from the customers under contract, without labels'
        : `measured on the settled outcomes of the history known then${churners} at ${instants(measured)}, estimated from the customers under contract without labels at ${estimated.length - measured}`;
  const thresholds =
    thresholdsChosen === 0
      ? "; CHURN_RISK_HIGH's thresholds the default's"
      : onSettledToo("CHURN_RISK_HIGH's thresholds chosen", thresholdsChosen, estimated.length, (oneInstant) => (oneInstant ? '' : " (the table shows the last instant's)"));
  const slope =
    slopes.length === 0
      ? ''
      : onSettledToo("the log-odds' slope fitted", slopes.length, estimated.length, () => ` (${spreadOf(slopes, (value) => value.toFixed(2), (middle) => `, median ${middle}`)})`);
  return (
    `  → adapted default: churn within the horizon ${from}: ${range} ` +
    `(the default was fitted at ${formatRate(fittedAt!)}; ${formatRate(counts.positives / counts.snapshots)} of these snapshots churned)` +
    (keptAt.length > 0 ? `; the default itself at ${keptAt.join(', ')}` : '') +
    slope +
    thresholds
  );
}

const fixed = (value: number | null | undefined, digits = 3): string => (value === null || value === undefined ? '–' : value.toFixed(digits));
const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;

/** A signal's CHURN_RISK_HIGH thresholds; the model learnt on the judged base has none: it ranks, nobody alerts on it. */
const alertCell = ({ signal, alert }: SignalReport): string => {
  if (signal === LEARNT_ON_THE_BASE) return '–';
  return alert === null ? 'none reaches the target precision' : `${alert.openAt} / ${alert.resolveBelow}`;
};

/** Every signal side by side, as a Markdown table. */
function signalTable(reports: readonly SignalReport[]): string[] {
  const header = ['signal', 'AUC', 'PR-AUC', 'AUC quietest ⅓', 'AUC busiest ⅓', 'calibration error', 'CHURN_RISK_HIGH opens / resolves', 'precision', 'recall', 'recall 30+ days out'];
  const lines = reports.map((report) =>
    row([
      SIGNAL_LABELS[report.signal],
      fixed(report.auc),
      fixed(report.prAuc),
      fixed(report.aucQuietThird),
      fixed(report.aucBusyThird),
      fixed(report.calibrationError),
      alertCell(report),
      fixed(report.alert?.precision),
      fixed(report.alert?.recall),
      fixed(report.alert?.earlyRecall),
    ]),
  );
  return [row(header), row(header.map(() => '---')), ...lines];
}

const CONDITION_WORDS: Record<LatentCondition, string> = {
  dipping: 'in a passing dip',
  declining: 'declining towards a churn further out',
  calm: 'neither',
};

/** Each model's alerts that no churn within the horizon followed, by what the simulated customer was going through. */
function falseAlertLines(reports: readonly SignalReport[]): string[] {
  return reports.flatMap(({ signal, falseAlerts }) => {
    if (falseAlerts === null) return [];
    const total = LATENT_CONDITIONS.reduce((sum, condition) => sum + falseAlerts[condition], 0);
    const shares = LATENT_CONDITIONS.map((condition) => `${CONDITION_WORDS[condition]} ${total === 0 ? '–' : `${Math.round((100 * falseAlerts[condition]) / total)} %`}`);
    return [`- ${SIGNAL_LABELS[signal]}: ${total} snapshots; ${shares.join(', ')}`];
  });
}

/** Each model's calibration error against what chance alone gives a perfectly calibrated model with its risks. */
const chanceLines = (reports: readonly SignalReport[]): string[] =>
  reports.flatMap(({ signal, calibrationError, calibrationByChance }) =>
    calibrationByChance === null
      ? []
      : [`- ${SIGNAL_LABELS[signal]}: ${fixed(calibrationError)}; by chance ${fixed(calibrationByChance.mean)} on average, under ${fixed(calibrationByChance.p90)} in 90 % of draws`],
  );

/** The table of every signal, the models' false alerts and calibration against chance, then each target met or not. */
const tableAndTargets = (reports: readonly SignalReport[]): string[] => [
  '',
  ...signalTable(reports),
  '',
  'CHURN_RISK_HIGH open with no churn within the horizon, by what the simulated customer was going through:',
  ...falseAlertLines(reports),
  '',
  'Calibration error, and what a perfectly calibrated model with the same risks shows by chance alone (its outcomes drawn from them):',
  ...chanceLines(reports),
  '',
  'Targets:',
  ...judgeTargets(reports).map(({ target, met, figures }) => `- ${met ? 'met' : 'NOT met'}: ${target} (${figures})`),
  '',
];

/** The report: populations, the table of every signal side by side, and each target met or not. */
export function renderEvaluation(summary: EvaluationSummary): string {
  const { heldOutCounts: counts } = summary;
  return [
    `Trained on: ${summary.trainedOn}`,
    `  → ${summary.trainedVersion} (validation AUC on that base's later snapshots ${fixed(summary.trainedValidationAuc)}); default model: ${summary.defaultVersion}`,
    `Held out: ${summary.heldOut}`,
    `  → ${counts.snapshots} snapshots of ${counts.customers} customers (${counts.positives} churn within the horizon; ${counts.churners} churning customers), ` +
      `${summary.asOfDates} as-of instants every ${summary.everyDays} days`,
    adaptationLine(summary.adaptation, counts),
    ...tableAndTargets(summary.reports),
  ].join('\n');
}

/** What the evaluation through the real scorer found, and on what. */
export interface ThroughScorerSummary {
  population: string;
  /** How the history was published (LoadOrder.description). */
  loadOrder: string;
  instants: readonly number[];
  loaded: number;
  published: number;
  counts: SampleCounts;
  runs: ReadonlyArray<{ model: ModelName; loadSeconds: number; alerts: AlertTraffic; weeksAlerts: AlertTraffic }>;
  adaptation: AdaptationSummary;
  reports: readonly SignalReport[];
}

/** The alerts opened by type, those of which none opened left out: " (CHURN_RISK_HIGH 40, NO_RECENT_ACTIVITY 3)". */
function byType({ openedByType }: AlertTraffic): string {
  const opened = (Object.entries(openedByType) as Array<[AlertType, number]>).filter(([, count]) => count > 0);
  return opened.length === 0 ? '' : ` (${opened.map(([type, count]) => `${type} ${count}`).join(', ')})`;
}

/** The second report: the real scorer's scores at each judged instant, the alert traffic of the load and of the weeks after, and the targets on them. */
export function renderThroughScorer(summary: ThroughScorerSummary): string {
  const { counts, instants } = summary;
  const weeks = instants.length - 1;
  const traffic = summary.runs.map(
    ({ model, loadSeconds, alerts, weeksAlerts }) =>
      `- ${SIGNAL_LABELS[model]}: loaded in ${loadSeconds.toFixed(0)} s; alerts opened ${alerts.opened}${byType(alerts)}, resolved ${alerts.resolved}, ` +
      `opened and resolved again during the load ${alerts.openedThenResolved}; CHURN_RISK_HIGH open after the load ${alerts.churnRiskHighOpen}; ` +
      `the ${weeks} weeks after: alerts opened ${weeksAlerts.opened}${byType(weeksAlerts)}, resolved ${weeksAlerts.resolved}; CHURN_RISK_HIGH open at the end ${weeksAlerts.churnRiskHighOpen}`,
  );
  return [
    `Through the real scorer: ${summary.population}`,
    `  → history up to ${new Date(instants[0]!).toISOString()} (${summary.loaded} events, ${summary.loadOrder}) ` +
      `published to Kafka and scored by the scorer, then ${weeks} weeks more a day at a time with the scorer's clock (${summary.published - summary.loaded} events), ` +
      `judged at the end of the load and of each week: ${counts.snapshots} snapshots of ${counts.customers} customers under contract, ${counts.positives} churn within the horizon`,
    adaptationLine(summary.adaptation, counts),
    '',
    ...traffic,
    ...tableAndTargets(summary.reports),
  ].join('\n');
}
