// Throw-away redis-server processes for the tests that need a server of their own (a cluster, an outage).
// Each test stops what it started; nothing here touches the shared test stack.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
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

/**
 * Starts redis-server on a loopback port, without persistence, and waits until it answers. Servers may share `dir`:
 * each has an RDB file of its own there, because a replica writes the snapshot its master sends to that file and loads
 * it from there. Under the one default name, replicas syncing at once (a cluster's, as it starts) loaded one another's
 * snapshots, and a replica that took over a crashed master held another master's keys instead of its own (a fresh
 * clone's cluster-failover test, twice).
 */
export async function startRedisServer(port: number, dir: string, extraArgs: string[] = []): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', `dump-${port}.rdb`];
  const server = spawn('redis-server', [...args, ...extraArgs], {
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
          if (server.exitCode !== null || server.signalCode !== null) return resolve(null);
          server.once('exit', resolve);
          server.kill('SIGTERM');
        }),
    ),
  );
}

/**
 * The cluster's nodes as `CLUSTER NODES` lists them, seen from `port`; `servesSlots` for a master that owns slots (a
 * node just made a replica can still show as a master without slots for a moment, as gossip catches up), `masterId`
 * for a replica.
 */
export function clusterNodes(port: number): Array<{ id: string; port: number; servesSlots: boolean; failed: boolean; masterId: string | null }> {
  return redisCli(port, 'cluster', 'nodes')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , , ...slots] = line.split(' ');
      return {
        id,
        port: Number(address.split(/[:@]/)[1]),
        servesSlots: flags.split(',').includes('master') && slots.length > 0,
        failed: flags.includes('fail'),
        masterId: master === '-' ? null : master,
      };
    });
}

/** Waits until, seen from `seed`, the node at `crashed` is failed and `masters` masters serve every slot again. */
export function waitForFailover(seed: number, crashed: number, masters: number): Promise<void> {
  return waitFor(
    'a replica to take over the crashed master',
    () => {
      const nodes = clusterNodes(seed);
      const crashedFailed = nodes.some((node) => node.port === crashed && node.failed);
      return crashedFailed && nodes.filter((node) => node.servesSlots && !node.failed).length === masters && redisCli(seed, 'cluster', 'info').includes('cluster_state:ok');
    },
    60_000,
  );
}

/** A Redis Cluster of local redis-server processes: what REDIS_URL names (any node) with REDIS_CLUSTER=true. */
export interface LocalRedisCluster {
  /** redis:// URL of the first master, the seed node a client discovers the others from. */
  url: string;
  /** Every node's port, the seed's (`url`) first. */
  ports: number[];
  /** Kills a node at once (SIGKILL), as a crash would. */
  crashNode(port: number): Promise<void>;
  /** Kills a node and starts it again on its cluster configuration, without its data (there is no persistence). */
  restartNodeEmpty(port: number): Promise<void>;
  /** With `appendOnly`: the length of the append-only file a node writes to now. */
  appendOnlyFileSize(port: number): number;
  /**
   * With `appendOnly`: kills a node (SIGKILL) and starts it again from its append-only file cut to `size` bytes, as a
   * crash leaves it when the disk held fsync back (the writes after `size` lost), and waits until the cluster is ok.
   */
  restartNodeWithFileCut(port: number, size: number): Promise<void>;
  /** Starts one more master, joins it to the cluster and moves a fair share of the slots to it, keys and all. */
  addMaster(): Promise<number>;
  /** Stops every node and removes their data directory. */
  stop(): Promise<void>;
}

/**
 * Starts `masters` cluster-enabled redis-server processes (and `replicasPerMaster` replicas of each; no
 * persistence unless `appendOnly`: an append-only file per node, fsync every second) in a temporary directory, joins
 * them with `redis-cli --cluster create`, and waits until every node reports the cluster as ok. `nodeTimeoutMs` is how
 * long a master may stay silent before its replica takes over (Redis's default 15 s; a failover test wants it short).
 */
export async function startRedisCluster(
  masters: number,
  options: { replicasPerMaster?: number; nodeTimeoutMs?: number; appendOnly?: boolean } = {},
): Promise<LocalRedisCluster> {
  const { replicasPerMaster = 0, nodeTimeoutMs = 15_000, appendOnly = false } = options;
  const dir = mkdtempSync(join(tmpdir(), 'chs-cluster-'));
  const servers: ChildProcess[] = [];
  const stop = async () => {
    await stopRedisServers(servers);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    const clusterArgs = (port: number) => [
      ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(nodeTimeoutMs)],
      // A replica's first sync starts at once rather than after Redis's 5 s wait for more replicas to share it.
      ...['--repl-diskless-sync-delay', '0', '--logfile', `redis-${port}.log`],
      ...(appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--appenddirname', `aof-${port}`] : []),
    ];
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) ports.push(await freePort());
    for (const port of ports) servers.push(await startRedisServer(port, dir, clusterArgs(port)));
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    const created = redisCli(ports[0] as number, '--cluster', 'create', ...nodes, '--cluster-replicas', String(replicasPerMaster), '--cluster-yes');
    if (!created.includes('[OK]')) throw new Error(`cluster create failed: ${created}`);
    await waitFor('cluster_state:ok', () => ports.every((p) => redisCli(p, 'cluster', 'info').includes('cluster_state:ok')));
    // A replica that never synced with its master cannot take over from it. A node turns into a replica a moment after
    // the cluster reports ok (its log says so after the state change): every one is waited for, not those that had.
    const replicas = masters * replicasPerMaster;
    await waitFor('every replica in sync', () => {
      const replicaPorts = ports.filter((p) => redisCli(p, 'role').startsWith('slave'));
      return replicaPorts.length === replicas && replicaPorts.every((p) => redisCli(p, 'info', 'replication').includes('master_link_status:up'));
    });
    const crashNode = async (port: number) => {
      const server = servers[ports.indexOf(port)];
      if (!server || server.exitCode !== null || server.signalCode !== null) return;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGKILL');
      await exited;
    };
    const clusterOk = () => ports.every((p) => servers[ports.indexOf(p)]?.exitCode !== null || redisCli(p, 'cluster', 'info').includes('cluster_state:ok'));
    const restartNodeEmpty = async (port: number) => {
      await crashNode(port);
      servers[ports.indexOf(port)] = await startRedisServer(port, dir, clusterArgs(port));
      await waitFor('cluster_state:ok after the restart', clusterOk);
    };
    /** Redis 7 appends to the newest `*.incr.aof` of the node's append-only directory. */
    const appendOnlyFile = (port: number) => {
      const aofDir = join(dir, `aof-${port}`);
      return join(aofDir, readdirSync(aofDir).filter((name) => name.endsWith('.incr.aof')).sort().at(-1)!);
    };
    const appendOnlyFileSize = (port: number) => statSync(appendOnlyFile(port)).size;
    const restartNodeWithFileCut = async (port: number, size: number) => {
      await crashNode(port);
      truncateSync(appendOnlyFile(port), size);
      servers[ports.indexOf(port)] = await startRedisServer(port, dir, clusterArgs(port));
      await waitFor('cluster_state:ok after the restart', clusterOk);
    };
    const addMaster = async () => {
      const port = await freePort();
      servers.push(await startRedisServer(port, dir, clusterArgs(port)));
      ports.push(port);
      const seed = `127.0.0.1:${ports[0]}`;
      const added = redisCli(ports[0]!, '--cluster', 'add-node', `127.0.0.1:${port}`, seed);
      if (!added.includes('[OK]')) throw new Error(`cluster add-node failed: ${added}`);
      await waitFor('every node to know the new one', () => ports.every((p) => redisCli(p, 'cluster', 'nodes').includes(`:${port}@`)));
      // redis-cli refuses to rebalance until every node agrees on the configuration, which gossip takes a moment to reach.
      const servesSlots = () => clusterNodes(ports[0]!).some((node) => node.port === port && node.servesSlots);
      await waitFor('the new master to be given slots', () => {
        redisCli(ports[0]!, '--cluster', 'rebalance', seed, '--cluster-use-empty-masters', '--cluster-yes');
        return servesSlots();
      });
      await waitFor('cluster_state:ok after the rebalance', clusterOk);
      return port;
    };
    return { url: `redis://127.0.0.1:${ports[0]}`, ports, crashNode, restartNodeEmpty, appendOnlyFileSize, restartNodeWithFileCut, addMaster, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
