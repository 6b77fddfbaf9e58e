/** Progress lines with the seconds elapsed since the command began, so slow steps are visible. */
export interface Reporter {
  step(scope: string, message: string): void;
  /** Awaits `work`, printing "still <label>" every few seconds so a long download never looks hung. */
  during<T>(scope: string, label: string, work: Promise<T>): Promise<T>;
}

export type LineWriter = (line: string) => void;

const HEARTBEAT_MS = 5_000;
const SCOPE_WIDTH = 10;

export function createReporter(write: LineWriter = (line) => console.log(line)): Reporter {
  const startedAt = Date.now();
  const elapsed = (): string => `${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s`;
  // A space after the scope even when it fills the column ("simulator-live").
  const step = (scope: string, message: string): void => write(`[${elapsed()}] ${`${scope} `.padEnd(SCOPE_WIDTH)}${message}`);
  return {
    step,
    async during(scope, label, work) {
      const begun = Date.now();
      const timer = setInterval(() => step(scope, `still ${label} (${Math.round((Date.now() - begun) / 1000)}s)`), HEARTBEAT_MS);
      try {
        return await work;
      } finally {
        clearInterval(timer);
      }
    },
  };
}

/** A reporter that prints nothing, for callers that only want the result. */
export const silentReporter: Reporter = {
  step: () => undefined,
  during: (_scope, _label, work) => work,
};

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Checked before each attempt: lets a wait fail at once when the process it waits for has died. */
  abortIf?: () => string | null;
}

/**
 * Polls `ready` until it returns true, printing a waiting line every few seconds.
 * Throws on timeout or when `abortIf` reports a reason.
 */
export async function waitUntil(
  reporter: Reporter,
  scope: string,
  what: string,
  ready: () => Promise<boolean>,
  options: WaitOptions,
): Promise<void> {
  const begun = Date.now();
  const interval = options.intervalMs ?? 250;
  let lastReport = begun;
  for (;;) {
    const abortReason = options.abortIf?.() ?? null;
    if (abortReason !== null) throw new Error(`${scope}: ${abortReason}`);
    if (await ready()) return;
    const now = Date.now();
    if (now - begun > options.timeoutMs) {
      throw new Error(`${scope}: ${what} did not answer within ${Math.round(options.timeoutMs / 1000)}s`);
    }
    if (now - lastReport >= HEARTBEAT_MS) {
      reporter.step(scope, `waiting for ${what} (${Math.round((now - begun) / 1000)}s)`);
      lastReport = now;
    }
    await sleep(interval);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
