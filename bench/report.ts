import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../infra/src/settings';

/** One line of the summary table. */
export interface TableRow {
  metric: string;
  value: string;
  /** The measured ceiling or the target the value is judged against. */
  reference: string;
  /** The ratio to the ceiling, or whether the target was met. */
  verdict: string;
}

/** What a section hands back: its table rows and everything measured, for the JSON file. */
export interface SectionOutcome<Details = Record<string, unknown>> {
  rows: TableRow[];
  details: Details;
}

const HEADERS: TableRow = { metric: 'metric', value: 'value', reference: 'ceiling / target', verdict: 'ratio / verdict' };
const COLUMNS = Object.keys(HEADERS) as Array<keyof TableRow>;

/** A Markdown table, padded so it also reads well in a terminal. */
export function renderTable(rows: readonly TableRow[]): string {
  const widths = COLUMNS.map((column) => Math.max(...[HEADERS, ...rows].map((row) => row[column].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(COLUMNS.map((column) => HEADERS[column])),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map((row) => line(COLUMNS.map((column) => row[column]))),
  ].join('\n');
}

export const RESULTS_DIR = join(REPO_ROOT, 'bench-results');

/** Writes `bench-results/<startedAt>.json` and `bench-results/latest.json`; returns the first. */
export function writeResults(startedAt: Date, results: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const text = `${JSON.stringify(results, null, 2)}\n`;
  const file = join(RESULTS_DIR, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, text);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), text);
  return file;
}
