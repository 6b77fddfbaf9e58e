import type { DurabilityGate } from '@churnscore/kafka';
import { dataSetLost, writeFence, type RedisIdentity, type ReplicationProgress, type WriteFence } from '@churnscore/state';

export interface RedisWriteMark {
  writtenAt: number;
  /** The Redis incarnation the writes were fenced to. */
  fence: WriteFence;
}

/** The store is no longer the one the scorer's committed offsets were consumed into: nothing may be written to it. */
export class DataSetLostError extends Error {
  override readonly name = 'DataSetLostError';
}

const sameIncarnation = (a: RedisIdentity, b: RedisIdentity): boolean => a.runId === b.runId && !dataSetLost(a, b);

/**
 * Redis acknowledges a write before its append-only file is fsynced (appendfsync everysec), so a
 * crash can drop the last second of writes, and before any replica has it, so a failover to a replica
 * that lagged drops the writes it had not received. Effects count as durable once `fsyncGraceMs` has
 * passed since they were written, every replica that could take a master's place has confirmed them, and
 * Redis is still the incarnation they were fenced to; a changed run id or epoch (restart, failover to a
 * replica, data set flushed or replaced) means writes may be gone, and the consumer re-consumes from
 * offsets committed only for writes that no such event could drop. The fence itself (the run id the
 * apply script checks) keeps writes off a new incarnation until the consumer has rewound, so re-consumed
 * events are not mistaken for redeliveries.
 */
export interface RedisDurabilityGateOptions {
  readIdentity: () => Promise<RedisIdentity>;
  readReplication: () => Promise<ReplicationProgress[]>;
  fsyncGraceMs: number;
  /**
   * Run once, before the first identity is read: checks the store may be written from the consumer group's
   * committed offsets, and claims its namespace (see requireHistoryBehindCommittedOffsets in scorer.ts).
   */
  claimStore: () => Promise<void>;
  /**
   * Called when the namespace's epoch changed under this process: the whole data set was lost or replaced (a
   * flush, an emptied or another Redis), not its last second of writes. Re-consuming from the committed
   * offsets would score every customer without the history before them, so the scorer cannot go on (its
   * liveness turns red, the process exits, and a restart refuses the empty namespace).
   */
  onDataSetLost: (reason: string) => void;
  /**
   * Run at every synchronisation and every COVER_INTERVAL_MS of checks, once the data set is known intact: puts an
   * epoch key on every Redis Cluster master that has none (added, or given slots, since the claim), so that its
   * losing its data set is seen too (coverEveryMaster); returns how many it covered.
   */
  coverStore: () => Promise<number>;
  /**
   * Told at every check how long the oldest write not yet confirmed by every replica that could take over has waited
   * (0 when none waits): seconds normally, as replicas confirm once a second; more while a replica lags or is cut off
   * from its master, and its offsets stay uncommitted.
   */
  onReplicationWait?: (waitingMs: number) => void;
  clock?: () => number;
}

/**
 * Replication samples kept while replicas have not confirmed them: one per commit tick, so a replica that stops
 * confirming (until its master drops it, `repl-timeout`, 60 s by default) holds back this many ticks' worth. Dropping
 * the oldest is safe: a later sample confirmed vouches for every write before it.
 */
const MAX_REPLICATION_SAMPLES = 120;

/**
 * How often the checks look for cluster masters without an epoch key. A master added meets the scorer as a changed
 * identity, which synchronises (and covers) at once; slots moved between masters do not, and a synchronisation can
 * read a slot map that gossip has not finished updating.
 */
const COVER_INTERVAL_MS = 10_000;

/**
 * How long a replica seen connected to a master is waited for once the master has fewer connected (one cut off, or
 * dropped by the master after `repl-timeout`). A single server knows only the replicas connected to it: without this
 * memory, one cut off counted for nothing, its master's writes counted as confirmed, and a failover to it lost them with their
 * offsets committed (an outside tester, 2026-12-06: 2,560 and 5,116 events of a live load). Past it the replica is taken
 * as gone: Sentinel promotes no replica cut off for more than ten times its down-after-milliseconds (30 s by default),
 * Redis Cluster none whose data is older than ten node timeouts (15 s). Counted, not named: a replica restarted under
 * another address (a pod's) takes the place of the one it was.
 */
export const MISSING_REPLICA_WAIT_MS = 300_000;

/** Each master's replication offset at `takenAt`: every write acknowledged before then is at or below it. */
interface ReplicationSample {
  takenAt: number;
  written: ReadonlyMap<string, number>;
}

export class RedisDurabilityGate implements DurabilityGate<WriteFence, RedisWriteMark> {
  private current: WriteFence | undefined;
  private readonly clock: () => number;
  private samples: ReplicationSample[] = [];
  /** Writes acknowledged up to this instant are on every replica that could take over. */
  private replicatedThrough = -Infinity;
  private coveredAt = -Infinity;
  /**
   * For each master (by run id), when it was last seen with at least 1, 2, … replicas connected (index 0 for 1): see
   * MISSING_REPLICA_WAIT_MS.
   */
  private replicasSeen = new Map<string, number[]>();

  constructor(private readonly options: RedisDurabilityGateOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Every synchronisation starts a generation of output versions (see WriteFence).
   * @throws DataSetLostError when the epoch changed since the last one (after calling onDataSetLost).
   */
  async synchronise(): Promise<void> {
    if (this.current === undefined) await this.options.claimStore();
    let identity = await this.options.readIdentity();
    if (this.current !== undefined && dataSetLost(this.current, identity)) {
      const reason =
        'the Redis namespace lost its whole data set, or a cluster master lost its own (an epoch key changed): customer histories are gone; ' +
        'restore Redis from a backup, or rebuild the state from the topics into a fresh namespace (docs/operations.md, "Replaying into a fresh namespace")';
      this.options.onDataSetLost(reason);
      throw new DataSetLostError(reason);
    }
    if (await this.cover()) identity = await this.options.readIdentity();
    this.current = writeFence(identity, this.clock());
    // Samples of the incarnation before name masters that may be gone, and vouch for none of its writes.
    this.samples = [];
    this.replicatedThrough = -Infinity;
  }

  fence(): WriteFence {
    if (!this.current) throw new Error('RedisDurabilityGate: synchronise() before the first chunk');
    return this.current;
  }

  mark(fence: WriteFence): RedisWriteMark {
    return { writtenAt: this.clock(), fence };
  }

  async durableCount(marks: readonly RedisWriteMark[]): Promise<number | 'lost'> {
    const now = this.clock();
    if (marks.length === 0) {
      this.options.onReplicationWait?.(0);
      // Idle, the store is still looked at every COVER_INTERVAL_MS: a master added (or emptied) is seen without writes.
      if (this.current === undefined || now < this.coveredAt + COVER_INTERVAL_MS) return 0;
      return (await this.watch([this.current], now)) ? 0 : 'lost';
    }
    // Sampled while marks are still in their fsync grace, so that replicas have confirmed them when it ends.
    await this.followReplication(now);
    const unconfirmed = marks.find((mark) => mark.writtenAt > this.replicatedThrough);
    this.options.onReplicationWait?.(unconfirmed === undefined ? 0 : now - unconfirmed.writtenAt);
    const firstNotDurable = marks.findIndex((mark) => now < mark.writtenAt + this.options.fsyncGraceMs || mark.writtenAt > this.replicatedThrough);
    const candidates = firstNotDurable === -1 ? marks.length : firstNotDurable;
    if (candidates === 0) return 0;
    return (await this.watch(marks.slice(0, candidates).map((mark) => mark.fence), now)) ? candidates : 'lost';
  }

  /**
   * Whether Redis is still the incarnation every one of `fences` names; if so, covers the cluster masters without
   * an epoch key every COVER_INTERVAL_MS, and watches from now on the masters covered since (by this scorer or another):
   * a later loss of theirs is a loss here too.
   */
  private async watch(fences: readonly WriteFence[], now: number): Promise<boolean> {
    let identity = await this.options.readIdentity();
    if (!fences.every((fence) => sameIncarnation(fence, identity))) return false;
    if (this.current && !dataSetLost(this.current, identity)) {
      if (now >= this.coveredAt + COVER_INTERVAL_MS && (await this.cover())) identity = await this.options.readIdentity();
      this.current = { ...this.current, addedMasterEpochs: identity.addedMasterEpochs };
    }
    return true;
  }

  private async cover(): Promise<boolean> {
    this.coveredAt = this.clock();
    return (await this.options.coverStore()) > 0;
  }

  /** Samples each master's offset now and moves `replicatedThrough` to the latest sample every replica has confirmed. */
  private async followReplication(now: number): Promise<void> {
    const progress = this.withMissingReplicas(await this.options.readReplication(), now);
    const confirmed = new Map(progress.map(({ master, confirmed: offset }) => [master, offset]));
    this.samples.push({ takenAt: now, written: new Map(progress.map(({ master, written }) => [master, written])) });
    const isConfirmed = (sample: ReplicationSample): boolean =>
      [...sample.written].every(([master, written]) => (confirmed.get(master) ?? -Infinity) >= written);
    const latestConfirmed = this.samples.findLastIndex(isConfirmed);
    if (latestConfirmed >= 0) {
      this.replicatedThrough = this.samples[latestConfirmed]!.takenAt;
      this.samples.splice(0, latestConfirmed + 1);
    }
    if (this.samples.length > MAX_REPLICATION_SAMPLES) this.samples.splice(0, this.samples.length - MAX_REPLICATION_SAMPLES);
  }

  /** `progress`, with nothing confirmed on a master with fewer replicas connected than it had within MISSING_REPLICA_WAIT_MS. */
  private withMissingReplicas(progress: readonly ReplicationProgress[], now: number): ReplicationProgress[] {
    // Masters gone (a failover gives the promoted one another run id) are forgotten with their replicas.
    const seenBefore = this.replicasSeen;
    this.replicasSeen = new Map();
    return progress.map((master) => {
      const seen = (seenBefore.get(master.master) ?? []).filter((lastSeenAt) => now - lastSeenAt < MISSING_REPLICA_WAIT_MS);
      for (let count = 0; count < master.connectedReplicas; count += 1) seen[count] = now;
      this.replicasSeen.set(master.master, seen);
      return seen.length > master.connectedReplicas ? { ...master, confirmed: 0 } : master;
    });
  }
}
