// A scorer under test: its own topics, subjects, consumer group and Redis key prefix on the shared
// stack, the real scorer running in-process with an injectable clock, and readers for what it wrote.
import { loadConfig, type AppConfig, type ScorerSettings, type StateSettings } from '@churnscore/config';
import type { CustomerInsights, InputEvent } from '@churnscore/domain';
import { SAMPLE_NOW, sampleActivity } from '@churnscore/events/testing';
import type { AlertEvent, OutputEvent, ScoreChangedEvent } from '@churnscore/events';
import { createLogger, Liveness } from '@churnscore/observability';
import { alertEpisodes, defaultScoringConfig, type ScoringConfig } from '@churnscore/scoring';
import { createRedis, createStateStore, decodeStoredInsights, keySchema, type CustomerSnapshot, type RedisClient, type StateStore } from '@churnscore/state';
import { Cluster } from 'ioredis';
import { AssignerProtocol, Kafka, logLevel, type Assignment } from 'kafkajs';
import { afterAll, beforeAll, expect } from 'vitest';
import { startScorer, type RunningScorer } from '../../services/scorer/src/scorer';
import { EventsTestBed, type ConsumedRecord } from '../events/support';
import { createRedisClient, testStack, uniqueName } from '../harness/stack';
import { scanAll } from '../state/fixtures';
import { startRedisCluster, type LocalRedisCluster } from '../state/local-redis';

export interface DecodedOutput {
  record: ConsumedRecord;
  /** null for a tombstone. */
  event: OutputEvent | null;
}

/** A clock tests move by hand; starts at `start`. */
/** A liveness that keeps every failure reported, in order, not only the first that counts. */
export class RecordingLiveness extends Liveness {
  readonly reasons: string[] = [];
  override fail(reason: string, error?: unknown): void {
    this.reasons.push(reason);
    super.fail(reason, error);
  }
}

/** How many times expectSubscriberEndsWithRedis reads Redis again for commits made while it waited for the outputs. */
const SUBSCRIBER_CHECK_READS = 5;

export class ManualClock {
  constructor(private current: number) {}
  now = (): number => this.current;
  set(epochMs: number): void {
    this.current = epochMs;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export class ScorerTestBed extends EventsTestBed {
  readonly prefix = uniqueName('scorer-test');
  readonly consumerGroup = uniqueName('scorer-test-group');
  readonly redis: RedisClient;
  readonly store: StateStore;
  readonly keys = keySchema(this.prefix);
  private readonly scorers: RunningScorer[] = [];

  /**
   * @param redisUrl a Redis of the test's own instead of the stack's (a test that crashes it, a cluster).
   * @param where.cluster the Redis at `redisUrl` is a Redis Cluster: the bed, the scorers and the API run in cluster mode.
   * @param where.kafkaBrokers a Kafka broker of the test's own instead of the stack's.
   */
  constructor(
    name: string,
    private readonly redisUrl: string = testStack().redisUrl,
    private readonly where: { cluster?: boolean; kafkaBrokers?: string[] } = {},
  ) {
    super(name, where.kafkaBrokers);
    this.redis = where.cluster ? createRedis({ url: redisUrl, cluster: true }) : createRedisClient(redisUrl);
    this.store = createStateStore(this.redis, { prefix: this.prefix });
  }

  /** The scorer's environment: what `npm run scorer` would be started with for this test bed. */
  env(): Record<string, string> {
    return {
      KAFKA_BROKERS: this.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: testStack().schemaRegistryUrl,
      REDIS_URL: this.redisUrl,
      REDIS_CLUSTER: String(this.where.cluster ?? false),
      REDIS_KEY_PREFIX: this.prefix,
      CONSUMER_GROUP: this.consumerGroup,
      TOPIC_ACTIVITY: this.topics.activity,
      TOPIC_OPPORTUNITY: this.topics.opportunity,
      TOPIC_CONTRACT: this.topics.contract,
      TOPIC_CUSTOMER: this.topics.customer,
      TOPIC_SCORE_CHANGED: this.topics.scoreChanged,
      TOPIC_ALERTS: this.topics.alerts,
      TOPIC_DLQ: this.topics.dlq,
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      // Tests wait on these: commit and poll often.
      SCORER_COMMIT_INTERVAL_MS: '300',
      RESCORE_POLL_INTERVAL_MS: '200',
    };
  }

  config(): AppConfig {
    return loadConfig(this.env());
  }

  /**
   * A scorer on this bed's configuration, with `settings` overriding its scorer settings, `state` how it applies
   * events and `kafka` its Kafka client's settings.
   */
  async startScorer(
    options: {
      clock?: () => number;
      /** The machine's clock as the scorer compares it with Redis's (MAX_CLOCK_SKEW_MS); no comparison without it. */
      wallClock?: () => number;
      scoring?: ScoringConfig;
      settings?: Partial<ScorerSettings>;
      state?: Partial<StateSettings>;
      kafka?: Partial<AppConfig['kafka']>;
      liveness?: Liveness;
    } = {},
  ): Promise<RunningScorer> {
    const config = this.config();
    const scorer = await startScorer({
      config: { ...config, ...options.state, kafka: { ...config.kafka, ...options.kafka }, scorer: { ...config.scorer, ...options.settings } },
      scoring: options.scoring ?? defaultScoringConfig(),
      clock: options.clock ?? Date.now,
      ...(options.wallClock ? { wallClock: options.wallClock } : {}),
      httpPort: 0,
      logger: createLogger({ name: 'scorer-test', level: 'warn' }),
      liveness: options.liveness,
    });
    this.scorers.push(scorer);
    return scorer;
  }

  async stopScorer(scorer: RunningScorer): Promise<void> {
    this.scorers.splice(this.scorers.indexOf(scorer), 1);
    await scorer.stop();
  }

  /** Input events encoded as a CRM sends them: each for its topic, keyed by customerId, in the registry's wire format. */
  async records(events: readonly InputEvent[]): Promise<Array<{ topic: string; key: string; value: Buffer }>> {
    return Promise.all(
      events.map(async (event) => {
        const topic = this.topicOf(event.kind);
        return { topic, key: event.customerId, value: await this.codec.encode(topic, event) };
      }),
    );
  }

  /** Encodes and publishes input events, keyed by customerId (optionally to a given partition). */
  async publish(events: readonly InputEvent[], partitionOf?: (event: InputEvent, index: number) => number): Promise<void> {
    const byTopic = new Map<string, Array<{ key: string; value: Buffer; partition?: number }>>();
    for (const [index, { topic, key, value }] of (await this.records(events)).entries()) {
      const messages = byTopic.get(topic) ?? [];
      messages.push({ key, value, ...(partitionOf ? { partition: partitionOf(events[index]!, index) } : {}) });
      byTopic.set(topic, messages);
    }
    for (const [topic, messages] of byTopic) await this.produce(topic, messages);
  }

  /** The first `count` output records (decoded; null for a tombstone) of the given output topics, in order per partition. */
  async outputs(count: number, topics: string[] = [this.topics.scoreChanged, this.topics.alerts], timeoutMs = 30_000): Promise<DecodedOutput[]> {
    return this.decodeOutputs(await this.consume(topics, count, timeoutMs));
  }

  /** The scorers' consumer group now: the assignment protocol it chose, and each member's partitions by topic. */
  async groupAssignments(): Promise<{ protocol: string; members: Assignment[] }> {
    const admin = new Kafka({ brokers: this.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const [group] = (await admin.describeGroups([this.consumerGroup])).groups;
      return { protocol: group!.protocol, members: group!.members.map(({ memberAssignment }) => AssignerProtocol.MemberAssignment.decode(memberAssignment)!.assignment) };
    } finally {
      await admin.disconnect();
    }
  }

  /** The scorers' consumer group's committed offsets on `topic`, summed over its partitions (none committed: 0). */
  async committedOffsets(topic: string): Promise<number> {
    const admin = new Kafka({ brokers: this.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId: this.consumerGroup, topics: [topic] });
      return offsets!.partitions.reduce((sum, { offset }) => sum + Math.max(0, Number(offset)), 0);
    } finally {
      await admin.disconnect();
    }
  }

  /** How many records `topic` holds now: its partitions' end offsets, summed. */
  async topicEnd(topic: string): Promise<number> {
    const admin = new Kafka({ brokers: this.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
    } finally {
      await admin.disconnect();
    }
  }

  /** Every record an output topic holds now, decoded, tombstones left out. */
  async everyOutput(topic: string): Promise<OutputEvent[]> {
    const count = await this.topicEnd(topic);
    if (count === 0) return [];
    return (await this.outputs(count, [topic], 60_000)).flatMap(({ event }) => (event === null ? [] : [event]));
  }

  /** Reads output records from the beginning until one matches `predicate`, and returns it. */
  async awaitOutput(topics: string[], predicate: (event: OutputEvent) => boolean, timeoutMs = 30_000): Promise<OutputEvent> {
    let found: OutputEvent | undefined;
    await this.consumeUntil(
      topics,
      async (records) => {
        const [latest] = await this.decodeOutputs(records.slice(-1));
        if (latest?.event && predicate(latest.event)) found = latest.event;
        return found !== undefined;
      },
      timeoutMs,
      'matching output',
    );
    return found!;
  }

  private decodeOutputs(records: readonly ConsumedRecord[]): Promise<DecodedOutput[]> {
    return Promise.all(
      records.map(async (record) => {
        if (record.value === null) return { record, event: null };
        const decoded = await this.codec.decodeOutput(record.topic, record.key, record.value);
        if (!decoded.ok) throw new Error(`undecodable output: ${decoded.rejection.message}`);
        return { record, event: decoded.event };
      }),
    );
  }

  /**
   * docs/events.md's promise after any crash: a subscriber that keeps the highest version per customer and per alert
   * (ignoring an equal or lower one) ends with exactly what Redis holds for `customerIds`, read as of `asOf`: each
   * score's version and values, each alert episode's status and severity, and the same set of open alerts.
   */
  async expectSubscriberEndsWithRedis(customerIds: readonly string[], asOf: number): Promise<void> {
    const latestScore = new Map<string, ScoreChangedEvent>();
    const latestAlert = new Map<string, AlertEvent>();
    const versionsOf = (read: readonly CustomerSnapshot[]) => read.map((s) => `${s.score?.version}:${alertEpisodes(s.alertBook).map((e) => `${e.alertId}/${e.status}`).join(',')}`).join(' ');
    // What Redis holds once the scorer has done: a commit the scorer was still making when Redis was first read (a
    // customer released once its partition caught up after a restart) is read again, and its outputs waited for too.
    let snapshots = await this.store.readCustomers(customerIds, asOf);
    for (let reads = 1; ; reads += 1) {
      const caughtUp = () =>
        snapshots.every((s) => (latestScore.get(s.customerId)?.version ?? 0) >= (s.score?.version ?? 0)) &&
        snapshots.every((s) => alertEpisodes(s.alertBook).every((episode) => latestAlert.has(episode.alertId)));
      let read = 0;
      await this.consumeUntil(
        [this.topics.scoreChanged, this.topics.alerts],
        async (records) => {
          for (const { event } of await this.decodeOutputs(records.slice(read))) {
            if (event === null) continue;
            if (event.kind === 'score-changed') {
              if (event.version > (latestScore.get(event.customerId)?.version ?? 0)) latestScore.set(event.customerId, event);
            } else if (event.version > (latestAlert.get(event.alertId)?.version ?? 0)) {
              latestAlert.set(event.alertId, event);
            }
          }
          read = records.length;
          return caughtUp();
        },
        60_000,
        'the outputs for what Redis holds',
      );
      const again = await this.store.readCustomers(customerIds, asOf);
      if (versionsOf(again) === versionsOf(snapshots) || reads === SUBSCRIBER_CHECK_READS) break;
      snapshots = again;
    }

    for (const snapshot of snapshots) {
      const seen = latestScore.get(snapshot.customerId);
      const held = snapshot.score;
      expect({ customer: snapshot.customerId, version: seen?.version, health: seen?.current.health, churnRisk: seen?.current.churnRisk, band: seen?.current.band }).toEqual({
        customer: snapshot.customerId,
        version: held?.version,
        health: held?.health,
        churnRisk: held?.churnRisk,
        band: held?.band,
      });
    }
    const heldEpisodes = snapshots.flatMap((s) => alertEpisodes(s.alertBook));
    for (const episode of heldEpisodes) {
      expect({ alertId: episode.alertId, status: latestAlert.get(episode.alertId)?.status, severity: latestAlert.get(episode.alertId)?.severity }).toEqual({
        alertId: episode.alertId,
        status: episode.status,
        severity: episode.severity,
      });
    }
    const heldOpen = new Set(heldEpisodes.filter((e) => e.status === 'OPEN').map((e) => e.alertId));
    const seenOpen = [...latestAlert.values()].filter((a) => a.status === 'OPEN').map((a) => a.alertId);
    expect(new Set(seenOpen)).toEqual(heldOpen);
  }

  /** The customer's insights hash, as a dashboard reads it (HGETALL). */
  async insightsHash(customerId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.customer(customerId).insights);
  }

  /** The customer's insights as the insights hash decodes. */
  async insights(customerId: string): Promise<CustomerInsights | null> {
    return decodeStoredInsights(customerId, await this.insightsHash(customerId));
  }

  async scoreHash(customerId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.customer(customerId).score);
  }

  /** Each customer's scored revision (the events its stored score reflects), 0 for one not scored yet. */
  revisions(customerIds: readonly string[]): Promise<number[]> {
    return Promise.all(customerIds.map(async (customerId) => Number((await this.scoreHash(customerId)).revision ?? 0)));
  }

  /** Every key of this test bed's namespace (SCAN on every master of a cluster, never KEYS). */
  scanKeys(pattern = `${this.prefix}:*`): Promise<string[]> {
    return scanAll(this.redis, pattern);
  }

  override async tearDown(): Promise<void> {
    await Promise.all(this.scorers.splice(0).map((s) => s.stop()));
    const keys = await this.scanKeys();
    // A cluster refuses one UNLINK of keys in different slots.
    if (this.redis instanceof Cluster) await Promise.all(keys.map((key) => this.redis.unlink(key)));
    else if (keys.length > 0) await this.redis.unlink(...keys);
    this.redis.disconnect();
    await super.tearDown();
  }
}

/**
 * A stream of meetings for each of `customerIds`, one an hour back from `now`: the `from`-th to the
 * (`from` + `count` − 1)-th of each, round by round (every customer's n-th before any customer's next).
 */
export function hourlyMeetings(customerIds: readonly string[], from: number, count: number, now = SAMPLE_NOW): InputEvent[] {
  return Array.from({ length: count }, (_, i) =>
    customerIds.map((customerId) =>
      sampleActivity({ customerId, eventId: `${customerId}-${from + i}`, activityType: 'MEETING', value: null, occurredAt: now - (from + i + 1) * 3_600_000 }),
    ),
  ).flat();
}

/** Records the scorer put in the DLQ, every reason together. */
export async function dlqTotal(scorer: RunningScorer): Promise<number> {
  return (await scorer.metrics.dlq.get()).values.reduce((sum, value) => sum + value.value, 0);
}

/** Customers the scorer applied but did not score, their partition far behind (churnscore_scores_deferred_total). */
export async function scoresDeferredTotal(scorer: RunningScorer): Promise<number> {
  return (await scorer.metrics.scoresDeferred.get()).values.reduce((sum, value) => sum + value.value, 0);
}

/** Polls `probe` until it returns a value that `done` accepts, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
    last = await probe();
  }
  return last;
}

/** What clusterScorer starts: set once its beforeAll has run. */
export interface ClusterScorer {
  cluster: LocalRedisCluster;
  bed: ScorerTestBed;
  scorer: RunningScorer;
  /** The scorer's liveness: turned red when it cannot go on. */
  liveness: Liveness;
}

/**
 * A scorer (clock at SAMPLE_NOW, input topics of 3 partitions) on a Redis Cluster of local redis-server processes of
 * its own, started before the file's tests and stopped after them: the setting of the tests that crash, add or cut off
 * a cluster's nodes under a running scorer.
 */
export function clusterScorer(name: string, masters: number, clusterOptions: Parameters<typeof startRedisCluster>[1] = {}): ClusterScorer {
  const started = { liveness: new Liveness() } as ClusterScorer;
  beforeAll(async () => {
    started.cluster = await startRedisCluster(masters, clusterOptions);
    started.bed = new ScorerTestBed(name, started.cluster.url, { cluster: true });
    await started.bed.setUp(3);
    started.scorer = await started.bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now, liveness: started.liveness });
  }, 120_000);
  afterAll(async () => {
    await started.bed?.tearDown();
    await started.cluster?.stop();
  }, 60_000);
  return started;
}
