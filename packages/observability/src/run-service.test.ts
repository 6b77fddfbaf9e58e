// The service shell as a supervisor sees it: exit codes, signals at any moment, and JSON lines only.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT_CANNOT_GO_ON, EXIT_CONFIGURATION_ERROR, REPEATED_SIGNAL_WINDOW_MS } from './run-service';

const FIXTURE = fileURLToPath(new URL('./run-service.fixture.ts', import.meta.url));

interface Run {
  /** Parsed log lines so far (every line of stdout and stderr must be JSON). */
  records: Array<Record<string, unknown>>;
  waitFor(message: string): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

function runFixture(behaviour: string, stopDeadlineMs = 60_000): Run {
  const { PATH, HOME } = process.env;
  const env = { PATH, HOME, RUN_SERVICE_FIXTURE: behaviour, RUN_SERVICE_FIXTURE_STOP_DEADLINE_MS: String(stopDeadlineMs) };
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { env });
  let output = '';
  const waiters: Array<() => void> = [];
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const records = () =>
    output
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    get records() {
      return records();
    },
    async waitFor(message) {
      while (!output.split('\n').some((line) => line.includes(`"msg":"${message}"`))) {
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    signal: (signal) => child.kill(signal),
    // 'close', not 'exit': the last lines may still be in the pipes when the process has exited.
    exit: once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, output })),
  };
}

describe('runService', () => {
  it('stops a started service on SIGTERM and exits 0', async () => {
    const run = runFixture('started');
    await run.waitFor('started');
    run.signal('SIGTERM');
    expect(await run.exit).toMatchObject({ code: 0, signal: null });
    expect(run.records.map((record) => record.msg)).toEqual(['starting', 'started', 'stopping', 'service stopped']);
  });

  it('exits 0 on SIGTERM while the service is still starting', async () => {
    const run = runFixture('slow-start');
    await run.waitFor('starting');
    run.signal('SIGTERM');
    expect(await run.exit).toMatchObject({ code: 0, signal: null });
    expect(run.records.map((record) => record.msg)).toEqual(['starting', 'stopping', 'stopped before the start completed']);
  });

  it('exits 1 when the stop does not finish within its deadline, saying so', async () => {
    const run = runFixture('hung-stop', 300);
    await run.waitFor('started');
    run.signal('SIGTERM');
    expect(await run.exit).toMatchObject({ code: EXIT_CANNOT_GO_ON, signal: null });
    expect(run.records.at(-1)).toMatchObject({ level: 'fatal', stopDeadlineMs: 300, msg: 'the stop did not finish within its deadline (a dependency hangs?): exiting' });
  });

  it.each([
    ['its SIGTERM arrives twice at once (sent to the process group, and passed on by npm)', 'SIGTERM', 'SIGTERM'],
    ['a SIGTERM follows its SIGINT at once (Ctrl-C, and the tool that started it stopping it)', 'SIGINT', 'SIGTERM'],
  ] as const)('stops cleanly when %s', async (_when, first, second) => {
    const run = runFixture('slow-stop');
    await run.waitFor('started');
    run.signal(first);
    await run.waitFor('stopping');
    run.signal(second);
    expect(await run.exit).toMatchObject({ code: 0, signal: null });
    expect(run.records.map((record) => record.msg)).toEqual(['starting', 'started', 'stopping', 'service stopped']);
  });

  it('exits 1 when the stop fails, its reason the last line at fatal', async () => {
    const run = runFixture('failed-stop');
    await run.waitFor('started');
    run.signal('SIGTERM');
    expect(await run.exit).toMatchObject({ code: EXIT_CANNOT_GO_ON, signal: null });
    expect(run.records.at(-1)).toMatchObject({ level: 'fatal', reason: expect.stringContaining('the stop failed'), err: expect.objectContaining({ message: 'Connection is closed.' }) });
  });

  it('exits 1 at once on a second signal while a stop hangs', async () => {
    const run = runFixture('hung-stop');
    await run.waitFor('started');
    run.signal('SIGTERM');
    await run.waitFor('stopping');
    await new Promise((resolve) => setTimeout(resolve, REPEATED_SIGNAL_WINDOW_MS));
    run.signal('SIGINT');
    expect(await run.exit).toMatchObject({ code: EXIT_CANNOT_GO_ON, signal: null });
    expect(run.records.at(-1)).toMatchObject({ level: 'fatal', signal: 'SIGINT', msg: 'a second signal while stopping: exiting without finishing the stop' });
  });

  it('exits non-zero at once when the service cannot go on, saying why in a redacted JSON line', async () => {
    const run = runFixture('cannot-go-on');
    const { code, output } = await run.exit;
    expect(code).toBe(EXIT_CANNOT_GO_ON);
    expect(run.records.at(-1)).toMatchObject({
      level: 'fatal',
      reason: 'the consumer stopped',
      err: { message: 'could not reach redis://scorer:***@redis:6379' },
      msg: 'cannot go on: exiting so that a supervisor restarts the service',
    });
    expect(output).not.toContain('hunter2');
  });

  it('exits non-zero on a rejection nobody handles, as a JSON line', async () => {
    const run = runFixture('throws');
    expect((await run.exit).code).toBe(EXIT_CANNOT_GO_ON);
    expect(run.records.at(-1)).toMatchObject({ level: 'fatal', reason: 'a rejected promise was not handled', err: { message: 'nobody handles this' } });
  });

  it('refuses to start on a configuration error with exit 78 and a JSON line naming the setting', async () => {
    const run = runFixture('refuse');
    expect((await run.exit).code).toBe(EXIT_CONFIGURATION_ERROR);
    expect(run.records.at(-1)).toMatchObject({ level: 'fatal', reason: 'SOME_SETTING: expected something else, got "x"', msg: 'refusing to start: fix the settings named in reason' });
  });
});
