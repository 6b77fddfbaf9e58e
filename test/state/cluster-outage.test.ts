// A Redis Cluster as services meet it when something is wrong (found by an outside tester, 2026-12-06): a wrong
// password must be refused as on a single server (it waited for ever), a service must reach the cluster through another
// seed while the node REDIS_URL names is down (it could not start), and the services' Redis check must see a master
// down (readiness stayed green for the 90 s a third of the slots had no node). The test's own three-master cluster of
// local redis-server processes, without replicas: the master it crashes last leaves its slots unserved.
import { answerWithin, NO_ANSWER, readinessReport } from '@churnscore/observability';
import { createRedis, RedisLoginRefusedError, redisServesEveryKey, requireRedisLogin, type RedisClient } from '@churnscore/state';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../scorer/support';
import { clusterNodes, freePort, hasRedisServer, redisCli, startRedisCluster, type LocalRedisCluster } from './local-redis';

const USER = 'cluster-outage';
const PASSWORD = 'cluster-outage-password';
/** How long a master may be silent before the others mark it failed. */
const NODE_TIMEOUT_MS = 2_000;

const urlOf = (port: number, password = PASSWORD) => `redis://${USER}:${password}@127.0.0.1:${port}`;
const addUser = (port: number) => redisCli(port, 'ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all');

describe.skipIf(!hasRedisServer)('a Redis Cluster with a node down or a wrong password', () => {
  let cluster: LocalRedisCluster;
  const clients: RedisClient[] = [];
  const connect = (url: string, seeds: string[] = []) => {
    const client = createRedis({ url, cluster: true, seeds, onError: () => undefined });
    clients.push(client);
    return client;
  };
  /** Whether the services' readiness, asking the check, says every key is served: one that waits or fails says no. */
  const servesEveryKey = async (client: RedisClient) => (await readinessReport([{ name: 'redis', check: () => redisServesEveryKey(client) }])).ready;

  beforeAll(async () => {
    cluster = await startRedisCluster(3, { nodeTimeoutMs: NODE_TIMEOUT_MS });
    cluster.ports.forEach(addUser);
  }, 60_000);
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(() => cluster?.stop());

  it('refuses a wrong password at once, naming REDIS_URL and never the password', async () => {
    const client = connect(urlOf(cluster.ports[0]!, 'not-the-password'));
    const refusal = requireRedisLogin(client);
    await expect(refusal).rejects.toBeInstanceOf(RedisLoginRefusedError);
    await expect(refusal).rejects.toThrow(/^REDIS_URL: Redis refused the login \(WRONGPASS/);
    await expect(refusal).rejects.not.toThrow(/not-the-password/);
  });

  it("reaches the cluster through REDIS_CLUSTER_SEEDS while the node REDIS_URL names does not answer", async () => {
    const nobody = await freePort();
    const seeds = cluster.ports.map((port) => `127.0.0.1:${port}`);
    const client = connect(urlOf(nobody), seeds);
    await expect(requireRedisLogin(client)).resolves.toBe(true);
    expect(await servesEveryKey(client)).toBe(true);
    expect(await client.set('{cluster-outage}:reached', '1')).toBe('OK');
    // Without the seeds nothing answers.
    const alone = connect(urlOf(nobody));
    expect(await answerWithin(alone.get('{cluster-outage}:reached'), 2_000)).toBe(NO_ANSWER);
  });

  it('says a master down until it is back, where a PING of the cluster answers', async () => {
    const client = connect(urlOf(cluster.ports[0]!));
    await expect(requireRedisLogin(client)).resolves.toBe(true);
    expect(await servesEveryKey(client)).toBe(true);
    const victim = clusterNodes(cluster.ports[0]!).find((node) => node.servesSlots && node.port !== cluster.ports[0])!.port;
    await cluster.crashNode(victim);
    // The PING the services used to check goes to one node, which answers (once the client has dropped the crashed one).
    await eventually(() => answerWithin(client.ping(), 1_000).catch(() => 'refused'), (reply) => reply === 'PONG', 10_000, 'a PING answered');
    for (const after of [0, NODE_TIMEOUT_MS * 2]) {
      await new Promise((resolve) => setTimeout(resolve, after));
      expect(await servesEveryKey(client)).toBe(false);
    }
    // Back without its data, and so without the ACL user until it is given again.
    await cluster.restartNodeEmpty(victim);
    addUser(victim);
    await eventually(() => servesEveryKey(client), (serves) => serves, 30_000, "the master back in the client's view");
  }, 60_000);
});
