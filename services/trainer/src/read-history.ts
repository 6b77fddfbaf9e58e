// A customer base's history from CRM exports in the ingest formats, read and checked by the ingest's own code
// (same fields, same validation, same reason codes): training learns from exactly what ingesting would publish.
import type { InputEvent, InputEventKind } from '@churnscore/domain';
import { ingestFile, type ExportFormat, type IngestReport, type LineRejection } from '@churnscore/ingest';

/** An export to read, and the kind of its records when they carry none (--kind). */
export interface ExportFile {
  path: string;
  kind: InputEventKind | undefined;
}

export interface ExportHistoryOptions {
  format?: ExportFormat;
  /** Learn from the valid lines even when some are rejected. */
  partial: boolean;
  reportingCurrency: string;
  maxFutureSkewMs: number;
  clock: () => number;
  onRejection: (file: string, rejection: LineRejection) => void;
  /** Events read so far, every so often. */
  onEvents: (events: number) => void;
}

export interface ExportHistory {
  events: InputEvent[];
  /** One per file. */
  reports: IngestReport[];
  /** false when a file was rejected as a whole (a rejected line without `partial`, or a file unreadable to its end): nothing to learn from. */
  usable: boolean;
}

const PROGRESS_EVERY = 10_000;

/** Reads every file as `npm run ingest` would publish it; with a rejected line (and no `partial`) it keeps nothing. */
export async function readExportHistory(files: readonly ExportFile[], options: ExportHistoryOptions): Promise<ExportHistory> {
  const events: InputEvent[] = [];
  const reports: IngestReport[] = [];
  for (const { path: file, kind } of files) {
    const report = await ingestFile({
      file,
      ...(kind ? { kind } : {}),
      ...(options.format ? { format: options.format } : {}),
      partial: options.partial,
      defaultSource: 'export',
      reportingCurrency: options.reportingCurrency,
      maxFutureSkewMs: options.maxFutureSkewMs,
      clock: options.clock,
      progress: null,
      onRejection: (rejection) => options.onRejection(file, rejection),
      // "Publishing" here keeps the events: what ingest would send to the input topics is what training reads.
      publish: async (valid) => {
        let read = 0;
        for await (const event of valid) {
          events.push(event);
          read += 1;
          if (read % PROGRESS_EVERY === 0) options.onEvents(events.length);
        }
        options.onEvents(events.length);
        return read;
      },
    });
    reports.push(report);
  }
  const usable = reports.every((report) => report.complete && (report.rejected.length === 0 || options.partial));
  return { events: usable ? events : [], reports, usable };
}
