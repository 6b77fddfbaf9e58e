import type { DurabilityGate } from '@churnscore/kafka';
import { writeFence, type RedisIdentity, type WriteFence } from '@churnscore/state';

export interface RedisWriteMark {
  writtenAt: number;
  /** The Redis incarnation the writes were fenced to. */
  fence: WriteFence;
}

/** The store is no longer the one the scorer's committed offsets were consumed into: nothing may be written to it. */
export class DataSetLostError extends Error {
  override readonly name = 'DataSetLostError';
}

const sameIncarnation = (a: RedisIdentity, b: RedisIdentity): boolean => a.runId === b.runId && a.epoch === b.epoch;

/**
 * Redis acknowledges a write before its append-only file is fsynced (appendfsync everysec), so a
 * crash can drop the last second of writes. Effects count as durable once `fsyncGraceMs` has passed
 * since they were written and Redis is still the incarnation they were fenced to; a changed run id or
 * epoch (restart, failover to a replica, data set flushed or replaced) means writes may be gone. The
 * fence itself (the run id the apply script checks) keeps writes off a new incarnation until the
 * consumer has rewound, so re-consumed events are not mistaken for redeliveries.
 */
export interface RedisDurabilityGateOptions {
  readIdentity: () => Promise<RedisIdentity>;
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
  clock?: () => number;
}

export class RedisDurabilityGate implements DurabilityGate<WriteFence, RedisWriteMark> {
  private current: WriteFence | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: RedisDurabilityGateOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Every synchronisation starts a generation of output versions (see WriteFence).
   * @throws DataSetLostError when the epoch changed since the last one (after calling onDataSetLost).
   */
  async synchronise(): Promise<void> {
    if (this.current === undefined) await this.options.claimStore();
    const identity = await this.options.readIdentity();
    if (this.current !== undefined && identity.epoch !== this.current.epoch) {
      const reason = 'the Redis namespace lost its whole data set (its epoch key changed): every customer history is gone';
      this.options.onDataSetLost(reason);
      throw new DataSetLostError(reason);
    }
    this.current = writeFence(identity, this.clock());
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
    const firstInGrace = marks.findIndex((mark) => now < mark.writtenAt + this.options.fsyncGraceMs);
    const candidates = firstInGrace === -1 ? marks.length : firstInGrace;
    if (candidates === 0) return 0;
    const identity = await this.options.readIdentity();
    return marks.slice(0, candidates).every((mark) => sameIncarnation(mark.fence, identity)) ? candidates : 'lost';
  }
}
