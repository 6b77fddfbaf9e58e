import { randomBytes } from 'node:crypto';
import { DEFAULT_TOPICS, TOPIC_ENV_VARS, loadConfig, type AppConfig, type TopicNames, type TopicRole } from '@churnscore/config';
import { INPUT_EVENT_KINDS } from '@churnscore/events';
import { connectionErrorLogger, createLogger } from '@churnscore/observability';
import { createRedis, type RedisClient } from '@churnscore/state';
import kafkajs from 'kafkajs';
import type { Admin, Kafka } from 'kafkajs';
import { ensureStack, type EnsuredStack } from './index';
import type { Reporter } from './progress';
import { silentReporter } from './progress';
import { registerSchemas } from './schemas';
import type { StackEndpoints } from './settings';
import { createTopics, deleteTopics } from './topics';

/** What a sandbox needs of the program that opens it: the stack, clients to clean up with, and where to report. */
export interface SandboxContext {
  stack: StackEndpoints;
  admin: Admin;
  redis: RedisClient;
  reporter: Reporter;
  /** Starts every sandbox name ("bench", "evaluate"), so that what a program leaves behind says whose it is. */
  namespace: string;
  /** Part of every topic, group, subject and key prefix the run creates, so nothing collides with tests or other runs. */
  runId: string;
  /** Settings every scorer in a sandbox gets on top of the sandbox's own. */
  scorerEnv: Record<string, string>;
}

// kafkajs is CommonJS and its named exports are not visible to Node's ESM loader.
const { Kafka: KafkaClient, logLevel } = kafkajs;

/** A program's session on the stack for its sandboxes: the context, and a Kafka client for its own producers and consumers. */
export interface SandboxSession extends SandboxContext {
  stack: EnsuredStack;
  kafka: Kafka;
}

/** Brings up the stack if it is not running and connects the clients sandboxes are made and cleaned up with. */
export async function openSandboxSession(namespace: string, reporter: Reporter, scorerEnv: Record<string, string> = {}): Promise<SandboxSession> {
  const stack = await ensureStack({ reporter });
  // kafkajs reports a fresh group's retriable "coordinator not available" at ERROR; real failures still reject the calls.
  const kafka = new KafkaClient({ clientId: `churnscore-${namespace}`, brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  // Its connection errors among the progress lines, redacted and rate-limited as a service's are (ioredis would print
  // each with its stack, as plain text).
  const redisLog = createLogger({ name: `${namespace}-redis`, level: 'error', destination: { write: (line) => reporter.step('redis', line.trimEnd()) } });
  const redis = createRedis({ url: stack.redisUrl, connectionName: `churnscore-${namespace}`, onError: connectionErrorLogger(redisLog, 'redis') });
  return { stack, kafka, admin, redis, reporter, namespace, runId: `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`, scorerEnv };
}

export async function closeSandboxSession(session: SandboxSession): Promise<void> {
  await session.admin.disconnect();
  await session.redis.quit();
}

const ROLES = Object.keys(DEFAULT_TOPICS) as TopicRole[];

/**
 * One measurement's private world on the shared stack: its own topics (one per role, so the scorer's
 * outputs and dead letters stay apart too), schema subjects, consumer groups and Redis key prefix.
 * `cleanup` removes all of it, so a run leaves nothing behind for the tests or the next run.
 */
export class Sandbox {
  readonly topics: TopicNames;
  readonly prefix: string;
  private readonly groups: string[] = [];
  private subjects: string[] = [];

  private constructor(
    private readonly context: SandboxContext,
    readonly name: string,
  ) {
    this.prefix = name;
    this.topics = Object.fromEntries(ROLES.map((role) => [role, `${name}.${DEFAULT_TOPICS[role]}`])) as unknown as TopicNames;
  }

  /** Creates the topics and registers the repository's schemas under their subjects. */
  static async open(context: SandboxContext, purpose: string, partitions: number): Promise<Sandbox> {
    const sandbox = new Sandbox(context, `${context.namespace}-${purpose}-${context.runId}`);
    try {
      await createTopics(context.stack.kafkaBrokers, Object.values(sandbox.topics), partitions);
      const registrations = await registerSchemas(context.stack.schemaRegistryUrl, {
        reporter: silentReporter,
        env: sandbox.topicEnv(),
      });
      sandbox.subjects = registrations.map((registration) => registration.subject);
      return sandbox;
    } catch (error) {
      await sandbox.cleanup();
      throw error;
    }
  }

  /** The four CRM input topics, which the scorer consumes. */
  get inputTopics(): string[] {
    return INPUT_EVENT_KINDS.map((kind) => this.topics[kind]);
  }

  /** A consumer group of this sandbox, removed by cleanup. */
  group(purpose: string): string {
    const group = `${this.name}-${purpose}`;
    this.groups.push(group);
    return group;
  }

  /** The environment `npm run scorer` is started with to work inside this sandbox (as a member of `group`, if given). */
  scorerEnv(group?: string): Record<string, string> {
    const { kafkaBrokers, schemaRegistryUrl, redisUrl } = this.context.stack;
    return {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: schemaRegistryUrl,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: this.prefix,
      ...(group === undefined ? {} : { CONSUMER_GROUP: group }),
      ...this.topicEnv(),
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      ...this.context.scorerEnv,
    };
  }

  /** The validated configuration of a scorer (or any client) in this sandbox; all other settings at their defaults. */
  config(group?: string): AppConfig {
    return loadConfig(this.scorerEnv(group));
  }

  /** Deletes the groups, topics, subjects and keys; keeps going past a failure (reported) so the rest is still removed. */
  async cleanup(): Promise<void> {
    const failures: string[] = [];
    const attempt = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        failures.push(`${what}: ${(error as Error).message}`);
      }
    };
    const { admin, redis, stack } = this.context;
    await attempt('consumer groups', async () => {
      // Only groups that formed: deleting one that never did is an error.
      const existing = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
      const groups = this.groups.filter((group) => existing.has(group));
      if (groups.length > 0) await admin.deleteGroups(groups);
    });
    await attempt('topics', () => deleteTopics(stack.kafkaBrokers, Object.values(this.topics)));
    for (const subject of this.subjects) await attempt(`subject ${subject}`, () => this.deleteSubject(subject));
    await attempt('Redis keys', () => unlinkByPrefix(redis, this.prefix));
    for (const failure of failures) this.context.reporter.step('cleanup', `WARNING ${this.name}: ${failure}`);
  }

  private topicEnv(): Record<string, string> {
    return Object.fromEntries(ROLES.map((role) => [TOPIC_ENV_VARS[role], this.topics[role]]));
  }

  /** Soft delete, then permanent delete: the registry refuses the latter for a subject that was not soft-deleted first. */
  private async deleteSubject(subject: string): Promise<void> {
    const url = `${this.context.stack.schemaRegistryUrl}/subjects/${encodeURIComponent(subject)}`;
    for (const suffix of ['', '?permanent=true']) {
      const response = await fetch(`${url}${suffix}`, { method: 'DELETE', signal: AbortSignal.timeout(15_000) });
      if (!response.ok && response.status !== 404) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    }
  }
}

/** UNLINK (freed in the background) every key under `prefix:`, found with SCAN, never KEYS. */
export async function unlinkByPrefix(redis: RedisClient, prefix: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) removed += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return removed;
}
