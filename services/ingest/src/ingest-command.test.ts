import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '@churnscore/simulator';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { parseIngestArgs, runIngestCommand } from './ingest-command';

const dir = mkdtempSync(join(tmpdir(), 'ingest-command-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

describe('parseIngestArgs', () => {
  it('needs a file and takes the rest as options', () => {
    // npm runs the script from the package root and says in INIT_CWD where it was typed: relative paths are from there.
    vi.stubEnv('INIT_CWD', '/home/analyst/exports');
    expect(parseIngestArgs(['--file', 'a.csv', '--kind', 'contract', '--partial'])).toEqual({
      file: '/home/analyst/exports/a.csv',
      kind: 'contract',
      format: undefined,
      partial: true,
      dryRun: false,
      source: 'ingest',
      ratePerSecond: 0,
      reportPath: null,
    });
    expect(parseIngestArgs(['--help'])).toBeNull();
  });

  it.each([
    [[], /--file is required/],
    [['--file', 'a.csv', '--kind', 'lead'], /--kind must be one of activity, opportunity, contract, customer/],
    [['--file', 'a.csv', '--format', 'xml'], /--format must be one of ndjson, csv/],
    [['--file', 'a.csv', '--partial', '--dry-run'], /exclude each other/],
    [['--file', 'a.csv', 'extra'], /Unexpected argument/],
    // One file per run: the last --file and --kind silently winning would check only b.csv, as an activity file.
    [['--file', 'a.csv', '--kind', 'customer', '--file', 'b.csv', '--kind', 'activity'], /--file is given more than once: it takes one value/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseIngestArgs(argv)).toThrow(UsageError);
    expect(() => parseIngestArgs(argv)).toThrow(message);
  });
});

describe('runIngestCommand --dry-run', () => {
  it('prints each rejected line, then the summary, writes the JSON report, and exits 1; no broker settings needed', async () => {
    const file = join(dir, 'customers.csv');
    writeFileSync(file, 'customerId,occurredAt,segment\nc1,2025-06-01,SMB\n,2025-06-01,SMB\nc3,2025-06-31,SMB\n');
    const printed: string[] = [];
    const reportPath = join(dir, 'report.json');
    const code = await runIngestCommand(['--file', file, '--kind', 'customer', '--dry-run', '--report', reportPath], {
      env: {},
      stdout: { write: (text: string) => printed.push(text) },
      stderr: { write: () => true },
      clock: () => Date.parse('2025-06-15T00:00:00Z'),
    });
    expect(code).toBe(1);
    expect(printed.join('').split('\n').slice(0, 4)).toEqual([
      'line 3: MISSING_FIELD customerId: is required',
      'line 4: INVALID_FIELD occurredAt: must be an ISO 8601 date, or timestamp with a time zone',
      `${file}: 3 records, 1 valid, 2 rejected (MISSING_FIELD ×1, INVALID_FIELD ×1)`,
      'dry run: nothing published',
    ]);
    expect(JSON.parse(readFileSync(reportPath, 'utf8'))).toMatchObject({ records: 3, valid: 1, mode: 'dry-run', rejected: [{ line: 3 }, { line: 4 }] });
  });
});

describe('runIngestCommand summary', () => {
  it('counts records apart from what is found about the file itself, so that the counts add up', async () => {
    const summaryOf = async (name: string, content: Buffer | string) => {
      const file = join(dir, name);
      writeFileSync(file, content);
      const printed: string[] = [];
      // Endpoints never reached: nothing is publishable.
      const env = { KAFKA_BROKERS: 'unused.invalid:9092', SCHEMA_REGISTRY_URL: 'http://unused.invalid', REDIS_URL: 'redis://unused.invalid' };
      const code = await runIngestCommand(['--file', file, '--kind', 'customer'], { env, stdout: { write: (text: string) => printed.push(text) }, stderr: { write: () => true } });
      return { code, lines: printed.join('').split('\n').slice(-3, -1).map((line) => line.replace(`${file}: `, '')) };
    };
    // Two records, read alike, but the file is not UTF-8: none is taken.
    expect(await summaryOf('latin1.csv', Buffer.from('customerId,occurredAt,segment\nM\u00fcller,2025-06-01,SMB\nM\u00f6ller,2025-06-01,SMB\n', 'latin1'))).toEqual({
      code: 1,
      lines: ['2 records, 2 valid, 0 rejected; the file itself: PARSE_ERROR ×1', 'nothing published: the file cannot be taken as it is (its PARSE_ERROR above says why)'],
    });
    expect(await summaryOf('empty.csv', '')).toEqual({
      code: 1,
      lines: ['0 records, 0 valid, 0 rejected; the file itself: PARSE_ERROR ×1', 'nothing published: the file cannot be taken as it is (its PARSE_ERROR above says why)'],
    });
  });
});

describe('runIngestCommand relative paths', () => {
  it('reads --file and writes --report in the directory the command was typed in, and names a missing file by its absolute path', async () => {
    writeFileSync(join(dir, 'typed-here.csv'), 'customerId,occurredAt,segment\nc1,2025-06-01,SMB\n');
    vi.stubEnv('INIT_CWD', dir);
    const printed: string[] = [];
    const io = { env: {}, stdout: { write: (text: string) => printed.push(text) }, stderr: { write: () => true }, clock: () => Date.parse('2025-06-15T00:00:00Z') };
    expect(await runIngestCommand(['--file', 'typed-here.csv', '--kind', 'customer', '--dry-run', '--report', 'typed-here.json'], io)).toBe(0);
    expect(printed.join('')).toContain(`${join(dir, 'typed-here.csv')}: 1 record, 1 valid, 0 rejected`);
    expect(JSON.parse(readFileSync(join(dir, 'typed-here.json'), 'utf8'))).toMatchObject({ records: 1, valid: 1 });
    await expect(runIngestCommand(['--file', 'not-here.csv', '--kind', 'customer', '--dry-run'], io)).rejects.toThrow(
      new UsageError(`cannot read ${join(dir, 'not-here.csv')}: ENOENT`),
    );
  });
});

describe('runIngestCommand --report', () => {
  it('refuses a report it could not write before reading or publishing anything (exit 2, not a failed publication)', async () => {
    const file = join(dir, 'one-customer.csv');
    writeFileSync(file, 'customerId,occurredAt,segment\nc1,2025-06-01,SMB\n');
    const io = { env: {}, stdout: { write: () => true }, stderr: { write: () => true } };
    // No broker settings: the refusal comes before the command would need them.
    await expect(runIngestCommand(['--file', file, '--kind', 'customer', '--report', join(dir, 'no-such-dir', 'report.json')], io)).rejects.toThrow(
      new UsageError(`cannot write --report ${join(dir, 'no-such-dir', 'report.json')}: ENOENT`),
    );
    await expect(runIngestCommand(['--file', file, '--kind', 'customer', '--report', dir], io)).rejects.toThrow(/--report .* is a directory: name a file/);
    // A directory still to be created, named by its trailing slash.
    await expect(runIngestCommand(['--file', file, '--kind', 'customer', '--report', `${join(dir, 'reports')}/`], io)).rejects.toThrow(/--report .* names a directory: name a file/);
  });

  // Root may write anywhere under /proc, by its permissions; creating a file there fails all the same.
  it.runIf(process.platform === 'linux')('refuses a report in a directory where no file can be created, though write permission is granted', async () => {
    const file = join(dir, 'one-more-customer.csv');
    writeFileSync(file, 'customerId,occurredAt,segment\nc1,2025-06-01,SMB\n');
    const io = { env: {}, stdout: { write: () => true }, stderr: { write: () => true } };
    await expect(runIngestCommand(['--file', file, '--kind', 'customer', '--report', '/proc/report.json'], io)).rejects.toThrow(
      new UsageError('cannot write --report /proc/report.json: ENOENT'),
    );
  });

  it('leaves nothing behind in the report directory when it only checked it', async () => {
    const reports = mkdtempSync(join(dir, 'reports-'));
    await expect(runIngestCommand(['--file', join(reports, 'absent.csv'), '--kind', 'customer', '--dry-run', '--report', join(reports, 'r.json')], { env: {}, stdout: { write: () => true }, stderr: { write: () => true } })).rejects.toThrow(/cannot read/);
    expect(readdirSync(reports)).toEqual([]);
  });
});
