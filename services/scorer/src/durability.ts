import type { DurabilityGate } from '@churnscore/kafka';
import { writeFence, type RedisIdentity, type WriteFence } from '@churnscore/state';

export interface RedisWriteMark {
  writtenAt: number;
  /** The Redis incarnation the writes were fenced to. */
  fence: WriteFence;
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
export class RedisDurabilityGate implements DurabilityGate<WriteFence, RedisWriteMark> {
  private current: WriteFence | undefined;

  constructor(
    private readonly readIdentity: () => Promise<RedisIdentity>,
    private readonly fsyncGraceMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Every synchronisation starts a generation of output versions (see WriteFence). */
  async synchronise(): Promise<void> {
    this.current = writeFence(await this.readIdentity(), this.clock());
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
    const firstInGrace = marks.findIndex((mark) => now < mark.writtenAt + this.fsyncGraceMs);
    const candidates = firstInGrace === -1 ? marks.length : firstInGrace;
    if (candidates === 0) return 0;
    const identity = await this.readIdentity();
    return marks.slice(0, candidates).every((mark) => sameIncarnation(mark.fence, identity)) ? candidates : 'lost';
  }
}
