// The key contract on Redis Cluster: every per-customer script stays on one slot and the global sets are
// written with single-key commands, so nothing is ever CROSSSLOT. The test brings up its own three-master
// cluster of local redis-server processes in a temporary directory (skipped if redis-server is absent).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyAlertBook } from '@churnscore/scoring';
import { claimNamespace, createRedis, createStateStore, keySchema, namespaceState, redisIdentity, type RedisClient, type StateStore } from '@churnscore/state';
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { DAY, Feed, HOUR, NOW, activity, contract, insights, opportunity, profile, scanAll, score, scoreChanged } from './fixtures';
import { hasRedisServer, startRedisCluster, type LocalRedisCluster } from './local-redis';

const MASTERS = 3;

describe.skipIf(!hasRedisServer)('on Redis Cluster', () => {
  let cluster: LocalRedisCluster | undefined;
  let redis: RedisClient;
  let store: StateStore;

  beforeAll(async () => {
    cluster = await startRedisCluster(MASTERS);
    redis = createRedis({ url: cluster.url, cluster: true });
    store = createStateStore(redis, { prefix: 'chs:cluster-test' });
  });

  afterAll(async () => {
    await redis?.quit();
    await cluster?.stop();
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
        incarnation: s.incarnation,
        asOf: NOW,
        hasOpenAlerts: true,
        lastResolvedAt: null,
        basedOn: null,
        alertBook: emptyAlertBook(),
        outbox: [scoreChanged(score(s.customerId, { churnRisk: i / 100, segment: s.segment }))],
        nextDueAt: NOW - 1,
      })),
    );
    expect(results.every((r) => r.written && r.version === 1 && r.outbox.length === 1)).toBe(true);
    await Promise.all(customers.map((id) => store.ackOutbox(id, 1)));
    expect(await redis.zcard(store.keys.ranking('churnRisk'))).toBe(customers.length);

    const claims = await store.claimDue(NOW, { limit: 100, leaseMs: 60_000 });
    expect(claims.map((c) => c.customerId).sort()).toEqual([...customers].sort());

    expect(await Promise.all(customers.map((id) => store.eraseCustomer(id, NOW)))).toEqual(customers.map(() => ({ deleted: 9, superseded: false })));
    // Only when each erasure occurred is left, in the customer's state hash.
    expect((await scanAll(redis, 'chs:cluster-test:cust:*')).sort()).toEqual(customers.map((id) => store.keys.customer(id).state).sort());
    expect(await redis.zcard(store.keys.ranking('churnRisk'))).toBe(0);

    const identity = await redisIdentity(redis, 'chs:cluster-test');
    expect(identity.runId.split(',')).toHaveLength(MASTERS);
  });

  it("sees a master lose its data set, wherever the namespace's epoch key lives: each master keeps one", async () => {
    const keys = keySchema('chs:cluster-epochs');
    await claimNamespace(redis, keys.prefix);
    const claimed = await redisIdentity(redis, keys.prefix);
    expect(await namespaceState(redis, keys.prefix)).toBe('claimed');
    // A second claim (the next scorer's start) keeps every epoch.
    await claimNamespace(redis, keys.prefix);
    expect((await redisIdentity(redis, keys.prefix)).epoch).toBe(claimed.epoch);

    const slots = (redis as Cluster).slots;
    const ownerOf = (key: string) => slots[calculateSlot(key)]![0]!;
    const tags = (await redis.get(keys.epoch))!.split(';')[1]!.split(',').map(Number);
    expect(new Set(tags.map((tag) => ownerOf(keys.masterEpoch(tag)))).size).toBe(MASTERS);

    // The data set of a master that does not hold the namespace's epoch key is lost (its epoch key with it).
    const lost = tags.find((tag) => ownerOf(keys.masterEpoch(tag)) !== ownerOf(keys.epoch))!;
    await redis.del(keys.masterEpoch(lost));
    expect((await redisIdentity(redis, keys.prefix)).epoch).not.toBe(claimed.epoch);
    expect((await redisIdentity(redis, keys.prefix)).runId).toBe(claimed.runId);
    expect(await namespaceState(redis, keys.prefix)).toBe('unclaimed');
  });
});
