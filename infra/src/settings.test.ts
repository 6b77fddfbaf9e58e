import { describe, expect, it } from 'vitest';
import { externalEndpoints, loadSettings, localEndpoints, redactUrl } from './settings';

describe('loadSettings', () => {
  it('uses non-standard default ports on loopback', () => {
    const endpoints = localEndpoints(loadSettings({}));
    expect(endpoints).toEqual({
      kafkaBrokers: ['127.0.0.1:19092'],
      kafkaSaslBrokers: ['127.0.0.1:19094'],
      schemaRegistryUrl: 'http://127.0.0.1:18081/apis/ccompat/v7',
      redisUrl: 'redis://127.0.0.1:16379',
    });
  });

  it('moves ports with the STACK_*_PORT variables', () => {
    const settings = loadSettings({ STACK_KAFKA_PORT: '29092', STACK_KAFKA_SASL_PORT: '29094', STACK_REDIS_PORT: '26379' });
    expect(settings.ports.kafka.port).toBe(29092);
    expect(localEndpoints(settings).kafkaSaslBrokers).toEqual(['127.0.0.1:29094']);
    expect(settings.ports.redis.port).toBe(26379);
    expect(settings.ports.registry.port).toBe(18081);
  });

  it('names the variable of an invalid or clashing port', () => {
    expect(() => loadSettings({ STACK_REGISTRY_PORT: 'http' })).toThrow(/STACK_REGISTRY_PORT=http/);
    expect(() => loadSettings({ STACK_REDIS_PORT: '19092' })).toThrow(/STACK_KAFKA_PORT and STACK_REDIS_PORT/);
    expect(() => loadSettings({ STACK_KAFKA_SASL_PORT: '19093' })).toThrow(/STACK_KAFKA_CONTROLLER_PORT and STACK_KAFKA_SASL_PORT/);
  });

  it('keeps data under STACK_DIR and the cache under STACK_CACHE_DIR', () => {
    const settings = loadSettings({ STACK_DIR: '/tmp/s', STACK_CACHE_DIR: '/tmp/c' });
    expect(settings.dataDir).toBe('/tmp/s/data');
    expect(settings.runDir).toBe('/tmp/s/run');
    expect(settings.cacheDir).toBe('/tmp/c');
  });
});

describe('externalEndpoints', () => {
  it('is null when none of the endpoint variables is set', () => {
    expect(externalEndpoints({})).toBeNull();
  });

  it('takes all three when all are set', () => {
    expect(
      externalEndpoints({
        KAFKA_BROKERS: 'a:9092, b:9092',
        SCHEMA_REGISTRY_URL: 'http://r:8080/apis/ccompat/v7/',
        REDIS_URL: 'redis://x:6379',
      }),
    ).toEqual({ kafkaBrokers: ['a:9092', 'b:9092'], schemaRegistryUrl: 'http://r:8080/apis/ccompat/v7', redisUrl: 'redis://x:6379' });
  });

  it("is null when the three name this checkout's own stack, as stack:up prints them to be exported", () => {
    const exported = { KAFKA_BROKERS: '127.0.0.1:19092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7', REDIS_URL: 'redis://127.0.0.1:16379' };
    expect(externalEndpoints(exported)).toBeNull();
    expect(externalEndpoints({ ...exported, REDIS_URL: 'redis://localhost:16379/' })).toBeNull();
    expect(externalEndpoints({ ...exported, REDIS_URL: 'redis://127.0.0.1:16379/0' })).toBeNull();
    expect(externalEndpoints({ ...exported, REDIS_URL: 'redis://127.0.0.1:16379/1' })).not.toBeNull();
    // Another port (another checkout's stack, say) is someone else's services.
    expect(externalEndpoints({ ...exported, STACK_REDIS_PORT: '26379' })).not.toBeNull();
    expect(externalEndpoints({ ...exported, REDIS_URL: 'redis://user:pw@127.0.0.1:16379' })).not.toBeNull();
  });

  it('refuses a partial set, naming what is missing', () => {
    expect(() => externalEndpoints({ KAFKA_BROKERS: 'a:9092' })).toThrow(/KAFKA_BROKERS is set but SCHEMA_REGISTRY_URL, REDIS_URL are not/);
  });
});

describe('redactUrl', () => {
  it('hides passwords only', () => {
    expect(redactUrl('redis://user:secret@host:6379')).toBe('redis://user:***@host:6379');
    expect(redactUrl('redis://127.0.0.1:16379')).toBe('redis://127.0.0.1:16379');
  });
});
