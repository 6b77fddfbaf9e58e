import { createServer } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@churnscore/config';
import { DEFAULT_PREFIX } from '@churnscore/state';
import { demoApiAccess, demoConsumerGroup, portTaken } from './demo';

describe('portTaken', () => {
  it("tells a port another process listens on, which npm start refuses rather than read that process's answers as its service's", async () => {
    const other = createServer().listen(0, '127.0.0.1');
    await once(other, 'listening');
    const { port } = other.address() as { port: number };
    try {
      expect(await portTaken('127.0.0.1', port)).toBe(true);
    } finally {
      other.close();
      await once(other, 'close');
    }
    expect(await portTaken('127.0.0.1', port)).toBe(false);
  });
});

describe('demoApiAccess', () => {
  it('hands the read API a fresh token and prints that same token for the dashboard', () => {
    const { settings, loginLines } = demoApiAccess({});
    expect(settings.API_TOKEN).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(loginLines.join('\n')).toContain(settings.API_TOKEN);
    expect(demoApiAccess({}).settings.API_TOKEN).not.toBe(settings.API_TOKEN);
  });

  it("keeps the user's own API_TOKEN without printing it", () => {
    const { settings, loginLines } = demoApiAccess({ API_TOKEN: 'my-own-token-0123456789' });
    expect(settings).toEqual({});
    expect(loginLines.join('\n')).not.toContain('my-own-token-0123456789');
  });

  it('runs the API open, and says so, when the user asked for it', () => {
    const { settings, loginLines } = demoApiAccess({ API_ALLOW_ANONYMOUS: 'true' });
    expect(settings).toEqual({});
    expect(loginLines.join('\n')).toContain('API_ALLOW_ANONYMOUS');
  });
});

describe('demoConsumerGroup', () => {
  const stackEnv = { KAFKA_BROKERS: '127.0.0.1:19092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7', REDIS_URL: 'redis://127.0.0.1:16379' };

  it("gives the scorer a group of the namespace's own, so that a namespace new to a stack the demo ran on is built from the topics' start", () => {
    expect(demoConsumerGroup(stackEnv, loadConfig(stackEnv))).toEqual({ CONSUMER_GROUP: `churnscore-demo-${DEFAULT_PREFIX.replace(':', '.')}` });
    const trial = { ...stackEnv, REDIS_KEY_PREFIX: 'trial:v1' };
    expect(demoConsumerGroup(trial, loadConfig(trial))).toEqual({ CONSUMER_GROUP: 'churnscore-demo-trial.v1' });
  });

  it("keeps the user's own CONSUMER_GROUP", () => {
    const own = { ...stackEnv, CONSUMER_GROUP: 'mine' };
    expect(demoConsumerGroup(own, loadConfig(own))).toEqual({});
  });
});
