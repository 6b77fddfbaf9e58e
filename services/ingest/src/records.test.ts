import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_BYTES, Utf8Check, formatOfPath, readCsvRecords, readNdjsonRecords, type ExportRecord } from './records';

const readAll = async (records: AsyncIterable<ExportRecord>): Promise<ExportRecord[]> => {
  const all: ExportRecord[] = [];
  for await (const record of records) all.push(record);
  return all;
};
/** Split into small chunks so records straddle chunk boundaries, as they do in real files. */
const streamOf = (text: string): Readable => Readable.from(text.match(/[\s\S]{1,7}/g) ?? []);

describe('formatOfPath', () => {
  it('reads the format from the extension', () => {
    expect(formatOfPath('export.CSV')).toBe('csv');
    expect(formatOfPath('/tmp/a.ndjson')).toBe('ndjson');
    expect(formatOfPath('a.jsonl')).toBe('ndjson');
    expect(formatOfPath('export.txt')).toBeNull();
  });
});

describe('readNdjsonRecords', () => {
  it('numbers lines from 1, skips blank lines and reports lines that are not JSON objects', async () => {
    const text = '\uFEFF{"customerId":"c1"}\r\n\n{"customerId": "c2"\n[1,2]\n  \n{"customerId":"c3"}';
    expect(await readAll(readNdjsonRecords(streamOf(text)))).toEqual([
      { line: 1, ok: true, fields: { customerId: 'c1' } },
      { line: 3, ok: false, problem: 'the line is not valid JSON', fatal: false },
      { line: 4, ok: false, problem: 'the line is not a JSON object', fatal: false },
      { line: 6, ok: true, fields: { customerId: 'c3' } },
    ]);
  });

  it('reports a line longer than a record may be without holding it, and reads the next one', async () => {
    const longLine = '{"customerId":"' + 'x'.repeat(MAX_RECORD_BYTES) + '"}';
    const chunks = ['{"customerId":"c1"}\n', ...longLine.match(/.{1,65536}/gs)!, '\n{"customerId":"c2"}\n'];
    expect(await readAll(readNdjsonRecords(Readable.from(chunks.map((chunk) => Buffer.from(chunk)))))).toEqual([
      { line: 1, ok: true, fields: { customerId: 'c1' } },
      { line: 2, ok: false, problem: `the line is longer than ${MAX_RECORD_BYTES} bytes`, fatal: false },
      { line: 3, ok: true, fields: { customerId: 'c2' } },
    ]);
  });

  it('refuses a JSON array as a whole, saying what it is, rather than a rejection per line', async () => {
    for (const text of ['\n[\n  {"customerId":"c1"},\n  {"customerId":"c2"}\n]\n', '[{"customerId":"c1"}]']) {
      expect(await readAll(readNdjsonRecords(streamOf(text)))).toEqual([
        { line: text.startsWith('\n') ? 2 : 1, ok: false, problem: 'the file is a JSON array, not NDJSON: write one JSON object per line', fatal: true, ofFile: true },
      ]);
    }
  });
});

describe('readCsvRecords', () => {
  it('maps cells to header names, drops empty cells and numbers records by the line they start on', async () => {
    const text = 'customerId,note,value\nc1,"a, b",1\n\n"c2","two\nlines",\nc3,,3\n';
    expect(await readAll(readCsvRecords(streamOf(text)))).toEqual([
      { line: 2, ok: true, fields: { customerId: 'c1', note: 'a, b', value: '1' } },
      { line: 4, ok: true, fields: { customerId: 'c2', note: 'two\nlines' } },
      { line: 6, ok: true, fields: { customerId: 'c3', value: '3' } },
    ]);
  });

  it('reports a row with the wrong number of cells and goes on', async () => {
    const records = await readAll(readCsvRecords(streamOf('a,b\r\n1,2\r\n3\r\n4,5,6\r\n7,8\r\n')));
    expect(records.map((r) => [r.line, r.ok])).toEqual([[2, true], [3, false], [4, false], [5, true]]);
    expect(records[1]).toMatchObject({ problem: 'the row has 1 cells, the header 2', fatal: false });
  });

  it('numbers the lines of a CRLF file whose quoted cells hold line breaks as the file has them', async () => {
    // csv-parse counts a CRLF inside quotes as two lines: an independent user's row 4 was reported as line 5.
    const text = 'a,b\r\n1,"two\r\nlines"\r\n2,"three\r\nmore\r\nlines"\r\n3,x\r\n"bad"x,4\r\n';
    const records = await readAll(readCsvRecords(streamOf(text)));
    expect(records.map((r) => [r.line, r.ok])).toEqual([[2, true], [4, true], [7, true], [8, false]]);
    expect(records[1]).toMatchObject({ fields: { a: '2', b: 'three\r\nmore\r\nlines' } });
  });

  it('ends rows at CRLF, LF and a lone CR alike, in one file', async () => {
    // Rows appended with LF to a CRLF export ran together into one row of 61 cells; a file saved with CR line ends
    // (old Mac spreadsheets) was one row.
    const records = await readAll(readCsvRecords(streamOf('a,b\r\n1,2\r\n3,4\n5,6\n7,8\r\r9,10\r')));
    expect(records).toEqual([
      { line: 2, ok: true, fields: { a: '1', b: '2' } },
      { line: 3, ok: true, fields: { a: '3', b: '4' } },
      { line: 4, ok: true, fields: { a: '5', b: '6' } },
      { line: 5, ok: true, fields: { a: '7', b: '8' } },
      { line: 7, ok: true, fields: { a: '9', b: '10' } },
    ]);
    // Whatever the chunks a CRLF is read in, it is one line end.
    for (let size = 1; size <= 8; size += 1) {
      const chunked = Readable.from('a,b\r\n1,2\r\n3,4\r\n'.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g'))!);
      expect((await readAll(readCsvRecords(chunked))).map((r) => r.line), `chunks of ${size}`).toEqual([2, 3]);
    }
  });

  it('stops at a quoting error, naming its line without quoting the content', async () => {
    const records = await readAll(readCsvRecords(streamOf('a,b\n1,2\n"secret"x,3\n4,5\n')));
    expect(records).toEqual([
      { line: 2, ok: true, fields: { a: '1', b: '2' } },
      {
        line: 3,
        ok: false,
        problem: 'a quoted field is followed by something other than a comma or a line end; the rest of the file was not read',
        fatal: true,
      },
    ]);
  });

  it('reports a quote left open to the end of the file at the line of its record', async () => {
    const records = await readAll(readCsvRecords(streamOf('a,b\n1,2\n\n3,"open\n4,5\n6,7\n')));
    expect(records.map((r) => [r.line, r.ok])).toEqual([[2, true], [4, false]]);
    expect(records[1]).toMatchObject({ problem: 'a quoted field is never closed; the rest of the file was not read', fatal: true });
  });

  it('refuses a file without a usable header row', async () => {
    expect(await readAll(readCsvRecords(streamOf('')))).toEqual([{ line: 1, ok: false, problem: 'the file has no header row', fatal: true, ofFile: true }]);
    expect(await readAll(readCsvRecords(streamOf('a,b,a\n1,2,3\n')))).toEqual([
      { line: 1, ok: false, problem: 'header columns 1 and 3 have the same name', fatal: true, ofFile: true },
    ]);
  });
});

describe('Utf8Check', () => {
  const firstBadLine = (...chunks: Buffer[]): number | null => {
    const check = new Utf8Check();
    for (const chunk of chunks) check.feed(chunk);
    return check.end();
  };

  it('passes UTF-8 whose characters are split between chunks', () => {
    const text = Buffer.from('customerId,segment\nMüller,SMB\n東京,MID_MARKET');
    const split = text.indexOf(0xc3) + 1;
    expect(firstBadLine(text.subarray(0, split), text.subarray(split))).toBeNull();
  });

  it('names the first line holding bytes that are not UTF-8, whichever chunk it ends in', () => {
    const latin1 = Buffer.from('customerId,segment\nMuller,SMB\nM\u00fcller,SMB\nM\u00f6ller,SMB\n', 'latin1');
    expect(firstBadLine(latin1)).toBe(3);
    expect(firstBadLine(latin1.subarray(0, 5), latin1.subarray(5, 30), latin1.subarray(30))).toBe(3);
    expect(firstBadLine(Buffer.from('a\nb\n'), Buffer.from([0x63, 0xff]))).toBe(3);
  });

  it('checks a line that spans many chunks as one, a character split across two of them included', () => {
    const cell = Buffer.from(`${'x'.repeat(999)}é${'x'.repeat(1000)}`);
    const chunks = (line: Buffer) => Array.from({ length: Math.ceil(line.length / 100) }, (_, i) => line.subarray(i * 100, i * 100 + 100));
    expect(firstBadLine(Buffer.from('a\n'), ...chunks(cell), Buffer.from('\nb\n'))).toBeNull();
    const latin1Cell = Buffer.from(`${'x'.repeat(999)}\u00e9${'x'.repeat(1000)}`, 'latin1');
    expect(firstBadLine(Buffer.from('a\n'), ...chunks(latin1Cell), Buffer.from('\nb\n'))).toBe(2);
  });
});
