import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { REPEATED_SIGNAL_WINDOW_MS } from '@churnscore/observability';
import { UsageError, interruptSignal } from './cli-support';
import { planCustomers } from './generator';
import { parseSimulateArgs, runSimulateCommand } from './simulate-command';

const NOW = '2025-06-15T12:00:00Z';
const dir = mkdtempSync(join(tmpdir(), 'simulate-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quiet = { write: () => true, isTTY: false };
const collect = (): { stream: Writable; lines: () => string[] } => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
};

describe('parseSimulateArgs', () => {
  it('has defaults for a year of history for 200 customers', () => {
    expect(parseSimulateArgs([], () => 42)).toMatchObject({
      customers: 200,
      days: 400,
      seed: '1',
      population: { churnRate: 0.3, silentChurnShare: 0.2, activitySpread: 10, usageSignal: 1, usageReporting: 1 },
      now: 42,
      ratePerSecond: 5000,
      follow: false,
      emit: 'kafka',
    });
    expect(parseSimulateArgs(['--help'])).toBeNull();
  });

  it('writes NDJSON as fast as it is generated unless --rate says otherwise (a training file took minutes at 5,000 events/s)', () => {
    expect(parseSimulateArgs(['--emit', 'ndjson'])).toMatchObject({ ratePerSecond: 0 });
    expect(parseSimulateArgs(['--emit', 'ndjson', '--rate', '100'])).toMatchObject({ ratePerSecond: 100 });
  });

  it('takes the population parameters of a held-out population', () => {
    expect(parseSimulateArgs(['--churn-rate', '0.15', '--silent-churn-share', '0.4', '--activity-spread', '20', '--usage-signal', '0', '--usage-reporting', '0.25'])).toMatchObject({
      population: { churnRate: 0.15, silentChurnShare: 0.4, activitySpread: 20, usageSignal: 0, usageReporting: 0.25 },
    });
    expect(() => parseSimulateArgs(['--usage-signal', '2'])).toThrow(/--usage-signal must be a number from 0 to 1/);
    expect(() => parseSimulateArgs(['--usage-reporting', '1.5'])).toThrow(/--usage-reporting must be a number from 0 to 1/);
  });

  it('follows with or without the history', () => {
    expect(parseSimulateArgs(['--follow'])).toMatchObject({ follow: true, history: true });
    expect(parseSimulateArgs(['--follow', '--no-history'])).toMatchObject({ follow: true, history: false });
  });

  it.each([
    [['--customers', '0'], /--customers must be a whole number of at least 1/],
    [['--rate', 'fast'], /--rate must be a whole number/],
    // A negative value reaches the option's own check, not Node's "argument is ambiguous" (an outside tester).
    [['--rate', '-1'], /--rate must be a whole number/],
    [['--churn-rate', '-0.2'], /--churn-rate must be a number from 0 to 0.95/],
    [['--emit', 'csv'], /--emit must be kafka or ndjson/],
    [['--out', 'x.ndjson'], /--out only applies with --emit ndjson/],
    [['--no-history'], /--no-history only applies with --follow/],
    [['--now', 'tomorrow'], /--now must be an ISO 8601 date, or time with a zone/],
    [['--now', '2025-06-15T12:00:00'], /--now must be an ISO 8601 date, or time with a zone/],
    [['--churn-rate', '1'], /--churn-rate must be a number from 0 to 0.95/],
    [['--silent-churn-share', 'most'], /--silent-churn-share must be a number from 0 to 1/],
    [['--activity-spread', ''], /--activity-spread must be a number from 1 to 1000/],
    [['--colour'], /Unknown option '--colour'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseSimulateArgs(argv)).toThrow(UsageError);
    expect(() => parseSimulateArgs(argv)).toThrow(message);
  });
});

describe('runSimulateCommand --emit ndjson', () => {
  afterEach(() => vi.unstubAllEnvs());
  const run = (argv: string[], io: Partial<Parameters<typeof runSimulateCommand>[1]> = {}) =>
    runSimulateCommand(['--emit', 'ndjson', '--now', NOW, '--rate', '0', ...argv], { env: {}, stdout: collect().stream, stderr: quiet, ...io });

  it('writes the same file for the same seed and clock, one export record per line', async () => {
    const [first, second] = [join(dir, 'a.ndjson'), join(dir, 'b.ndjson')];
    expect(await run(['--customers', '4', '--days', '30', '--out', first])).toBe(0);
    expect(await run(['--customers', '4', '--days', '30', '--out', second])).toBe(0);
    const text = readFileSync(first, 'utf8');
    expect(readFileSync(second, 'utf8')).toBe(text);
    const records = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(new Set(records.map((record) => record.customerId))).toEqual(new Set(['sim-000001', 'sim-000002', 'sim-000003', 'sim-000004']));
    expect(records.every((record) => typeof record.occurredAt === 'string' && record.occurredAt <= NOW.replace('Z', '.000Z'))).toBe(true);
  });

  it('refuses a history the scorer and ingest would refuse whole: a --now ahead of the clock, or days before 2000', async () => {
    const simulate = (argv: string[]) =>
      runSimulateCommand(['--emit', 'ndjson', '--rate', '0', '--customers', '1', ...argv], { env: {}, stdout: collect().stream, stderr: quiet, clock: () => Date.parse(NOW) });
    await expect(simulate(['--now', '2026-06-15T12:00:00Z'])).rejects.toThrow(/--now is more than MAX_FUTURE_SKEW_MS \(3600000 ms\) ahead/);
    await expect(simulate(['--now', '2000-06-01T00:00:00Z', '--days', '400'])).rejects.toThrow(/--now minus --days begins before 2000-01-01/);
    await expect(simulate(['--now', '2025-06-15T12:59:00Z', '--days', '5'])).resolves.toBe(0);
  });

  it('refuses ids or a source the scorer and ingest would refuse in every event, naming the option', () => {
    const parse = (argv: string[]) => parseSimulateArgs(argv, () => Date.parse(NOW));
    // 121 characters, a hyphen and six digits: the 128 a customerId may have.
    expect(parse(['--id-prefix', 'p'.repeat(121)])?.idPrefix).toHaveLength(121);
    expect(() => parse(['--id-prefix', 'p'.repeat(122)])).toThrow('--id-prefix makes customer ids that the scorer and ingest refuse: a customerId must be 1–128 characters');
    // The last customer's id is the longest: a seventh digit from the millionth customer on.
    expect(() => parse(['--id-prefix', 'p'.repeat(121), '--customers', '1000000'])).toThrow(/^--id-prefix makes customer ids/);
    expect(() => parse(['--id-prefix', 'tab\there'])).toThrow(/--id-prefix .* must not contain control characters/);
    expect(() => parse(['--source', ''])).toThrow(/^--source is refused by the scorer and ingest: a source must be 1–128 characters/);
    expect(() => parse(['--source', '   '])).toThrow('--source is refused by the scorer and ingest: a source must not be blank');
  });

  it('writes a relative --out in the directory the command was typed in (npm runs it from the package root)', async () => {
    vi.stubEnv('INIT_CWD', dir);
    const stderr: string[] = [];
    expect(await run(['--customers', '1', '--days', '5', '--out', 'typed-here.ndjson'], { stderr: { write: (text: string) => stderr.push(text), isTTY: false } })).toBe(0);
    expect(readFileSync(join(dir, 'typed-here.ndjson'), 'utf8')).not.toBe('');
    expect(stderr.join('')).toContain(`→ ${join(dir, 'typed-here.ndjson')}`);
  });

  it('refuses an --out it cannot write before generating anything, as bad usage', async () => {
    await expect(run(['--out', join(dir, 'missing-dir', 'x.ndjson')])).rejects.toThrow(/cannot write --out .*missing-dir\/x.ndjson: ENOENT/);
    // Root may write under /proc by its permissions, yet no file can be created there.
    if (process.platform === 'linux') await expect(run(['--out', '/proc/x.ndjson'])).rejects.toThrow(new UsageError('cannot write --out /proc/x.ndjson: ENOENT'));
  });

  it('follows with live events of the customers still active, stamped by a clock running on from --now, until stopped', async () => {
    const out = collect();
    const controller = new AbortController();
    let realNow = Date.parse(NOW);
    const stdout = new Writable({
      write(chunk: Buffer, encoding, done) {
        out.stream.write(chunk, encoding, done);
        realNow += 10;
        if (out.lines().length > 2_000) controller.abort();
      },
    });
    const population = ['--customers', '10', '--days', '400', '--churn-rate', '0.9'];
    const code = await run([...population, '--follow', '--no-history'], { stdout, signal: controller.signal, clock: () => realNow });
    expect(code).toBe(0);
    const records = out.lines().map((line) => JSON.parse(line) as { eventId: string; occurredAt: string; customerId: string; kind: string });
    expect(records.length).toBeGreaterThan(2_000);
    expect(records.every((record) => record.kind === 'activity' && record.occurredAt >= NOW.replace('Z', '.000Z'))).toBe(true);
    const churned = planCustomers({ customers: 10, days: 400, seed: '1', now: Date.parse(NOW), churnRate: 0.9 })
      .filter((plan) => plan.cohort === 'churning')
      .map((plan) => plan.customerId);
    expect(churned.length).toBeGreaterThan(2);
    expect(records.filter((record) => churned.includes(record.customerId))).toEqual([]);
    expect(new Set(records.map((record) => record.eventId)).size).toBe(records.length);
  });
});

describe('interruptSignal', () => {
  // The commands run above installed theirs: only this one's is under test.
  beforeEach(() => process.removeAllListeners('SIGINT'));
  afterEach(() => {
    process.removeAllListeners('SIGINT');
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('stops cleanly on a Ctrl-C whatever copies npm and tsx relay at once, and exits at a second press', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const exits: unknown[] = [];
    vi.spyOn(process, 'exit').mockImplementation((code) => void exits.push(code) as never);
    const signal = interruptSignal();
    process.emit('SIGINT');
    vi.advanceTimersByTime(5);
    process.emit('SIGINT');
    process.emit('SIGINT');
    expect(signal.aborted).toBe(true);
    expect(exits).toEqual([]);
    vi.advanceTimersByTime(REPEATED_SIGNAL_WINDOW_MS);
    process.emit('SIGINT');
    expect(exits).toEqual([130]);
  });
});
