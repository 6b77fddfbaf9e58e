import { randomBytes } from 'node:crypto';
import { createRedis, type RedisClient } from '@churnscore/state';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { createReporter, ensureStack, type EnsuredStack, type Reporter } from '../infra/src/index';

/** What every section shares: the stack, the bench's own clients, and progress output. */
export interface BenchContext {
  stack: EnsuredStack;
  /** For the bench's producers and consumers; the scorers under test have their own clients. */
  kafka: Kafka;
  admin: Admin;
  redis: RedisClient;
  reporter: Reporter;
  /** Part of every topic, group, subject and key prefix this run creates, so nothing collides with tests or other runs. */
  runId: string;
  /** Settings every scorer under test gets on top of the sandbox's (`--scorer-env`). */
  scorerEnv: Record<string, string>;
}

/** Scopes such as `throughput-2` are longer than the stack's reporter pads to: keep the messages in one column. */
const SCOPE_COLUMN = 14;

/** Progress lines with the seconds elapsed, as `npm run stack:up` prints them. */
export function createBenchReporter(): Reporter {
  const reporter = createReporter();
  return {
    step: (scope, message) => reporter.step(`${scope} `.padEnd(SCOPE_COLUMN), message),
    during: (scope, label, work) => reporter.during(`${scope} `.padEnd(SCOPE_COLUMN), label, work),
  };
}

export async function openContext(reporter: Reporter, scorerEnv: Record<string, string>): Promise<BenchContext> {
  const stack = await ensureStack({ reporter });
  // kafkajs reports a fresh group's retriable "coordinator not available" at ERROR; real failures still reject the calls.
  const kafka = new Kafka({ clientId: 'churnscore-bench', brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const redis = createRedis({ url: stack.redisUrl, connectionName: 'churnscore-bench' });
  return {
    stack,
    kafka,
    admin,
    redis,
    reporter,
    runId: `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
    scorerEnv,
  };
}

export async function closeContext(context: BenchContext): Promise<void> {
  await context.admin.disconnect();
  await context.redis.quit();
}
