import { describe, expect, it } from 'vitest';
import { OUTPUT_VERSIONS_PER_MS, type ReplicationProgress } from '@churnscore/state';
import { DataSetLostError, MISSING_REPLICA_WAIT_MS, RedisDurabilityGate } from './durability';

const DAY_MS = 86_400_000;

/** A Redis incarnation and a clock the test moves by hand. */
async function fixture(grace = 2_000) {
  const world = {
    identity: { runId: 'run-a', epoch: 'epoch-1', addedMasterEpochs: {} as Record<string, string>, serverTimeMs: 900 },
    // A master without replicas: every write is as safe as the master's own append-only file.
    replication: [{ master: 'run-a', written: 0, confirmed: Infinity, connectedReplicas: 0 }] as ReplicationProgress[],
    now: 1_000,
  };
  const lostReasons: string[] = [];
  const waits: number[] = [];
  let claims = 0;
  const gate = new RedisDurabilityGate({
    readIdentity: async () => world.identity,
    readReplication: async () => world.replication,
    fsyncGraceMs: grace,
    claimStore: async () => void (claims += 1),
    coverStore: async () => 0,
    onDataSetLost: (reason) => lostReasons.push(reason),
    onReplicationWait: (waitingMs) => waits.push(waitingMs),
    clock: () => world.now,
  });
  await gate.synchronise();
  return { world, gate, lostReasons, waits, claims: () => claims };
}

describe('RedisDurabilityGate', () => {
  it('vouches for writes only once the fsync grace has passed, oldest first', async () => {
    const { world, gate } = await fixture();
    const first = gate.mark(gate.fence());
    expect(await gate.durableCount([first])).toBe(0);
    world.now += 1_000;
    const second = gate.mark(gate.fence());
    world.now += 999;
    expect(await gate.durableCount([first, second])).toBe(0);
    world.now += 1;
    expect(await gate.durableCount([first, second])).toBe(1);
    world.now += 1_000;
    expect(await gate.durableCount([first, second])).toBe(2);
  });

  it('holds back writes a replica that could take over has not confirmed, however old, and only those', async () => {
    const { world, gate, waits } = await fixture();
    const master = (written: number, confirmed: number): void => void (world.replication = [{ master: 'run-a', written, confirmed, connectedReplicas: 1 }]);
    master(100, 40);
    const first = gate.mark(gate.fence());
    expect(await gate.durableCount([first])).toBe(0); // sampled at offset 100
    world.now += 1_000;
    master(250, 90);
    const second = gate.mark(gate.fence());
    expect(await gate.durableCount([first, second])).toBe(0); // sampled at offset 250
    world.now += 60_000; // long past the fsync grace: the replica lags (or is cut off from its master)
    master(250, 99);
    expect(await gate.durableCount([first, second])).toBe(0);
    master(250, 100); // the replica confirms the first sample's offset, not yet the second's
    expect(await gate.durableCount([first, second])).toBe(1);
    master(250, 250);
    expect(await gate.durableCount([second])).toBe(1);
    expect(await gate.durableCount([])).toBe(0);
    // How long the oldest unconfirmed write had waited at each check: what the scorer logs and exports.
    expect(waits).toEqual([0, 1_000, 61_000, 60_000, 0, 0]);
  });

  it('waits for the replicas of every master, and for none on a master without', async () => {
    const { world, gate } = await fixture();
    world.replication = [
      { master: 'run-a', written: 500, confirmed: 500, connectedReplicas: 1 },
      { master: 'run-b', written: 700, confirmed: 0, connectedReplicas: 0 }, // a replica the cluster knows is not connected to its master
      { master: 'run-c', written: 900, confirmed: Infinity, connectedReplicas: 0 },
    ];
    const mark = gate.mark(gate.fence());
    world.now += 5_000;
    expect(await gate.durableCount([mark])).toBe(0);
    world.replication[1] = { master: 'run-b', written: 800, confirmed: 700, connectedReplicas: 1 };
    expect(await gate.durableCount([mark])).toBe(1);
  });

  it('waits for a replica it saw connected once its master has fewer, until one is back or MISSING_REPLICA_WAIT_MS has passed', async () => {
    const { world, gate } = await fixture();
    const master = (written: number, replicaOffsets: number[]): void =>
      void (world.replication = [
        // As replicationProgress reads a single server: it knows only its connected replicas, and without one confirms all.
        { master: 'run-a', written, confirmed: replicaOffsets.length === 0 ? Infinity : Math.min(...replicaOffsets), connectedReplicas: replicaOffsets.length },
      ]);
    const before = gate.mark(gate.fence());
    master(100, [100]);
    expect(await gate.durableCount([before])).toBe(0); // in its fsync grace; the replica seen connected, confirming it
    world.now += 1_000;
    master(200, []); // cut off from its master (or dropped by it): the master knows no replica
    const first = gate.mark(gate.fence());
    world.now += 60_000;
    expect(await gate.durableCount([before, first])).toBe(1);
    world.now += 1_000;
    master(300, [200]); // back (under its address or another), and caught up with the first write
    const second = gate.mark(gate.fence());
    world.now += 5_000;
    expect(await gate.durableCount([first, second])).toBe(1);

    world.now += 1_000;
    master(400, []); // cut off again, for good: waited for as long as a failover could still choose it
    const third = gate.mark(gate.fence());
    world.now += MISSING_REPLICA_WAIT_MS - 1_001;
    expect(await gate.durableCount([second, third])).toBe(0);
    world.now += 1;
    expect(await gate.durableCount([second, third])).toBe(2);
  });

  it('reports writes as lost when Redis restarted or lost its data set since they were made', async () => {
    const { world, gate } = await fixture();
    const mark = gate.mark(gate.fence());
    world.identity = { ...world.identity, runId: 'run-b' }; // restart: new run id
    world.now += 5_000;
    expect(await gate.durableCount([mark])).toBe('lost');

    const { world: other, gate: flushed } = await fixture();
    const beforeFlush = flushed.mark(flushed.fence());
    other.identity = { ...other.identity, epoch: 'epoch-2' }; // data set replaced without a restart
    other.now += 5_000;
    expect(await flushed.durableCount([beforeFlush])).toBe('lost');
  });

  it('keeps fencing writes to the incarnation it last synchronised with, until told to synchronise again', async () => {
    const { world, gate } = await fixture();
    world.identity = { ...world.identity, runId: 'run-b' };
    // The consumer has not rewound yet: a chunk started now is still fenced to the old server, whose apply
    // script refuses it on the new one.
    expect(gate.fence()).toMatchObject({ runId: 'run-a', epoch: 'epoch-1' });
    await gate.synchronise();
    expect(gate.fence()).toMatchObject({ runId: 'run-b', epoch: 'epoch-1' });
    const afterRewind = gate.mark(gate.fence());
    world.now += 5_000;
    expect(await gate.durableCount([afterRewind])).toBe(1);
  });

  it('starts each generation of output versions above every version the one before can have reached', async () => {
    const { world, gate } = await fixture();
    const first = gate.fence();
    // A day of the old generation, at the most versions per millisecond the floor leaves room for.
    const highestOfFirst = first.versionFloor + DAY_MS * OUTPUT_VERSIONS_PER_MS;
    world.now += DAY_MS + 1;
    world.identity = { ...world.identity, runId: 'run-b', serverTimeMs: world.identity.serverTimeMs + DAY_MS + 1 };
    await gate.synchronise();
    expect(gate.fence().generation).not.toBe(first.generation);
    expect(gate.fence().versionFloor).toBeGreaterThan(highestOfFirst);
  });

  it("takes the later of Redis's and its own clock for the floor, so neither clock running behind repeats versions", async () => {
    const { world, gate } = await fixture();
    world.identity = { ...world.identity, runId: 'run-b', serverTimeMs: 50_000 };
    await gate.synchronise();
    expect(gate.fence().versionFloor).toBe(50_000 * OUTPUT_VERSIONS_PER_MS);
    world.now = 80_000;
    world.identity = { ...world.identity, runId: 'run-c' };
    await gate.synchronise();
    expect(gate.fence().versionFloor).toBe(80_000 * OUTPUT_VERSIONS_PER_MS);
  });

  it('refuses to go on when the data set itself was lost or replaced: the committed offsets no longer match the store', async () => {
    const { world, gate, lostReasons, claims } = await fixture();
    world.identity = { ...world.identity, runId: 'run-b' }; // a restart keeps the data set: re-consuming is enough
    await gate.synchronise();
    expect(lostReasons).toEqual([]);
    // The store is claimed before the first synchronisation only: a lost epoch key is not written again.
    expect(claims()).toBe(1);
    world.identity = { ...world.identity, epoch: 'epoch-2' }; // flushed, or another Redis: every history gone
    await expect(gate.synchronise()).rejects.toThrow(DataSetLostError);
    // The reason says what happened and what to do: no restart brings the histories back.
    expect(lostReasons).toEqual([expect.stringMatching(/^the Redis namespace lost its whole data set, .*; restore Redis from a backup, or rebuild the state from the topics/)]);
    // The fence stays the one it had: nothing is synchronised to the emptied store (the process is about to exit).
    expect(gate.fence()).toMatchObject({ epoch: 'epoch-1' });
  });

  it('watches a cluster master covered after the claim, by itself or another scorer, and refuses to go on when it loses its data set', async () => {
    const { world, gate, lostReasons } = await fixture();
    // Another scorer put an epoch key on a master added to the cluster: no loss, and the generation stays.
    world.identity = { ...world.identity, addedMasterEpochs: { 7: 'm7' } };
    const generation = gate.fence().generation;
    const mark = gate.mark(gate.fence());
    world.now += 5_000;
    expect(await gate.durableCount([mark])).toBe(1);
    expect(gate.fence()).toMatchObject({ generation, addedMasterEpochs: { 7: 'm7' } });
    // The master restarts empty (another run id), and with its data its epoch key and the set naming it are gone.
    world.identity = { ...world.identity, runId: 'run-b', addedMasterEpochs: {} };
    const beforeLoss = gate.mark(gate.fence());
    world.now += 5_000;
    expect(await gate.durableCount([beforeLoss])).toBe('lost');
    await expect(gate.synchronise()).rejects.toThrow(DataSetLostError);
    expect(lostReasons).toHaveLength(1);
  });

  it('covers the masters without an epoch key at each synchronisation, once the data set is known intact', async () => {
    const { world } = await fixture();
    let covered = 0;
    const gate = new RedisDurabilityGate({
      readIdentity: async () => world.identity,
      readReplication: async () => world.replication,
      fsyncGraceMs: 2_000,
      claimStore: async () => undefined,
      coverStore: async () => {
        covered += 1;
        world.identity = { ...world.identity, addedMasterEpochs: { 3: 'm3' } };
        return 1;
      },
      onDataSetLost: () => undefined,
      clock: () => world.now,
    });
    await gate.synchronise();
    expect(covered).toBe(1);
    expect(gate.fence().addedMasterEpochs).toEqual({ 3: 'm3' }); // read again after covering
    // And again every 10 s of checks: slots moved between masters change no identity.
    const mark = gate.mark(gate.fence());
    world.now += 5_000;
    expect(await gate.durableCount([mark])).toBe(1);
    expect(covered).toBe(1);
    world.now += 5_000;
    expect(await gate.durableCount([mark])).toBe(1);
    expect(covered).toBe(2);
    // Idle too (nothing to commit): a master added, or emptied, is seen without waiting for writes.
    world.now += 10_000;
    expect(await gate.durableCount([])).toBe(0);
    expect(covered).toBe(3);
    world.identity = { ...world.identity, addedMasterEpochs: { 3: '' } };
    world.now += 10_000;
    expect(await gate.durableCount([])).toBe('lost');
  });
});
