import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../infra/src/settings';
import { processCpuSeconds } from './system';

/** `npm run scorer` as a child process: the production entry point, with its own event loop and core. */
export interface ScorerProcess {
  pid: number;
  /** The health/metrics server's port (the scorer picks a free one). */
  httpPort: number;
  /** CPU seconds (user + system) the process has used so far; null where /proc is not readable. */
  cpuSeconds(): number | null;
  /** SIGTERM: the scorer finishes its batch, commits what is durable and exits. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/**
 * Starts `node --import tsx services/scorer/src/main.ts` with `env` and resolves once it reports
 * ready (Redis answers and its consumer joined the group). Logs at info level so the "scorer started"
 * line gives the port; the scorer logs nothing per event, so this costs nothing while it runs.
 * Warnings and errors are echoed, prefixed with `label`.
 */
export async function startScorerProcess(label: string, env: Record<string, string>, nodeFlags: readonly string[] = []): Promise<ScorerProcess> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', 'services/scorer/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let httpPort: number;
  try {
    httpPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label}: no "scorer started" within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      void exited.then((code) => reject(new Error(`${label}: exited with code ${code} before it started`)));
      forwardLogs(label, child, (line) => {
        if (line.msg === 'scorer started' && typeof line.httpPort === 'number') {
          clearTimeout(timer);
          resolve(line.httpPort);
        }
      });
    });
    await waitForReadiness(label, httpPort);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const pid = child.pid!;
  return {
    pid,
    httpPort,
    cpuSeconds: () => processCpuSeconds(pid),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface LogLine {
  level?: string;
  msg?: string;
  [field: string]: unknown;
}

const QUIET_LEVELS = new Set(['trace', 'debug', 'info']);

/**
 * Echoes each distinct warning or error once: kafkajs logs every heartbeat refused during a rebalance
 * as an error, and a second instance joining would otherwise bury the progress lines under them.
 */
function forwardLogs(label: string, child: ChildProcess, onLine: (line: LogLine) => void): void {
  const echoed = new Set<string>();
  const echo = (text: string) => {
    if (echoed.has(text)) return;
    echoed.add(text);
    console.error(`[${label}] ${text}${echoed.size === 1 ? ' (repeats of a message are not shown)' : ''}`);
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        echo(text);
        return;
      }
      onLine(line);
      if (!QUIET_LEVELS.has(line.level ?? '')) echo(`${line.level}: ${line.msg ?? text}`);
    });
  }
}

async function waitForReadiness(label: string, httpPort: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => null);
    if (response?.ok) return;
    if (Date.now() > deadline) throw new Error(`${label}: not ready within ${START_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
