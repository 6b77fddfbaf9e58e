// Helpers for integration tests. Every test file shares one broker, registry and Redis, and files
// run in parallel: give each file its own topics and Redis key prefix with `uniqueName`.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { inject } from 'vitest';
import { createTopics as createKafkaTopics, deleteTopics as deleteKafkaTopics } from '../../infra/src/index';
import type { StackEndpoints } from '../../infra/src/index';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/harness/global-setup.ts: the stack every integration test talks to. */
    stack: StackEndpoints;
  }
}

/** Endpoints of the stack the global setup brought up (local, containers or external). */
export function testStack(): StackEndpoints {
  return inject('stack');
}

/**
 * A name no other test (or earlier run) uses: `<prefix>-<time>-<random>`, valid as a Kafka topic,
 * consumer group, Redis key prefix or registry subject.
 */
export function uniqueName(prefix: string): string {
  const safePrefix = prefix.replace(/[^A-Za-z0-9._-]/g, '-');
  return `${safePrefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Creates topics on the test stack (or the given brokers; existing ones are left alone); one partition unless told. */
/**
 * An instant an hour before now on the real clock: when an event happened, for a scorer that runs as its own process
 * (`npm run scorer` takes no injected clock). The sample events' fixed dates passed the retention horizon on
 * 2026-07-05 for such a scorer, which has since applied them without their day buckets.
 */
export const anHourAgo = (): number => Date.now() - 3_600_000;

export function createTopics(names: string[], partitions = 1, brokers: string[] = testStack().kafkaBrokers): Promise<void> {
  return createKafkaTopics(brokers, names, partitions);
}

/** Raises a topic's partition count (`kafka-topics --alter --partitions`), as an operator making room for more consumers does. */
export async function addPartitions(topic: string, count: number, brokers: string[] = testStack().kafkaBrokers): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createPartitions({ topicPartitions: [{ topic, count }] });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes a test's own topics, so repeated runs do not pile them up on a long-lived local stack. */
export function deleteTopics(names: string[], brokers: string[] = testStack().kafkaBrokers): Promise<void> {
  return deleteKafkaTopics(brokers, names);
}

/** A Redis client on the test stack (or the given Redis); the caller quits it (afterAll). */
export function createRedisClient(url: string = testStack().redisUrl, options: RedisOptions = {}): Redis {
  return new Redis(url, options);
}
