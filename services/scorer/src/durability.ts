import type { Durability, DurabilityGate } from '@churnscore/kafka';

export interface RedisWriteMark {
  writtenAt: number;
  /** Identity of the Redis dataset the writes went to (run id + epoch key). */
  identity: string;
}

/**
 * Redis acknowledges a write before its append-only file is fsynced (appendfsync everysec), so a
 * crash can drop the last second of writes. Effects count as durable once `fsyncGraceMs` has passed
 * since they were written and the dataset identity is still the one they were written to; a changed
 * identity (restart, failover to a replica, flushed dataset) means writes may be gone.
 */
export class RedisDurabilityGate implements DurabilityGate<RedisWriteMark> {
  private knownIdentity: string | undefined;

  constructor(
    private readonly readIdentity: () => Promise<string>,
    private readonly fsyncGraceMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async mark(): Promise<RedisWriteMark> {
    const identity = await this.readIdentity();
    // The first mark after a change must not vouch for writes that went to the old dataset.
    const previous = this.knownIdentity ?? identity;
    this.knownIdentity = identity;
    return { writtenAt: this.clock(), identity: previous === identity ? identity : `${previous}->${identity}` };
  }

  async check(mark: RedisWriteMark): Promise<Durability> {
    if (this.clock() < mark.writtenAt + this.fsyncGraceMs) return 'pending';
    const current = await this.readIdentity();
    this.knownIdentity = current;
    return current === mark.identity ? 'durable' : 'lost';
  }
}
