/** Where progress goes: stderr by default, so that `--emit ndjson` output on stdout stays clean. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** Redraw interval on a terminal; a redrawn line costs nothing, so it can be frequent. */
  ttyIntervalMs?: number;
  /** Interval of the plain lines written to a file or CI log, where each line stays forever. */
  plainIntervalMs?: number;
}

export interface ProgressDisplay {
  /** Writes the final state on its own line and stops the timer. */
  stop(): void;
}

/**
 * Shows `describe()` as a single self-redrawing line on a terminal, or as a plain line every few
 * seconds otherwise (logs, CI). Timer-driven, so the hot loop never formats anything itself; the
 * timer is unref'd and never keeps the process alive.
 */
export function startProgress(describe: () => string, options: ProgressOptions = {}): ProgressDisplay {
  const { stream = process.stderr, ttyIntervalMs = 200, plainIntervalMs = 5_000 } = options;
  const tty = stream.isTTY === true;
  const draw = (): void => {
    stream.write(tty ? `\r\u001b[2K${describe()}` : `${describe()}\n`);
  };
  const timer = setInterval(draw, tty ? ttyIntervalMs : plainIntervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      stream.write(tty ? `\r\u001b[2K${describe()}\n` : `${describe()}\n`);
    },
  };
}

/** Measures throughput since it was created. */
export function startRateMeter(now: () => number = () => performance.now()): { perSecond(done: number): number } {
  const startedAt = now();
  return {
    perSecond(done) {
      const seconds = (now() - startedAt) / 1000;
      return seconds > 0 ? done / seconds : 0;
    },
  };
}

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const formatCount = (n: number): string => integerFormat.format(n);
export const formatPercent = (done: number, total: number): string =>
  total > 0 ? `${Math.min(100, Math.floor((done / total) * 100))}%` : '100%';
