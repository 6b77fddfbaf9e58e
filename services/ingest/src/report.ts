import type { InputEventKind } from '@churnscore/domain';
import type { RejectReason } from '@churnscore/events';
import { CLI_EXIT_CODES } from '@churnscore/simulator';
import type { ExportFormat } from './records';

/**
 * The scorer's reason codes, plus one for lines that are not records at all, and one for a record that reuses the
 * eventId of an earlier one of the same customer with other content (the scorer would keep only the first it reads).
 */
export type IngestRejectReason = RejectReason | 'PARSE_ERROR' | 'CONFLICTING_EVENT_ID';

/** A rejected line. Names fields and limits, never field values, so reports can be shared freely. */
export interface LineRejection {
  /** 1-based line the record starts on (the CSV header is line 1). */
  line: number;
  reason: IngestRejectReason;
  message: string;
  field?: string;
  /** A finding about the file as a whole (not UTF-8, no header or a bad one, a JSON array), not about a record: not among the records. */
  ofFile?: true;
}

export type IngestMode = 'all-or-nothing' | 'partial' | 'dry-run';

export interface IngestReport {
  file: string;
  format: ExportFormat;
  /** --kind, or null when each record names its own. */
  kind: InputEventKind | null;
  mode: IngestMode;
  /** Records read (blank lines and the CSV header excluded). */
  records: number;
  valid: number;
  rejected: LineRejection[];
  /**
   * false when the check did not read every record: a syntax error stopped the reading, or the check was interrupted;
   * nothing is published. A file read to the end that cannot be taken as it is (not UTF-8) is complete, and its
   * rejection `ofFile` says why nothing is published (an outside tester read `complete: false` as records left unread).
   */
  complete: boolean;
  /** Columns/keys that are not fields of the record's event kind; left out of the events. */
  ignoredFields: string[];
  published: number;
}

/**
 * Whether the file can be taken as it is: every record read (complete), and no rejection of the file itself (`ofFile`:
 * not UTF-8, a header or shape it cannot be read by). Otherwise nothing is published, --partial or not.
 */
export const fileTakenAsIs = ({ complete, rejected }: Pick<IngestReport, 'complete' | 'rejected'>): boolean =>
  complete && !rejected.some((rejection) => rejection.ofFile === true);

export const exitCodeOf = (report: IngestReport): number =>
  report.rejected.length > 0 ? CLI_EXIT_CODES.linesRejected : CLI_EXIT_CODES.ok;

export const describeRejection = ({ line, reason, message }: LineRejection): string => `line ${line}: ${reason} ${message}`;

const byReason = (rejections: readonly LineRejection[]): string => {
  const counts = new Map<string, number>();
  for (const { reason } of rejections) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts].map(([reason, count]) => `${reason} ×${count}`).join(', ');
};

/**
 * What a file held: records, valid ones, and the rejected ones counted by reason, adding up to the records; then what
 * was found about the file itself. An outside tester read '2 records, 2 valid, 1 rejected' of a Latin-1 file, and
 * '1 records, 0 valid, 1 rejected' of an empty one.
 */
export function fileSummary({ file, records, valid, rejected }: IngestReport): string {
  const ofRecords = rejected.filter((rejection) => rejection.ofFile !== true);
  const ofFile = rejected.filter((rejection) => rejection.ofFile === true);
  const reasons = byReason(ofRecords);
  const counts = `${records} ${records === 1 ? 'record' : 'records'}, ${valid} valid, ${ofRecords.length} rejected${reasons ? ` (${reasons})` : ''}`;
  return `${file}: ${counts}${ofFile.length > 0 ? `; the file itself: ${byReason(ofFile)}` : ''}`;
}

/** The human summary printed after the per-line rejections. */
export function summarise(report: IngestReport): string[] {
  const { valid, rejected, ignoredFields, published, mode } = report;
  const lines = [fileSummary(report)];
  if (ignoredFields.length > 0) lines.push(`ignored fields (not part of the event): ${ignoredFields.join(', ')}`);
  lines.push(outcome());
  return lines;

  function outcome(): string {
    if (mode === 'dry-run') return `dry run: nothing published${rejected.length === 0 ? '; the file is valid' : ''}`;
    if (!fileTakenAsIs(report)) return 'nothing published: the file cannot be taken as it is (its PARSE_ERROR above says why)';
    if (rejected.length > 0 && mode === 'all-or-nothing') {
      return `nothing published: fix the rejected lines, or pass --partial to publish the ${valid} valid ${valid === 1 ? 'line' : 'lines'}`;
    }
    return `published ${published} ${published === 1 ? 'event' : 'events'}${rejected.length > 0 ? `; ${rejected.length} rejected ${rejected.length === 1 ? 'line was' : 'lines were'} not` : ''}`;
  }
}
