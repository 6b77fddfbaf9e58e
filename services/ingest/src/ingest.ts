import { constants, createReadStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { InputEvent, InputEventKind } from '@churnscore/domain';
import { UsageError, formatCount, formatPercent, startProgress, startRateMeter, type ProgressStream } from '@churnscore/simulator';
import { formatOfPath, readCsvRecords, readNdjsonRecords, type ExportFormat } from './records';
import type { IngestMode, IngestReport, LineRejection } from './report';
import { createRecordConverter } from './to-event';

export interface IngestFileOptions {
  file: string;
  /** Defaults to the file's extension: .csv, or .ndjson / .jsonl / .json. */
  format?: ExportFormat;
  /** The kind of every record; without it each record must carry a `kind` field. */
  kind?: InputEventKind;
  /** Publish the valid records even when some are rejected. */
  partial?: boolean;
  /** Check only; publish nothing. */
  dryRun?: boolean;
  /** `source` of records that have none. */
  defaultSource: string;
  reportingCurrency: string;
  maxFutureSkewMs: number;
  /** Judges future occurredAt values; injectable for tests. */
  clock?: () => number;
  /** Publishes the valid events, reporting acknowledged totals as it goes; resolves to how many. Required unless dryRun. */
  publish?: (events: AsyncIterable<InputEvent>, onPublished: (published: number) => void) => Promise<number>;
  /** Each rejection as soon as it is found (the report holds them all too). */
  onRejection?: (rejection: LineRejection) => void;
  /** Where progress is shown; null for none. */
  progress?: ProgressStream | null;
}

type LineResult =
  | { line: number; ok: true; event: InputEvent; ignoredFields: string[] }
  | { line: number; ok: false; rejection: LineRejection; fatal: boolean };

/**
 * Checks every record of an export, then publishes, in a second read of the file, either all of it
 * (when every record is valid), the valid records (with `partial`), or nothing. Two reads rather than
 * holding the events in memory, so a file of any size can be ingested.
 */
export async function ingestFile(options: IngestFileOptions): Promise<IngestReport> {
  const { file, partial = false, dryRun = false, clock = Date.now, progress = process.stderr } = options;
  if (!dryRun && options.publish === undefined) throw new UsageError('a publisher is required unless dryRun is set');
  // Before reading: a stream opened on a directory or a file without read permission fails outside any handler.
  const size = await Promise.all([stat(file), access(file, constants.R_OK)]).then(
    ([info]) => {
      if (info.isDirectory()) throw new UsageError(`cannot read ${file}: it is a directory`);
      return info.size;
    },
    (error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${file}: ${error.code ?? error.message}`);
    },
  );
  const format = options.format ?? formatOfPath(file);
  if (format === null) throw new UsageError(`cannot tell the format of ${file} from its extension: pass --format ndjson or --format csv`);
  const mode: IngestMode = dryRun ? 'dry-run' : partial ? 'partial' : 'all-or-nothing';
  const report: IngestReport = {
    file,
    format,
    kind: options.kind ?? null,
    mode,
    records: 0,
    valid: 0,
    rejected: [],
    complete: true,
    ignoredFields: [],
    published: 0,
  };

  /** One read of the file: every record, converted to an event or rejected. */
  async function* readLines(onBytesRead: (bytes: number) => void): AsyncGenerator<LineResult> {
    const input = createReadStream(file);
    input.on('data', () => onBytesRead(input.bytesRead));
    const toEvent = createRecordConverter({ ...options, now: clock() });
    const records = format === 'csv' ? readCsvRecords(input) : readNdjsonRecords(input);
    for await (const record of records) {
      const { line } = record;
      if (!record.ok) {
        yield { line, ok: false, rejection: { line, reason: 'PARSE_ERROR', message: record.problem }, fatal: record.fatal };
        continue;
      }
      const converted = toEvent(record.fields);
      yield converted.ok
        ? { line, ok: true, event: converted.event, ignoredFields: converted.ignoredFields }
        : { line, ok: false, rejection: { line, ...converted.rejection }, fatal: false };
    }
  }

  let bytesRead = 0;
  const checkRate = startRateMeter();
  const describeCheck = (): string => {
    const perSecond = formatCount(checkRate.perSecond(report.records));
    return `checking ${file}  ${formatPercent(bytesRead, size)}  ${formatCount(report.records)} records  ${perSecond} records/s`;
  };
  const checking = progress && startProgress(describeCheck, { stream: progress });
  const ignoredFields = new Set<string>();
  for await (const result of readLines((bytes) => (bytesRead = bytes))) {
    report.records += 1;
    if (result.ok) {
      report.valid += 1;
      result.ignoredFields.forEach((field) => ignoredFields.add(field));
      continue;
    }
    report.rejected.push(result.rejection);
    options.onRejection?.(result.rejection);
    if (result.fatal) report.complete = false;
  }
  checking?.stop();
  report.ignoredFields = [...ignoredFields].sort();

  const publishable = report.complete && report.valid > 0 && (report.rejected.length === 0 || partial);
  if (dryRun || !publishable || options.publish === undefined) return report;

  const publishRate = startRateMeter();
  let published = 0;
  const describePublish = (): string => {
    const perSecond = formatCount(publishRate.perSecond(published));
    return `publishing  ${formatCount(published)}/${formatCount(report.valid)} events  ${formatPercent(published, report.valid)}  ${perSecond} events/s`;
  };
  const publishing = progress && startProgress(describePublish, { stream: progress });
  async function* validEvents(): AsyncGenerator<InputEvent> {
    for await (const result of readLines(() => undefined)) if (result.ok) yield result.event;
  }
  try {
    report.published = await options.publish(validEvents(), (total) => (published = total));
  } finally {
    publishing?.stop();
  }
  return report;
}
