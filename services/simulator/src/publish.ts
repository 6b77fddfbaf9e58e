import type { TopicNames } from '@churnscore/config';
import type { InputEvent, InputEventKind } from '@churnscore/domain';
import type { Message, Producer } from 'kafkajs';
import { createTokenBucket } from './rate-limiter';

/** Serialises an event for a topic (the Confluent wire format, via the events package's codec). */
export interface EventEncoder {
  encode(topic: string, event: InputEvent): Promise<Buffer>;
}

/** The input topic of each event kind. */
export type InputTopics = Pick<TopicNames, InputEventKind>;

export interface PublishEventsOptions {
  producer: Pick<Producer, 'sendBatch'>;
  encoder: EventEncoder;
  topics: InputTopics;
  events: Iterable<InputEvent> | AsyncIterable<InputEvent>;
  /** Sustained events per second; omitted, 0 or Infinity: as fast as the broker acknowledges. */
  ratePerSecond?: number;
  /** Most events per produce request. */
  maxBatchSize?: number;
  /** Called after each acknowledged batch with the running total. */
  onPublished?(published: number): void;
  /** Stops taking events, sends those already taken, and returns (e.g. on Ctrl-C in --follow mode). */
  signal?: AbortSignal;
}

const DEFAULT_MAX_BATCH_SIZE = 500;
/** Under a rate limit, batches are sized to about a tenth of a second of traffic, so pacing stays smooth. */
const BATCHES_PER_SECOND = 10;

/**
 * Publishes events keyed by customerId (so one customer's events stay in order on one partition),
 * in batches, each awaited until the broker acknowledges it. Returns how many were published.
 *
 * Record timestamps are left to the producer (send time) on purpose: stamping a year-old occurredAt
 * would let time-based retention delete the simulated history as soon as it is written.
 */
export async function publishEvents(options: PublishEventsOptions): Promise<number> {
  const { producer, encoder, topics, events, ratePerSecond = 0, onPublished, signal } = options;
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  const limited = ratePerSecond > 0 && ratePerSecond !== Infinity;
  const batchSize = limited ? Math.max(1, Math.min(maxBatchSize, Math.floor(ratePerSecond / BATCHES_PER_SECOND))) : maxBatchSize;
  const rateLimiter = createTokenBucket({ ratePerSecond });
  let published = 0;
  let batch: InputEvent[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const sending = batch;
    batch = [];
    await rateLimiter.acquire(sending.length);
    const byTopic = new Map<string, Message[]>();
    const encoded = await Promise.all(
      sending.map(async (event) => {
        const topic = topics[event.kind];
        return { topic, message: { key: event.customerId, value: await encoder.encode(topic, event) } };
      }),
    );
    for (const { topic, message } of encoded) {
      const messages = byTopic.get(topic) ?? [];
      messages.push(message);
      byTopic.set(topic, messages);
    }
    await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    published += sending.length;
    onPublished?.(published);
  };
  for await (const event of events) {
    batch.push(event);
    if (batch.length >= batchSize) await flush();
    if (signal?.aborted) break;
  }
  await flush();
  return published;
}
