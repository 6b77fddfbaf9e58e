import { RedisLoginRefusedError, redisLoginRefusal } from '@churnscore/state';
import { Redis } from 'ioredis';
import kafkajs from 'kafkajs';
import type { Admin, SASLOptions } from 'kafkajs';

// kafkajs is CommonJS and its named exports are not visible to Node's ESM loader.
const { Kafka, logLevel } = kafkajs;

const PROBE_TIMEOUT_MS = 2_000;

/** Runs `work` with a connected kafkajs admin client (logged in with `sasl` if given) and always disconnects it. */
export async function withAdmin<T>(brokers: string[], work: (admin: Admin) => Promise<T>, sasl?: SASLOptions): Promise<T> {
  const kafka = new Kafka({
    clientId: 'churnscore-stack',
    brokers,
    sasl,
    // Probes and provisioning report their own errors; kafkajs' retry chatter would only add noise.
    logLevel: logLevel.NOTHING,
    connectionTimeout: PROBE_TIMEOUT_MS,
    requestTimeout: 10_000,
    retry: { retries: 2, initialRetryTime: 200 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** The broker answers metadata requests (after the SASL login, if given): the cluster is usable, not merely listening. */
export async function kafkaAnswers(brokers: string[], sasl?: SASLOptions): Promise<boolean> {
  try {
    const cluster = await withAdmin(brokers, (admin) => admin.describeCluster(), sasl);
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  }
}

/** GET <ccompat>/subjects answers 200: the registry and its storage are up. */
export async function registryAnswers(schemaRegistryUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${schemaRegistryUrl}/subjects`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Apicurio's version from its core API; null for registries without that API (e.g. Confluent's). */
export async function registryVersion(schemaRegistryUrl: string): Promise<string | null> {
  const base = schemaRegistryUrl.replace(/\/apis\/ccompat\/v\d+$/, '');
  try {
    const response = await fetch(`${base}/apis/registry/v3/system/info`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!response.ok) return null;
    const info = (await response.json()) as { version?: unknown };
    return typeof info.version === 'string' ? info.version : null;
  } catch {
    return null;
  }
}

/** A Redis connection that fails fast instead of retrying forever: for probes and tooling. */
export function connectRedis(redisUrl: string): Redis {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // Failures surface through the awaited commands; without a listener ioredis also prints them.
  redis.on('error', () => undefined);
  return redis;
}

async function withRedis<T>(redisUrl: string, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = connectRedis(redisUrl);
  // connectTimeout bounds the TCP connection only: a server that accepts and never answers would hold the ready check
  // and the work for ever. Disconnecting fails both.
  const deadline = setTimeout(() => redis.disconnect(), PROBE_TIMEOUT_MS);
  // A refused login rejects connect() with "Connection is closed."; the refusal itself comes as an error event.
  let connectionError: unknown;
  redis.on('error', (error: unknown) => {
    connectionError = error;
  });
  try {
    await redis.connect().catch((error: unknown) => {
      throw connectionError ?? error;
    });
    return await work(redis);
  } finally {
    clearTimeout(deadline);
    redis.disconnect();
  }
}

/**
 * Whether Redis at `redisUrl` answers a PING. A refused login is thrown (RedisLoginRefusedError): waiting for it would
 * end, half a minute later, on "did not answer" (an endpoint of one's own with a wrong password).
 */
export async function redisAnswers(redisUrl: string): Promise<boolean> {
  try {
    return (await withRedis(redisUrl, (redis) => redis.ping())) === 'PONG';
  } catch (error) {
    const refusal = redisLoginRefusal(error);
    if (refusal !== undefined) throw new RedisLoginRefusedError(refusal);
    return false;
  }
}

export async function redisVersion(redisUrl: string): Promise<string | null> {
  try {
    const info = await withRedis(redisUrl, (redis) => redis.info('server'));
    return /^redis_version:(.+)$/m.exec(info)?.[1]?.trim() ?? null;
  } catch {
    return null;
  }
}
