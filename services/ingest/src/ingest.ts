import { createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream, rmSync, type Stats } from 'node:fs';
import { access, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { dedupeKey, type InputEvent, type InputEventKind } from '@churnscore/domain';
import { UsageError, formatCount, formatPercent, startProgress, startRateMeter, type ProgressStream } from '@churnscore/simulator';
import { Utf8Check, formatOfPath, readCsvRecords, readNdjsonRecords, type ExportFormat } from './records';
import { fileTakenAsIs, type IngestMode, type IngestReport, type LineRejection } from './report';
import { EXPORT_FIELDS, createRecordConverter } from './to-event';

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
  /**
   * Publishes the valid events, reporting acknowledged totals as it goes; resolves to how many. Required unless dryRun.
   * `kinds`: every kind among them, known before the first is sent.
   */
  publish?: (events: AsyncIterable<InputEvent>, onPublished: (published: number) => void, kinds: readonly InputEventKind[]) => Promise<number>;
  /** Each rejection as soon as it is found (the report holds them all too). */
  onRejection?: (rejection: LineRejection) => void;
  /** Where progress is shown; null for none. */
  progress?: ProgressStream | null;
  /** Aborted (Ctrl-C): a pipe's copy stops, and nothing is published that had not begun to be. */
  signal?: AbortSignal;
}

type LineResult =
  | { line: number; ok: true; event: InputEvent; ignoredFields: string[] }
  /** `fatal`: the reading stopped there. */
  | { line: number; ok: false; rejection: LineRejection; fatal: boolean };

/** The export as a file that can be read twice: a private copy of what the file, a pipe or a device delivers. */
interface ReadableTwice {
  path: string;
  size: number;
  remove(): Promise<void>;
}

/** Before reading: a stream opened on a directory or a file without read permission fails outside any handler. */
const readableFile = (file: string): Promise<Stats> =>
  Promise.all([stat(file), access(file, constants.R_OK)]).then(
    ([found]) => {
      if (found.isDirectory()) throw new UsageError(`cannot read ${file}: it is a directory`);
      return found;
    },
    (error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${file}: ${error.code ?? error.message}`);
    },
  );

/** The temporary copies' directories: this prefix, the pid of the command that made it, `-`, and mkdtemp's suffix. */
const COPY_DIR_PREFIX = 'churnscore-export-';
const COPY_DIR = new RegExp(`^${COPY_DIR_PREFIX}(\\d+)-`);

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * A command killed (kill -9, the machine's out-of-memory killer) leaves its copy, the size of a whole export, where
 * no exit handler removes it: the next ingest removes those of commands no longer running. Another user's it may not
 * remove are left.
 */
async function removeCopiesOfEndedRuns(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => []);
  const ended = names.filter((name) => {
    const pid = COPY_DIR.exec(name)?.[1];
    return pid !== undefined && !processAlive(Number(pid));
  });
  await Promise.all(ended.map((name) => rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined)));
}

async function readableTwice(file: string, progress: ProgressStream | null, signal: AbortSignal | undefined): Promise<ReadableTwice> {
  // A pipe (`--file /dev/stdin`, a shell's `<(…)`) delivers its bytes once: the check would drain it and the
  // publication find nothing, and report success. And a file read twice is two files if it changes in between: an
  // outside tester's export, replaced while it was published, had 2,001 lines checked and dropped and 3,000 published
  // unchecked, exit 0. What is checked must be what is published: a copy of its own.
  await removeCopiesOfEndedRuns();
  const dir = await mkdtemp(join(tmpdir(), `${COPY_DIR_PREFIX}${process.pid}-`));
  // A second Ctrl-C exits at once, past every finally: the copy of a whole export must not stay behind.
  const removeAtExit = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeAtExit);
  const remove = async () => {
    process.off('exit', removeAtExit);
    await rm(dir, { recursive: true, force: true });
  };
  const copy = join(dir, 'export');
  const input = createReadStream(file);
  const copying = progress && startProgress(() => `reading ${file} into a temporary copy  ${formatCount(input.bytesRead)} bytes`, { stream: progress });
  try {
    // Interrupted, what was copied is a cut-off export: it is not checked or published as if it were the whole.
    await pipeline(input, createWriteStream(copy), ...(signal ? [{ signal }] : []));
  } catch (error) {
    await remove();
    if (signal?.aborted) throw error;
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  } finally {
    copying?.stop();
  }
  return { path: copy, size: (await stat(copy)).size, remove };
}

/**
 * The records of one customer with the same eventId (and kind, as the scorer's dedupeKey), by their content: a record
 * reusing an earlier one's with other content is rejected (the scorer keeps only the first it reads, dropping the other
 * without a word). A value is
 * the first such record's line and 20 bits of its content's hash.
 */
class EventIdsSeen {
  private readonly first = new Map<string, number>();

  /** The line of an earlier record of the customer with this eventId and other content; null if none. */
  conflictOf(event: InputEvent, line: number): number | null {
    const key = `${event.customerId}\u0000${dedupeKey(event)}`;
    const digest = createHash('sha256').update(JSON.stringify(event)).digest().readUIntBE(0, 3) >>> 4;
    const earlier = this.first.get(key);
    if (earlier === undefined) {
      this.first.set(key, line * CONTENT_DIGEST_SPAN + digest);
      return null;
    }
    return earlier % CONTENT_DIGEST_SPAN === digest ? null : Math.floor(earlier / CONTENT_DIGEST_SPAN);
  }
}
const CONTENT_DIGEST_SPAN = 2 ** 20;

/**
 * The ignored fields as the summary lists them: a field another kind of record in the file carries is listed with the
 * kinds that left it out, `segment (on activity records)`; an outside tester's mixed-kind CSV read "ignored fields:
 * segment", the customer records having published it.
 */
function describeIgnoredFields(ignored: ReadonlyMap<string, ReadonlySet<InputEventKind>>, kinds: ReadonlySet<InputEventKind>): string[] {
  const carried = (field: string): boolean => [...kinds].some((kind) => (EXPORT_FIELDS[kind] as readonly string[]).includes(field));
  return [...ignored.keys()].sort().map((field) => (carried(field) ? `${field} (on ${[...ignored.get(field)!].sort().join(', ')} records)` : field));
}

/**
 * Checks every record of an export, then publishes, in a second read of its copy, either all of it
 * (when every record is valid), the valid records (with `partial`), or nothing. Two reads of a copy on disk rather
 * than holding the events in memory, so a file of any size can be ingested.
 */
export async function ingestFile(options: IngestFileOptions): Promise<IngestReport> {
  const { file, dryRun = false, progress = process.stderr } = options;
  if (!dryRun && options.publish === undefined) throw new UsageError('a publisher is required unless dryRun is set');
  await readableFile(file);
  const format = options.format ?? formatOfPath(file);
  if (format === null) throw new UsageError(`cannot tell the format of ${file} from its extension: pass --format ndjson or --format csv`);
  const readable = await readableTwice(file, progress, options.signal);
  try {
    return await ingestReadable(options, format, readable);
  } finally {
    await readable.remove();
  }
}

async function ingestReadable(options: IngestFileOptions, format: ExportFormat, { path, size }: ReadableTwice): Promise<IngestReport> {
  const { file, partial = false, dryRun = false, clock = Date.now, progress = process.stderr } = options;
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
    const input = createReadStream(path);
    const encoding = new Utf8Check();
    input.on('data', (chunk) => {
      encoding.feed(chunk as Buffer);
      onBytesRead(input.bytesRead);
    });
    const toEvent = createRecordConverter({ ...options, now: clock() });
    const eventIds = new EventIdsSeen();
    const records = format === 'csv' ? readCsvRecords(input) : readNdjsonRecords(input);
    for await (const record of records) {
      const { line } = record;
      if (!record.ok) {
        const rejection: LineRejection = { line, reason: 'PARSE_ERROR', message: record.problem, ...(record.ofFile ? { ofFile: true } : {}) };
        yield { line, ok: false, rejection, fatal: record.fatal };
        continue;
      }
      const converted = toEvent(record.fields);
      if (!converted.ok) {
        yield { line, ok: false, rejection: { line, ...converted.rejection }, fatal: false };
        continue;
      }
      const conflict = converted.eventIdGiven ? eventIds.conflictOf(converted.event, line) : null;
      yield conflict === null
        ? { line, ok: true, event: converted.event, ignoredFields: converted.ignoredFields }
        : {
            line,
            ok: false,
            rejection: { line, reason: 'CONFLICTING_EVENT_ID', field: 'eventId', message: `eventId: line ${conflict} holds another record of the customer with this eventId` },
            fatal: false,
          };
    }
    const notUtf8 = encoding.end();
    if (notUtf8 !== null) {
      const message = 'the line is not UTF-8 (read as UTF-8, its bytes would change, and names with them): export the file as UTF-8';
      // Read to the end: the file is complete, and refused by this rejection of it (fileTakenAsIs).
      yield { line: notUtf8, ok: false, rejection: { line: notUtf8, reason: 'PARSE_ERROR', message, ofFile: true }, fatal: false };
    }
  }

  let bytesRead = 0;
  const checkRate = startRateMeter();
  const describeCheck = (): string => {
    const perSecond = formatCount(checkRate.perSecond(report.records));
    return `checking ${file}  ${formatPercent(bytesRead, size)}  ${formatCount(report.records)} records  ${perSecond} records/s`;
  };
  const checking = progress && startProgress(describeCheck, { stream: progress });
  // Each ignored field, with the kinds of the records that left it out.
  const ignoredFields = new Map<string, Set<InputEventKind>>();
  const kinds = new Set<InputEventKind>();
  for await (const result of readLines((bytes) => (bytesRead = bytes))) {
    if (result.ok || result.rejection.ofFile !== true) report.records += 1;
    if (result.ok) {
      report.valid += 1;
      for (const field of result.ignoredFields) ignoredFields.set(field, (ignoredFields.get(field) ?? new Set()).add(result.event.kind));
      kinds.add(result.event.kind);
    } else {
      report.rejected.push(result.rejection);
      options.onRejection?.(result.rejection);
      if (result.fatal) report.complete = false;
    }
    // Interrupted: the check stops here, not at the end of a file that may take minutes more (an outside tester's Ctrl-C
    // seemed ignored), and the report is of the records read by then.
    if (options.signal?.aborted) {
      report.complete = false;
      break;
    }
  }
  checking?.stop();
  report.ignoredFields = describeIgnoredFields(ignoredFields, kinds);

  const publishable = fileTakenAsIs(report) && report.valid > 0 && (report.rejected.length === 0 || partial);
  // Interrupted while checking: nothing has begun to be published, and nothing is.
  if (dryRun || !publishable || options.publish === undefined || options.signal?.aborted) return report;

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
    report.published = await options.publish(validEvents(), (total) => (published = total), [...kinds]);
  } finally {
    publishing?.stop();
  }
  return report;
}
