import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateStore, type StateStore } from '@churnscore/state';
import { testStack } from '../harness/stack';
import { HOUR, NOW, openStateTest, type StateTestContext } from './fixtures';

const LEASE_MS = 60_000;

describe('due sets', () => {
  let t: StateTestContext;
  beforeAll(async () => {
    t = await openStateTest('due');
  });
  afterAll(() => t.close());

  it('claims what is due, leases it, and hands it out again when the lease expires', async () => {
    const due = ['d1', 'd2', 'd3'];
    await Promise.all(due.map((id, i) => t.store.scheduleDue(id, NOW - i * HOUR)));
    await t.store.scheduleDue('later', NOW + HOUR);
    await t.store.scheduleDue('cancelled', NOW - HOUR);
    await t.store.scheduleDue('cancelled', null);

    const claims = await t.store.claimDue(NOW, { limit: 10, leaseMs: LEASE_MS });
    expect(claims.sort((a, b) => a.customerId.localeCompare(b.customerId))).toEqual(
      due.map((customerId, i) => ({ customerId, dueAt: NOW - i * HOUR, leasedUntil: NOW + LEASE_MS })),
    );
    expect(await t.store.claimDue(NOW + LEASE_MS - 1, { limit: 10, leaseMs: LEASE_MS })).toEqual([]);

    // The claimer died: after the lease the same customers are due again, at the lease's end.
    const reclaimed = await t.store.claimDue(NOW + LEASE_MS, { limit: 2, leaseMs: LEASE_MS });
    expect(reclaimed).toHaveLength(2);
    expect(reclaimed.every((c) => c.dueAt === NOW + LEASE_MS && due.includes(c.customerId))).toBe(true);
  });

  it('makes customers due by a time at the latest: one due earlier keeps its time, one due later or not at all is due then', async () => {
    await t.store.scheduleDue('by-earlier', NOW - HOUR);
    await t.store.scheduleDue('by-later', NOW + 2 * HOUR);
    await t.store.scheduleDueBy(['by-earlier', 'by-later', 'by-new'], NOW + HOUR);
    const claims = await t.store.claimDue(NOW + HOUR, { limit: 100, leaseMs: LEASE_MS, shards: ['by-earlier', 'by-later', 'by-new'].map((id) => t.store.keys.dueShardOf(id)) });
    expect(claims.filter((c) => c.customerId.startsWith('by-')).sort((a, b) => a.customerId.localeCompare(b.customerId))).toEqual([
      { customerId: 'by-earlier', dueAt: NOW - HOUR, leasedUntil: NOW + HOUR + LEASE_MS },
      { customerId: 'by-later', dueAt: NOW + HOUR, leasedUntil: NOW + HOUR + LEASE_MS },
      { customerId: 'by-new', dueAt: NOW + HOUR, leasedUntil: NOW + HOUR + LEASE_MS },
    ]);
  });

  it('visits only the shards it is given', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `sharded-${i}`);
    await Promise.all(ids.map((id) => t.store.scheduleDue(id, NOW - 1)));
    const shard = t.store.keys.dueShardOf('sharded-0');
    const claims = await t.store.claimDue(NOW, { limit: 100, leaseMs: LEASE_MS, shards: [shard] });
    expect(claims.map((c) => c.customerId).sort()).toEqual(ids.filter((id) => t.store.keys.dueShardOf(id) === shard).sort());
  });
});

describe('two instances claiming at once', () => {
  let t: StateTestContext;
  let otherConnection: Redis;
  let other: StateStore;
  beforeAll(async () => {
    t = await openStateTest('due-race');
    otherConnection = new Redis(testStack().redisUrl);
    other = createStateStore(otherConnection, { prefix: t.prefix });
  });
  afterAll(async () => {
    await otherConnection.quit();
    await t.close();
  });

  it('never get the same customer at the same due time', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => `race-${i}`);
    await Promise.all(ids.map((id, i) => t.store.scheduleDue(id, NOW - (i % 7))));
    const drain = async (store: StateStore) => {
      const claimed: string[] = [];
      for (;;) {
        const batch = await store.claimDue(NOW, { limit: 13, leaseMs: LEASE_MS });
        if (batch.length === 0) return claimed;
        claimed.push(...batch.map((c) => `${c.customerId}@${c.dueAt}`));
      }
    };
    const [mine, theirs] = await Promise.all([drain(t.store), drain(other)]);
    const all = [...mine, ...theirs];
    expect(mine.length).toBeGreaterThan(0);
    expect(theirs.length).toBeGreaterThan(0);
    expect(new Set(all).size).toBe(all.length);
    expect(all.map((claim) => claim.split('@')[0]).sort()).toEqual([...ids].sort());
  });

  it("keeps the model in service, and an instance running it re-scoring for time only as long as it says so", async () => {
    expect(await t.store.modelInService(NOW)).toEqual({ rolledOut: null, servedBy: null });
    // The roll-out says its model is served before it makes anyone due, for as long as it is told.
    await t.store.scheduleModelRollout('due-model-2', NOW, 60_000);
    expect(await t.store.modelInService(NOW)).toEqual({ rolledOut: expect.stringMatching(/^due-model-2\+indexes\./), servedBy: expect.stringMatching(/^due-model-2\+indexes\./) });
    await t.store.markModelServed('due-model-1', NOW, 60_000);
    expect((await t.store.modelInService(NOW)).servedBy).toMatch(/^due-model-1\+indexes\./);
    await t.store.markModelServed('due-model-2', NOW, 150);
    expect((await t.store.modelInService(NOW)).servedBy).toMatch(/^due-model-2\+indexes\./);
    // Redis expires it by its own clock.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await t.store.modelInService(NOW)).servedBy).toBeNull();
  });
});
