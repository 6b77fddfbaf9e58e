// claimDue-1.lua: the due customers of one shard, claimed and leased.
import type { KeySchema } from '../keys';
import { scriptArgs, type ScriptDefinition, type ScriptInvocation, type ScriptRunner } from './lua-script';

export interface DueClaim {
  customerId: string;
  /** The due time (or expired lease) the customer was claimed at. */
  dueAt: number;
  /** The end of the lease the claim put in the customer's due entry. */
  leasedUntil: number;
}

export interface ClaimOptions {
  /** The most customers to claim in this call. */
  limit: number;
  /** How long a claim is held: an instance that dies finds its claims due again after this. */
  leaseMs: number;
  /** Shards this call may visit (default all); the starting shard rotates from call to call. */
  shards?: readonly number[];
}

const KEYS = ['dueShard'] as const;
const ARGS = ['now', 'leaseEnd', 'limit'] as const;

export const CLAIM_DUE_SCRIPT: ScriptDefinition = { name: 'claimDue', keys: KEYS, args: ARGS, constants: {} };

const claimDueCall = (shardKey: string, now: number, leaseEnd: number, limit: number): ScriptInvocation => ({
  keys: [shardKey],
  args: scriptArgs(ARGS, { now, leaseEnd, limit }),
});

/** The reply's (customerId, dueAt) pairs, each leased until `leasedUntil`. */
function parseClaimDueReply(reply: unknown, leasedUntil: number): DueClaim[] {
  const flat = reply as string[];
  const claims: DueClaim[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) claims.push({ customerId: flat[i]!, dueAt: Number(flat[i + 1]), leasedUntil });
  return claims;
}

/**
 * Claims across shards: visits them one after another from a starting shard that rotates from call to call
 * (and starts at random), so concurrent claimers spread out, until `limit` customers are claimed.
 */
export function dueClaimer(run: ScriptRunner, keys: Pick<KeySchema, 'dueShards' | 'dueShard'>): (now: number, options: ClaimOptions) => Promise<DueClaim[]> {
  const allShards = Array.from({ length: keys.dueShards }, (_, shard) => shard);
  let nextStartShard = Math.floor(Math.random() * keys.dueShards);
  return async (now, { limit, leaseMs, shards = allShards }) => {
    const start = nextStartShard++ % Math.max(shards.length, 1);
    const leaseEnd = now + leaseMs;
    const claims: DueClaim[] = [];
    for (const shard of [...shards.slice(start), ...shards.slice(0, start)]) {
      if (claims.length >= limit) break;
      claims.push(...parseClaimDueReply(await run(claimDueCall(keys.dueShard(shard), now, leaseEnd, limit - claims.length)), leaseEnd));
    }
    return claims;
  };
}
