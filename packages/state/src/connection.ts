// Connecting to Redis (single server or Cluster) so that an outage pauses the service instead of crashing
// it, and the identity check the scorer uses before committing Kafka offsets (SPEC §8).
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Cluster, Redis, ReplyError } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { DEFAULT_PREFIX, EVERY_CUSTOMER_RANKING, KEY_CONTRACT_VERSION, keySchema, type KeySchema } from './keys';

export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  /** redis:// or rediss:// (TLS); ACL user and password in the userinfo; for a cluster, any one node. */
  url: string;
  cluster?: boolean;
  /**
   * More nodes of a cluster, `host:port`, the client may discover it from besides the URL's (REDIS_CLUSTER_SEEDS): with
   * the URL's node alone, a service (re)started while that one node is down cannot reach a cluster that serves every slot.
   */
  seeds?: readonly string[];
  /** PEM file of the CA that signed the server certificate (rediss:// only). */
  tlsCaFile?: string | null;
  /** Shown by CLIENT LIST, to tell the services' connections apart. */
  connectionName?: string;
  /**
   * Told of every connection error (refused, reset, login rejected…) while the client keeps reconnecting.
   * Without it ioredis prints each one to stderr itself, as plain text with a stack trace.
   */
  onError?: (error: Error) => void;
  /** Default REPLY_SILENCE_LIMIT_MS. */
  replySilenceLimitMs?: number;
}

/**
 * How long a connection may leave the commands sent on it unanswered before it is taken for dead and replaced. A
 * connection that a network fault or a load balancer losing its state dropped silently answers nothing, ever, while a
 * new one to the same server is answered at once: without this limit an outside tester's API stayed unready for a
 * quarter of an hour after Redis answered again, its liveness green. Far above any reply a healthy Redis keeps the
 * services waiting for (their scripts take milliseconds; a fork for a snapshot of a large dataset, a second or two).
 * The commands in flight are sent again on the new connection, as after any reconnection.
 */
const REPLY_SILENCE_LIMIT_MS = 20_000;

const RECONNECT_BASE_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/** Exponential backoff that never gives up: during an outage commands wait in the offline queue. */
const reconnectDelay = (attempt: number): number => Math.min(RECONNECT_BASE_MS * 2 ** Math.min(attempt, 16), RECONNECT_MAX_MS);

const DEFAULT_REDIS_PORT = 6379;

/** Where to connect and as whom, from the URL (and the CA file of a rediss:// one). */
export interface RedisEndpoint {
  /** The server, or a cluster's seed node; an IPv6 address without its brackets. */
  host: string;
  port: number;
  /** The database number (the URL's path); a cluster has only database 0. */
  db: number;
  login: Pick<RedisOptions, 'username' | 'password' | 'tls'>;
}

export function redisEndpoint({ url, tlsCaFile }: Pick<RedisConnectOptions, 'url' | 'tlsCaFile'>): RedisEndpoint {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port: parsed.port ? Number(parsed.port) : DEFAULT_REDIS_PORT,
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
    login: {
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      ...(parsed.protocol === 'rediss:'
        ? {
            tls: {
              // A certificate names a host, not an address: no SNI name for an IP.
              ...(isIP(host) ? {} : { servername: host }),
              ...(tlsCaFile ? { ca: [readFileSync(tlsCaFile, 'utf8')] } : {}),
            },
          }
        : {}),
    },
  };
}

/**
 * How a command waits while a cluster master fails over to its replica. Until the cluster notices (its
 * `cluster-node-timeout`, 15 s by default) and the replica is elected, the master's slots answer CLUSTERDOWN or not
 * at all; ioredis retries such a command after a delay, counting each try against `maxRedirections`. With its
 * defaults (16 tries 100 ms apart) every command failed after 1.6 s, so a failover failed the scorer's units one
 * after another until kafkajs gave up on its consumer and restarted it, a rebalance for the whole group. A try
 * every 500 ms, 120 of them, waits out a failover of up to a minute, as a single Redis's outage is waited out.
 * Redirections to a slot's new owner (MOVED, ASK) are followed at once and count the same: 120 is far more than
 * any resharding needs.
 */
const CLUSTER_FAILOVER_WAIT = { retryDelayOnClusterDown: 500, retryDelayOnFailover: 500, retryDelayOnTryAgain: 500, maxRedirections: 120 } as const;

/**
 * How often a cluster client asks for the slot map (`CLUSTER SLOTS`) besides when a reply redirects it. Without it, a
 * master that went away and came back (or a replica that took over while nothing was sent to its slots) stays out of
 * the client's connections until a command meets a redirection: redisServesEveryKey, which finds the map's masters
 * among them, said not served for as long as nothing was sent there (the API's readiness, for good).
 */
const CLUSTER_SLOTS_REFRESH = { slotsRefreshInterval: 5_000 } as const;

/**
 * A single server that answers READONLY has become a replica (a failover demoted it) while the connection to it stayed
 * open: the host of REDIS_URL (a managed service's primary endpoint) now names the new master, which only a new
 * connection reaches. Reconnect, without sending the refused command again (its caller retries the work, and the
 * durability gate sees the new server's identity first). ioredis's documented use of reconnectOnError.
 */
const reconnectToTheMaster = (error: Error): 1 | false => (error.message.startsWith('READONLY') ? 1 : false);

/** A `host:port` seed (an IPv6 address in brackets, as in KAFKA_BROKERS) as ioredis's startup node. */
function seedNode(seed: string): { host: string; port: number } {
  const at = seed.lastIndexOf(':');
  return { host: seed.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(seed.slice(at + 1)) };
}

export function createRedis(options: RedisConnectOptions): RedisClient {
  const { host, port, db, login } = redisEndpoint(options);
  const connection: RedisOptions = {
    ...login,
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    retryStrategy: reconnectDelay,
    // Wait out an outage rather than failing each command after a few reconnection attempts.
    maxRetriesPerRequest: null,
    socketTimeout: options.replySilenceLimitMs ?? REPLY_SILENCE_LIMIT_MS,
  };
  // No auto-pipelining: each command goes to the socket as it is issued, so Redis runs a batch's first scripts while
  // the scorer still encodes the rest, and each reply is handled as it arrives. Commands issued together are
  // pipelined either way (none waits for the reply of another). ioredis's auto-pipelining holds a batch until the
  // next turn of the event loop, sends it whole, runs one such pipeline per node at a time and hands out its
  // replies only when the last has arrived: the scorer and Redis then took turns, each idle while the other
  // worked (docs/performance.md, "Commands sent as issued").
  const client = options.cluster
    ? new Cluster([{ host, port }, ...(options.seeds ?? []).map(seedNode)], { redisOptions: connection, clusterRetryStrategy: reconnectDelay, ...CLUSTER_FAILOVER_WAIT, ...CLUSTER_SLOTS_REFRESH })
    : new Redis({ ...connection, host, port, db, reconnectOnError: reconnectToTheMaster });
  if (client instanceof Cluster) client.on('+node', resendCommandsLostBeforeReady);
  else resendCommandsLostBeforeReady(client);
  const { onError } = options;
  if (onError) {
    client.on('error', onError);
    // A cluster reports its nodes' errors separately from its own.
    if (client instanceof Cluster) client.on('node error', onError);
  }
  return client;
}

/** The commands ioredis has written on its connection and awaits the replies of, and how it sends one. */
interface CommandQueueOwner {
  commandQueue: { shift(): { command: unknown } | undefined };
  sendCommand(command: unknown): unknown;
}

/**
 * ioredis (5.11) writes the commands Redis answers while it loads (INFO, PING, TIME, CLIENT …) on a connection that is
 * not ready yet. When that connection closes before it is (a Redis that hangs past socketTimeout), the next one starts
 * with an empty queue of commands awaiting replies (its connect handler, resetCommandQueue), and those commands are
 * neither answered nor refused: an outside tester's scorer, started while Redis hung for 40 s, waited for ever on its
 * start's INFO replication, alive and consuming nothing (adv53 F6). They are sent again once the next connection opens,
 * as ioredis sends again the commands of a connection that had been ready (and they are all of the kind Redis answers
 * while loading: reads and connection settings, harmless to repeat), so that they wait out the outage as every other
 * command does (maxRetriesPerRequest: null).
 */
function resendCommandsLostBeforeReady(client: Redis): void {
  let readySinceConnect = false;
  /** The queue of a connection that closed before it was ready (ioredis emits its events a tick late: the next connection has its own by then). */
  let lost: CommandQueueOwner['commandQueue'] | null = null;
  client.on('ready', () => {
    readySinceConnect = true;
  });
  client.on('close', () => {
    if (!readySinceConnect) lost = (client as unknown as CommandQueueOwner).commandQueue;
  });
  client.on('connect', () => {
    readySinceConnect = false;
    if (lost === null) return;
    const owner = client as unknown as CommandQueueOwner;
    for (let item = lost.shift(); item !== undefined; item = lost.shift()) owner.sendCommand(item.command);
    lost = null;
  });
}

/** Redis refused the credentials of the connection: waiting will not fix that, the configuration must change. */
export class RedisLoginRefusedError extends Error {
  override readonly name = 'RedisLoginRefusedError';

  constructor(readonly reply: string) {
    super(`REDIS_URL: Redis refused the login (${reply}); check the ACL user and password in the URL and the user's permissions`);
  }
}

/** Redis's error codes for a user it does not know, a wrong password, or a command or key the user may not use. */
const USER_REFUSED = String.raw`^(WRONGPASS|NOAUTH|NOPERM)\b`;

/** Replies that mean the credentials or the ACL user are wrong. Redis never repeats the password in them. */
const LOGIN_REFUSED = new RegExp(String.raw`${USER_REFUSED}|^ERR .*\b(AUTH|password)\b`);

/**
 * Replies refusing a running service's user: its password changed (NOAUTH, WRONGPASS on the reconnection), a command
 * or key taken from its ACL rules (NOPERM), or, inside a script, a command or key the user may not use (Redis 7.0's
 * `ERR The user executing the script can't run this command …` / `… can't access at least one of the keys …`).
 */
const ACCESS_REFUSED = new RegExp(String.raw`${USER_REFUSED}|^ERR The user executing the script can't\b`);

/**
 * Redis refused the service's user a command while it ran: its ACL rules or its password were changed, or the user was
 * disabled. Retrying gives the same reply until an operator changes them back: the service cannot go on.
 */
export class RedisAccessRefusedError extends Error {
  override readonly name = 'RedisAccessRefusedError';

  constructor(readonly reply: string) {
    super(
      `REDIS_URL: Redis refused the ACL user of the URL a command (${reply}); give the user the permissions docs/operations.md lists (Redis permissions) or fix its password`,
    );
  }
}

/**
 * Whether a command failed because the client reaches no Redis at all, rather than with Redis's reply: a cluster client
 * none of whose seed nodes answers (ioredis fails commands at once then, where a single server's client waits).
 */
export const redisUnreachable = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'ClusterAllFailedError' || error.message === 'None of startup nodes is available');

/** Redis's reply in `error`, if it is one. */
// ioredis types ReplyError loosely: instanceof does not narrow it.
const replyOf = (error: unknown): string | undefined => (error instanceof ReplyError ? (error as Error).message : undefined);

/** `error` as a RedisAccessRefusedError if it is Redis's reply refusing the user (ACCESS_REFUSED), else undefined. */
export function redisAccessRefusal(error: unknown): RedisAccessRefusedError | undefined {
  const reply = replyOf(error);
  return reply !== undefined && ACCESS_REFUSED.test(reply) ? new RedisAccessRefusedError(reply) : undefined;
}

/** Redis's refusal of a write once `used_memory` is past `maxmemory` and its policy evicts nothing it may evict. */
const OUT_OF_MEMORY = /^OOM\b/;

/**
 * Redis refused a write because it is full. Under `noeviction` (or a `volatile-*` policy, which finds no key with a TTL
 * among the scorer's) nothing the service does frees memory: every retry meets the same refusal until an operator
 * raises `maxmemory` or gives the data more room.
 */
export class RedisFullError extends Error {
  override readonly name = 'RedisFullError';

  constructor(readonly reply: string) {
    super(`REDIS_URL: Redis is full and refuses writes (${reply}); raise its maxmemory or give the namespace more memory (docs/operations.md, Redis memory)`);
  }
}

/** `error` as a RedisFullError if it is Redis's reply refusing a write for want of memory, else undefined. */
export function redisFull(error: unknown): RedisFullError | undefined {
  const reply = replyOf(error);
  return reply !== undefined && OUT_OF_MEMORY.test(reply) ? new RedisFullError(reply) : undefined;
}

/**
 * Whether a master's data fills its `maxmemory`: what Redis counts against the limit (`used_memory` less
 * `mem_not_counted_for_evict`, the replication and AOF buffers) less what clients' replies hold in their output
 * buffers for a moment (`mem_clients_normal`). A write refused while a large reply waited there (a unit's read-back)
 * finds room once the reply has gone; one refused because the data fills the limit does not.
 */
export async function redisDataFull(redis: RedisClient): Promise<boolean> {
  return (await mastersInfo(redis, 'memory')).some((info) => {
    const limit = Number(infoField(info, 'maxmemory') ?? 0);
    const field = (name: string) => Number(infoField(info, name) ?? 0);
    return limit > 0 && field('used_memory') - field('mem_not_counted_for_evict') - field('mem_clients_normal') > limit;
  });
}

/** The `maxmemory-policy` values under which Redis, once full, deletes keys that have no TTL: the scorer's keys. */
const EVICTS_EVERY_KEY = /^allkeys-/;

/**
 * A Redis whose memory policy deletes any key once it is full (`allkeys-lru`, `allkeys-lfu`, `allkeys-random`: a cache's
 * settings) would drop customers' state without a word, and the events it held with it.
 */
export class RedisEvictsStateError extends Error {
  override readonly name = 'RedisEvictsStateError';

  constructor(readonly policies: readonly string[]) {
    super(
      `REDIS_URL: Redis evicts keys without a TTL when it is full (maxmemory-policy ${policies.join(', ')}), so it would delete customers' state ` +
        'and the events in it without a word; set maxmemory-policy to noeviction (docs/operations.md, Redis memory)',
    );
  }
}

/** The server REDIS_URL names is a replica: every write of the scorer would answer READONLY. */
export class RedisIsReplicaError extends Error {
  override readonly name = 'RedisIsReplicaError';

  constructor(master: string) {
    super(
      `REDIS_URL: the server is a read-only replica (of ${master}), where the scorer can write nothing; point REDIS_URL at the master ` +
        '(during a failover, a restart reaches the promoted one once REDIS_URL leads there)',
    );
  }
}

/**
 * @throws RedisIsReplicaError when the single server REDIS_URL names is a replica (a Redis Cluster client finds and
 * writes to the masters itself). Read from `INFO replication`, which a managed Redis answers where it disables ROLE.
 */
export async function requireMaster(redis: RedisClient): Promise<void> {
  if (redis instanceof Cluster) return;
  const replication = await redis.info('replication');
  if (infoField(replication, 'role') !== 'slave') return;
  throw new RedisIsReplicaError(`${infoField(replication, 'master_host') ?? '?'}:${infoField(replication, 'master_port') ?? '?'}`);
}

/**
 * @throws RedisEvictsStateError when any master (every one, on a cluster) would evict the scorer's keys once full.
 * Read from `INFO memory`, which a managed Redis answers where it disables CONFIG.
 */
export async function requireNoEviction(redis: RedisClient): Promise<void> {
  const policies = (await mastersInfo(redis, 'memory')).map((info) => infoField(info, 'maxmemory_policy') ?? '');
  const evicting = [...new Set(policies.filter((policy) => EVICTS_EVERY_KEY.test(policy)))];
  if (evicting.length > 0) throw new RedisEvictsStateError(evicting);
}

/** How long a service waits at start for Redis to answer its first PING. */
export const REDIS_LOGIN_CHECK_TIMEOUT_MS = 3_000;

/**
 * Redis's refusal of the login in a connection error, if it is one: the error's own message, or on a cluster the last
 * node's error that its "Failed to refresh slots cache" (ClusterAllFailedError) carries.
 */
export function redisLoginRefusal(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const nested = (error as Error & { lastNodeError?: unknown }).lastNodeError;
  const reply = LOGIN_REFUSED.test(error.message) ? error.message : nested instanceof Error ? nested.message : undefined;
  return reply !== undefined && LOGIN_REFUSED.test(reply) ? reply : undefined;
}

/**
 * Pings Redis once at start, waiting at most `timeoutMs`. Resolves true when it answered, false when no
 * answer came in time (the server is down or slow; the client keeps trying and commands wait for it).
 * A cluster client's PING may never fail on a refused login (it keeps refreshing its view of the cluster, and the
 * refusal is only in its connections' errors): those are watched too, so that a wrong password on a cluster is
 * refused as on a single server (an outside tester's scorer and API waited for ever, "Redis did not answer").
 * @throws RedisLoginRefusedError when the login was refused (wrong password, disabled ACL user, a user
 * without PING); the client is disconnected first.
 */
export async function requireRedisLogin(redis: RedisClient, timeoutMs = REDIS_LOGIN_CHECK_TIMEOUT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let refuse: (reply: string) => void = () => undefined;
  const refused = new Promise<string>((resolve) => {
    refuse = resolve;
  });
  const watchConnection = (error: unknown) => {
    const reply = redisLoginRefusal(error);
    if (reply !== undefined) refuse(reply);
  };
  const events = redis instanceof Cluster ? ['error', 'node error'] : ['error'];
  for (const event of events) redis.on(event, watchConnection);
  const noAnswer = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const answer = redis.ping().then(
    () => true,
    (error: unknown) => {
      watchConnection(error);
      return false;
    },
  );
  try {
    const outcome = await Promise.race([answer.then((answered) => (answered ? true : noAnswer)), noAnswer, refused]);
    if (typeof outcome !== 'string') return outcome;
    redis.disconnect();
    throw new RedisLoginRefusedError(outcome);
  } finally {
    clearTimeout(timer);
    for (const event of events) redis.off(event, watchConnection);
  }
}

/**
 * requireRedisLogin for a command, which cannot wait for Redis as a service does: no answer in time is an error too.
 * @throws RedisLoginRefusedError when the login was refused; an Error naming REDIS_URL when Redis did not answer.
 */
export async function requireRedisAnswer(redis: RedisClient): Promise<void> {
  if (!(await requireRedisLogin(redis))) throw new Error('Redis at REDIS_URL did not answer');
}

/**
 * How far `wallClock` is at least ahead of Redis's `TIME` (behind: negative), in ms; 0 when they may agree. Redis read its
 * clock somewhere between the two local readings around the call, so only a server time outside them shows a skew, by
 * its distance to the nearer one. (The midpoint, taken until 2026-12-07, counted half of a slow round trip as skew: an
 * outside tester's Redis that held a reply for 85 s read as a clock 39 s behind, and the scorer stopped.) On a cluster,
 * against the earliest of the masters' clocks.
 */
export async function clockAheadOfRedisMs(redis: RedisClient, wallClock: () => number = Date.now): Promise<number> {
  const before = wallClock();
  const server = Number(BigInt(await serverMicroseconds(redis)) / 1_000n);
  const after = wallClock();
  if (server < before) return before - server;
  if (server > after) return after - server;
  return 0;
}

/** The machine's clock differs from Redis's by more than MAX_CLOCK_SKEW_MS: fix its time synchronisation. */
export class ClockSkewError extends Error {
  override readonly name = 'ClockSkewError';

  constructor(aheadMs: number, maxSkewMs: number) {
    const by = `${Math.round(Math.abs(aheadMs) / 1000)} s ${aheadMs > 0 ? 'ahead of' : 'behind'}`;
    super(
      `MAX_CLOCK_SKEW_MS: this machine's clock is ${by} Redis's (TIME), more than the ${maxSkewMs / 1000} s allowed; the scorer's windows, ` +
        "due times, leases and output timestamps follow its clock: fix the machine's (or Redis's) time synchronisation",
    );
  }
}

/** The hash slots of a Redis Cluster. */
const CLUSTER_SLOTS = 16_384;

/**
 * Whether Redis serves every key: the server answers PING; on a cluster, every slot's master in the client's map is one
 * it holds a connection to (it drops a master's connection as the master goes, while its map names the master until the
 * cluster names another), and each of those answers. A PING of a cluster client goes to one node only, which answers
 * while a master is down: an outside tester's scorers reported ready for the 90 s a third of the slots had no node left
 * and nothing was applied.
 */
export async function redisServesEveryKey(redis: RedisClient): Promise<boolean> {
  if (redis instanceof Cluster) {
    const connected = new Set(redis.nodes('master').map(({ options }) => `${options.host}:${options.port}`));
    const owned = redis.slots.length === CLUSTER_SLOTS && redis.slots.every((owners) => owners?.[0] !== undefined && connected.has(owners[0]));
    if (!owned) return false;
  }
  const pongs = await Promise.all(mastersOf(redis).map((master) => master.ping()));
  return pongs.every((pong) => pong === 'PONG');
}

export interface RedisIdentity {
  /** run_id of the server (or of every cluster master, sorted and joined): changes on restart and failover. */
  runId: string;
  /**
   * The random values kept in `<prefix>:epoch` and, on a cluster, each master's epoch key ('' for one missing): changes
   * when the data set (a master's, on a cluster) is lost or replaced without a restart.
   */
  epoch: string;
  /**
   * On a cluster, the values of the epoch keys put on masters after the claim (coverEveryMaster), by tag ('' for one
   * missing). Apart from `epoch`, so that covering a master does not start a generation: see dataSetLost.
   */
  addedMasterEpochs: Readonly<Record<string, string>>;
  /** The server's clock (epoch ms, Redis TIME of the first master) when the identity was read. */
  serverTimeMs: number;
}

/**
 * The same tags as an identity read them (redisIdentity): its namespace epoch's list and its added masters. What a
 * unit of work, written under the identity of its fence, needs without asking Redis again.
 */
export function masterEpochTagsOf(identity: RedisIdentity): number[] {
  const namespaceEpoch = identity.epoch.split(IDENTITY_EPOCH_SEPARATOR)[0] ?? '';
  return [...new Set([...listedEpochTags(namespaceEpoch), ...Object.keys(identity.addedMasterEpochs).map(Number)])];
}

/**
 * Room a generation's version floor leaves per millisecond: a customer would need more than this many
 * published changes per millisecond, sustained over a whole generation, to reach the next floor. It keeps
 * floors below 10^14 until the year 2286, so Redis's Lua numbers (14 significant digits) carry them exactly.
 */
export const OUTPUT_VERSIONS_PER_MS = 10;

/**
 * What a scorer's writes are fenced to, and how their output versions stay unique. Redis can come back
 * without its last writes (SPEC §8) after outputs stamped with the lost versions were published; the
 * versions it then hands out again must be new ones. So every Redis incarnation is a generation, and the
 * first commit of a customer in a generation starts its versions at the generation's floor, derived from
 * the time the incarnation was first seen: above every version a previous generation can have reached.
 */
export interface WriteFence extends RedisIdentity {
  /**
   * The incarnation, a digest of `runId/epoch`: a customer's score records the generation it was committed in.
   * A digest because only equality matters, and the score hash stays listpack-encoded only while every value
   * is at most 64 bytes (a run id alone is 40, one per master on a cluster): as a hash table it costs ~770
   * bytes more per customer.
   */
  generation: string;
  /** The least version (and outbox sequence) a customer's first commit in this generation takes. */
  versionFloor: number;
}

/** 96 bits of the digest: two incarnations of one prefix colliding is out of reach. */
const GENERATION_DIGEST_CHARS = 16;

/**
 * Whether the data set `before` was read from is gone in `after`: the namespace's epoch or a listed master's changed,
 * or an added master's epoch key known in `before` changed or is missing, or any is missing in `after`. Masters covered
 * in between (new added tags) are no loss.
 */
export function dataSetLost(before: RedisIdentity, after: RedisIdentity): boolean {
  if (before.epoch !== after.epoch) return true;
  const now = after.addedMasterEpochs;
  return Object.values(now).includes('') || Object.entries(before.addedMasterEpochs).some(([tag, value]) => now[tag] !== value);
}

/** The fence for writes to `identity`, first seen at `wallClockMs` (the later of Redis's and the scorer's clocks counts). */
export function writeFence(identity: RedisIdentity, wallClockMs: number): WriteFence {
  return {
    ...identity,
    generation: createHash('sha256').update(`${identity.runId}/${identity.epoch}`).digest('base64url').slice(0, GENERATION_DIGEST_CHARS),
    versionFloor: Math.max(identity.serverTimeMs, wallClockMs) * OUTPUT_VERSIONS_PER_MS,
  };
}

/**
 * On a Redis Cluster each master keeps an epoch key of its own (`<prefix>:epoch:{<tag>}`, a hash tag whose slot it
 * holds), listed after the namespace's epoch in its key's value (`<uuid>;<tag>,<tag>,…`): a master that loses its
 * data set (restarted empty, flushed) loses its epoch key with it, wherever the namespace's own epoch key lives. A
 * namespace claimed before per-master keys existed lists none and is watched through its one key.
 */
const EPOCH_TAGS_SEPARATOR = ';';

const listedEpochTags = (epoch: string): number[] => {
  const listed = epoch.split(EPOCH_TAGS_SEPARATOR)[1];
  return listed === undefined || listed === '' ? [] : listed.split(',').map(Number);
};

/** A slot range of `CLUSTER SLOTS`: first and last slot, then the master and each replica as `[host, port, id, …]`. */
type SlotRange = [number, number, ...Array<[string, number, ...unknown[]]>];

/** A slot range's master and replicas, each as `host:port`, the way the client names its nodes. */
interface ClusterSlots {
  from: number;
  to: number;
  master: string;
  replicas: string[];
}

const nodeName = ([host, port]: [string, number, ...unknown[]]): string => `${host}:${port}`;

/**
 * The cluster's slot map as the cluster tells it now (`CLUSTER SLOTS`, which a cluster client's ACL user has), not
 * as the client last read it: ioredis reads it only at start and on redirections.
 */
async function clusterSlots(cluster: Cluster): Promise<ClusterSlots[]> {
  const ranges = (await cluster.call('CLUSTER', 'SLOTS')) as SlotRange[];
  return ranges.flatMap(([from, to, master, ...replicas]) => (master ? [{ from, to, master: nodeName(master), replicas: replicas.map(nodeName) }] : []));
}

const masterOfSlot = (slots: readonly ClusterSlots[], slot: number): string | undefined => slots.find(({ from, to }) => from <= slot && slot <= to)?.master;

/** For each of `masters`, the first tag counting up from 0 whose epoch key lands on it. */
function epochTagsLandingOn(slots: readonly ClusterSlots[], keys: KeySchema, masters: ReadonlySet<string>): number[] {
  const tags: number[] = [];
  const covered = new Set<string>();
  for (let tag = 0; covered.size < masters.size && tag < MAX_EPOCH_TAG; tag += 1) {
    const owner = masterOfSlot(slots, calculateSlot(keys.masterEpoch(tag)));
    if (owner === undefined || !masters.has(owner) || covered.has(owner)) continue;
    covered.add(owner);
    tags.push(tag);
  }
  return tags;
}

/** Far more tags than a cluster's masters need (16,384 slots in all): a bound on the search, never reached. */
const MAX_EPOCH_TAG = 100_000;

/** The namespace's epoch key's value, and each master epoch key's value by tag (null for one missing): listed, then added. */
interface Epochs {
  epoch: string | null;
  listed: Map<number, string | null>;
  added: Map<number, string | null>;
}

const addedEpochTags = async (redis: RedisClient, keys: KeySchema): Promise<number[]> =>
  (await redis.smembers(keys.addedEpochTags)).map(Number).sort((a, b) => a - b);

async function readEpochs(redis: RedisClient, keys: KeySchema): Promise<Epochs> {
  const epoch = await redis.get(keys.epoch);
  const valuesOf = async (tags: readonly number[]) => new Map(await Promise.all(tags.map(async (tag) => [tag, await redis.get(keys.masterEpoch(tag))] as const)));
  const addedTags = redis instanceof Cluster && epoch !== null ? await addedEpochTags(redis, keys) : [];
  return { epoch, listed: await valuesOf(epoch === null ? [] : listedEpochTags(epoch)), added: await valuesOf(addedTags) };
}

/**
 * On a Redis Cluster, the tags of the namespace's master epoch keys, listed and added, as Redis holds them now: together
 * their slots are on every master (coverEveryMaster keeps it so). None on a single server, or before the claim.
 */
export async function masterEpochTags(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<number[]> {
  if (!(redis instanceof Cluster)) return [];
  const keys = keySchema(prefix);
  const epoch = await redis.get(keys.epoch);
  if (epoch === null) return [];
  return [...new Set([...listedEpochTags(epoch), ...(await addedEpochTags(redis, keys))])];
}

/**
 * What a scorer finds in the namespace of `prefix` before claiming it: `claimed` when a scorer claimed it in this
 * Redis's data (the epoch keys, written by claimNamespace and lost only with the data); `empty` when nothing was ever
 * scored there; `unclaimed` when customers were scored there without a claim (written after the data set and its
 * epoch were lost), or when a cluster master listed in the claim lost its epoch key (and with it its customers'
 * data). Plain GET and ZRANGEBYSCORE, which the scorer's ACL user already has.
 */
export async function namespaceState(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<'claimed' | 'empty' | 'unclaimed'> {
  const keys = keySchema(prefix);
  const { epoch, listed, added } = await readEpochs(redis, keys);
  if (epoch !== null) return [...listed.values(), ...added.values()].every((value) => value !== null) ? 'claimed' : 'unclaimed';
  const scored = await redis.zrangebyscore(keys.ranking(EVERY_CUSTOMER_RANKING), '-inf', '+inf', 'LIMIT', 0, 1);
  return scored.length > 0 ? 'unclaimed' : 'empty';
}

/** The key contract version a namespace was claimed under, or null for one claimed before chs:v6 recorded it (or never). */
export const namespaceContract = (redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<string | null> => redis.get(keySchema(prefix).contract);

/**
 * The apply script keeps a busy customer's dedupe window (16 KB or more) apart: it appends to it (APPEND, since
 * 2026-12-07) and keeps an index of it (STRLEN, GETRANGE, GETBIT, SETBIT, SETRANGE, since 2026-12-07 afternoon), which
 * a user of an earlier ACL line lacks: refused there, the scorer would stop at the first customer whose window reaches
 * 16 KB, days after an upgrade perhaps. Tried at start instead, on the namespace's contract key (claimNamespace writes
 * it first), with writes that change nothing: nothing appended, a bit set to what it is, nothing written over.
 * @throws RedisAccessRefusedError when the user may not.
 */
export async function requireBusyWindowCommandsAllowed(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<void> {
  const { contract } = keySchema(prefix);
  try {
    await redis.append(contract, '');
    await redis.strlen(contract);
    await redis.getrange(contract, 0, 0);
    await redis.setrange(contract, 0, '');
    await redis.setbit(contract, 0, await redis.getbit(contract, 0));
  } catch (error) {
    throw redisAccessRefusal(error) ?? error;
  }
}

/**
 * Marks the namespace as in use by a scorer, with a random epoch, and of this release's key contract, unless it already is (the epoch is then kept). On a
 * cluster, each master's epoch key is written first and the namespace's, which lists them, last: a claim cut short
 * leaves no list naming a key that was never written.
 */
export async function claimNamespace(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<void> {
  const keys = keySchema(prefix);
  await redis.set(keys.contract, KEY_CONTRACT_VERSION, 'NX');
  if (!(redis instanceof Cluster) || (await redis.get(keys.epoch)) !== null) {
    await redis.set(keys.epoch, randomUUID(), 'NX');
    return;
  }
  const slots = await clusterSlots(redis);
  const tags = epochTagsLandingOn(slots, keys, new Set(slots.map(({ master }) => master)));
  await Promise.all(tags.map((tag) => redis.set(keys.masterEpoch(tag), randomUUID(), 'NX')));
  await redis.set(keys.epoch, `${randomUUID()}${EPOCH_TAGS_SEPARATOR}${tags.join(',')}`, 'NX');
}

/**
 * Puts an epoch key on every cluster master that holds none of the namespace's (a master added, or slots moved, since
 * the claim), so that its losing its data set shows as one does on the others; its tag goes into the set of added
 * tags (SADD: scorers covering at once agree). A master holding a listed or added tag whose key is missing is not
 * covered again: its loss must stay visible. Returns how many masters it covered.
 */
export async function coverEveryMaster(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<number> {
  if (!(redis instanceof Cluster)) return 0;
  const keys = keySchema(prefix);
  const { epoch, listed, added } = await readEpochs(redis, keys);
  if (epoch === null) return 0;
  const slots = await clusterSlots(redis);
  const covered = new Set([...listed.keys(), ...added.keys()].map((tag) => masterOfSlot(slots, calculateSlot(keys.masterEpoch(tag)))));
  const uncovered = new Set(slots.map(({ master }) => master).filter((master) => !covered.has(master)));
  const tags = epochTagsLandingOn(slots, keys, uncovered);
  for (const tag of tags) {
    // The key before the set naming it, as a claim writes its keys before its list.
    await redis.set(keys.masterEpoch(tag), randomUUID(), 'NX');
    await redis.sadd(keys.addedEpochTags, tag);
  }
  return tags.length;
}

const mastersOf = (redis: RedisClient): Redis[] => (redis instanceof Cluster ? redis.nodes('master') : [redis]);

/** One `INFO` section of every master (the server itself, on a single server), asked at once. */
const mastersInfo = (redis: RedisClient, section: string): Promise<string[]> => Promise.all(mastersOf(redis).map((server) => server.info(section)));

/**
 * Redis's `TIME` in microseconds since the epoch, digits only, the form of a state's incarnation: the earliest of
 * the masters' clocks, so that every state created after the call, on whichever master, has a later incarnation.
 */
export async function serverMicroseconds(redis: RedisClient): Promise<string> {
  // TIME answers [seconds, microseconds]; ioredis types it as a list of numbers of any length.
  const times = (await Promise.all(mastersOf(redis).map((server) => server.time()))) as [number, number][];
  return times.map(([seconds, microseconds]) => BigInt(seconds) * 1_000_000n + BigInt(microseconds)).reduce((a, b) => (b < a ? b : a)).toString();
}

/**
 * How far a master's replicas have confirmed its writes. Replication is asynchronous: a master acknowledges a write
 * before any replica has it, and a replica that lagged can be elected in its place and serve without the master's last
 * writes (SPEC §8). Offsets are committed only for writes every replica that could take over has confirmed.
 */
export interface ReplicationProgress {
  /** The master's run id: a failover changes it, and with it the identity. */
  master: string;
  /** The master's replication offset when asked: every write it had acknowledged before is at or below it. */
  written: number;
  /**
   * The offset every replica that could take the master's place has confirmed (REPLCONF ACK, once a second); Infinity
   * with no replica; 0 while a replica the cluster knows is not connected to its master, whose writes it may lack.
   */
  confirmed: number;
  /**
   * How many replicas were connected to the master when asked. A single server knows no other: the durability gate
   * remembers how many it has seen, so that one cut off from its master is waited for.
   */
  connectedReplicas: number;
}

const infoField = (info: string, field: string): string | undefined => new RegExp(`^${field}:(.*?)\\r?$`, 'm').exec(info)?.[1];

/** The replica lines of `INFO replication` on a master: `slave0:ip=…,port=…,state=online,offset=…,lag=…`. */
const replicaOffsets = (info: string): number[] => [...info.matchAll(/^slave\d+:.*?\boffset=(\d+)/gm)].map((match) => Number(match[1]));

/**
 * How many replicas each master has by the cluster's own account: `CLUSTER SLOTS` lists every replica no node has
 * marked failed, connected to its master or not (and none that has not received a byte yet: it has nothing to lose).
 * A single server knows only its connected replicas.
 */
async function knownReplicaCounts(redis: RedisClient): Promise<Map<string, number>> {
  if (!(redis instanceof Cluster)) return new Map();
  // A master serving several slot ranges lists its replicas in each.
  const replicasOf = new Map<string, Set<string>>();
  for (const { master, replicas } of await clusterSlots(redis)) {
    const known = replicasOf.get(master) ?? new Set<string>();
    for (const replica of replicas) known.add(replica);
    replicasOf.set(master, known);
  }
  return new Map([...replicasOf].map(([master, replicas]) => [master, replicas.size]));
}

/** Every master's replication progress (`INFO server replication`, and `CLUSTER SLOTS` on a cluster). */
export async function replicationProgress(redis: RedisClient): Promise<ReplicationProgress[]> {
  const known = await knownReplicaCounts(redis);
  return Promise.all(
    mastersOf(redis).map(async (server) => {
      const info = (await server.call('INFO', 'server', 'replication')) as string;
      const offsets = replicaOffsets(info);
      const expected = Math.max(offsets.length, known.get(`${server.options.host}:${server.options.port}`) ?? 0);
      return {
        master: infoField(info, 'run_id') ?? '',
        written: Number(infoField(info, 'master_repl_offset') ?? 0),
        confirmed: expected === 0 ? Infinity : offsets.length < expected ? 0 : Math.min(...offsets),
        connectedReplicas: offsets.length,
      };
    }),
  );
}

/**
 * What the scorer compares before and after a batch: if either part changed, writes since the last check
 * may have been lost (Redis restarted, failed over to a lagging replica, or lost its data), so it must not
 * commit the batch's Kafka offsets and re-consumes from the last committed ones instead. Read only: an epoch
 * key that vanished reads as '' rather than being written again, so that the loss stays visible.
 */
/** Between the namespace's epoch and each listed master's in RedisIdentity.epoch. */
const IDENTITY_EPOCH_SEPARATOR = '|';

export async function redisIdentity(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<RedisIdentity> {
  const { epoch, listed, added } = await readEpochs(redis, keySchema(prefix));
  const runIds = (await mastersInfo(redis, 'server')).map((info) => infoField(info, 'run_id') ?? '');
  const [seconds, microseconds] = await mastersOf(redis)[0]!.time();
  return {
    runId: runIds.sort().join(','),
    epoch: [epoch ?? '', ...[...listed.values()].map((value) => value ?? '')].join(IDENTITY_EPOCH_SEPARATOR),
    addedMasterEpochs: Object.fromEntries([...added].map(([tag, value]) => [tag, value ?? ''])),
    serverTimeMs: Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000),
  };
}
