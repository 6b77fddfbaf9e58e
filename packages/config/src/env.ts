import { accessSync, constants } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { DEFAULT_SCORING_CONFIG_PATH } from '@churnscore/scoring';
import { z } from 'zod';
import { DEFAULT_TOPICS, TOPIC_ENV_VARS, type TopicNames, type TopicRole } from './topics';

export const KAFKA_SASL_MECHANISMS = ['scram-sha-256', 'scram-sha-512', 'plain'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];


export interface AppConfig {
  kafka: {
    brokers: string[];
    clientId: string;
    consumerGroup: string;
    sasl: { mechanism: KafkaSaslMechanism; username: string; password: string } | null;
    ssl: boolean;
    /** Extra CA bundle for the brokers' certificates; null trusts the system CAs. */
    sslCaFile: string | null;
    /** A consumer silent for this long is dropped from its group and its partitions go to the others. */
    sessionTimeoutMs: number;
    /** How often a consumer tells its group it is alive (at most a third of the session timeout). */
    heartbeatIntervalMs: number;
    /** A fetched batch decompressing to more than this many times its compressed size is not read (dead-lettered). */
    maxDecompressionRatio: number;
  };
  schemaRegistry: {
    /** Base URL of the Confluent-compatible API (for Apicurio it ends in /apis/ccompat/v7). */
    url: string;
    basicAuth: { username: string; password: string } | null;
  };
  redis: {
    /** redis:// or rediss:// (TLS); an ACL user and password go in the URL's userinfo. */
    url: string;
    cluster: boolean;
    /** More cluster nodes (`host:port`) to discover the cluster from besides the URL's: REDIS_CLUSTER_SEEDS. */
    seeds: string[];
    tlsCaFile: string | null;
    /** Versioned namespace of every key; replaying into a fresh namespace means choosing another prefix. */
    keyPrefix: string;
  };
  topics: TopicNames;
  /** ISO 4217 code; money in any other currency is rejected to the DLQ. */
  reportingCurrency: string;
  /** An event whose occurredAt is further ahead of the service clock than this is rejected. */
  maxFutureSkewMs: number;
  retentionDays: number;
  /** How long an eventId is remembered for de-duplication. */
  dedupeWindowDays: number;
  /** Tickets, opportunities and contracts one customer may hold; an event adding one past it goes to the DLQ. */
  maxEntities: number;
  scoringConfigPath: string;
  /** Scorer's metrics and health server. */
  httpPort: number;
  /** The address the scorer's metrics and health server listens on; loopback unless told otherwise. */
  httpHost: string;
  /** Read API and dashboard. */
  apiPort: number;
  /** The address the read API listens on; loopback unless told otherwise. */
  apiHost: string;
  /** Bearer token the read API requires; null serves no customer data unless `apiAllowAnonymous`. */
  apiToken: string | null;
  /** Serve customer data without a token (API_ALLOW_ANONYMOUS=true): an explicit choice, never a default. */
  apiAllowAnonymous: boolean;
  logLevel: LogLevel;
  scorer: ScorerSettings;
}

/** Operational knobs of the scorer service; the defaults suit a small deployment. */
export interface ScorerSettings {
  /** Messages per unit of work merging several partitions' chunks: one Redis pipeline, one produce and one heartbeat each. */
  chunkSize: number;
  /** A partition's fetched batch is one chunk, and a unit of its own, up to this many messages; at least `chunkSize`. */
  maxChunkSize: number;
  /** Partitions handled at the same time by one instance. */
  concurrentPartitions: number;
  /** The most bytes one fetch brings of one partition: what bounds a backlog's batches, and so how often it is scored. */
  fetchBytesPerPartition: number;
  /** How often offsets whose effects are durable get committed. */
  commitIntervalMs: number;
  /** Time after which Redis has certainly fsynced a write (appendfsync everysec: ~2 s at worst). */
  fsyncGraceMs: number;
  /** How often the due-sets are polled: the bound on the delay of time-driven re-scoring. */
  rescorePollIntervalMs: number;
  /** Customers claimed per time-driven round. */
  rescoreClaimLimit: number;
  /** Time-driven claims worked on at once by one instance. */
  rescoreConcurrentClaims: number;
  /** A claim not completed within this (its instance died) becomes due again. */
  rescoreLeaseMs: number;
  /**
   * Events all older than this are history with more to follow, and so is a customer known from no activity,
   * only its profile, contracts and deals, none dated within this: its alerts are held (docs/time-and-alerts.md
   * "Loading history without alert storms").
   */
  catchUpHistoryAgeMs: number;
  /** How long alerts of such history stay held for its activity to follow; the shortest recheck of a held customer. */
  catchUpSettleMs: number;
  /**
   * While a customer's input partition is far behind, its events are applied but it is scored once the partition
   * catches up, or this long after, whichever comes first; 0 scores it after every unit of work.
   */
  catchUpScoreDelayMs: number;
  /** A unit of work or a time-driven claim running longer than this while Redis and the brokers answer is stuck: the process exits. */
  stallLimitMs: number;
  /** The machine's clock may differ from Redis's by this much at most: further, the scorer refuses to start, or stops. */
  maxClockSkewMs: number;
}

/** Names every bad setting and why, so one failed start shows everything to fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

const SECRET_SETTINGS = new Set(['KAFKA_SASL_PASSWORD', 'SCHEMA_REGISTRY_PASSWORD', 'API_TOKEN']);

const expected = (what: string) => `expected ${what}`;

/** Orchestrators often render an unset variable as "", so an empty optional setting counts as unset. */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

const withDefault = <T extends z.ZodType>(schema: T, fallback: z.output<T>) =>
  z.preprocess(unsetIfEmpty, schema.optional()).transform((value) => value ?? fallback);

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess(unsetIfEmpty, schema.optional()).transform((value) => value ?? null);

const API_TOKEN_CHARACTERS = /^[\x21-\x7e]{16,}$/;
/** The fewest different characters an API_TOKEN may have: a random token of 16 has a dozen or more. */
const API_TOKEN_MIN_DISTINCT = 8;
const matching = (pattern: RegExp, what: string) => z.string({ error: expected(what) }).regex(pattern, expected(what));
const listenHost = matching(/^[A-Za-z0-9.:%_-]{1,253}$/, 'a host name or IP address to listen on (0.0.0.0 or :: for all)');

const integer = (min: number, max: number) => {
  const what = expected(`an integer from ${min} to ${max}`);
  return z
    .string({ error: what })
    .regex(/^\d+$/, what)
    .transform(Number)
    .refine((n) => n >= min && n <= max, what);
};

// Kafka spells mechanisms in capitals (sasl.mechanism=SCRAM-SHA-512); kafkajs takes them in lower case.
const saslMechanism = () => {
  const what = expected('SCRAM-SHA-256 | SCRAM-SHA-512 | PLAIN (any case)');
  return z
    .string({ error: what })
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(KAFKA_SASL_MECHANISMS, { error: what }));
};

const boolean = () => {
  const what = expected('true or false (1 / 0 and yes / no, in any case, are read as them)');
  return z
    .string({ error: what })
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: what }))
    .transform((s) => s === 'true' || s === '1' || s === 'yes');
};

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: expected(values.join(' | ')) });

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^\s,:[\]]+):\d{1,5}$/;
/** Kafka brokers, or a Redis Cluster's seed nodes. */
const hostPortList = () => {
  const what = expected('host:port[,host:port…]');
  return z
    .string({ error: what })
    .transform((s) => s.split(',').map((node) => node.trim()))
    .refine((nodes) => nodes.every((node) => HOST_PORT.test(node)), what);
};

const url = (protocols: readonly string[]) => {
  const what = expected(`a ${protocols.map((p) => `${p}//`).join(' or ')} URL`);
  return z.string({ error: what }).refine((s) => URL.canParse(s) && protocols.includes(new URL(s).protocol), what);
};

// ioredis reads the database number from the URL path; anything else there would be silently ignored.
const redisUrl = () => {
  const what = expected('a redis:// or rediss:// URL, optionally ending in /<database number>');
  return url(['redis:', 'rediss:']).refine((s) => /^\/?(\d+)?$/.test(new URL(s).pathname), what);
};

const readableFile = () => {
  const what = expected('a readable file');
  return z.string({ error: what }).refine((path) => {
    try {
      accessSync(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }, what);
};

const KAFKA_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const TOPIC_ROLES = Object.keys(TOPIC_ENV_VARS) as TopicRole[];
const topicName = (role: TopicRole) =>
  withDefault(matching(KAFKA_NAME, 'a Kafka topic name ([A-Za-z0-9._-], at most 249)'), DEFAULT_TOPICS[role]);
const topicSettings = Object.fromEntries(TOPIC_ROLES.map((role) => [TOPIC_ENV_VARS[role], topicName(role)])) as Record<
  (typeof TOPIC_ENV_VARS)[TopicRole],
  ReturnType<typeof topicName>
>;

const settings = z.object({
  KAFKA_BROKERS: hostPortList(),
  KAFKA_CLIENT_ID: withDefault(matching(/^\S{1,255}$/, 'a client id without spaces'), 'churnscore'),
  KAFKA_SASL_MECHANISM: optional(saslMechanism()),
  KAFKA_SASL_USERNAME: optional(z.string()),
  KAFKA_SASL_PASSWORD: optional(z.string()),
  KAFKA_SSL: withDefault(boolean(), false),
  KAFKA_SSL_CA_FILE: optional(readableFile()),
  // Avro events compress two- to threefold in a batch (gzip, zstd; lz4 less): 64 leaves twentyfold room, while a
  // broker's fetch answer of kafkajs's 10 MiB cannot decompress to more than 640 MiB (docs/events.md, "Compression").
  KAFKA_MAX_DECOMPRESSION_RATIO: withDefault(integer(16, 100_000), 64),
  // Within the brokers' default group.min/max.session.timeout.ms. 10 s (kafkajs: 30 s) lets the group take
  // over a killed scorer's partitions within seconds, and still leaves room for two lost heartbeats.
  KAFKA_SESSION_TIMEOUT_MS: withDefault(integer(6_000, 1_800_000), 10_000),
  KAFKA_HEARTBEAT_INTERVAL_MS: optional(integer(100, 600_000)),
  CONSUMER_GROUP: withDefault(matching(KAFKA_NAME, 'a consumer group id ([A-Za-z0-9._-])'), 'churnscore-scorer'),
  SCHEMA_REGISTRY_URL: url(['http:', 'https:']),
  SCHEMA_REGISTRY_USERNAME: optional(z.string()),
  SCHEMA_REGISTRY_PASSWORD: optional(z.string()),
  REDIS_URL: redisUrl(),
  REDIS_CLUSTER: withDefault(boolean(), false),
  REDIS_CLUSTER_SEEDS: withDefault(hostPortList(), []),
  REDIS_TLS_CA_FILE: optional(readableFile()),
  // Braces are reserved: the state package adds the {customerId} hash tags itself. The default is the state
  // package's DEFAULT_PREFIX, the key contract's version (env.test.ts holds the two equal).
  REDIS_KEY_PREFIX: withDefault(matching(/^[A-Za-z0-9:._-]{1,64}$/, 'at most 64 of [A-Za-z0-9:._-]'), 'chs:v7'),
  ...topicSettings,
  REPORTING_CURRENCY: withDefault(matching(/^[A-Z]{3}$/, 'an ISO 4217 currency code such as USD'), 'USD'),
  MAX_FUTURE_SKEW_MS: withDefault(integer(0, 7 * 86_400_000), 3_600_000),
  // The longest rolling window is 365 days, so a shorter retention would empty it.
  RETENTION_DAYS: withDefault(integer(365, 3650), 400),
  DEDUPE_WINDOW_DAYS: withDefault(integer(1, 3650), 7),
  // The state package's DEFAULT_MAX_ENTITIES (env.test.ts holds the two equal).
  MAX_ENTITIES_PER_CUSTOMER: withDefault(integer(10, 10_000_000), 10_000),
  SCORING_CONFIG_PATH: withDefault(z.string(), DEFAULT_SCORING_CONFIG_PATH),
  HTTP_PORT: withDefault(integer(0, 65_535), 9464),
  API_PORT: withDefault(integer(0, 65_535), 8080),
  // Loopback unless told otherwise: nothing is served to the network without a deliberate setting.
  HTTP_HOST: withDefault(listenHost, '127.0.0.1'),
  API_HOST: withDefault(listenHost, '127.0.0.1'),
  API_ALLOW_ANONYMOUS: withDefault(boolean(), false),
  // Visible ASCII only: `Authorization: Bearer <token>` could never carry whitespace, and browsers refuse a header value
  // outside Latin-1 while HTTP clients send one as bytes the API does not compare alike, so no request would be served.
  API_TOKEN: optional(
    matching(API_TOKEN_CHARACTERS, 'at least 16 characters, each a visible ASCII character (no whitespace, no accented letters)')
      // Sixteen of one character met the rule above (an outside tester): a token is a secret, not a length. Judged only
      // of a token the rule above takes, so that each bad token gets one message.
      .refine(
        (token) => !API_TOKEN_CHARACTERS.test(token) || new Set(token).size >= API_TOKEN_MIN_DISTINCT,
        expected(`a token of at least ${API_TOKEN_MIN_DISTINCT} different characters (a random one: openssl rand -hex 24)`),
      ),
  ),
  LOG_LEVEL: withDefault(oneOf(LOG_LEVELS), 'info'),
  SCORER_CHUNK_SIZE: withDefault(integer(1, 10_000), 5_000),
  // A fetched batch is one chunk (~2 s of work at most): 20,000 CRM events are 3–6 MB, more than one fetch brings.
  SCORER_MAX_CHUNK_SIZE: withDefault(integer(1, 50_000), 20_000),
  // kafkajs's default, 1 MiB, cut a backlog into batches of ~5,000 events, each customer of a partition scored once per
  // batch: 4 MiB scores it a third less often (docs/performance.md, "Larger fetches").
  SCORER_FETCH_BYTES_PER_PARTITION: withDefault(integer(65_536, 64 * 1_048_576), 4 * 1_048_576),
  SCORER_CONCURRENT_PARTITIONS: withDefault(integer(1, 64), 24),
  SCORER_COMMIT_INTERVAL_MS: withDefault(integer(50, 60_000), 1_000),
  REDIS_FSYNC_GRACE_MS: withDefault(integer(0, 60_000), 2_500),
  // SPEC §7 bounds the delay of time-driven re-scoring at one hour by default: a slower poll would break it.
  RESCORE_POLL_INTERVAL_MS: withDefault(integer(50, 3_600_000), 30_000),
  RESCORE_CLAIM_LIMIT: withDefault(integer(1, 10_000), 500),
  // Two: one claim is scored while the other waits for Redis and the broker (docs/performance.md, "Two claims at once").
  RESCORE_CONCURRENT_CLAIMS: withDefault(integer(1, 16), 2),
  // A claim is seconds of work: a minute outlasts it many times over, and a claimer that died (a crash at a day boundary,
  // a hold's release) leaves its customers, their held alerts too, for a minute rather than five (an outside tester's
  // SIGKILL at a release, 2026-12-06). A live claimer slower than that loses nothing: a later claimer re-scores the
  // customer again, commits are compared-and-set, and each moves the due entry only from its own lease.
  RESCORE_LEASE_MS: withDefault(integer(1_000, 86_400_000), 60_000),
  // At least a minute: a CRM that syncs in batches delivers its live events late, and those must not wait.
  CATCH_UP_HISTORY_AGE_MS: withDefault(integer(60_000, 31_536_000_000), 86_400_000),
  CATCH_UP_SETTLE_MS: withDefault(integer(1_000, 86_400_000), 60_000),
  // Kafka Streams forwards a key's latest result from its record cache once per commit interval, 30 s by default.
  CATCH_UP_SCORE_DELAY_MS: withDefault(integer(0, 3_600_000), 30_000),
  // A unit or a claim is seconds of work: five minutes of it with every dependency answering is a bug, not a load.
  SCORER_STALL_LIMIT_MS: withDefault(integer(1_000, 86_400_000), 300_000),
  // Synchronised clocks agree within milliseconds; the instances' clocks decide windows, due times, leases and the outputs'
  // timestamps, which the brokers refuse an hour ahead (message.timestamp.after.max.ms).
  MAX_CLOCK_SKEW_MS: withDefault(integer(1_000, 3_600_000), 30_000),
});

type Settings = z.output<typeof settings>;

/** Every environment setting the services read (packages/config/README.md documents each). */
export const SETTING_NAMES = Object.keys(settings.shape) as ReadonlyArray<keyof Settings>;

/** What a setting is when unset: its default, null for an optional one without, undefined for a required one. */
export function settingDefault(name: keyof Settings): unknown {
  const parsed = settings.shape[name].safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
}

/** Rules that span settings; checked on the raw values so they are reported alongside field errors. */
function crossSettingProblems(env: Env): Array<[setting: string, problem: string]> {
  const valueOf = (name: string) => (env[name] === '' ? undefined : env[name]);
  const isSet = (name: string) => valueOf(name) !== undefined;
  const isTrue = (name: string) => /^(true|1|yes)$/i.test(env[name] ?? '');
  const problems: Array<[string, string]> = [];
  const requirePair = (trigger: string, dependents: string[], reason: string) => {
    for (const name of dependents) if (isSet(trigger) && !isSet(name)) problems.push([name, `required ${reason}`]);
  };
  requirePair('KAFKA_SASL_MECHANISM', ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'], 'when KAFKA_SASL_MECHANISM is set');
  for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']) {
    if (isSet(name) && !isSet('KAFKA_SASL_MECHANISM')) problems.push([name, 'set, but KAFKA_SASL_MECHANISM is not']);
  }
  requirePair('SCHEMA_REGISTRY_USERNAME', ['SCHEMA_REGISTRY_PASSWORD'], 'with SCHEMA_REGISTRY_USERNAME');
  requirePair('SCHEMA_REGISTRY_PASSWORD', ['SCHEMA_REGISTRY_USERNAME'], 'with SCHEMA_REGISTRY_PASSWORD');
  // Compared only once both are valid on their own (an invalid one is reported by itself).
  const sessionTimeout = settings.shape.KAFKA_SESSION_TIMEOUT_MS.safeParse(env.KAFKA_SESSION_TIMEOUT_MS);
  const heartbeatInterval = settings.shape.KAFKA_HEARTBEAT_INTERVAL_MS.safeParse(env.KAFKA_HEARTBEAT_INTERVAL_MS);
  if (sessionTimeout.success && heartbeatInterval.data && heartbeatInterval.data * 3 > sessionTimeout.data) {
    problems.push(['KAFKA_HEARTBEAT_INTERVAL_MS', `must be at most a third of KAFKA_SESSION_TIMEOUT_MS (${sessionTimeout.data})`]);
  }
  const chunkSize = settings.shape.SCORER_CHUNK_SIZE.safeParse(env.SCORER_CHUNK_SIZE);
  const maxChunkSize = settings.shape.SCORER_MAX_CHUNK_SIZE.safeParse(env.SCORER_MAX_CHUNK_SIZE);
  if (chunkSize.success && maxChunkSize.success && maxChunkSize.data < chunkSize.data) {
    problems.push(['SCORER_MAX_CHUNK_SIZE', `must be at least SCORER_CHUNK_SIZE (${chunkSize.data})`]);
  }
  if (isTrue('API_ALLOW_ANONYMOUS') && isSet('API_TOKEN')) {
    problems.push(['API_ALLOW_ANONYMOUS', 'set to true, but API_TOKEN is set too: unset one of them']);
  }
  if (isSet('KAFKA_SSL_CA_FILE') && !isTrue('KAFKA_SSL')) {
    problems.push(['KAFKA_SSL_CA_FILE', 'set, but KAFKA_SSL is not true']);
  }
  if (isSet('REDIS_TLS_CA_FILE') && !env.REDIS_URL?.startsWith('rediss://')) {
    problems.push(['REDIS_TLS_CA_FILE', 'set, but REDIS_URL is not a rediss:// (TLS) URL']);
  }
  if (isSet('REDIS_CLUSTER_SEEDS') && !isTrue('REDIS_CLUSTER')) {
    problems.push(['REDIS_CLUSTER_SEEDS', 'set, but REDIS_CLUSTER is not true']);
  }
  if (isTrue('REDIS_CLUSTER') && /^\/?[1-9]\d*$/.test(urlPath(env.REDIS_URL))) {
    problems.push(['REDIS_URL', 'selects a database other than 0, which Redis Cluster does not support']);
  }
  const topicOwners = new Map<string, string>();
  for (const role of TOPIC_ROLES) {
    const name = TOPIC_ENV_VARS[role];
    const topic = valueOf(name) ?? DEFAULT_TOPICS[role];
    const owner = topicOwners.get(topic);
    if (owner === undefined) topicOwners.set(topic, name);
    // The setting given is the one to blame: an outside tester's TOPIC_ACTIVITY=crm.contract.v1 was reported as
    // TOPIC_CONTRACT "naming the same topic", got nothing (not set).
    else if (!isSet(name)) problems.push([owner, `names ${topic}, the topic of ${name} (its default)`]);
    else problems.push([name, `names the same topic as ${owner} (${topic})`]);
  }
  return problems;
}

const urlPath = (value: string | undefined) => (value && URL.canParse(value) ? new URL(value).pathname : '');

/** Quotes a value for an error message without revealing secrets (passwords, tokens, URL credentials). */
function describeValue(setting: string, value: string | undefined): string {
  if (value === undefined) return 'nothing (not set)';
  if (SECRET_SETTINGS.has(setting)) return `a value of ${value.length} characters (redacted)`;
  let shown = value;
  if (URL.canParse(value)) {
    const parsed = new URL(value);
    if (parsed.password) {
      parsed.password = '***';
      shown = parsed.toString();
    }
  }
  return JSON.stringify(shown.length > 200 ? `${shown.slice(0, 200)}…` : shown);
}

/** kafkajs' 3 s, or a third of a shorter session timeout: two heartbeats may be lost without losing the session. */
const defaultHeartbeatIntervalMs = (sessionTimeoutMs: number) => Math.min(3_000, Math.floor(sessionTimeoutMs / 3));

function toAppConfig(s: Settings, env: Env): AppConfig {
  const sasl =
    s.KAFKA_SASL_MECHANISM && s.KAFKA_SASL_USERNAME !== null && s.KAFKA_SASL_PASSWORD !== null
      ? { mechanism: s.KAFKA_SASL_MECHANISM, username: s.KAFKA_SASL_USERNAME, password: s.KAFKA_SASL_PASSWORD }
      : null;
  const basicAuth =
    s.SCHEMA_REGISTRY_USERNAME !== null && s.SCHEMA_REGISTRY_PASSWORD !== null
      ? { username: s.SCHEMA_REGISTRY_USERNAME, password: s.SCHEMA_REGISTRY_PASSWORD }
      : null;
  const topics = Object.fromEntries(TOPIC_ROLES.map((role) => [role, s[TOPIC_ENV_VARS[role]]])) as unknown as TopicNames;
  return {
    kafka: {
      brokers: s.KAFKA_BROKERS,
      clientId: s.KAFKA_CLIENT_ID,
      consumerGroup: s.CONSUMER_GROUP,
      sasl,
      ssl: s.KAFKA_SSL,
      sslCaFile: s.KAFKA_SSL_CA_FILE,
      sessionTimeoutMs: s.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: s.KAFKA_HEARTBEAT_INTERVAL_MS ?? defaultHeartbeatIntervalMs(s.KAFKA_SESSION_TIMEOUT_MS),
      maxDecompressionRatio: s.KAFKA_MAX_DECOMPRESSION_RATIO,
    },
    schemaRegistry: { url: s.SCHEMA_REGISTRY_URL, basicAuth },
    redis: { url: s.REDIS_URL, cluster: s.REDIS_CLUSTER, seeds: s.REDIS_CLUSTER_SEEDS, tlsCaFile: s.REDIS_TLS_CA_FILE, keyPrefix: s.REDIS_KEY_PREFIX },
    topics,
    reportingCurrency: s.REPORTING_CURRENCY,
    maxFutureSkewMs: s.MAX_FUTURE_SKEW_MS,
    retentionDays: s.RETENTION_DAYS,
    dedupeWindowDays: s.DEDUPE_WINDOW_DAYS,
    maxEntities: s.MAX_ENTITIES_PER_CUSTOMER,
    scoringConfigPath: pathFromShell(s.SCORING_CONFIG_PATH, env),
    httpPort: s.HTTP_PORT,
    httpHost: s.HTTP_HOST,
    apiPort: s.API_PORT,
    apiHost: s.API_HOST,
    apiToken: s.API_TOKEN,
    apiAllowAnonymous: s.API_ALLOW_ANONYMOUS,
    logLevel: s.LOG_LEVEL,
    scorer: {
      chunkSize: s.SCORER_CHUNK_SIZE,
      maxChunkSize: s.SCORER_MAX_CHUNK_SIZE,
      concurrentPartitions: s.SCORER_CONCURRENT_PARTITIONS,
      fetchBytesPerPartition: s.SCORER_FETCH_BYTES_PER_PARTITION,
      commitIntervalMs: s.SCORER_COMMIT_INTERVAL_MS,
      fsyncGraceMs: s.REDIS_FSYNC_GRACE_MS,
      rescorePollIntervalMs: s.RESCORE_POLL_INTERVAL_MS,
      rescoreClaimLimit: s.RESCORE_CLAIM_LIMIT,
      rescoreConcurrentClaims: s.RESCORE_CONCURRENT_CLAIMS,
      rescoreLeaseMs: s.RESCORE_LEASE_MS,
      catchUpHistoryAgeMs: s.CATCH_UP_HISTORY_AGE_MS,
      catchUpSettleMs: s.CATCH_UP_SETTLE_MS,
      catchUpScoreDelayMs: s.CATCH_UP_SCORE_DELAY_MS,
      stallLimitMs: s.SCORER_STALL_LIMIT_MS,
      maxClockSkewMs: s.MAX_CLOCK_SKEW_MS,
    },
  };
}

/**
 * Reads and validates the environment once, at start. Secrets come only from here.
 * @throws ConfigError naming every bad setting, the expectation and the (redacted) value found.
 */
/** What decides how events are applied to a customer's state: the state store's options, and the pure fold's. */
export type StateSettings = Pick<AppConfig, 'retentionDays' | 'dedupeWindowDays' | 'maxEntities'>;
export const stateSettings = ({ retentionDays, dedupeWindowDays, maxEntities }: AppConfig): StateSettings => ({ retentionDays, dedupeWindowDays, maxEntities });

/**
 * A path given on the command line or in a setting, made absolute from the directory the command was typed in: npm runs a
 * script from the package root and passes that directory as INIT_CWD, so `cd exports && npm run ingest -- --file x.csv`
 * reads exports/x.csv, not x.csv at the repository root (and `SCORING_CONFIG_PATH=../x.json` typed in a subdirectory
 * names the file `--base-config ../x.json` would: an outside tester found the two read apart). Absolute, it also tells in
 * every message which file was meant. Joined rather than resolved: a trailing slash (`--report reports/`, a directory)
 * stays to be refused.
 */
export function pathFromShell(path: string, env: Env = process.env): string {
  return isAbsolute(path) ? path : join(env.INIT_CWD ?? process.cwd(), path);
}

export function loadConfig(env: Env = process.env): AppConfig {
  const parsed = settings.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map(({ path, message }) => [String(path[0]), message] as [string, string]);
  problems.push(...crossSettingProblems(env));
  if (!parsed.success || problems.length > 0) {
    throw new ConfigError(problems.map(([name, problem]) => `${name}: ${problem}, got ${describeValue(name, env[name])}`));
  }
  return toAppConfig(parsed.data, env);
}
