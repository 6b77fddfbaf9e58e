import { isUtf8 } from 'node:buffer';
import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const FORMAT_BY_EXTENSION: Readonly<Record<string, ExportFormat>> = {
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.json': 'ndjson',
  '.csv': 'csv',
};

/** The format a file name implies, or null when its extension says nothing (then --format decides). */
export const formatOfPath = (path: string): ExportFormat | null => FORMAT_BY_EXTENSION[extname(path).toLowerCase()] ?? null;

/** One record of an export, by the line it starts on (1-based, the CSV header being line 1). */
export type ExportRecord =
  | { line: number; ok: true; fields: Readonly<Record<string, unknown>> }
  /** `fatal`: the file cannot be read past this line. `ofFile`: a finding about the file (its header, its shape), not a record. */
  | { line: number; ok: false; problem: string; fatal: boolean; ofFile?: true };

/**
 * The longest record an export may hold, in bytes. An event is a few hundred bytes, and the broker takes none past its
 * record limit (1 MiB by default); a longer line read whole could outgrow what a string holds (an outside tester's
 * 600 MB line stopped the command with a RangeError and no report).
 */
export const MAX_RECORD_BYTES = 1 << 20;

/** A line past MAX_RECORD_BYTES: its bytes are passed over, not kept. */
const TOO_LONG = Symbol('line too long');

/** The input's lines (LF or CRLF), decoded once whole; a line past MAX_RECORD_BYTES is TOO_LONG, and reading goes on. */
async function* boundedLines(input: Readable): AsyncGenerator<string | typeof TOO_LONG> {
  let parts: Buffer[] = [];
  let length = 0;
  let tooLong = false;
  const take = (piece: Buffer): void => {
    if (tooLong) return;
    if (length + piece.length > MAX_RECORD_BYTES) {
      tooLong = true;
      parts = [];
      return;
    }
    parts.push(piece);
    length += piece.length;
  };
  const end = (): string | typeof TOO_LONG => {
    const line = tooLong ? TOO_LONG : Buffer.concat(parts, length).toString('utf8').replace(/\r$/, '');
    parts = [];
    length = 0;
    tooLong = false;
    return line;
  };
  for await (const read of input as AsyncIterable<Buffer | string>) {
    const chunk = typeof read === 'string' ? Buffer.from(read) : read;
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      take(chunk.subarray(start, newline));
      yield end();
      start = newline + 1;
    }
    take(chunk.subarray(start));
  }
  if (length > 0 || tooLong) yield end();
}

/**
 * NDJSON: one JSON object per line; blank lines are skipped. A line that is not a JSON object, or is longer than
 * MAX_RECORD_BYTES, is reported and the next line read as usual. Parser messages are not passed on: they quote the input.
 */
export async function* readNdjsonRecords(input: Readable): AsyncGenerator<ExportRecord> {
  let line = 0;
  let first = true;
  for await (const rawText of boundedLines(input)) {
    line += 1;
    if (rawText === TOO_LONG) {
      first = false;
      yield { line, ok: false, problem: `the line is longer than ${MAX_RECORD_BYTES} bytes`, fatal: false };
      continue;
    }
    const text = line === 1 ? rawText.replace(/^\uFEFF/, '') : rawText;
    if (text.trim() === '') continue;
    if (first && text.trimStart().startsWith('[')) {
      // A JSON array (a .json export) would otherwise give a rejection per line without saying why.
      yield { line, ok: false, problem: 'the file is a JSON array, not NDJSON: write one JSON object per line', fatal: true, ofFile: true };
      return;
    }
    first = false;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield { line, ok: false, problem: 'the line is not valid JSON', fatal: false };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      yield { line, ok: false, problem: 'the line is not a JSON object', fatal: false };
      continue;
    }
    yield { line, ok: true, fields: value as Record<string, unknown> };
  }
}

/** What each csv-parse error code means, in words that do not quote the file's content. */
const CSV_SYNTAX_PROBLEMS: Readonly<Record<string, string>> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'a quoted field is followed by something other than a comma or a line end',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'a quoted field is followed by something other than a comma or a line end',
  CSV_MAX_RECORD_SIZE: `a record is longer than ${MAX_RECORD_BYTES} bytes`,
};

/**
 * CSV (RFC 4180) with a header row naming the fields. Empty cells count as absent. A row with the
 * wrong number of cells is reported and skipped; a syntax error (an unbalanced quote) leaves the rest
 * of the file unreadable, so it is reported as fatal and reading stops there rather than guessing.
 */
export async function* readCsvRecords(input: Readable): AsyncGenerator<ExportRecord> {
  // Syntax errors arrive as 'skip' events rather than stream errors, which would discard the good
  // records still buffered before them; records parsed after the first one are guesses and dropped.
  // Rows end at CRLF, LF or a lone CR alike (the last as old Mac spreadsheets save CSV): an export with several (rows
  // appended by another tool) would otherwise run rows together at the line ending the first line did not use.
  const parser = input.pipe(
    parseCsv({
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      record_delimiter: ['\r\n', '\n', '\r'],
      max_record_size: MAX_RECORD_BYTES,
    }),
  );
  const first: { syntaxError: CsvSyntaxError | null } = { syntaxError: null };
  parser.on('skip', (error: CsvSyntaxError) => (first.syntaxError ??= error));
  let header: string[] | null = null;
  // csv-parse reports the line a record ends on; the next one starts after it and any blank lines. It counts a CRLF
  // inside a quoted cell as two lines: those extra counts, so far, are taken off.
  let previousEnd: CsvPosition = { lines: 0, empty_lines: 0 };
  let quotedCrlfs = 0;
  const startLine = (position: CsvPosition): number => previousEnd.lines + 1 + (position.empty_lines - previousEnd.empty_lines);
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: CsvPosition }>) {
      if (first.syntaxError !== null && info.lines >= first.syntaxError.lines) break;
      // Only a cell holding a CRLF is split: every record of a large export passes here.
      for (const cell of record) if (cell.includes('\r\n')) quotedCrlfs += cell.split('\r\n').length - 1;
      const end = { lines: info.lines - quotedCrlfs, empty_lines: info.empty_lines };
      const line = startLine(end);
      previousEnd = end;
      if (header === null) {
        header = record.map((name) => name.trim());
        const problem = headerProblem(header);
        if (problem !== null) {
          yield { line, ok: false, problem, fatal: true, ofFile: true };
          return;
        }
        continue;
      }
      if (record.length !== header.length) {
        yield { line, ok: false, problem: `the row has ${record.length} cells, the header ${header.length}`, fatal: false };
        continue;
      }
      const columns = header;
      yield { line, ok: true, fields: Object.fromEntries(record.flatMap((cell, i) => (cell === '' ? [] : [[columns[i]!, cell]]))) };
    }
    if (first.syntaxError !== null) {
      const problem = CSV_SYNTAX_PROBLEMS[first.syntaxError.code ?? ''] ?? 'the file is not valid CSV';
      yield { line: startLine({ ...first.syntaxError, lines: first.syntaxError.lines - quotedCrlfs }), ok: false, problem: `${problem}; the rest of the file was not read`, fatal: true };
    } else if (header === null) {
      yield { line: 1, ok: false, problem: 'the file has no header row', fatal: true, ofFile: true };
    }
  } finally {
    input.destroy();
  }
}

/** Where csv-parse is in the file: lines read so far, and how many of them were blank. */
interface CsvPosition {
  lines: number;
  empty_lines: number;
}

interface CsvSyntaxError extends CsvPosition {
  code?: string;
}

function headerProblem(header: string[]): string | null {
  if (header.some((name) => name === '')) return 'the header row has an empty column name';
  // Positions, not names: a file without a header has data in its first row.
  const duplicate = header.findIndex((name, i) => header.indexOf(name) !== i);
  return duplicate === -1 ? null : `header columns ${header.indexOf(header[duplicate]!) + 1} and ${duplicate + 1} have the same name`;
}

const NEWLINE = 0x0a;

/**
 * Finds the first line of a file, fed chunk by chunk, that is not UTF-8. Node's decoders put U+FFFD in place of such
 * bytes without a word: a Latin-1 export's `Müller` and `Möller` would both read `M\uFFFDller`, one customer. Lines
 * are checked whole (a newline byte is never inside a UTF-8 sequence), by Node's own validator.
 */
export class Utf8Check {
  /**
   * The unfinished line's chunks, joined once its end comes: joining them chunk by chunk copied a long line again at
   * every chunk, and a 50 MB cell took 15 s to check (an outside tester's huge cell, in quadratic time).
   */
  private carried: Buffer[] = [];
  /** Lines wholly checked so far. */
  private lines = 0;
  private firstBad: number | null = null;

  feed(chunk: Buffer): void {
    if (this.firstBad !== null) return;
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline === -1) {
      this.carried.push(Buffer.from(chunk));
      return;
    }
    this.check(Buffer.concat([...this.carried, chunk.subarray(0, lastNewline + 1)]));
    this.carried = [Buffer.from(chunk.subarray(lastNewline + 1))];
  }

  /** The 1-based number of the first line that is not UTF-8, once the whole file was fed; null when every line is. */
  end(): number | null {
    this.check(Buffer.concat(this.carried));
    this.carried = [];
    return this.firstBad;
  }

  private check(wholeLines: Buffer): void {
    if (this.firstBad !== null) return;
    if (isUtf8(wholeLines)) {
      for (let at = wholeLines.indexOf(NEWLINE); at !== -1; at = wholeLines.indexOf(NEWLINE, at + 1)) this.lines += 1;
      return;
    }
    for (let start = 0, line = this.lines + 1; start < wholeLines.length; line += 1) {
      const newline = wholeLines.indexOf(NEWLINE, start);
      const end = newline === -1 ? wholeLines.length : newline;
      if (!isUtf8(wholeLines.subarray(start, end))) {
        this.firstBad = line;
        return;
      }
      start = end + 1;
    }
  }
}
