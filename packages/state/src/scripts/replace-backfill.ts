// replaceBackfill-2.lua: a customer's back-filled score history replaced, if the customer is still scored.
import type { CustomerKeyPart, CustomerKeys } from '../keys';
import { keysOf, type ScriptDefinition, type ScriptInvocation } from './lua-script';

const KEYS = ['score', 'backfill'] as const satisfies readonly CustomerKeyPart[];

export const REPLACE_BACKFILL_SCRIPT: ScriptDefinition = { name: 'replaceBackfill', keys: KEYS, args: [], constants: {} };

/** `points`: each point's JSON, oldest first. */
export const replaceBackfillCall = (keys: CustomerKeys, points: readonly string[]): ScriptInvocation => ({ keys: keysOf(KEYS, keys), args: points });

/** Whether the points were written: false when the customer has no score (never scored, or erased). */
export const parseReplaceBackfillReply = (reply: unknown): boolean => Number(reply) === 1;
