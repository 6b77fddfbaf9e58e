import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SCORING_CONFIG_PATH } from '@churnscore/scoring';
import { DEFAULT_MAX_ENTITIES, DEFAULT_PREFIX } from '@churnscore/state';
import { describe, expect, it } from 'vitest';
import { ConfigError, SETTING_NAMES, loadConfig, settingDefault, type Env } from './env';

const REQUIRED: Env = {
  KAFKA_BROKERS: 'localhost:9092',
  SCHEMA_REGISTRY_URL: 'http://localhost:8081/apis/ccompat/v7',
  REDIS_URL: 'redis://localhost:6379',
};

const caFile = () => {
  const path = join(mkdtempSync(join(tmpdir(), 'config-test-')), 'ca.pem');
  writeFileSync(path, '-----BEGIN CERTIFICATE-----\n');
  return path;
};

function problemsOf(env: Env): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(REQUIRED)).toEqual({
      kafka: {
        brokers: ['localhost:9092'],
        clientId: 'churnscore',
        consumerGroup: 'churnscore-scorer',
        sasl: null,
        ssl: false,
        sslCaFile: null,
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 3_000,
        maxDecompressionRatio: 64,
      },
      schemaRegistry: { url: 'http://localhost:8081/apis/ccompat/v7', basicAuth: null },
      redis: { url: 'redis://localhost:6379', cluster: false, seeds: [], tlsCaFile: null, keyPrefix: DEFAULT_PREFIX },
      topics: {
        activity: 'crm.activity.v1',
        opportunity: 'crm.opportunity.v1',
        contract: 'crm.contract.v1',
        customer: 'crm.customer.v1',
        scoreChanged: 'customer.score-changed.v1',
        alerts: 'customer.alerts.v1',
        dlq: 'crm.dlq.v1',
      },
      reportingCurrency: 'USD',
      maxFutureSkewMs: 3_600_000,
      retentionDays: 400,
      dedupeWindowDays: 7,
      maxEntities: DEFAULT_MAX_ENTITIES,
      scoringConfigPath: DEFAULT_SCORING_CONFIG_PATH,
      httpPort: 9464,
      httpHost: '127.0.0.1',
      apiPort: 8080,
      apiHost: '127.0.0.1',
      apiToken: null,
      apiAllowAnonymous: false,
      logLevel: 'info',
      scorer: {
        chunkSize: 5_000,
        maxChunkSize: 20_000,
        concurrentPartitions: 24,
        fetchBytesPerPartition: 4_194_304,
        commitIntervalMs: 1_000,
        fsyncGraceMs: 2_500,
        rescorePollIntervalMs: 30_000,
        rescoreClaimLimit: 500,
        rescoreConcurrentClaims: 2,
        rescoreLeaseMs: 60_000,
        catchUpHistoryAgeMs: 86_400_000,
        catchUpSettleMs: 60_000,
        catchUpScoreDelayMs: 30_000,
        stallLimitMs: 300_000,
        maxClockSkewMs: 30_000,
      },
    });
  });

  it('refuses a time-driven poll slower than the one-hour re-scoring bound', () => {
    expect(() => loadConfig({ ...REQUIRED, RESCORE_POLL_INTERVAL_MS: '3600001' })).toThrow(
      /RESCORE_POLL_INTERVAL_MS: expected an integer from 50 to 3600000, got "3600001"/,
    );
  });

  it('defaults SCORING_CONFIG_PATH to the scoring package\'s bundled file', () => {
    expect(existsSync(DEFAULT_SCORING_CONFIG_PATH)).toBe(true);
  });

  it('takes a relative SCORING_CONFIG_PATH from the directory the command was typed in (INIT_CWD), as --base-config', () => {
    expect(loadConfig({ ...REQUIRED, SCORING_CONFIG_PATH: '../models/m/scoring-config.json', INIT_CWD: '/home/analyst/work' }).scoringConfigPath).toBe(
      '/home/analyst/models/m/scoring-config.json',
    );
    expect(loadConfig({ ...REQUIRED, SCORING_CONFIG_PATH: '/etc/churnscore/scoring.json', INIT_CWD: '/home/analyst/work' }).scoringConfigPath).toBe('/etc/churnscore/scoring.json');
  });

  it('reads every setting from the environment', () => {
    const ca = caFile();
    const cfg = loadConfig({
      KAFKA_BROKERS: 'kafka-1:9093, kafka-2:9093,[::1]:9094',
      KAFKA_CLIENT_ID: 'simulator',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'scorer',
      KAFKA_SASL_PASSWORD: 's3cret',
      KAFKA_SSL: 'TRUE',
      KAFKA_SSL_CA_FILE: ca,
      KAFKA_SESSION_TIMEOUT_MS: '45000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '15000',
      KAFKA_MAX_DECOMPRESSION_RATIO: '200',
      CONSUMER_GROUP: 'replay-2025',
      SCHEMA_REGISTRY_URL: 'https://registry.internal/apis/ccompat/v7',
      SCHEMA_REGISTRY_USERNAME: 'reader',
      SCHEMA_REGISTRY_PASSWORD: 'pw',
      REDIS_URL: 'rediss://scorer:pw@redis.internal:6380',
      REDIS_CLUSTER: 'yes',
      REDIS_CLUSTER_SEEDS: 'redis-2.internal:6380, [::1]:6381',
      REDIS_TLS_CA_FILE: ca,
      REDIS_KEY_PREFIX: 'chs:v3r1',
      TOPIC_ACTIVITY: 'test.activity',
      TOPIC_DLQ: 'test.dlq',
      REPORTING_CURRENCY: 'EUR',
      MAX_FUTURE_SKEW_MS: '60000',
      RETENTION_DAYS: '730',
      DEDUPE_WINDOW_DAYS: '14',
      SCORING_CONFIG_PATH: '/etc/churnscore/scoring.json',
      HTTP_PORT: '0',
      HTTP_HOST: '::',
      API_PORT: '8443',
      API_HOST: '0.0.0.0',
      API_TOKEN: 'a-long-enough-token',
      LOG_LEVEL: 'debug',
    });
    expect(cfg.kafka).toEqual({
      brokers: ['kafka-1:9093', 'kafka-2:9093', '[::1]:9094'],
      clientId: 'simulator',
      consumerGroup: 'replay-2025',
      sasl: { mechanism: 'scram-sha-512', username: 'scorer', password: 's3cret' },
      ssl: true,
      sslCaFile: ca,
      sessionTimeoutMs: 45_000,
      heartbeatIntervalMs: 15_000,
      maxDecompressionRatio: 200,
    });
    expect(cfg.schemaRegistry.basicAuth).toEqual({ username: 'reader', password: 'pw' });
    expect(cfg.redis).toEqual({
      url: 'rediss://scorer:pw@redis.internal:6380',
      cluster: true,
      seeds: ['redis-2.internal:6380', '[::1]:6381'],
      tlsCaFile: ca,
      keyPrefix: 'chs:v3r1',
    });
    expect(cfg.topics.activity).toBe('test.activity');
    expect(cfg.topics.dlq).toBe('test.dlq');
    expect(cfg.topics.contract).toBe('crm.contract.v1');
    expect(cfg).toMatchObject({
      reportingCurrency: 'EUR',
      maxFutureSkewMs: 60_000,
      retentionDays: 730,
      dedupeWindowDays: 14,
      scoringConfigPath: '/etc/churnscore/scoring.json',
      httpPort: 0,
      httpHost: '::',
      apiPort: 8443,
      apiHost: '0.0.0.0',
      apiToken: 'a-long-enough-token',
      logLevel: 'debug',
    });
  });

  it('takes a SASL mechanism in any case, as Kafka spells it or as kafkajs does', () => {
    const credentials = { KAFKA_SASL_USERNAME: 'scorer', KAFKA_SASL_PASSWORD: 'pw' };
    for (const [spelling, mechanism] of [
      ['SCRAM-SHA-512', 'scram-sha-512'],
      ['Scram-Sha-256', 'scram-sha-256'],
      ['PLAIN', 'plain'],
      ['plain', 'plain'],
    ]) {
      expect(loadConfig({ ...REQUIRED, ...credentials, KAFKA_SASL_MECHANISM: spelling }).kafka.sasl?.mechanism).toBe(mechanism);
    }
    expect(problemsOf({ ...REQUIRED, ...credentials, KAFKA_SASL_MECHANISM: 'GSSAPI' })).toEqual([
      'KAFKA_SASL_MECHANISM: expected SCRAM-SHA-256 | SCRAM-SHA-512 | PLAIN (any case), got "GSSAPI"',
    ]);
  });

  it('keeps the consumer heartbeat at most a third of the session timeout, within the brokers\' default bounds', () => {
    expect(problemsOf({ ...REQUIRED, KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '3000' })).toEqual([
      'KAFKA_HEARTBEAT_INTERVAL_MS: must be at most a third of KAFKA_SESSION_TIMEOUT_MS (6000), got "3000"',
    ]);
    expect(problemsOf({ ...REQUIRED, KAFKA_HEARTBEAT_INTERVAL_MS: '4000' })).toEqual([
      'KAFKA_HEARTBEAT_INTERVAL_MS: must be at most a third of KAFKA_SESSION_TIMEOUT_MS (10000), got "4000"',
    ]);
    // Unset, the heartbeat follows a shorter session timeout.
    expect(loadConfig({ ...REQUIRED, KAFKA_SESSION_TIMEOUT_MS: '6000' }).kafka.heartbeatIntervalMs).toBe(2_000);
    expect(problemsOf({ ...REQUIRED, KAFKA_SESSION_TIMEOUT_MS: '5000' })).toEqual([
      'KAFKA_SESSION_TIMEOUT_MS: expected an integer from 6000 to 1800000, got "5000"',
    ]);
  });

  it('bounds what one fetch brings of a partition between 64 KiB and 64 MiB', () => {
    expect(loadConfig({ ...REQUIRED, SCORER_FETCH_BYTES_PER_PARTITION: '1048576' }).scorer.fetchBytesPerPartition).toBe(1_048_576);
    expect(problemsOf({ ...REQUIRED, SCORER_FETCH_BYTES_PER_PARTITION: '1000' })).toHaveLength(1);
    expect(problemsOf({ ...REQUIRED, SCORER_FETCH_BYTES_PER_PARTITION: String(128 * 1_048_576) })).toHaveLength(1);
  });

  it('lets a chunk of one partition hold at least as many records as a unit of several', () => {
    expect(problemsOf({ ...REQUIRED, SCORER_MAX_CHUNK_SIZE: '1000' })).toEqual([
      'SCORER_MAX_CHUNK_SIZE: must be at least SCORER_CHUNK_SIZE (5000), got "1000"',
    ]);
    expect(loadConfig({ ...REQUIRED, SCORER_CHUNK_SIZE: '1000', SCORER_MAX_CHUNK_SIZE: '1000' }).scorer).toMatchObject({ chunkSize: 1_000, maxChunkSize: 1_000 });
  });

  it('serves customer data without a token only when told to, and not with both', () => {
    expect(loadConfig({ ...REQUIRED, API_ALLOW_ANONYMOUS: 'true' }).apiAllowAnonymous).toBe(true);
    expect(problemsOf({ ...REQUIRED, API_ALLOW_ANONYMOUS: 'true', API_TOKEN: 'a-long-enough-token' })).toEqual([
      'API_ALLOW_ANONYMOUS: set to true, but API_TOKEN is set too: unset one of them, got "true"',
    ]);
  });

  it('refuses an API token no Authorization header could carry: one with whitespace, or with a character outside visible ASCII', () => {
    // An accented letter: curl sends it as UTF-8 bytes the API does not compare alike, and a browser refuses the header.
    for (const token of [' '.repeat(18), 'a long enough token', 'pässwörd-secret-0123456789€', 'a-long-enough-token\u0007']) {
      expect(problemsOf({ ...REQUIRED, API_TOKEN: token })).toEqual([expect.stringMatching(/^API_TOKEN: expected at least 16 characters, each a visible ASCII character/)]);
    }
  });

  it('refuses an API_TOKEN of few different characters, however long: a secret, not a length', () => {
    expect(problemsOf({ ...REQUIRED, API_TOKEN: 'a'.repeat(16) })).toEqual([expect.stringMatching(/^API_TOKEN: expected a token of at least 8 different characters/)]);
    expect(problemsOf({ ...REQUIRED, API_TOKEN: 'abababababababab' })).toHaveLength(1);
    expect(loadConfig({ ...REQUIRED, API_TOKEN: 'a-long-enough-token' }).apiToken).toBe('a-long-enough-token');
  });

  it('treats an empty optional setting as unset', () => {
    const cfg = loadConfig({ ...REQUIRED, KAFKA_SASL_MECHANISM: '', LOG_LEVEL: '', API_TOKEN: '' });
    expect(cfg.kafka.sasl).toBeNull();
    expect(cfg.logLevel).toBe('info');
    expect(cfg.apiToken).toBeNull();
  });

  it('names every missing required setting at once', () => {
    expect(problemsOf({})).toEqual([
      'KAFKA_BROKERS: expected host:port[,host:port…], got nothing (not set)',
      'SCHEMA_REGISTRY_URL: expected a http:// or https:// URL, got nothing (not set)',
      'REDIS_URL: expected a redis:// or rediss:// URL, got nothing (not set)',
    ]);
  });

  it('names each bad setting, what it expects and what it got', () => {
    const problems = problemsOf({
      ...REQUIRED,
      KAFKA_BROKERS: '',
      KAFKA_SSL: 'maybe',
      REDIS_URL: 'http://localhost:6379',
      REPORTING_CURRENCY: 'usd',
      RETENTION_DAYS: '30',
      HTTP_PORT: '99999',
      LOG_LEVEL: 'verbose',
      TOPIC_ALERTS: 'alerts topic',
      REDIS_KEY_PREFIX: '{chs}',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'KAFKA_BROKERS: expected host:port[,host:port…], got ""',
        'KAFKA_SSL: expected true or false (1 / 0 and yes / no, in any case, are read as them), got "maybe"',
        'REDIS_URL: expected a redis:// or rediss:// URL, got "http://localhost:6379"',
        'REPORTING_CURRENCY: expected an ISO 4217 currency code such as USD, got "usd"',
        'RETENTION_DAYS: expected an integer from 365 to 3650, got "30"',
        'HTTP_PORT: expected an integer from 0 to 65535, got "99999"',
        'LOG_LEVEL: expected trace | debug | info | warn | error | fatal | silent, got "verbose"',
        'TOPIC_ALERTS: expected a Kafka topic name ([A-Za-z0-9._-], at most 249), got "alerts topic"',
        'REDIS_KEY_PREFIX: expected at most 64 of [A-Za-z0-9:._-], got "{chs}"',
      ]),
    );
    expect(problems).toHaveLength(9);
  });

  it('rejects a broker list with a missing port', () => {
    expect(problemsOf({ ...REQUIRED, KAFKA_BROKERS: 'kafka-1:9092,kafka-2' })).toEqual([
      'KAFKA_BROKERS: expected host:port[,host:port…], got "kafka-1:9092,kafka-2"',
    ]);
  });

  it('checks settings that depend on each other', () => {
    expect(problemsOf({ ...REQUIRED, KAFKA_SASL_MECHANISM: 'scram-sha-256' })).toEqual([
      'KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set, got nothing (not set)',
      'KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set, got nothing (not set)',
    ]);
    expect(problemsOf({ ...REQUIRED, KAFKA_SASL_USERNAME: 'scorer', KAFKA_SASL_PASSWORD: 'pw' })).toEqual([
      'KAFKA_SASL_USERNAME: set, but KAFKA_SASL_MECHANISM is not, got "scorer"',
      'KAFKA_SASL_PASSWORD: set, but KAFKA_SASL_MECHANISM is not, got a value of 2 characters (redacted)',
    ]);
    expect(problemsOf({ ...REQUIRED, SCHEMA_REGISTRY_USERNAME: 'reader' })).toEqual([
      'SCHEMA_REGISTRY_PASSWORD: required with SCHEMA_REGISTRY_USERNAME, got nothing (not set)',
    ]);
    expect(problemsOf({ ...REQUIRED, KAFKA_SSL_CA_FILE: caFile() })).toEqual([
      expect.stringMatching(/^KAFKA_SSL_CA_FILE: set, but KAFKA_SSL is not true, got ".*ca\.pem"$/),
    ]);
    expect(problemsOf({ ...REQUIRED, REDIS_TLS_CA_FILE: caFile() })).toEqual([
      expect.stringMatching(/^REDIS_TLS_CA_FILE: set, but REDIS_URL is not a rediss:\/\/ \(TLS\) URL/),
    ]);
    expect(problemsOf({ ...REQUIRED, REDIS_CLUSTER_SEEDS: 'redis-2:6379' })).toEqual(['REDIS_CLUSTER_SEEDS: set, but REDIS_CLUSTER is not true, got "redis-2:6379"']);
    expect(problemsOf({ ...REQUIRED, REDIS_URL: 'redis://localhost:6379/2', REDIS_CLUSTER: 'true' })).toEqual([
      'REDIS_URL: selects a database other than 0, which Redis Cluster does not support, got "redis://localhost:6379/2"',
    ]);
    expect(problemsOf({ ...REQUIRED, TOPIC_ALERTS: 'customer.score-changed.v1' })).toEqual([
      'TOPIC_ALERTS: names the same topic as TOPIC_SCORE_CHANGED (customer.score-changed.v1), got "customer.score-changed.v1"',
    ]);
    // The setting given is blamed, not the one left at its default.
    expect(problemsOf({ ...REQUIRED, TOPIC_ACTIVITY: 'crm.contract.v1' })).toEqual([
      'TOPIC_ACTIVITY: names crm.contract.v1, the topic of TOPIC_CONTRACT (its default), got "crm.contract.v1"',
    ]);
  });

  it('refuses a CA file it cannot read', () => {
    expect(problemsOf({ ...REQUIRED, KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' })).toEqual([
      'KAFKA_SSL_CA_FILE: expected a readable file, got "/nonexistent/ca.pem"',
    ]);
  });

  it('never shows a secret in an error message', () => {
    const problems = problemsOf({
      ...REQUIRED,
      REDIS_URL: 'redis://scorer:hunter2@localhost:6379/x',
      API_TOKEN: 'hunter2',
    });
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problems).toEqual([
      'REDIS_URL: expected a redis:// or rediss:// URL, optionally ending in /<database number>, got "redis://scorer:***@localhost:6379/x"',
      'API_TOKEN: expected at least 16 characters, each a visible ASCII character (no whitespace, no accented letters), got a value of 7 characters (redacted)',
    ]);
  });

  it('puts every problem in the error message', () => {
    expect(() => loadConfig({})).toThrow(
      /^Invalid configuration:\n {2}KAFKA_BROKERS: .*\n {2}SCHEMA_REGISTRY_URL: .*\n {2}REDIS_URL: .*$/,
    );
  });
});

describe('the settings table of packages/config/README.md', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it('names every setting', () => {
    expect(SETTING_NAMES.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });

  it('gives the default the code has, for every setting it gives one as a value', () => {
    // Rows "| `NAME` | `default` | …"; a default in words (a computed one, a file) is not a value to compare.
    const documented = [...readme.matchAll(/^\| `([A-Z0-9_]+)` \| `([^`]*)`/gm)].map(([, name, value]) => ({ name: name as (typeof SETTING_NAMES)[number], value }));
    expect(documented.length).toBeGreaterThan(SETTING_NAMES.length / 2);
    const differing = documented.filter(({ name, value }) => settingDefault(name) !== null && String(settingDefault(name)) !== value);
    expect(differing.map(({ name, value }) => `${name}: documented ${value}, code ${String(settingDefault(name))}`)).toEqual([]);
  });
});
