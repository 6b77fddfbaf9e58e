// A dependency that hangs raises no error: a Redis that accepts connections and never answers leaves every command
// waiting, and the client has nothing to log. Readiness shows it to whoever asks; this says it in the log too, once
// when a check stops passing and once when it passes again, so that an operator reading the log sees why work stopped.
import { readinessReport, type ReadinessCheck } from './http-server';
import type { Logger } from './logger';

export interface DependencyWatchOptions {
  /** The readiness checks of the dependencies whose outages are to be logged. */
  checks: readonly ReadinessCheck[];
  logger: Logger;
  /** How often to look. */
  intervalMs: number;
}

/** Logs each watched readiness check's turns: failing (warn) and passing again (info). */
export class DependencyWatch {
  private timer: NodeJS.Timeout | null = null;
  /** Whether each check passed at the last look (all pass before the first). */
  private readonly passed = new Map<string, boolean>();

  constructor(private readonly options: DependencyWatchOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.checkNow(), this.options.intervalMs).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async checkNow(): Promise<void> {
    const { checks } = await readinessReport(this.options.checks);
    for (const [dependency, passes] of Object.entries(checks)) {
      const passed = this.passed.get(dependency) ?? true;
      this.passed.set(dependency, passes);
      if (passed && !passes) this.options.logger.warn({ readinessCheck: dependency }, 'a dependency does not answer: the work that needs it waits (readiness says not ready)');
      else if (!passed && passes) this.options.logger.info({ readinessCheck: dependency }, 'a dependency answers again');
    }
  }
}
