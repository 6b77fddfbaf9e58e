import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { kafkaAnswers, withAdmin } from './clients';
import type { Reporter } from './progress';

const { ConfigResourceTypes } = kafkajs;

const DAY_MS = 86_400_000;

/** One SPEC §2 topic: its default name, the variable that renames it, and the configs it must have. */
export interface TopicSpec {
  /** Same role names and defaults as packages/config's DEFAULT_TOPICS. */
  role: 'activity' | 'opportunity' | 'contract' | 'customer' | 'scoreChanged' | 'alerts' | 'dlq';
  defaultName: string;
  /** Same variable packages/config reads to rename the topic. */
  envVar: string;
  configs: Readonly<Record<string, string>>;
  /** The compatibility rule `schemas:register` sets on the topic's subject; none: the registry's own (BACKWARD here). */
  schemaCompatibility?: 'FULL_TRANSITIVE';
}

// Inputs keep their whole history: SPEC §8 rebuilds state by replaying Kafka, and latest-state-wins
// entities (a contract signed years ago and still ACTIVE) must survive the replay. Erasure (§3)
// removes what the product derives and holds; pruning the CRM's own history is the CRM's call.
// Each record's timestamp is the broker's, taken when it appends it (LogAppendTime): the scorer reads it as the event's
// arrival, which its dedupe window counts from (DEDUPE_WINDOW_DAYS) and a replay sees again. A producer's own
// (CreateTime) let a first copy stamped eight days back be forgotten at once, and its copy a second later applied
// again (an outside tester); a time-based retention would also have deleted history stamped with its event time.
const INPUT_CONFIGS = { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'message.timestamp.type': 'LogAppendTime' } as const;
// The scorer reads every input record with the reader schema it was built with, while producers (Confluent's
// serializers register by default) may register a new writer version before or after a scorer upgrade: each version
// must be readable by every scorer still running and read every record before it. BACKWARD alone let a producer
// register `int` → `long`, and every record written with it was dead-lettered (SCHEMA_MISMATCH).
const INPUT_SCHEMA_COMPATIBILITY = 'FULL_TRANSITIVE' as const;

export const TOPIC_SPECS: readonly TopicSpec[] = [
  { role: 'activity', defaultName: 'crm.activity.v1', envVar: 'TOPIC_ACTIVITY', configs: INPUT_CONFIGS, schemaCompatibility: INPUT_SCHEMA_COMPATIBILITY },
  { role: 'opportunity', defaultName: 'crm.opportunity.v1', envVar: 'TOPIC_OPPORTUNITY', configs: INPUT_CONFIGS, schemaCompatibility: INPUT_SCHEMA_COMPATIBILITY },
  { role: 'contract', defaultName: 'crm.contract.v1', envVar: 'TOPIC_CONTRACT', configs: INPUT_CONFIGS, schemaCompatibility: INPUT_SCHEMA_COMPATIBILITY },
  { role: 'customer', defaultName: 'crm.customer.v1', envVar: 'TOPIC_CUSTOMER', configs: INPUT_CONFIGS, schemaCompatibility: INPUT_SCHEMA_COMPATIBILITY },
  {
    role: 'scoreChanged',
    defaultName: 'customer.score-changed.v1',
    envVar: 'TOPIC_SCORE_CHANGED',
    // A changelog of each customer's latest scores: compaction keeps the newest record per customer,
    // so a new consumer can bootstrap the current table, and an erasure tombstone (§3) removes the
    // customer for good once compacted, within a day (max.compaction.lag.ms: without it an erased customer's
    // scores stayed as long as their segment stayed active, a week or more, as an outside tester found). Records
    // younger than an hour are never compacted, so a consumer lagging less than that still sees every change.
    configs: {
      'cleanup.policy': 'compact',
      'min.compaction.lag.ms': String(60 * 60_000),
      'max.compaction.lag.ms': String(DAY_MS),
      'delete.retention.ms': String(DAY_MS),
    },
  },
  {
    role: 'alerts',
    defaultName: 'customer.alerts.v1',
    envVar: 'TOPIC_ALERTS',
    // Not compacted: a customer can have several alert episodes open at once under the same key, and
    // compaction would keep only the last. Alerts are events for alerting services; 30 days of them
    // is ample for a consumer to catch up, and bounds how long an erased customer's alerts remain (to a day
    // more: segments roll daily, and retention deletes whole segments).
    configs: { 'cleanup.policy': 'delete', 'retention.ms': String(30 * DAY_MS), 'segment.ms': String(DAY_MS) },
  },
  {
    role: 'dlq',
    defaultName: 'crm.dlq.v1',
    envVar: 'TOPIC_DLQ',
    // Rejected records wait for a human to fix the producer and replay them: keep them long. They are copies of
    // what producers sent, personal data included, which an erasure cannot reach: 90 days (and a day, segments rolling
    // daily) bounds how long they stay.
    configs: { 'cleanup.policy': 'delete', 'retention.ms': String(90 * DAY_MS), 'segment.ms': String(DAY_MS) },
  },
];

export interface DesiredTopic {
  role: TopicSpec['role'];
  defaultName: string;
  name: string;
  partitions: number;
  configs: Readonly<Record<string, string>>;
  schemaCompatibility: TopicSpec['schemaCompatibility'];
}

/** The topics to provision, with TOPIC_* renames and TOPIC_PARTITIONS applied. */
export function desiredTopics(env: NodeJS.ProcessEnv = process.env): DesiredTopic[] {
  const rawPartitions = env.TOPIC_PARTITIONS ?? '6';
  const partitions = Number(rawPartitions);
  if (!Number.isInteger(partitions) || partitions < 1) throw new Error(`TOPIC_PARTITIONS=${rawPartitions} is not a positive integer.`);
  return TOPIC_SPECS.map((spec) => ({
    role: spec.role,
    defaultName: spec.defaultName,
    name: (env[spec.envVar] ?? '').trim() || spec.defaultName,
    partitions,
    configs: spec.configs,
    schemaCompatibility: spec.schemaCompatibility,
  }));
}

export interface ExistingTopic {
  partitions: number;
  configs: Record<string, string>;
}

/** Human-readable differences between what a topic should be and what it is; empty when none. */
export function topicDrift(desired: DesiredTopic, actual: ExistingTopic): string[] {
  const differences: string[] = [];
  if (actual.partitions !== desired.partitions) {
    differences.push(`partitions: expected ${desired.partitions}, found ${actual.partitions}`);
  }
  for (const [key, expected] of Object.entries(desired.configs)) {
    const found = actual.configs[key];
    if (found !== expected) differences.push(`${key}: expected ${expected}, found ${found ?? '(unset)'}`);
  }
  return differences;
}

export class TopicDriftError extends Error {
  constructor(readonly drift: ReadonlyMap<string, string[]>) {
    super(
      `${drift.size} existing topic(s) differ from infra/src/topics.ts:\n${[...drift]
        .map(([topic, differences]) => `  ${topic}\n${differences.map((line) => `    - ${line}`).join('\n')}`)
        .join('\n')}\n` +
        'Provisioning never rewrites a live topic. Fix a config with kafka-configs --alter; a partition count by ' +
        'aligning TOPIC_PARTITIONS or recreating the topic (Kafka cannot shrink partitions, and adding some moves keys ' +
        'to other partitions); on the local stack `npm run stack:reset` recreates everything. Or pass --allow-drift ' +
        'to carry on anyway.',
    );
    this.name = 'TopicDriftError';
  }
}

export interface ProvisionOptions {
  reporter: Reporter;
  env?: NodeJS.ProcessEnv;
  /** Report drift as warnings instead of failing. */
  allowDrift?: boolean;
}

export interface ProvisionResult {
  created: string[];
  unchanged: string[];
  drifted: Map<string, string[]>;
}

/**
 * Creates the SPEC §2 topics that are missing and checks the others against their spec.
 * Idempotent; throws TopicDriftError on drift unless `allowDrift`.
 */
export async function provisionTopics(brokers: string[], options: ProvisionOptions): Promise<ProvisionResult> {
  const { reporter } = options;
  const desired = desiredTopics(options.env);
  if (!(await kafkaAnswers(brokers))) {
    throw new Error(`Kafka at ${brokers.join(',')} does not answer: is the stack up (npm run stack:up)?`);
  }
  return withAdmin(brokers, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const missing = desired.filter((topic) => !existing.has(topic.name));
    const present = desired.filter((topic) => existing.has(topic.name));
    if (missing.length > 0) {
      const replicationFactor = await defaultReplicationFactor(admin);
      await admin.createTopics({
        topics: missing.map((topic) => ({
          topic: topic.name,
          numPartitions: topic.partitions,
          replicationFactor,
          configEntries: Object.entries(topic.configs).map(([name, value]) => ({ name, value })),
        })),
        waitForLeaders: false, // ours, below
      });
      await waitForLeaders(admin, missing.map((topic) => topic.name));
      for (const topic of missing) reporter.step('topics', `created ${topic.name} (${topic.partitions} partitions)`);
    }

    const actual = await describeTopics(admin, present);
    const drifted = new Map<string, string[]>();
    for (const topic of present) {
      const differences = topicDrift(topic, actual.get(topic.name) ?? { partitions: 0, configs: {} });
      if (differences.length > 0) drifted.set(topic.name, differences);
    }
    const unchanged = present.filter((topic) => !drifted.has(topic.name)).map((topic) => topic.name);
    if (unchanged.length > 0) reporter.step('topics', `up to date: ${unchanged.join(', ')}`);
    if (drifted.size > 0) {
      const error = new TopicDriftError(drifted);
      if (!options.allowDrift) throw error;
      reporter.step('topics', `WARNING (--allow-drift): ${error.message}`);
    }
    return { created: missing.map((topic) => topic.name), unchanged, drifted };
  });
}

/** Creates plain topics (tests' own, uniquely named ones); existing ones are left as they are. */
export async function createTopics(brokers: string[], names: string[], partitions = 1): Promise<void> {
  await withAdmin(brokers, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const missing = names.filter((name) => !existing.has(name));
    if (missing.length === 0) return;
    const replicationFactor = await defaultReplicationFactor(admin);
    await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor })), waitForLeaders: false });
    await waitForLeaders(admin, missing);
  });
}

/** Deletes topics (tests' own, at the end of a file); missing ones are ignored. */
export async function deleteTopics(brokers: string[], names: string[]): Promise<void> {
  await withAdmin(brokers, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const present = names.filter((name) => existing.has(name));
    if (present.length > 0) await admin.deleteTopics({ topics: present });
  });
}

const LEADER_WAIT_MS = 30_000;
const LEADER_POLL_MS = 100;
/** What a broker answers while a new topic's metadata has not reached it yet. */
const NOT_YET_KNOWN = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Waits until every partition of the new topics has a leader. kafkajs' own `waitForLeaders` (which
 * `createTopics` therefore turns off) retries only LEADER_NOT_AVAILABLE, but a KRaft broker first answers
 * UNKNOWN_TOPIC_OR_PARTITION for a topic it has not caught up with yet: that failed the creation itself,
 * or the first produce or seek after it, now and then.
 */
async function waitForLeaders(admin: Admin, names: string[]): Promise<void> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      if (topics.length === names.length && topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      if (!NOT_YET_KNOWN.has((error as { type?: string }).type ?? '')) throw error;
    }
    if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} still have no leader after ${LEADER_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, LEADER_POLL_MS));
  }
}

/**
 * One replica per broker up to three. kafkajs speaks CreateTopics v3, which predates "-1 = broker
 * default", so the factor has to be explicit; this gives 1 on the local stack and 3 on a real cluster.
 */
async function defaultReplicationFactor(admin: Admin): Promise<number> {
  const { brokers } = await admin.describeCluster();
  return Math.min(3, brokers.length);
}

async function describeTopics(admin: Admin, topics: DesiredTopic[]): Promise<Map<string, ExistingTopic>> {
  const result = new Map<string, ExistingTopic>();
  if (topics.length === 0) return result;
  const metadata = await admin.fetchTopicMetadata({ topics: topics.map((topic) => topic.name) });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((topic) => ({ type: ConfigResourceTypes.TOPIC, name: topic.name, configNames: Object.keys(topic.configs) })),
  });
  for (const topic of metadata.topics) {
    const resource = configs.resources.find((candidate) => candidate.resourceName === topic.name);
    result.set(topic.name, {
      partitions: topic.partitions.length,
      configs: Object.fromEntries((resource?.configEntries ?? []).map((entry) => [entry.configName, entry.configValue])),
    });
  }
  return result;
}
