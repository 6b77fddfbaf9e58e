import { readFileSync } from 'node:fs';
import type { AppConfig, KafkaSaslMechanism } from './env';

// Client option shapes are typed structurally (they match kafkajs `KafkaConfig` and @confluentinc/schemaregistry
// `ClientConfig`), so this package needs neither client. Redis connects from `cfg.redis` in @churnscore/state
// (createRedis), the one reader of REDIS_URL.

export interface KafkaClientOptions {
  clientId: string;
  brokers: string[];
  ssl: boolean | { ca: string[] };
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: string };
  /** KAFKA_MAX_DECOMPRESSION_RATIO: how many times its compressed size a fetched batch may decompress to. */
  maxDecompressionRatio: number;
}

export function kafkaClientOptions(cfg: AppConfig): KafkaClientOptions {
  const { clientId, brokers, ssl, sslCaFile, sasl, maxDecompressionRatio } = cfg.kafka;
  return {
    clientId,
    brokers,
    maxDecompressionRatio,
    ssl: ssl && sslCaFile ? { ca: [readFileSync(sslCaFile, 'utf8')] } : ssl,
    ...(sasl ? { sasl: { ...sasl } } : {}),
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
