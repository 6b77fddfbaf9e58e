// createRedis: an outage pauses the caller (commands wait, with reconnection backoff) and the call completes
// once Redis is back, rather than failing or crashing the service.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis, createStateStore } from '@churnscore/state';
import { Feed, NOW, activity } from './fixtures';
import { freePort, hasRedisServer, startRedisServer, stopRedisServers } from './local-redis';

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
});
