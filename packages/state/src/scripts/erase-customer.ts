// eraseCustomer-11.lua: every per-customer key deleted (an erasure request).
import { CUSTOMER_KEY_PARTS, type CustomerKeys } from '../keys';
import { LUA_LAYOUT } from '../layout';
import { keysOf, type ScriptDefinition, type ScriptInvocation } from './lua-script';

export const ERASE_CUSTOMER_SCRIPT: ScriptDefinition = { name: 'eraseCustomer', keys: CUSTOMER_KEY_PARTS, args: [], constants: { LAYOUT: LUA_LAYOUT } };

export const eraseCustomerCall = (keys: CustomerKeys): ScriptInvocation => ({ keys: keysOf(CUSTOMER_KEY_PARTS, keys), args: [] });

export interface EraseReply {
  /** How many keys existed and were deleted. */
  deleted: number;
  /** The segment the customer's score was ranked under, or null. */
  rankedSegment: string | null;
}

export function parseEraseCustomerReply(reply: unknown): EraseReply {
  const [deleted, rankedSegment] = reply as [number, string | null];
  return { deleted, rankedSegment };
}
