// ackOutbox-1.lua: the outbox entries a caller has published, dropped.
import type { CustomerKeyPart, CustomerKeys } from '../keys';
import { LUA_LAYOUT } from '../layout';
import { keysOf, scriptArgs, type ScriptDefinition, type ScriptInvocation } from './lua-script';

const KEYS = ['outbox'] as const satisfies readonly CustomerKeyPart[];
const ARGS = ['upToSeq'] as const;

export const ACK_OUTBOX_SCRIPT: ScriptDefinition = { name: 'ackOutbox', keys: KEYS, args: ARGS, constants: { LAYOUT: LUA_LAYOUT } };

export const ackOutboxCall = (keys: CustomerKeys, upToSeq: number): ScriptInvocation => ({ keys: keysOf(KEYS, keys), args: scriptArgs(ARGS, { upToSeq }) });

/** How many entries were dropped. */
export const parseAckOutboxReply = (reply: unknown): number => Number(reply);
