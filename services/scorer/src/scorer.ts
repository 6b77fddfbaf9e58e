import {
  ConfigError,
  kafkaClientOptions,
  registryClientConfig,
  stateSettings,
  type AppConfig,
  type TopicNames,
} from '@churnscore/config';
import { randomUUID } from 'node:crypto';
import { createEventCodec, eventCodecOptions, EventEncodeError, SchemaRegistryAccessRefusedError, watchSchemaIds, type EventCodec } from '@churnscore/events';
import {
  AtLeastOnceConsumer,
  BrokerContact,
  committedOffsets,
  connectAdmin,
  coPartitionedAssigners,
  connectIdempotentProducer,
  createKafkaClient,
  groupPartitionOffsets,
  partitionKey,
  partitionOffsets,
  RecordBatchLimit,
  recordDigest,
  recordsAt,
  requireTopics,
  TOPICS_CHECK_INTERVAL_MS,
  watchRequiredTopics,
} from '@churnscore/kafka';
import {
  answerWithin,
  CONNECTION_ERROR_LOG_INTERVAL_MS,
  connectionErrorLogger,
  createLogger,
  DependencyWatch,
  Liveness,
  NO_ANSWER,
  oneCallAtATime,
  rateLimitedLog,
  readinessReport,
  StallWatch,
  startOpsServer,
  type Logger,
} from '@churnscore/observability';
import { scoringConfigIdentity, type ScoringConfig } from '@churnscore/scoring';
import {
  claimNamespace,
  requireBusyWindowCommandsAllowed,
  DEFAULT_PREFIX,
  KEY_CONTRACT_VERSION,
  namespaceContract,
  coverEveryMaster,
  createRedis,
  createStateStore,
  namespaceState,
  readInputsHeldOnEveryMaster,
  readHistoryLoading,
  readPartitionsBehind,
  recordHistoryLoading,
  recordPartitionsBehind,
  redisDataFull,
  RedisFullError,
  requireMaster,
  requireNoEviction,
  requireRedisLogin,
  clockAheadOfRedisMs,
  ClockSkewError,
  redisServesEveryKey,
  anotherModelServes,
  modelRolloutMark,
  type InputOffset,
  type RedisClient,
} from '@churnscore/state';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { RedisDurabilityGate } from './durability';
import { HistoryLoad } from './history-load';
import { catchUpPolicy, InputBacklog, type BrokerOffsets } from './input-backlog';
import { createScorerMetrics, type ScorerMetrics } from './metrics';
import { redisReplaced, ScoringPipeline } from './pipeline';
import { InputOffsetsGuard, InputOffsetsWentBackError, inputsHandledTo } from './input-offsets-guard';
import { modelServedForMs, TimeDrivenRescorer } from './time-driven';
import { lastingRefusal } from './lasting-refusal';

/**
 * Replicas confirm a master's writes once a second, so offsets normally wait a second or two for them: a wait this
 * long means a replica lags or is cut off from its master, and is logged (at most every 30 s while it lasts).
 */
const REPLICATION_WAIT_WARNING_MS = 10_000;
/** How often Redis and the registry are asked whether they answer, for the log (DependencyWatch). */
const DEPENDENCY_LOOK_INTERVAL_MS = 5_000;
/** How often a running scorer compares its machine's clock with Redis's (MAX_CLOCK_SKEW_MS): a clock stepped while it runs. */
const CLOCK_CHECK_INTERVAL_MS = 10_000;
/**
 * How long units of work may fail in a row, none done, before readiness says the work is not getting done: longer than
 * a Redis Cluster failover's usual pause (a master's node timeout, 15 s by default), shorter than anyone would wait.
 */
const UNITS_FAILING_NOT_READY_MS = 30_000;

/**
 * A Redis Cluster slot being moved refuses a script whose keys are split between its two masters (TRYAGAIN), and the
 * client gives up after following its redirections: a move that never ends (a reshard that failed or was interrupted
 * leaves its slot open) stops every unit that holds one of its customers. The slot, when the error names it.
 */
function slotMidMove(error: unknown): { slot: number | null } | null {
  const message = error instanceof Error ? error.message : String(error);
  if (!/TRYAGAIN|Too many Cluster redirections/.test(message)) return null;
  const slot = /(?:MOVED|ASK) (\d+)/.exec(message)?.[1];
  return { slot: slot === undefined ? null : Number(slot) };
}

export interface ScorerOptions {
  config: AppConfig;
  scoring: ScoringConfig;
  /** The service clock; injected by tests and backfills. */
  clock?: () => number;
  /**
   * The machine's clock as compared with Redis's (MAX_CLOCK_SKEW_MS): Date.now when the service clock is, no comparison
   * when another service clock is injected (a test's or an evaluation's, whose instants are not the machine's).
   */
  wallClock?: () => number;
  logger?: Logger;
  /** Port of the health/metrics server; 0 picks a free one. Defaults to config.httpPort. */
  httpPort?: number;
  /** Turned red when the scorer cannot go on (see `Liveness`); a fresh one by default. */
  liveness?: Liveness;
}

export interface RunningScorer {
  metrics: ScorerMetrics;
  /** The bound port of the health/readiness/metrics server. */
  httpPort: number;
  timeDriven: TimeDrivenRescorer;
  /** Finishes the batch in flight, commits what is durable, and disconnects everything. */
  stop(): Promise<void>;
}

/**
 * Whether the group's committed offsets stand past the earliest retained record of some input partition: consuming
 * from them would leave out the records before them (offsets reset to the earliest stand exactly there).
 */
async function offsetsPastEarliest(admin: Admin, groupId: string, inputTopics: readonly string[]): Promise<boolean> {
  for (const { topic, partitions } of await committedOffsets(admin, groupId, inputTopics)) {
    const retained = await partitionOffsets(admin, topic);
    if (partitions.some(({ partition, offset }) => Number(offset) > (retained.get(partition)?.low ?? 0))) return true;
  }
  return false;
}

/**
 * A namespace without the claim of a scorer (a new key contract version, a new or emptied Redis) must be built from
 * the input topics' start: with a consumer group whose committed offsets stand past it, every customer would be
 * scored without the history before them. A namespace holding customers but no claim was written after its data
 * set was lost: re-consuming into it would take their earlier events for redeliveries (their offset watermarks
 * are past them), so it must be cleared first (docs/operations.md, "Replaying into a fresh namespace").
 * @throws ConfigError naming REDIS_KEY_PREFIX and CONSUMER_GROUP and the ways to rebuild.
 */
/** How to build a namespace from the input topics' start. */
const rebuildAdvice = (groupId: string): string =>
  'Rebuild it from the topics: set a new CONSUMER_GROUP (a new group reads them from the start), or reset this group\'s offsets ' +
  `to the earliest (kafka-consumer-groups.sh --group ${groupId} --reset-offsets --to-earliest --all-topics --execute)`;

/** How to replace a namespace whose customers' offset watermarks would skip events, and build it again. */
const freshNamespaceAdvice = (prefix: string, groupId: string): string =>
  `Delete its keys (SCAN MATCH ${prefix}:* and UNLINK) or set a new REDIS_KEY_PREFIX. ${rebuildAdvice(groupId)}`;

async function requireHistoryBehindCommittedOffsets(admin: Admin, redis: RedisClient, config: AppConfig, inputTopics: readonly string[]): Promise<void> {
  const prefix = config.redis.keyPrefix;
  const groupId = config.kafka.consumerGroup;
  const state = await namespaceState(redis, prefix);
  if (state === 'unclaimed') {
    throw new ConfigError([
      `REDIS_KEY_PREFIX: the Redis namespace "${prefix}" holds customers scored after its data set was lost (an epoch key of its claim is missing): ` +
        `replaying into it would skip their earlier events as redeliveries. ${freshNamespaceAdvice(prefix, groupId)}`,
    ]);
  }
  const contract = state === 'claimed' ? await namespaceContract(redis, prefix) : KEY_CONTRACT_VERSION;
  if (contract !== KEY_CONTRACT_VERSION) {
    throw new ConfigError([
      `REDIS_KEY_PREFIX: the Redis namespace "${prefix}" holds state of key contract ${contract ?? 'chs:v5 or earlier'}, which this release ` +
        `(${KEY_CONTRACT_VERSION}) would misread and mix with its own (docs/redis-contract.md, "Prefix and versioning"). Replay the topics into a ` +
        `new prefix (docs/operations.md, "Upgrading to a new contract version"): leave REDIS_KEY_PREFIX unset for ${DEFAULT_PREFIX}, with a new CONSUMER_GROUP.`,
    ]);
  }
  if (state === 'empty' && (await offsetsPastEarliest(admin, groupId, inputTopics))) {
    throw new ConfigError([
      `REDIS_KEY_PREFIX / CONSUMER_GROUP: the Redis namespace "${prefix}" holds no state, but consumer group "${groupId}" ` +
        'has committed offsets past the start of the input topics: scoring from there would leave out every event before them. ' +
        rebuildAdvice(groupId),
    ]);
  }
}

/**
 * No input partition may end before the offset this namespace consumed it to (InputOffsetsGuard, loaded here), nor,
 * where its consumer group holds no offset of it, hold another record than the one the namespace consumed last
 * (recordsUnlikeConsumed). One whose retention deleted records the namespace never consumed (the scorers were stopped
 * for longer than it keeps them) is said loudly and counted (`churnscore_events_total{outcome="deleted_unread"}`): they
 * cannot be applied, and kafkajs would move past them without a word (as it does while the scorer runs: onPassedUnread).
 * @throws ConfigError naming each partition that ends too early or holds another log, and how to rebuild.
 */
async function checkInputOffsets(
  { kafka, admin, redis, config, logger }: { kafka: Kafka; admin: Admin; redis: RedisClient; config: AppConfig; logger: Logger },
  inputTopics: readonly string[],
  guard: InputOffsetsGuard,
  reportDeletedUnread: (topic: string, partition: number, from: number, to: number) => void,
): Promise<void> {
  // The group's offsets before the namespace's record: scorers running meanwhile (a rolling restart) record before they
  // commit, so what is read this way is never a group ahead of the namespace that is not.
  const groupOffsets = (await committedOffsets(admin, config.kafka.consumerGroup, inputTopics)).flatMap(({ topic, partitions }) =>
    partitions.map(({ partition, offset, metadata }) => ({ topic, partition, offset, metadata })),
  );
  const committed = new Map(groupOffsets.map(({ topic, partition, offset }) => [partitionKey(topic, partition), offset]));
  const committedHere = new Set(
    groupOffsets.filter(({ metadata }) => metadata === committedByNamespace(config.redis.keyPrefix)).map(({ topic, partition }) => partitionKey(topic, partition)),
  );
  const recorded = new Map((await guard.load(redis, config.redis.keyPrefix)).map((input) => [partitionKey(input.topic, input.partition), input]));
  const problems: string[] = [];
  const toVerify: ConsumedPartition[] = [];
  for (const topic of inputTopics) {
    for (const [partition, { low, high }] of await partitionOffsets(admin, topic)) {
      try {
        guard.check(topic, partition, high);
      } catch (error) {
        if (!(error instanceof InputOffsetsWentBackError)) throw error;
        problems.push(`REDIS_KEY_PREFIX: ${error.message}`);
        continue;
      }
      const consumed = guard.consumedTo(topic, partition);
      if (consumed !== undefined && low > consumed) reportDeletedUnread(topic, partition, consumed, low);
      const groupOffset = committed.get(partitionKey(topic, partition));
      // Ahead by this namespace's own commits, the group is not another's: Redis lost writes whose offsets were committed
      // (it and the scorers down together, a slow disk), and the consumer re-reads the partition from where Redis holds it.
      const groupAhead = committedHere.has(partitionKey(topic, partition))
        ? null
        : groupAheadOfNamespace(config.kafka.consumerGroup, topic, partition, groupOffset, consumed, low);
      if (groupAhead !== null) problems.push(`REDIS_KEY_PREFIX / CONSUMER_GROUP: ${groupAhead}`);
      // Kafka deletes a group's offsets with the topic: a partition the group holds none of, but the namespace consumed,
      // is read from its start, and its records below the namespace's watermarks are taken for redeliveries. They are,
      // if this is the log the namespace consumed (the group's offsets expired, or a new group): its last record says.
      const lastRecord = recorded.get(partitionKey(topic, partition))?.lastRecord;
      if (consumed !== undefined && lastRecord !== undefined && (groupOffset === undefined || groupOffset === '-1') && low <= Number(lastRecord.offset)) {
        toVerify.push({ topic, partition, consumedTo: consumed, lastRecord });
      }
    }
  }
  const anotherNamespace = groupOfAnotherNamespace(
    config.kafka.consumerGroup,
    config.redis.keyPrefix,
    new Map(groupOffsets.filter(({ offset }) => offset !== '-1').map(({ topic, partition, metadata }) => [`${topic}/${partition}`, metadata || null])),
  );
  if (anotherNamespace !== null) problems.push(`REDIS_KEY_PREFIX / CONSUMER_GROUP: ${anotherNamespace}`);
  problems.push(...(await recordsUnlikeConsumed(kafka, admin, config, toVerify, logger)).map((problem) => `REDIS_KEY_PREFIX: ${problem}`));
  if (problems.length > 0) throw new ConfigError(problems);
}

/**
 * Why a partition's records would be skipped because the consumer group read further than the namespace (its scorers
 * started on another namespace's group, or on the group of a replay not caught up), or null. The namespace's own
 * scorers record how far they consumed before they commit it, so their group is never ahead of it; records the
 * partition no longer holds (below `low`) are reported as deleted unread, not here.
 */
function groupAheadOfNamespace(groupId: string, topic: string, partition: number, groupOffset: string | undefined, consumedTo: number | undefined, low: number): string | null {
  if (groupOffset === undefined || groupOffset === '-1') return null;
  const namespaceAt = Math.max(consumedTo ?? low, low);
  if (Number(groupOffset) <= namespaceAt) return null;
  return (
    `consumer group "${groupId}" has committed input partition ${topic}/${partition} to offset ${groupOffset}, but this namespace ` +
    `consumed it only to ${namespaceAt}: records ${namespaceAt}–${Number(groupOffset) - 1} were never applied here and would be skipped. ` +
    `Start the namespace's scorers with the group that consumed it, or set this group's offset back to the namespace's ` +
    `(kafka-consumer-groups.sh --group ${groupId} --reset-offsets --to-offset ${namespaceAt} --topic ${topic}:${partition} --execute, every ` +
    'instance of the group stopped); records re-consumed that the namespace holds are taken for redeliveries. To skip them on purpose, ' +
    'docs/operations.md ("A namespace started on a consumer group that read further") says how'
  );
}

/**
 * What the scorers of a namespace say beside every offset they commit (Kafka's commit metadata): a consumer group's
 * offsets then tell which namespace they belong to. A group shared by two namespaces loses each one the records the
 * other's scorers take (an outside tester's scorer of another namespace, let into a running group, took 733 events from it).
 */
const NAMESPACE_MARK = 'churnscore namespace ';
const committedByNamespace = (prefix: string): string => `${NAMESPACE_MARK}${prefix}`;

/**
 * Why the group's offsets belong to another namespace, or null: those its scorers committed with another namespace's
 * mark (committedByNamespace), by that namespace. Offsets reset by an operator's tool, or committed before 2026-12-07,
 * carry none.
 */
function groupOfAnotherNamespace(groupId: string, prefix: string, marks: ReadonlyMap<string, string | null>): string | null {
  const others = new Map<string, string[]>();
  for (const [partition, mark] of marks) {
    if (mark === null || !mark.startsWith(NAMESPACE_MARK) || mark === committedByNamespace(prefix)) continue;
    others.set(mark, [...(others.get(mark) ?? []), partition]);
  }
  if (others.size === 0) return null;
  const named = [...others].map(([mark, partitions]) => `"${mark.slice(NAMESPACE_MARK.length)}" (${partitions.join(', ')})`).join(', ');
  return (
    `consumer group "${groupId}" holds offsets committed by the scorers of namespace ${named}, not of "${prefix}": a group belongs to one ` +
    'namespace, and two on one group each miss the records the other takes. Set CONSUMER_GROUP to this namespace\'s own group, or ' +
    'reset every offset of this group (every instance of it stopped), which forgets whose they were'
  );
}

/** How long the start waits to read back the last consumed records of partitions its group holds no offsets of. */
const LAST_RECORD_CHECK_TIMEOUT_MS = 30_000;

/** A partition the namespace consumed: up to which offset, and the last record it consumed. */
interface ConsumedPartition {
  topic: string;
  partition: number;
  consumedTo: number;
  lastRecord: NonNullable<InputOffset['lastRecord']>;
}

/**
 * Reads the record at each partition's last consumed offset and says, for each that is another record than the one
 * the namespace consumed there, that the topic was created again. One not read in time, or none there (a topic
 * compacted since, which keeps the records it keeps byte for byte), or a read that fails, is logged and let be: the
 * check cannot tell.
 */
async function recordsUnlikeConsumed(kafka: Kafka, admin: Admin, config: AppConfig, consumed: readonly ConsumedPartition[], logger: Logger): Promise<string[]> {
  const places = consumed.map(({ topic, partition, lastRecord }) => ({ topic, partition, offset: lastRecord.offset }));
  const groupId = `${config.kafka.consumerGroup}.last-record-check.${randomUUID()}`;
  let found: Map<string, KafkaMessage | null>;
  try {
    found = await recordsAt({ kafka, admin, groupId }, places, LAST_RECORD_CHECK_TIMEOUT_MS);
  } catch (error) {
    // A check that cannot run (the SASL user may not use that group, say) must not stop a start it cannot judge.
    logger.warn({ err: error, groupId }, 'the last records this namespace consumed could not be read back: not checked');
    return [];
  }
  return consumed.flatMap(({ topic, partition, consumedTo, lastRecord }) => {
    const record = found.get(partitionKey(topic, partition));
    if (record === undefined || record === null) {
      const why = record === undefined ? 'could not be read back in time' : 'is not there any more (compacted?)';
      logger.warn({ topic, partition, offset: lastRecord.offset }, `the last record this namespace consumed ${why}: not checked`);
      return [];
    }
    if (recordDigest(record.key, record.value) === lastRecord.digest) return [];
    return [
      `input partition ${topic}/${partition} holds another record at offset ${lastRecord.offset} than the one ` +
        `this namespace consumed there, and its consumer group no offset: the topic was deleted and created again. Its records below offset ${consumedTo} ` +
        `would be taken for redeliveries of the ones the customers' state already holds, and dropped. ${freshNamespaceAdvice(config.redis.keyPrefix, config.kafka.consumerGroup)}`,
    ];
  });
}

/** The brokers' answers the input backlog needs, through the scorer's admin client. */
const brokerOffsets = (admin: Admin, groupId: string): BrokerOffsets => ({
  async partitionCounts(topics) {
    const { topics: found } = await admin.fetchTopicMetadata({ topics: [...topics] });
    return new Map(found.map(({ name, partitions }) => [name, partitions.length]));
  },
  async highWatermarks(topic) {
    return new Map([...(await partitionOffsets(admin, topic))].map(([partition, { high }]) => [partition, high]));
  },
  async groupPositions(topics) {
    const offsets = await groupPartitionOffsets(admin, groupId, topics);
    return new Map(
      offsets.map(({ topic, partition, committed, low, high }) => [partitionKey(topic, partition), { position: Math.max(committed ?? low, low), end: high }]),
    );
  },
});

/** How long the scorer waits at start for the schema registry's answer about its output schemas. */
const REGISTRY_START_CHECK_TIMEOUT_MS = 3_000;

/**
 * The output topics' schemas, asked at start as the first publication would ask: none registered (the registry's data
 * lost, the schemas never registered), another output's schema under a subject (the topic settings swapped) or
 * credentials the registry refuses stop the start (exit 78) instead of the
 * first publication. A registry that fails or does not answer in time is an outage, waited out where the scorer meets
 * it (decoding, publishing), not a bad setting.
 * @throws EventEncodeError naming each subject with no usable schema; SchemaRegistryAccessRefusedError.
 */
async function checkOutputSchemas(codec: EventCodec, logger: Logger): Promise<void> {
  try {
    // A late answer is dropped: the first publication meets it again.
    if ((await answerWithin(codec.requireOutputSchemas(), REGISTRY_START_CHECK_TIMEOUT_MS)) === NO_ANSWER) {
      logger.warn('the schema registry did not answer at start: its output schemas are checked at the first publication');
    }
  } catch (error) {
    if (error instanceof EventEncodeError || error instanceof SchemaRegistryAccessRefusedError) throw error;
    logger.warn({ err: error }, 'the schema registry could not be asked at start: its output schemas are checked at the first publication');
  }
}

const inputTopicsOf = ({ activity, opportunity, contract, customer }: TopicNames): string[] => [activity, opportunity, contract, customer];

/** The composition root: configuration in, a running scorer out. */
export async function startScorer(options: ScorerOptions): Promise<RunningScorer> {
  const { config, scoring } = options;
  /** What this instance rolls out and re-scores for time with: the config's version and contents. */
  const model = scoringConfigIdentity(scoring);
  const clock = options.clock ?? Date.now;
  const settings = config.scorer;
  const logger = options.logger ?? createLogger({ name: 'scorer', level: config.logLevel });
  const metrics = createScorerMetrics();
  const liveness = options.liveness ?? new Liveness();
  /** Input records deleted before any scorer read them (at start: consumed to `from`, the log now starting at `to`; or while running). */
  const reportDeletedUnread = (topic: string, partition: number, from: number, to: number): void => {
    logger.error({ topic, partition, from, to }, "input records deleted (by the topic's retention or a deletion of records) before the scorer read them: they cannot be applied");
    metrics.events.inc({ topic, outcome: 'deleted_unread' }, to - from);
  };
  const redis = createRedis({ ...config.redis, connectionName: 'churnscore-scorer', onError: connectionErrorLogger(logger, 'redis') });
  // A refusal that every retry would meet again (a dependency refusing the scorer's user, Redis full or evicting): stop,
  // saying which setting.
  const slotMoveLog = rateLimitedLog(
    logger,
    'warn',
    'a Redis Cluster slot is being moved between masters, and scripts on its customers are refused (TRYAGAIN) or redirected without end until the ' +
      'move ends: units of work fail and are retried. A reshard that failed or was interrupted leaves its slot so until ' +
      '`redis-cli --cluster fix` ends the move',
    CONNECTION_ERROR_LOG_INTERVAL_MS,
  );
  const stopIfRefused = (error: unknown) => {
    const midMove = slotMidMove(error);
    if (midMove !== null) slotMoveLog(midMove);
    const refusal = lastingRefusal(error);
    if (refusal === undefined) return;
    if (!(refusal instanceof RedisFullError)) return liveness.fail(refusal.message, refusal);
    // Replies waiting in Redis's output buffers count against maxmemory too: only data that fills it is lasting.
    redisDataFull(redis).then(
      (full) => {
        if (full) liveness.fail(refusal.message, refusal);
      },
      () => undefined,
    );
  };

  const kafka = createKafkaClient(kafkaClientOptions(config), logger);
  const codec = createEventCodec(eventCodecOptions(config, registryClientConfig(config)));
  const consumer = kafka.consumer({
    groupId: config.kafka.consumerGroup,
    allowAutoTopicCreation: false,
    sessionTimeout: config.kafka.sessionTimeoutMs,
    heartbeatInterval: config.kafka.heartbeatIntervalMs,
    maxBytesPerPartition: settings.fetchBytesPerPartition,
    // One instance reads every record of a customer: the input topics' same partition number, as a Kafka Streams task.
    partitionAssigners: coPartitionedAssigners,
    // Partitions added to an input topic are consumed once the consumer's metadata shows them: within the topics'
    // check interval rather than kafkajs's (and Kafka's) five minutes, while producers already write to them.
    metadataMaxAge: TOPICS_CHECK_INTERVAL_MS,
  });
  // Readiness: a broker that went away leaves the consumer in its group, waiting, for as long as the outage lasts.
  const brokerContact = new BrokerContact(consumer, config.kafka.sessionTimeoutMs);
  const redisAnswers = { name: 'redis', check: oneCallAtATime(() => redisServesEveryKey(redis)) };
  /** How long the consumer's units of work have failed in a row (none before it runs). */
  let unitsFailingFor = (): number => 0;
  // The registry as the decoding and publishing last found it (asked again while that was a failure): one that is down
  // while every schema in use is known stops nothing, one that fails them holds the scorer, retrying.
  const registryAnswers = { name: 'registry', check: () => codec.registryAnswers() };
  // Kafka's outages are in kafkajs's own log lines; a Redis or a registry that hangs would leave none.
  const dependencyWatch = new DependencyWatch({ checks: [redisAnswers, registryAnswers], logger, intervalMs: DEPENDENCY_LOOK_INTERVAL_MS });
  dependencyWatch.start();
  // Served from the first moment, so that a probe is answered while the start waits for a dependency (no broker
  // answering: two and a half minutes of retries): not ready (the consumer is in no group yet), and why.
  const ops = await startOpsServer({
    port: options.httpPort ?? config.httpPort,
    host: config.httpHost,
    metrics: metrics.registry,
    liveness,
    readiness: [
      redisAnswers,
      { name: 'kafka', check: () => brokerContact.inTouch },
      registryAnswers,
      // Dependencies that answer their checks may still refuse the work (adv54 F1: a slot left half moved; the group's
      // lag stood for minutes behind a ready scorer).
      { name: 'work', check: () => unitsFailingFor() < UNITS_FAILING_NOT_READY_MS },
    ],
  });
  /** A start that fails leaves nothing open behind it (startScorer also runs inside the tests' processes). */
  const abandonStart = async (error: unknown, admin?: Admin): Promise<never> => {
    dependencyWatch.stop();
    codec.close();
    redis.disconnect();
    await admin?.disconnect();
    await ops.close();
    throw error;
  };
  const admin = await connectAdmin(kafka).catch((error: unknown) => abandonStart(error));
  const wallClock = options.wallClock ?? (options.clock === undefined ? Date.now : undefined);
  /** @throws ClockSkewError when the machine's clock and Redis's disagree by more than MAX_CLOCK_SKEW_MS. */
  const requireClockAgreement = async (): Promise<void> => {
    if (wallClock === undefined) return;
    const aheadMs = await clockAheadOfRedisMs(redis, wallClock);
    if (Math.abs(aheadMs) > settings.maxClockSkewMs) throw new ClockSkewError(aheadMs, settings.maxClockSkewMs);
  };
  try {
    if (await requireRedisLogin(redis)) await requireClockAgreement();
    else logger.warn('Redis did not answer at start: waiting for it (readiness reports it)');
    await requireTopics(admin, config.topics);
    await checkOutputSchemas(codec, logger);
  } catch (error) {
    await abandonStart(error, admin);
  }
  const store = createStateStore(redis, { prefix: config.redis.keyPrefix, ...stateSettings(config) });
  const producer = await connectIdempotentProducer(kafka);
  const inputTopics = inputTopicsOf(config.topics);
  const backlog = new InputBacklog({
    topics: inputTopics,
    farBehind: settings.chunkSize,
    brokers: brokerOffsets(admin, config.kafka.consumerGroup),
    shared: {
      record: (partitions) => recordPartitionsBehind(redis, partitions, config.redis.keyPrefix),
      read: () => readPartitionsBehind(redis, config.redis.keyPrefix),
    },
    logger,
    onLagLearnt: (lags) => {
      for (const { topic, partition, lag } of lags) metrics.consumerLag.set({ topic, partition: String(partition) }, lag);
    },
  });
  const inputOffsets = new InputOffsetsGuard(freshNamespaceAdvice(config.redis.keyPrefix, config.kafka.consumerGroup));
  let stopping = false;
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // The lag of the partitions this instance now holds, from the brokers and then from each fetch: no series is left of
    // one another instance took (its last value would stand for good in any sum over instances).
    metrics.consumerLag.reset();
    backlog.assigned(payload.memberAssignment);
    // The time-driven re-scoring waits for it (claiming no one meanwhile), and polls as soon as it is known, not a poll
    // interval later. Joins come once the loops run, after timeDriven below exists.
    void backlog.learnAssignment(payload.memberAssignment).then(() => timeDriven.pollNow());
    // Partitions may have been added: a customer's records then go elsewhere.
    backlog.refreshPartitionCounts().catch((error: unknown) => logger.warn({ err: error }, 'could not read the partition counts of the input topics'));
  });
  const topicsWatch = watchRequiredTopics(admin, config.topics, (missing) =>
    liveness.fail(`a topic the scorer reads or writes no longer exists: ${missing.problems.join('; ')}`, missing),
  );
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (stopping) return;
    stopIfRefused(payload.error);
    // kafkajs restarts the consumer after a retriable error; after any other it has left the group for good.
    if (payload.restart) {
      logger.warn({ err: payload.error }, 'consumer crashed; kafkajs restarts it');
      // An input topic deleted under the consumer crashes every restart the same way ("does not host this topic-partition").
      void topicsWatch.checkNow();
    } else liveness.fail('the Kafka consumer stopped and will not restart', payload.error);
  });
  await consumer.connect();

  // DLQ copies and output sends are kept within what the output topics accept, so no send can fail for its size.
  const batchLimit = await RecordBatchLimit.read(admin, [config.topics.dlq, config.topics.scoreChanged, config.topics.alerts]);
  await backlog.refreshPartitionCounts();
  const catchUp = catchUpPolicy(settings);
  const historyLoad = new HistoryLoad({
    catchUp,
    logger,
    shared: {
      record: (until) => recordHistoryLoading(redis, until, settings.catchUpSettleMs, config.redis.keyPrefix),
      read: () => readHistoryLoading(redis, config.redis.keyPrefix),
    },
    onChange: (loading) => {
      metrics.historyLoading.set(loading ? 1 : 0);
      if (loading) return;
      pipeline.loadStopped(clock()).catch((error: unknown) => {
        logger.warn({ err: error }, 'the customers held during the load of history could not be made due: they are released at their recheck');
      });
    },
  });
  const pipeline = new ScoringPipeline({
    store,
    codec,
    producer,
    topics: config.topics,
    scoring,
    clock,
    metrics,
    logger,
    batchLimit,
    backlog,
    catchUp,
    historyLoad,
    catchUpScoreDelayMs: settings.catchUpScoreDelayMs,
    // Called only once the loops run, after timeDriven below exists.
    onReleased: () => timeDriven.pollNow(),
    scoringLeftToModelInService: async () => anotherModelServes(model, await store.modelInService(clock())),
  });
  const replicationWaitLog = rateLimitedLog(
    logger,
    'warn',
    'offsets stay uncommitted until every Redis replica that could take over confirms the writes: a replica lags its master or is cut off from it',
    CONNECTION_ERROR_LOG_INTERVAL_MS,
  );
  const gate = new RedisDurabilityGate({
    readIdentity: () => store.identity(),
    readReplication: () => store.replication(),
    fsyncGraceMs: settings.fsyncGraceMs,
    // Before the consumer's first fetch, once Redis answers (a Redis still starting is waited for, not judged empty).
    claimStore: async () => {
      await requireMaster(redis);
      await requireNoEviction(redis);
      await requireHistoryBehindCommittedOffsets(admin, redis, config, inputTopics);
      await checkInputOffsets({ kafka, admin, redis, config, logger }, inputTopics, inputOffsets, reportDeletedUnread);
      await claimNamespace(redis, config.redis.keyPrefix);
      await requireBusyWindowCommandsAllowed(redis, config.redis.keyPrefix);
      // A new model reaches every stored score through the time-driven re-scoring, not only the customers whose
      // events or due times come next (docs/scoring.md §15, "Putting a model into service").
      const inService = (await store.modelInService(clock())).rolledOut;
      if (inService !== null && inService.startsWith(`${scoring.version}#`) && inService !== modelRolloutMark(model)) {
        logger.warn(
          { modelVersion: scoring.version },
          'the scoring config was rolled out before with other contents under the same version: every customer is re-scored with this one, but its outputs and the ones before carry the same version; give every change its own version',
        );
      }
      // Said served at once, before its first customer is due: instances of the model before would claim the roll-out.
      const rolledOut = await store.scheduleModelRollout(model, clock(), modelServedForMs(settings.rescorePollIntervalMs));
      if (rolledOut !== null) {
        logger.info({ modelVersion: scoring.version, customers: rolledOut }, 'a new scoring model or index rules: every scored customer is due now, to be scored, ranked and indexed by them');
      }
    },
    onDataSetLost: (reason) => liveness.fail(reason),
    // Every COVER_INTERVAL_MS: a policy changed while the scorer runs, or a master added with another, is seen there.
    coverStore: async () => {
      await requireNoEviction(redis);
      const covered = await coverEveryMaster(redis, config.redis.keyPrefix);
      if (covered > 0) logger.info({ masters: covered }, 'Redis Cluster masters without an epoch key got one, so that their losing their data set is seen');
      return covered;
    },
    onReplicationWait: (waitingMs) => {
      metrics.replicationWait.set(waitingMs / 1000);
      if (waitingMs >= REPLICATION_WAIT_WARNING_MS) replicationWaitLog({ waitingSeconds: Math.round(waitingMs / 1000) });
    },
  });
  const loop = new AtLeastOnceConsumer({
    consumer,
    admin,
    groupId: config.kafka.consumerGroup,
    topics: inputTopics,
    chunkSize: settings.chunkSize,
    maxChunkSize: settings.maxChunkSize,
    concurrentPartitions: settings.concurrentPartitions,
    // Where each partition is handled to is recorded with the unit's own writes, which the durability gate covers before
    // any offset is committed: so the record never falls behind the group's offsets, a failover included.
    handleChunks: async (chunks, fence) => {
      await pipeline.handleChunks(chunks, fence);
      const handled = inputsHandledTo(chunks);
      if ((await store.recordInputsHandled(handled, fence)) === 'fenced') {
        throw redisReplaced();
      }
      for (const { topic, partition, offset } of handled) inputOffsets.handledTo(topic, partition, Number(offset));
    },
    gate,
    commitIntervalMs: settings.commitIntervalMs,
    // What Redis holds after it lost writes: more than the gate's grace allows for (an outside tester cut 5 s of its
    // append-only file, and 2,340 events whose offsets were committed were never applied) is re-consumed from there,
    // at a rewind and at every assignment (Redis and the scorers down together: another tester's start was refused);
    // on a cluster, from where the master that lost the most holds it (another tester cut a master's file that did not
    // hold the namespace's record: 18 events lost).
    storeHandledTo: async () =>
      new Map(
        (await readInputsHeldOnEveryMaster(redis, config.redis.keyPrefix)).map(({ topic, partition, offset }) => [partitionKey(topic, partition), BigInt(offset)]),
      ),
    commitMetadata: committedByNamespace(config.redis.keyPrefix),
    heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
    logger,
    onFetch: (fetched) => {
      try {
        inputOffsets.check(fetched.topic, fetched.partition, Number(fetched.highWatermark));
      } catch (error) {
        // Before any record of the batch is handled: the batch fails, and the process exits.
        if (error instanceof InputOffsetsWentBackError) liveness.fail(error.message, error);
        throw error;
      }
      backlog.fetched(fetched);
    },
    // kafkajs moved past records it did not hand out: those below the partition's start were deleted unread (the gap
    // may also be a compacted topic's, which deleted nothing the scorer needed).
    onPassedUnread: ({ topic, partition, from, to }) => {
      partitionOffsets(admin, topic).then(
        (offsets) => {
          const deletedTo = Math.min(Number(to), offsets.get(partition)?.low ?? 0);
          if (deletedTo > Number(from)) reportDeletedUnread(topic, partition, Number(from), deletedTo);
        },
        (error: unknown) => logger.warn({ err: error, topic, partition, from, to }, 'records passed unread: could not read where the partition starts, to count those deleted'),
      );
    },
    onBatch: ({ topic, durationMs }) => metrics.batchDuration.observe({ topic }, durationMs / 1000),
    onLag: ({ topic, partition, lag }) => metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
    onRewind: () => {
      metrics.rewinds.inc();
      backlog.rewound();
    },
    onFailure: stopIfRefused,
  });
  const timeDriven = new TimeDrivenRescorer(
    store,
    pipeline,
    () => gate.fence(),
    clock,
    {
      pollIntervalMs: settings.rescorePollIntervalMs,
      claimLimit: settings.rescoreClaimLimit,
      concurrentClaims: settings.rescoreConcurrentClaims,
      leaseMs: settings.rescoreLeaseMs,
      model,
    },
    metrics,
    logger,
    stopIfRefused,
    {
      get assignmentKnown() {
        return backlog.assignmentKnown;
      },
      learnOthers: async () => {
        await Promise.all([backlog.learnOthers(), historyLoad.learnOthers()]);
        // Each poll, so that the end of a load is seen when no evaluation asks (HistoryLoad.onChange).
        historyLoad.loading(clock());
      },
    },
  );

  unitsFailingFor = () => loop.unitsFailingFor();
  const stallWatch = new StallWatch({
    work: [
      { name: 'a unit of work', inFlight: loop.unitsInFlight },
      { name: 'a claim of the time-driven re-scoring', inFlight: timeDriven.claimsInFlight },
    ],
    limitMs: settings.stallLimitMs,
    // Asked as readiness asks, each within its timeout, but the brokers through the admin client: a consumer stuck in
    // a unit fetches nothing, and its own contact with the brokers lapses.
    dependenciesAnswer: async () => (await readinessReport([redisAnswers, { name: 'kafka', check: () => admin.listTopics().then(() => true) }])).ready,
    onStalled: (reason) => liveness.fail(reason),
  });
  await loop.start();
  // A clock stepped while the scorer runs (an NTP correction, a suspended machine resumed): it cannot go on (a clock
  // stepped back also stops kafkajs's heartbeats for as long as the step, which its group takes for a dead member).
  // One comparison at a time, as readiness asks: a Redis that hangs would otherwise queue a TIME every 10 s.
  const clockAgreement = oneCallAtATime(requireClockAgreement);
  const clockWatch = setInterval(() => {
    clockAgreement().catch((error: unknown) => {
      if (error instanceof ClockSkewError) liveness.fail(error.message);
    });
  }, CLOCK_CHECK_INTERVAL_MS);
  clockWatch.unref();
  const stopSchemaIdWatch = watchSchemaIds(codec, logger, (schemaIds) => metrics.schemaIdsChanged.inc(schemaIds.length));
  timeDriven.start();
  topicsWatch.start();
  stallWatch.start();
  logger.info({ httpPort: ops.port, group: config.kafka.consumerGroup, modelVersion: scoring.version }, 'scorer started');

  return {
    metrics,
    httpPort: ops.port,
    timeDriven,
    async stop() {
      stopping = true;
      clearInterval(clockWatch);
      stopSchemaIdWatch();
      topicsWatch.stop();
      stallWatch.stop();
      dependencyWatch.stop();
      await timeDriven.stop();
      await loop.stop();
      await Promise.all([producer.disconnect(), admin.disconnect()]);
      codec.close();
      await redis.quit();
      await ops.close();
      logger.info('scorer stopped');
    },
  };
}
