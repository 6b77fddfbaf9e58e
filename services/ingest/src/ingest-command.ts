import { writeFile } from 'node:fs/promises';
import type { Env } from '@churnscore/config';
import type { InputEventKind } from '@churnscore/domain';
import { INPUT_EVENT_KINDS } from '@churnscore/events';
import {
  CLI_EXIT_CODES,
  UsageError,
  createEventPublisher,
  integerOption,
  interruptSignal,
  loadProducerConfig,
  parseOptions,
  pathFromShell,
  requireWritableFile,
  type ProgressStream,
} from '@churnscore/simulator';
import { ingestFile } from './ingest';
import { EXPORT_FORMATS, type ExportFormat } from './records';
import { describeRejection, exitCodeOf, summarise } from './report';

export const INGEST_USAGE = `Usage: npm run ingest -- --file EXPORT [options]

Checks every record of a CRM export (NDJSON or CSV with a header row), reports each rejected line
with its number and reason, then publishes the events to the input topics: all of them when every
line is valid, only the valid ones with --partial, none otherwise.

  --file PATH       the export, UTF-8 (.ndjson, .jsonl, .json or .csv); a pipe (/dev/stdin) with --format
  --kind KIND       ${INPUT_EVENT_KINDS.join(' | ')}; without it every record needs a kind field
  --format FORMAT   ndjson | csv, when the extension does not tell
  --partial         publish the valid lines even when some are rejected
  --dry-run         check only, publish nothing (needs no broker)
  --source NAME     source of records that have none (default ingest)
  --rate N          most events per second while publishing, 0 for no limit (default 0)
  --report PATH     also write the report as JSON
  --help            show this text

Exit codes: 0 every line valid (and published), 1 lines rejected, 2 bad usage or configuration,
3 publishing failed, 130 interrupted (re-running with the same --source is safe: eventIds are stable).`;

export interface IngestArgs {
  file: string;
  kind: InputEventKind | undefined;
  format: ExportFormat | undefined;
  partial: boolean;
  dryRun: boolean;
  source: string;
  ratePerSecond: number;
  reportPath: string | null;
}

/** Parses the command line; null when --help was asked for. */
export function parseIngestArgs(argv: string[]): IngestArgs | null {
  const parsed = parseOptions(
    argv,
    {
      file: { type: 'string' },
      kind: { type: 'string' },
      format: { type: 'string' },
      partial: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      source: { type: 'string', default: 'ingest' },
      rate: { type: 'string' },
      report: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    INGEST_USAGE,
  );
  if (parsed.help) return null;
  if (parsed.file === undefined) throw new UsageError(`--file is required\n\n${INGEST_USAGE}`);
  const { kind, format } = parseExportSelection(parsed);
  if (parsed.partial && parsed['dry-run']) throw new UsageError('--partial and --dry-run exclude each other');
  return {
    file: pathFromShell(parsed.file),
    kind,
    format,
    partial: parsed.partial,
    dryRun: parsed['dry-run'],
    source: parsed.source,
    ratePerSecond: integerOption('rate', parsed.rate, 0, 0),
    reportPath: parsed.report === undefined ? null : pathFromShell(parsed.report),
  };
}

const isOneOf = <T extends string>(values: readonly T[], value: string): value is T => (values as readonly string[]).includes(value);

/** --kind and --format of a command that reads exports (ingest, train), checked. */
export function parseExportSelection(options: { kind?: string | undefined; format?: string | undefined }): {
  kind: InputEventKind | undefined;
  format: ExportFormat | undefined;
} {
  const { kind, format } = options;
  if (kind !== undefined && !isOneOf(INPUT_EVENT_KINDS, kind)) throw new UsageError(`--kind must be one of ${INPUT_EVENT_KINDS.join(', ')}`);
  if (format !== undefined && !isOneOf(EXPORT_FORMATS, format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
  return { kind, format };
}

export interface IngestIo {
  env: Env;
  /** Rejections as they are found, then the summary. */
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  clock?: () => number;
}

/** `npm run ingest`: check, report, publish; resolves to the exit code. */
export async function runIngestCommand(argv: string[], io: IngestIo): Promise<number> {
  const args = parseIngestArgs(argv);
  if (args === null) {
    io.stderr.write(`${INGEST_USAGE}\n`);
    return CLI_EXIT_CODES.ok;
  }
  // Before anything is published: a report that cannot be written would fail the command after the publication.
  if (args.reportPath !== null) await requireWritableFile(args.reportPath, '--report');
  const config = loadProducerConfig(io.env, { offline: args.dryRun });
  const publisher = createEventPublisher(config, 'ingest');
  const signal = interruptSignal();
  try {
    const report = await ingestFile({
      file: args.file,
      ...(args.kind ? { kind: args.kind } : {}),
      ...(args.format ? { format: args.format } : {}),
      partial: args.partial,
      dryRun: args.dryRun,
      defaultSource: args.source,
      reportingCurrency: config.reportingCurrency,
      maxFutureSkewMs: config.maxFutureSkewMs,
      ...(io.clock ? { clock: io.clock } : {}),
      progress: io.stderr,
      onRejection: (rejection) => io.stdout.write(`${describeRejection(rejection)}\n`),
      publish: (events, onProgress, kinds) => publisher.publish({ events, kinds, ratePerSecond: args.ratePerSecond, onProgress, signal }),
      signal,
    });
    const summary = summarise(report);
    // Interrupted: what was published before it, not the outcome the run would have had.
    if (signal.aborted) summary.splice(-1, 1, `interrupted: ${report.published} published before it (running again is safe: eventIds are stable)`);
    io.stdout.write(`${summary.join('\n')}\n`);
    if (args.reportPath !== null) await writeFile(args.reportPath, `${JSON.stringify(report, null, 2)}\n`);
    return signal.aborted ? CLI_EXIT_CODES.interrupted : exitCodeOf(report);
  } catch (error) {
    if (!signal.aborted) throw error;
    io.stdout.write('interrupted before the end (running again is safe: eventIds are stable)\n');
    return CLI_EXIT_CODES.interrupted;
  } finally {
    await publisher.close();
  }
}
