import { DEFAULT_TOPICS, TOPIC_ENV_VARS, loadConfig, type AppConfig, type TopicNames, type TopicRole } from '@churnscore/config';
import { INPUT_EVENT_KINDS } from '@churnscore/events';
import { createTopics, deleteTopics, registerSchemas, silentReporter } from '../infra/src/index';
import type { BenchContext } from './context';

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
    private readonly context: BenchContext,
    readonly name: string,
  ) {
    this.prefix = name;
    this.topics = Object.fromEntries(ROLES.map((role) => [role, `${name}.${DEFAULT_TOPICS[role]}`])) as unknown as TopicNames;
  }

  /** Creates the topics and registers the repository's schemas under their subjects. */
  static async open(context: BenchContext, purpose: string, partitions: number): Promise<Sandbox> {
    const sandbox = new Sandbox(context, `bench-${purpose}-${context.runId}`);
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
export async function unlinkByPrefix(redis: BenchContext['redis'], prefix: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) removed += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return removed;
}
