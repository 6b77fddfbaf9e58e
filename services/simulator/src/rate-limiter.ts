/** Paces a producer to a number of events per second. */
export interface RateLimiter {
  /** Resolves once `count` more events may be sent. */
  acquire(count: number): Promise<void>;
}

export interface TokenBucketOptions {
  /** Sustained events per second; 0 or Infinity for no limit. */
  ratePerSecond: number;
  /** Events that may go out at once after a pause (the bucket starts empty); defaults to one second's worth. */
  burst?: number;
  /** Monotonic clock in ms; injectable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A token bucket that lets a caller take more tokens than it holds and then waits off the debt, so
 * a batch larger than the burst is still paced correctly instead of being refused. Callers take
 * tokens one batch at a time (the publisher awaits each batch), so no queueing is needed.
 */
export function createTokenBucket(options: TokenBucketOptions): RateLimiter {
  const { ratePerSecond, now = () => performance.now(), sleep = defaultSleep } = options;
  if (!(ratePerSecond > 0) || ratePerSecond === Infinity) return { acquire: async () => undefined };
  const burst = options.burst ?? ratePerSecond;
  // Empty at the start, filling while the caller pauses: a full one let the first second send up to twice the rate (an
  // outside tester's ingest --rate 1000 measured 1,217 events/s over 5,000 events).
  let tokens = 0;
  let refilledAt = now();
  return {
    async acquire(count) {
      const at = now();
      tokens = Math.min(burst, tokens + ((at - refilledAt) * ratePerSecond) / 1000);
      refilledAt = at;
      tokens -= count;
      if (tokens < 0) await sleep((-tokens * 1000) / ratePerSecond);
    },
  };
}
