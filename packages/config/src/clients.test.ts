import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaClientOptions, registryClientConfig } from './clients';
import { loadConfig, type Env } from './env';

const REQUIRED: Env = {
  KAFKA_BROKERS: 'localhost:9092',
  SCHEMA_REGISTRY_URL: 'http://localhost:8081/apis/ccompat/v7',
  REDIS_URL: 'redis://localhost:6379',
};

const CA_PEM = '-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n';
const caFile = () => {
  const path = join(mkdtempSync(join(tmpdir(), 'config-test-')), 'ca.pem');
  writeFileSync(path, CA_PEM);
  return path;
};

describe('kafkaClientOptions', () => {
  it('connects in plaintext without credentials by default', () => {
    expect(kafkaClientOptions(loadConfig(REQUIRED))).toEqual({
      clientId: 'churnscore',
      brokers: ['localhost:9092'],
      ssl: false,
      maxDecompressionRatio: 64,
    });
  });

  it('adds SASL credentials and TLS with an extra CA', () => {
    const cfg = loadConfig({
      ...REQUIRED,
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: 'scorer',
      KAFKA_SASL_PASSWORD: 'pw',
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: caFile(),
    });
    expect(kafkaClientOptions(cfg)).toEqual({
      clientId: 'churnscore',
      brokers: ['localhost:9092'],
      ssl: { ca: [CA_PEM] },
      sasl: { mechanism: 'scram-sha-256', username: 'scorer', password: 'pw' },
      maxDecompressionRatio: 64,
    });
  });

  it('uses TLS with the system CAs when no CA file is given', () => {
    expect(kafkaClientOptions(loadConfig({ ...REQUIRED, KAFKA_SSL: 'true' })).ssl).toBe(true);
  });
});

describe('registryClientConfig', () => {
  it('points at the registry with a timeout and bounded caches', () => {
    expect(registryClientConfig(loadConfig(REQUIRED))).toEqual({
      baseURLs: ['http://localhost:8081/apis/ccompat/v7'],
      createAxiosDefaults: { timeout: 10_000 },
      cacheCapacity: 1000,
      cacheLatestTtlSecs: 300,
    });
  });

  it('passes basic-auth credentials', () => {
    const cfg = loadConfig({ ...REQUIRED, SCHEMA_REGISTRY_USERNAME: 'reader', SCHEMA_REGISTRY_PASSWORD: 'pw' });
    expect(registryClientConfig(cfg).basicAuthCredentials).toEqual({ credentialsSource: 'USER_INFO', userInfo: 'reader:pw' });
  });
});
