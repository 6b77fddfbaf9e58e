// A process whose work stopped moving while everything it depends on answers is alive only in name: its readiness
// may say "not in touch" (a consumer stuck in a unit of work sends no fetch), but nothing restarts a process that is
// merely unready. Outages are waited out (work in flight then waits on a dependency that does not answer); a piece of
// work that outlives any bounded piece's time with every dependency answering is a bug, and the process should exit
// so that its supervisor restarts it and the work is redone (at-least-once).

/** The pieces of work in flight, each since when it started: how long the oldest has run. */
export class InFlightWork {
  private readonly startedAt = new Set<{ at: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  async track<T>(work: () => Promise<T>): Promise<T> {
    const piece = { at: this.now() };
    this.startedAt.add(piece);
    try {
      return await work();
    } finally {
      this.startedAt.delete(piece);
    }
  }

  /** How long the oldest piece in flight has run, in ms; null when none is. */
  oldestRunningMs(): number | null {
    let oldest: number | null = null;
    for (const { at } of this.startedAt) oldest = oldest === null ? at : Math.min(oldest, at);
    return oldest === null ? null : this.now() - oldest;
  }
}

export interface StallWatchOptions {
  /** What is watched, each named for the reason given when it stalls. */
  work: ReadonlyArray<{ name: string; inFlight: InFlightWork }>;
  /** How long one piece of work may run with every dependency answering. */
  limitMs: number;
  /** Whether every dependency answers now (false, or throwing, while any does not: the work may be waiting for it). */
  dependenciesAnswer(): Promise<boolean>;
  onStalled(reason: string): void;
  /** How often to look; default a tenth of limitMs. */
  intervalMs?: number;
  /** The clock of the work's InFlightWork, in ms. */
  now?: () => number;
}

/**
 * Calls `onStalled` once when a piece of work has run longer than `limitMs` while every dependency answers: counted
 * from its start or from the last look at which a dependency did not answer, whichever is later, since a piece that
 * waited out an outage still has its work to do once the outage ends. While any work is in flight, each look asks
 * the dependencies.
 */
export class StallWatch {
  private timer: NodeJS.Timeout | null = null;
  private stalled = false;
  /** When a look last found a dependency not answering. */
  private unansweredAt = -Infinity;
  private readonly now: () => number;

  constructor(private readonly options: StallWatchOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  start(): void {
    this.timer = setInterval(() => void this.checkNow(), this.options.intervalMs ?? this.options.limitMs / 10).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async checkNow(): Promise<void> {
    if (this.stalled) return;
    const { work, limitMs } = this.options;
    if (work.every(({ inFlight }) => inFlight.oldestRunningMs() === null)) return;
    const answering = await this.options.dependenciesAnswer().catch(() => false);
    const now = this.now();
    if (!answering) {
      this.unansweredAt = now;
      return;
    }
    // Read after the wait: a piece may have finished meanwhile.
    const overdue = work.find(({ inFlight }) => Math.min(inFlight.oldestRunningMs() ?? 0, now - this.unansweredAt) > limitMs);
    if (overdue === undefined || this.stalled) return;
    this.stalled = true;
    this.options.onStalled(`${overdue.name} has run for more than ${Math.round(limitMs / 1000)} s while every dependency answers: it is stuck`);
  }
}
