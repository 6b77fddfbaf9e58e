// A service of the product run as its own process (`npm run scorer`, `npm run api`), as an operator or a
// supervisor runs it: its output kept line by line, its exit awaited, its endpoints probed.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const ENTRY_POINTS = { scorer: 'services/scorer/src/main.ts', api: 'services/api/src/main.ts' } as const;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ServiceProcess {
  /** Every line written to stdout or stderr so far. */
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  private readonly closed: Promise<Exit>;
  private partial = { stdout: '', stderr: '' };
  private readonly waiters = new Set<() => void>();

  constructor(service: keyof typeof ENTRY_POINTS, env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', ENTRY_POINTS[service]], { env: { ...process.env, ...env } });
    for (const stream of ['stdout', 'stderr'] as const) {
      this.child[stream]!.on('data', (chunk: Buffer) => this.collect(stream, chunk.toString('utf8')));
    }
    // 'close', not 'exit': the last lines may still be in the pipes when the process has exited.
    this.closed = once(this.child, 'close').then(([code, signal]) => {
      for (const stream of ['stdout', 'stderr'] as const) if (this.partial[stream]) this.lines.push(this.partial[stream]);
      this.wake();
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** The lines that are not JSON objects (a log format break). */
  nonJsonLines(): string[] {
    return this.lines.filter((line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        return typeof parsed !== 'object' || parsed === null;
      } catch {
        return true;
      }
    });
  }

  /** The JSON lines, parsed. */
  records(): Array<Record<string, unknown>> {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Resolves once a line satisfies `matches`; rejects after `timeoutMs` or when the process ends first. */
  async waitForLine(matches: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.closed.then(() => {
      exited = true;
    });
    for (;;) {
      const found = this.lines.find(matches);
      if (found !== undefined) return found;
      if (exited) throw new Error(`the process ended before ${what}:\n${this.output.slice(-3_000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms:\n${this.output.slice(-3_000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The exit, or 'running' if the process is still running after `timeoutMs`. */
  exitWithin(timeoutMs: number): Promise<Exit | 'running'> {
    return Promise.race([this.closed, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), timeoutMs).unref())]);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** Kills the process if it still runs, and waits until its output is complete. */
  async kill(): Promise<Exit> {
    this.signal('SIGKILL');
    return this.closed;
  }

  private collect(stream: 'stdout' | 'stderr', text: string): void {
    const parts = (this.partial[stream] + text).split('\n');
    this.partial[stream] = parts.pop()!;
    this.lines.push(...parts.filter((line) => line.length > 0));
    this.wake();
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
    this.waiters.clear();
  }
}

/** The HTTP status of a GET, or 'no answer' if none came within `timeoutMs` (refused, or hung). */
export async function statusWithin(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<number | 'no answer'> {
  return fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) }).then(
    (response) => response.status,
    () => 'no answer' as const,
  );
}

/** What one test started or changed, undone after it: processes killed, then clean-ups, last registered first. */
export class TestResources {
  private readonly processes: ServiceProcess[] = [];
  private readonly cleanups: Array<() => Promise<unknown>> = [];

  startService(service: keyof typeof ENTRY_POINTS, env: Record<string, string>): ServiceProcess {
    const started = new ServiceProcess(service, env);
    this.processes.push(started);
    return started;
  }

  /** A service stops before the server or user it used goes away: register the server first. */
  onCleanup(cleanup: () => Promise<unknown>): void {
    this.cleanups.push(cleanup);
  }

  async release(): Promise<void> {
    await Promise.all(this.processes.splice(0).map((running) => running.kill()));
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup();
  }
}
