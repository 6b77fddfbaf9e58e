import { readFileSync } from 'node:fs';
import type { AppConfig, KafkaSaslMechanism } from './env';

// Client option shapes are typed structurally (they match kafkajs `KafkaConfig`, ioredis `RedisOptions` /
// `ClusterOptions` and @confluentinc/schemaregistry `ClientConfig`), so this package needs none of those clients.

export interface KafkaClientOptions {
  clientId: string;
  brokers: string[];
  ssl: boolean | { ca: string[] };
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: string };
}

export function kafkaClientOptions(cfg: AppConfig): KafkaClientOptions {
  const { clientId, brokers, ssl, sslCaFile, sasl } = cfg.kafka;
  return {
    clientId,
    brokers,
    ssl: ssl && sslCaFile ? { ca: [readFileSync(sslCaFile, 'utf8')] } : ssl,
    ...(sasl ? { sasl: { ...sasl } } : {}),
  };
}

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisConnectionOptions {
  /** Connect with a cluster client (seeded by `nodes`) rather than a single-server client. */
  cluster: boolean;
  /** The server, or the cluster's seed node. */
  nodes: RedisNode[];
  /** Per-connection options: `new Redis({ ...nodes[0], ...redisOptions })` or `new Cluster(nodes, { redisOptions })`. */
  redisOptions: {
    username?: string;
    password?: string;
    db: number;
    tls?: { ca?: string[]; servername: string };
  };
}

const DEFAULT_REDIS_PORT = 6379;

export function redisConnectionOptions(cfg: AppConfig): RedisConnectionOptions {
  const { url, cluster, tlsCaFile } = cfg.redis;
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  const tls =
    parsed.protocol === 'rediss:'
      ? { servername: host, ...(tlsCaFile ? { ca: [readFileSync(tlsCaFile, 'utf8')] } : {}) }
      : undefined;
  return {
    cluster,
    nodes: [{ host, port: parsed.port ? Number(parsed.port) : DEFAULT_REDIS_PORT }],
    redisOptions: {
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      db,
      ...(tls ? { tls } : {}),
    },
  };
}

export interface RegistryClientConfig {
  baseURLs: string[];
  basicAuthCredentials?: { credentialsSource: 'USER_INFO'; userInfo: string };
  /** A hung registry must surface as an error (and a retry upstream), never as a stalled consumer. */
  createAxiosDefaults: { timeout: number };
  cacheCapacity: number;
  /** How long "latest version of a subject" is cached; a newly registered version is picked up after this. */
  cacheLatestTtlSecs: number;
}

const REGISTRY_TIMEOUT_MS = 10_000;
const REGISTRY_LATEST_TTL_SECS = 300;
const REGISTRY_CACHE_CAPACITY = 1000;

export function registryClientConfig(cfg: AppConfig): RegistryClientConfig {
  const { url, basicAuth } = cfg.schemaRegistry;
  return {
    baseURLs: [url],
    ...(basicAuth
      ? { basicAuthCredentials: { credentialsSource: 'USER_INFO', userInfo: `${basicAuth.username}:${basicAuth.password}` } }
      : {}),
    createAxiosDefaults: { timeout: REGISTRY_TIMEOUT_MS },
    cacheCapacity: REGISTRY_CACHE_CAPACITY,
    cacheLatestTtlSecs: REGISTRY_LATEST_TTL_SECS,
  };
}
