// The key contract on Redis Cluster: every per-customer script stays on one slot and the global sets are
// written with single-key commands, so nothing is ever CROSSSLOT. The test brings up its own three-master
// cluster of local redis-server processes in a temporary directory (skipped if redis-server is absent).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, createStateStore, redisIdentity, type RedisClient, type StateStore } from '@churnscore/state';
import { DAY, Feed, HOUR, NOW, activity, contract, insights, opportunity, profile, scanAll, score } from './fixtures';

const MASTERS = 3;
const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

/** A free TCP port whose cluster-bus companion (port + 10000) is free too. */
async function freeClusterPort(): Promise<number> {
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer().once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000) {
  for (const deadline = Date.now() + timeoutMs; !check(); await sleep(100)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe.skipIf(!hasRedisServer)('on Redis Cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chs-cluster-'));
  const servers: ChildProcess[] = [];
  let redis: RedisClient;
  let store: StateStore;

  beforeAll(async () => {
    const ports: number[] = [];
    for (let i = 0; i < MASTERS; i++) ports.push(await freeClusterPort());
    for (const port of ports) {
      const server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
          '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      );
      servers.push(server);
      await waitFor(`redis-server on ${port}`, () => spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() === 'PONG');
    }
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    if (created.status !== 0) throw new Error(`cluster create failed: ${created.stdout.toString()}${created.stderr.toString()}`);
    await waitFor('cluster_state:ok', () =>
      ports.every((p) => spawnSync('redis-cli', ['-p', String(p), 'cluster', 'info']).stdout.toString().includes('cluster_state:ok')),
    );
    redis = createRedis({ url: `redis://127.0.0.1:${ports[0]}`, cluster: true });
    store = createStateStore(redis, { prefix: 'chs:cluster-test' });
  });

  afterAll(async () => {
    await redis?.quit();
    for (const server of servers) server.kill('SIGTERM');
    await Promise.all(servers.map((server) => new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.once('exit', resolve)))));
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies, reads, commits, claims and erases with no cross-slot error', async () => {
    const customers = Array.from({ length: 24 }, (_, i) => `cluster-${i}`);
    const feed = new Feed();
    const applied = await store.applyEvents(
      customers.flatMap((id) =>
        feed.items(
          activity(id, 'EMAIL_SENT', NOW - HOUR),
          activity(id, 'PRODUCT_USAGE', NOW - DAY, { value: 4 }),
          opportunity(id, 'O1', 'PROPOSAL', NOW - DAY),
          contract(id, 'C1', 'ACTIVE', NOW - 10 * DAY),
          profile(id, id.endsWith('1') ? 'SMB' : 'ENTERPRISE', NOW - DAY),
        ),
      ),
      NOW,
    );
    expect(applied.every((r) => r.outcome === 'applied')).toBe(true);

    const snapshots = await store.readCustomers(customers, NOW);
    expect(snapshots.map((s) => s.state.revision)).toEqual(customers.map(() => 5));

    const results = await store.commitScores(
      snapshots.map((s, i) => ({
        score: score(s.customerId, { churnRisk: i / 100, segment: s.segment }),
        insights: insights(s.customerId),
        revision: s.state.revision,
        asOf: NOW,
        significant: true,
        alertBook: { episodes: {} },
        outbox: [{ topic: 'customer.score-changed.v1', key: s.customerId, value: { i } }],
        nextDueAt: NOW - 1,
      })),
    );
    expect(results.every((r) => r.written && r.version === 1 && r.outbox.length === 1)).toBe(true);
    await Promise.all(customers.map((id) => store.ackOutbox(id, 1)));
    expect(await redis.zcard(store.keys.ranking('churnRisk'))).toBe(customers.length);

    const claims = await store.claimDue(NOW, { limit: 100, leaseMs: 60_000 });
    expect(claims.map((c) => c.customerId).sort()).toEqual([...customers].sort());

    expect(await Promise.all(customers.map((id) => store.eraseCustomer(id)))).toEqual(customers.map(() => 8));
    expect(await scanAll(redis, 'chs:cluster-test:cust:*')).toEqual([]);
    expect(await redis.zcard(store.keys.ranking('churnRisk'))).toBe(0);

    const identity = await redisIdentity(redis, 'chs:cluster-test');
    expect(identity.runId.split(',')).toHaveLength(MASTERS);
  });
});
