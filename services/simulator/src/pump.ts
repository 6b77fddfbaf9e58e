import type { InputEvent } from '@churnscore/domain';
import { createTokenBucket } from './rate-limiter';

export interface PumpOptions {
  events: Iterable<InputEvent> | AsyncIterable<InputEvent>;
  /** Sustained events per second; omitted, 0 or Infinity: as fast as the sink takes them. */
  ratePerSecond?: number;
  /** Most events per batch handed to the sink. */
  maxBatchSize?: number;
  /** Called after each delivered batch with the running total. */
  onProgress?(delivered: number): void;
  /** Stops taking events, delivers those already taken, and returns (e.g. on Ctrl-C in --follow mode). */
  signal?: AbortSignal;
}

// Measured on the local stack: 2000-event produce requests send about three times faster than 500-event ones,
// and stay far below the broker's request size limit (events are ~100-300 bytes in Avro).
const DEFAULT_MAX_BATCH_SIZE = 2000;
/** Under a rate limit, batches are sized to about a tenth of a second of traffic, so pacing stays smooth. */
const BATCHES_PER_SECOND = 10;

/**
 * Moves events to a sink (Kafka, a file) in batches, paced by a token bucket, awaiting each batch's
 * delivery before taking more, so memory stays flat and an endless source works. Returns how many
 * events were delivered.
 */
export async function pumpEvents(options: PumpOptions, deliver: (batch: InputEvent[]) => Promise<void>): Promise<number> {
  const { events, ratePerSecond = 0, maxBatchSize = DEFAULT_MAX_BATCH_SIZE, onProgress, signal } = options;
  const limited = ratePerSecond > 0 && ratePerSecond !== Infinity;
  const batchSize = limited ? Math.max(1, Math.min(maxBatchSize, Math.floor(ratePerSecond / BATCHES_PER_SECOND))) : maxBatchSize;
  const rateLimiter = createTokenBucket({ ratePerSecond });
  let delivered = 0;
  let batch: InputEvent[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const sending = batch;
    batch = [];
    await rateLimiter.acquire(sending.length);
    await deliver(sending);
    delivered += sending.length;
    onProgress?.(delivered);
  };
  for await (const event of events) {
    batch.push(event);
    if (batch.length >= batchSize) await flush();
    if (signal?.aborted) break;
  }
  await flush();
  return delivered;
}
