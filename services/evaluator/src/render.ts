// The evaluation's report as Markdown: readable in a terminal and pasted as is into docs/evaluation.md.
import type { SampleCounts } from '@churnscore/training';
import { SIGNAL_LABELS, type SignalReport, judgeTargets } from './evaluation';

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
  reports: readonly SignalReport[];
}

const fixed = (value: number | null | undefined, digits = 3): string => (value === null || value === undefined ? '–' : value.toFixed(digits));
const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;

/** The report: populations, the table of every signal side by side, and each target met or not. */
export function renderEvaluation(summary: EvaluationSummary): string {
  const { heldOutCounts: counts } = summary;
  const header = ['signal', 'AUC', 'PR-AUC', 'AUC quietest ⅓', 'AUC busiest ⅓', 'calibration error', 'CHURN_RISK_HIGH opens / resolves', 'precision', 'recall', 'recall 30+ days out'];
  const lines = summary.reports.map((report) =>
    row([
      SIGNAL_LABELS[report.signal],
      fixed(report.auc),
      fixed(report.prAuc),
      fixed(report.aucQuietThird),
      fixed(report.aucBusyThird),
      fixed(report.calibrationError),
      report.alert === null ? 'none reaches the target precision' : `${report.alert.openAt} / ${report.alert.resolveBelow}`,
      fixed(report.alert?.precision),
      fixed(report.alert?.recall),
      fixed(report.alert?.earlyRecall),
    ]),
  );
  const targets = judgeTargets(summary.reports).map(({ target, met, figures }) => `- ${met ? 'met' : 'NOT met'}: ${target} (${figures})`);
  return [
    `Trained on: ${summary.trainedOn}`,
    `  → ${summary.trainedVersion} (validation AUC on that base's later snapshots ${fixed(summary.trainedValidationAuc)}); default model: ${summary.defaultVersion}`,
    `Held out: ${summary.heldOut}`,
    `  → ${counts.snapshots} snapshots of ${counts.customers} customers (${counts.positives} churn within the horizon; ${counts.churners} churning customers), ` +
      `${summary.asOfDates} as-of instants every ${summary.everyDays} days`,
    '',
    row(header),
    row(header.map(() => '---')),
    ...lines,
    '',
    'Targets:',
    ...targets,
    '',
  ].join('\n');
}
