import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { clockAheadOfRedisMs, dataSetLost, RedisLoginRefusedError, redisEndpoint, redisUnreachable, requireRedisLogin, writeFence, type RedisClient } from './connection';

describe('redisEndpoint', () => {
  it('connects to a single server in plaintext, database 0, without credentials', () => {
    expect(redisEndpoint({ url: 'redis://localhost' })).toEqual({ host: 'localhost', port: 6379, db: 0, login: {} });
  });

  it('takes the ACL user, the password and the database from the URL, and TLS with the CA file for rediss://', () => {
    const CA_PEM = '-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n';
    const tlsCaFile = join(mkdtempSync(join(tmpdir(), 'redis-ca-')), 'ca.pem');
    writeFileSync(tlsCaFile, CA_PEM);
    expect(redisEndpoint({ url: 'rediss://scorer:p%40ss@redis.internal:6380/3', tlsCaFile })).toEqual({
      host: 'redis.internal',
      port: 6380,
      db: 3,
      login: { username: 'scorer', password: 'p@ss', tls: { servername: 'redis.internal', ca: [CA_PEM] } },
    });
  });

  it('reads an IPv6 address without its brackets, and names no TLS server for an address', () => {
    expect(redisEndpoint({ url: 'redis://:pw@[::1]' })).toEqual({ host: '::1', port: 6379, db: 0, login: { password: 'pw' } });
    expect(redisEndpoint({ url: 'rediss://10.0.0.7:6390' }).login).toEqual({ tls: {} });
  });
});

/** A client whose PING settles as given, or never, and which reports its connections' errors as ioredis does. */
const redisAnswering = (ping: () => Promise<string>) =>
  Object.assign(new EventEmitter(), { ping, disconnect: vi.fn() }) as unknown as RedisClient & EventEmitter & { disconnect: ReturnType<typeof vi.fn> };
const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

describe('requireRedisLogin', () => {
  it('resolves true when Redis answers', async () => {
    await expect(requireRedisLogin(redisAnswering(async () => 'PONG'), 1_000)).resolves.toBe(true);
  });

  it('refuses a login Redis rejected, naming REDIS_URL and Redis\' reply, and disconnects', async () => {
    for (const reply of [
      'WRONGPASS invalid username-password pair or user is disabled.',
      'NOAUTH Authentication required.',
      "NOPERM this user has no permissions to run the 'ping' command",
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    ]) {
      const redis = redisAnswering(() => Promise.reject(Object.assign(new Error(reply), { command: { name: 'auth', args: ['user', 'secret'] } })));
      const refusal = requireRedisLogin(redis, 1_000);
      await expect(refusal).rejects.toBeInstanceOf(RedisLoginRefusedError);
      await expect(refusal).rejects.toThrow(`REDIS_URL: Redis refused the login (${reply})`);
      await expect(refusal).rejects.not.toThrow(/secret/);
      expect(redis.disconnect).toHaveBeenCalled();
    }
  });

  it('resolves false when no answer comes in time, or an error that waiting may fix', async () => {
    vi.useFakeTimers();
    try {
      const silent = requireRedisLogin(redisAnswering(() => new Promise<string>(() => undefined)), 3_000);
      await vi.advanceTimersByTimeAsync(3_000);
      await expect(silent).resolves.toBe(false);
    } finally {
      vi.useRealTimers();
    }
    await expect(requireRedisLogin(redisAnswering(() => Promise.reject(new Error('LOADING Redis is loading the dataset in memory'))), 1_000)).resolves.toBe(false);
  });

  it("refuses a login refused only in a cluster's reports: a connection's error while PING waits, or the last node's error", async () => {
    // An outside tester's scorer and API on a cluster, given a wrong password, waited for ever ("Redis did not answer").
    const waiting = redisAnswering(() => new Promise<string>(() => undefined));
    const refusal = requireRedisLogin(waiting, 3_000);
    waiting.emit('error', new Error(WRONGPASS));
    await expect(refusal).rejects.toThrow(`REDIS_URL: Redis refused the login (${WRONGPASS})`);
    const allFailed = Object.assign(new Error('Failed to refresh slots cache.'), { name: 'ClusterAllFailedError', lastNodeError: new Error(WRONGPASS) });
    await expect(requireRedisLogin(redisAnswering(() => Promise.reject(allFailed)), 1_000)).rejects.toBeInstanceOf(RedisLoginRefusedError);
    // Other connection errors are waited out, as before.
    const refusedConnection = redisAnswering(() => new Promise<string>(() => undefined));
    const unanswered = requireRedisLogin(refusedConnection, 100);
    refusedConnection.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    await expect(unanswered).resolves.toBe(false);
  });
});

describe('redisUnreachable', () => {
  it("tells a cluster client's failure to reach any node from Redis's replies", () => {
    // What an outside tester's API answered 500 to, started while the one node REDIS_URL named was down.
    expect(redisUnreachable(new Error('None of startup nodes is available'))).toBe(true);
    expect(redisUnreachable(Object.assign(new Error('Failed to refresh slots cache.'), { name: 'ClusterAllFailedError' }))).toBe(true);
    expect(redisUnreachable(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
  });
});

describe('writeFence', () => {
  const RUN_ID = 'a'.repeat(40);
  const identity = { runId: RUN_ID, epoch: '6f1c1c9e-3c55-4a43-9b4e-4f1d8b0c2a11', addedMasterEpochs: {}, serverTimeMs: 1_000 };

  it('names one generation per incarnation, short enough to keep the score hash listpack-encoded', () => {
    const cluster = { ...identity, runId: [RUN_ID, 'b'.repeat(40), 'c'.repeat(40)].join(',') };
    expect(writeFence(identity, 0).generation).toBe(writeFence({ ...identity, serverTimeMs: 9_000 }, 5_000).generation);
    const generations = [identity, { ...identity, runId: 'b'.repeat(40) }, { ...identity, epoch: 'replaced' }, cluster].map((i) => writeFence(i, 0).generation);
    expect(new Set(generations).size).toBe(4);
    // hash-max-listpack-value: a longer value turns the score hash into a hash table (~770 bytes more per customer)
    for (const generation of generations) expect(Buffer.byteLength(generation)).toBeLessThanOrEqual(64);
  });

  it('keeps the generation when a master is covered after the claim', () => {
    expect(writeFence({ ...identity, addedMasterEpochs: { 7: 'added' } }, 0).generation).toBe(writeFence(identity, 0).generation);
  });
});

describe('dataSetLost', () => {
  const claimed = { runId: 'a'.repeat(40), epoch: 'namespace;0,2|m0|m2', addedMasterEpochs: { 5: 'm5' }, serverTimeMs: 1_000 };

  it("counts a master covered since as no loss, and any master's epoch key changed or missing as one", () => {
    expect(dataSetLost(claimed, { ...claimed, runId: 'b'.repeat(40), addedMasterEpochs: { 5: 'm5', 9: 'm9' } })).toBe(false);
    expect(dataSetLost(claimed, { ...claimed, epoch: 'namespace;0,2|m0|' })).toBe(true); // a listed master came back empty
    expect(dataSetLost(claimed, { ...claimed, epoch: 'another;0,2|m0|m2' })).toBe(true); // the namespace replaced
    expect(dataSetLost(claimed, { ...claimed, addedMasterEpochs: { 5: '' } })).toBe(true); // an added master came back empty
    expect(dataSetLost(claimed, { ...claimed, addedMasterEpochs: {} })).toBe(true); // the set naming it is gone
    expect(dataSetLost({ ...claimed, addedMasterEpochs: {} }, { ...claimed, addedMasterEpochs: { 5: 'm5', 9: '' } })).toBe(true); // covered, then lost
  });
});

describe('clockAheadOfRedisMs', () => {
  /** A Redis whose TIME reads `serverMs`, answered while the local clock moves from `sentAt` to `answeredAt`. */
  const measured = (serverMs: number, sentAt: number, answeredAt: number): Promise<number> => {
    const readings = [sentAt, answeredAt];
    const redis = { time: () => Promise.resolve([Math.floor(serverMs / 1000), (serverMs % 1000) * 1000]) } as unknown as RedisClient;
    return clockAheadOfRedisMs(redis, () => readings.shift()!);
  };

  it('says by how much at least the local clock is ahead or behind: the distance to the nearer reading around the call', async () => {
    expect(await measured(1_000_000, 1_060_000, 1_060_010)).toBe(60_000);
    expect(await measured(1_000_000, 940_000, 940_010)).toBe(-59_990);
  });

  it("takes no skew from a slow round trip: Redis read its clock somewhere in it (a reply held 85 s read as 39 s behind)", async () => {
    expect(await measured(1_084_000, 1_000_000, 1_085_000)).toBe(0);
  });
});
