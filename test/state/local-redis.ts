// Throw-away redis-server processes for the tests that need a server of their own (a cluster, an outage).
// Each test stops what it started; nothing here touches the shared test stack.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

const isPortFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer().once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A free loopback port whose cluster-bus companion (port + 10000) is free too. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await isPortFree(port)) && (await isPortFree(port + 10_000))) return port;
  }
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); await sleep(100)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

export const redisCli = (port: number, ...args: string[]): string =>
  spawnSync('redis-cli', ['-p', String(port), ...args]).stdout?.toString().trim() ?? '';

/** Starts redis-server on a loopback port, without persistence, and waits until it answers. */
export async function startRedisServer(port: number, dir: string, extraArgs: string[] = []): Promise<ChildProcess> {
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs], {
    stdio: 'ignore',
  });
  await waitFor(`redis-server on ${port}`, () => redisCli(port, 'ping') === 'PONG');
  return server;
}

export async function stopRedisServers(servers: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise((resolve) => {
          if (server.exitCode !== null) return resolve(null);
          server.once('exit', resolve);
          server.kill('SIGTERM');
        }),
    ),
  );
}

/** A Redis Cluster of local redis-server processes: what REDIS_URL names (any node) with REDIS_CLUSTER=true. */
export interface LocalRedisCluster {
  /** redis:// URL of the first master, the seed node a client discovers the others from. */
  url: string;
  /** Stops every node and removes their data directory. */
  stop(): Promise<void>;
}

/**
 * Starts `masters` cluster-enabled redis-server processes (no replicas, no persistence) in a temporary
 * directory, joins them with `redis-cli --cluster create`, and waits until every node reports the
 * cluster as ok.
 */
export async function startRedisCluster(masters: number): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'chs-cluster-'));
  const servers: ChildProcess[] = [];
  const stop = async () => {
    await stopRedisServers(servers);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) ports.push(await freePort());
    for (const port of ports) {
      servers.push(await startRedisServer(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`]));
    }
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    const created = redisCli(ports[0] as number, '--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes');
    if (!created.includes('[OK]')) throw new Error(`cluster create failed: ${created}`);
    await waitFor('cluster_state:ok', () => ports.every((p) => redisCli(p, 'cluster', 'info').includes('cluster_state:ok')));
    return { url: `redis://127.0.0.1:${ports[0]}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
