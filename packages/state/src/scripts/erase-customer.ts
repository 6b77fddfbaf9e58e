// eraseCustomer-12.lua: every per-customer key deleted (an erasure request), the request's instant kept.
import { CUSTOMER_KEY_PARTS, type CustomerKeys } from '../keys';
import { LUA_LAYOUT } from '../layout';
import { keysOf, scriptArgs, type ScriptDefinition, type ScriptInvocation } from './lua-script';

const ARGS = ['erasedAt'] as const;

export const ERASE_CUSTOMER_SCRIPT: ScriptDefinition = { name: 'eraseCustomer', keys: CUSTOMER_KEY_PARTS, args: ARGS, constants: { LAYOUT: LUA_LAYOUT } };

/** @param erasedAt when the erasure request occurred (epoch ms): the customer's events from before it are never applied again. */
export const eraseCustomerCall = (keys: CustomerKeys, erasedAt: number): ScriptInvocation => ({
  keys: keysOf(CUSTOMER_KEY_PARTS, keys),
  args: scriptArgs(ARGS, { erasedAt }),
});

export interface EraseReply {
  /** How many keys of the customer's data existed and were deleted. */
  deleted: number;
  /** The segment the customer's score was ranked under, or null. */
  rankedSegment: string | null;
  /**
   * The request was no later than the latest erasure carried out, and the state holds events applied since (the
   * customer came back after it): nothing was done.
   */
  superseded: boolean;
}

export function parseEraseCustomerReply(reply: unknown): EraseReply {
  const [deleted, rankedSegment, superseded] = reply as [number, string | null, number];
  return { deleted, rankedSegment, superseded: superseded === 1 };
}
