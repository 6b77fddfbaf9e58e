// createRedis: an outage pauses the caller (commands wait, with reconnection backoff) and the call completes
// once Redis is back, rather than failing or crashing the service; a connection dropped silently is replaced.
// replicationProgress on a single server with a replica, what the durability gate waits for before committing
// offsets (the cluster's: redis-replica-lag.test.ts).
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis, createStateStore, replicationProgress } from '@churnscore/state';
import { Feed, NOW, activity } from './fixtures';
import { TcpProxy } from '../robustness/tcp-proxy';
import { freePort, hasRedisServer, redisCli, startRedisServer, stopRedisServers, waitFor } from './local-redis';

describe.skipIf(!hasRedisServer)('createRedis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chs-outage-'));
  const servers: ChildProcess[] = [];
  afterAll(async () => {
    await stopRedisServers(servers);
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits out an outage: a call made while Redis is down completes when it comes back', async () => {
    const port = await freePort();
    const redis = createRedis({ url: `redis://127.0.0.1:${port}/0`, connectionName: 'state-outage-test' });
    redis.on('error', () => {}); // connection refusals while down are expected
    try {
      const store = createStateStore(redis, { prefix: 'outage' });
      const pending = store.applyEvents(new Feed().items(activity('c1', 'CALL', NOW)), NOW);
      let settled = false;
      void pending.finally(() => (settled = true));
      await sleep(1_000);
      expect(settled).toBe(false);

      servers.push(await startRedisServer(port, dir));
      expect(await pending).toEqual([{ outcome: 'applied', revision: 1 }]);
      expect(await redis.client('GETNAME')).toBe('state-outage-test');
    } finally {
      redis.disconnect();
    }
  });

  it('replaces a connection that answers nothing: a command sent on one the network dropped silently is answered on a new one', async () => {
    const port = await freePort();
    servers.push(await startRedisServer(port, dir));
    const proxy = new TcpProxy({ host: '127.0.0.1', port });
    const replySilenceLimitMs = 1_500;
    const redis = createRedis({ url: `redis://127.0.0.1:${await proxy.listen()}`, replySilenceLimitMs });
    redis.on('error', () => {}); // the silent connection's end is reported
    try {
      expect(await redis.ping()).toBe('PONG');
      proxy.silenceOpenConnections();
      const sentAt = performance.now();
      expect(await redis.ping()).toBe('PONG');
      // Not before the limit: a slow reply is not a dead connection.
      expect(performance.now() - sentAt).toBeGreaterThanOrEqual(replySilenceLimitMs);
    } finally {
      redis.disconnect();
      proxy.close();
    }
  });
});

describe.skipIf(!hasRedisServer)('replicationProgress on a single server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chs-replica-'));
  const servers: ChildProcess[] = [];
  afterAll(async () => {
    for (const server of servers) server.kill('SIGCONT');
    await stopRedisServers(servers);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers once Redis does a command written on a connection that closed before it was ready, rather than never', async () => {
    const port = await freePort();
    const server = await startRedisServer(port, dir);
    servers.push(server);
    // A Redis that hangs (an outside tester's `kill -STOP` for 40 s): connections are accepted, nothing is answered.
    server.kill('SIGSTOP');
    const redis = createRedis({ url: `redis://127.0.0.1:${port}`, replySilenceLimitMs: 1_000 });
    redis.on('error', () => {}); // the silent connections' ends are reported
    try {
      await once(redis, 'connect');
      // ioredis writes INFO before the connection is ready (Redis answers it while loading): the scorer's start asks it.
      const info = redis.info('replication');
      // Past the reply silence limit: that connection is replaced, and the next one too.
      await sleep(2_500);
      server.kill('SIGCONT');
      expect(await Promise.race([info, sleep(10_000).then(() => 'never answered')])).toContain('role:master');
    } finally {
      server.kill('SIGCONT');
      redis.disconnect();
    }
  });

  it("follows what its replica has confirmed: at once without one, behind while the replica stalls, caught up after", async () => {
    const [masterPort, replicaPort] = [await freePort(), await freePort()];
    servers.push(await startRedisServer(masterPort, dir, ['--repl-diskless-sync-delay', '0']));
    const redis = createRedis({ url: `redis://127.0.0.1:${masterPort}` });
    const progress = async () => (await replicationProgress(redis))[0]!;
    try {
      expect((await progress()).confirmed).toBe(Infinity); // no replica: nothing to wait for

      const replica = await startRedisServer(replicaPort, dir, ['--replicaof', '127.0.0.1', String(masterPort)]);
      servers.push(replica);
      await waitFor('the replica in sync', () => redisCli(replicaPort, 'info', 'replication').includes('master_link_status:up'));
      expect((await progress()).connectedReplicas).toBe(1); // counted, for the gate to remember it
      await redis.set('replicated', 'one');
      await expect.poll(async () => { const { written, confirmed } = await progress(); return confirmed >= written; }, { timeout: 5_000 }).toBe(true);

      replica.kill('SIGSTOP'); // a replica that stops reading its master's stream (a stalled disk, a long pause)
      await redis.set('replicated', 'two');
      await sleep(2_500);
      const stalled = await progress();
      expect(stalled.confirmed).toBeLessThan(stalled.written);

      replica.kill('SIGCONT');
      await expect.poll(async () => (await progress()).confirmed, { timeout: 5_000 }).toBeGreaterThanOrEqual(stalled.written);
    } finally {
      redis.disconnect();
    }
  });
});
