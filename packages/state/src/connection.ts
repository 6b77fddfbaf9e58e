// Connecting to Redis (single server or Cluster) so that an outage pauses the service instead of crashing
// it, and the identity check the scorer uses before committing Kafka offsets (SPEC §8).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { DEFAULT_PREFIX, keySchema } from './keys';

export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  /** redis:// or rediss:// (TLS); ACL user and password in the userinfo; for a cluster, any one node. */
  url: string;
  cluster?: boolean;
  /** PEM file of the CA that signed the server certificate (rediss:// only). */
  tlsCaFile?: string | null;
  /** Shown by CLIENT LIST, to tell the services' connections apart. */
  connectionName?: string;
}

const RECONNECT_BASE_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/** Exponential backoff that never gives up: during an outage commands wait in the offline queue. */
const reconnectDelay = (attempt: number): number => Math.min(RECONNECT_BASE_MS * 2 ** Math.min(attempt, 16), RECONNECT_MAX_MS);

export function createRedis(options: RedisConnectOptions): RedisClient {
  const url = new URL(options.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : 6379;
  const connection: RedisOptions = {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:'
      ? {
          tls: {
            ...(isIP(host) ? {} : { servername: host }),
            ...(options.tlsCaFile ? { ca: [readFileSync(options.tlsCaFile, 'utf8')] } : {}),
          },
        }
      : {}),
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    retryStrategy: reconnectDelay,
    // Wait out an outage rather than failing each command after a few reconnection attempts.
    maxRetriesPerRequest: null,
  };
  if (options.cluster) {
    return new Cluster([{ host, port }], {
      redisOptions: connection,
      clusterRetryStrategy: reconnectDelay,
      // Commands issued together are sent as one pipeline per node, whatever slots they touch.
      enableAutoPipelining: true,
    });
  }
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return new Redis({ ...connection, host, port, db, enableAutoPipelining: true });
}

export interface RedisIdentity {
  /** run_id of the server (or of every cluster master, sorted and joined): changes on restart and failover. */
  runId: string;
  /** A random value kept in `<prefix>:epoch`: changes when the data set is lost or replaced without a restart. */
  epoch: string;
}

/**
 * What the scorer compares before and after a batch: if either part changed, writes since the last check
 * may have been lost (Redis restarted, failed over to a lagging replica, or lost its data), so it must not
 * commit the batch's Kafka offsets and re-consumes from the last committed ones instead.
 */
export async function redisIdentity(redis: RedisClient, prefix: string = DEFAULT_PREFIX): Promise<RedisIdentity> {
  const epochKey = keySchema(prefix).epoch;
  await redis.set(epochKey, randomUUID(), 'NX');
  const epoch = await redis.get(epochKey);
  const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const runIds = await Promise.all(servers.map(async (server) => /run_id:(\w+)/.exec(await server.info('server'))?.[1] ?? ''));
  return { runId: runIds.sort().join(','), epoch: epoch ?? '' };
}
