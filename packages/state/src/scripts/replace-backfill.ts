// replaceBackfill-3.lua: a customer's back-filled score history replaced, if the customer is still scored and its
// state is no younger than the replay the points were computed from.
import type { CustomerKeyPart, CustomerKeys } from '../keys';
import { LUA_LAYOUT } from '../layout';
import { keysOf, type ScriptDefinition, type ScriptInvocation } from './lua-script';

/** What the script answers. */
const REPLACE_BACKFILL_REPLY = {
  /** The customer has no score (never scored, or erased): nothing written. */
  notScored: 0,
  written: 1,
  /** The customer's state was created after the replay began (erased and created again since?): nothing written. */
  createdSinceReplay: 2,
} as const;

export type BackfillReplaced = 'written' | 'not-scored' | 'created-since-replay';

const KEYS = ['score', 'backfill', 'state'] as const satisfies readonly CustomerKeyPart[];
const ARGS = ['replayBegan'] as const;

export const REPLACE_BACKFILL_SCRIPT: ScriptDefinition = {
  name: 'replaceBackfill',
  keys: KEYS,
  args: ARGS,
  constants: { LAYOUT: LUA_LAYOUT, REPLY: REPLACE_BACKFILL_REPLY },
};

/** `replayBegan`: Redis's time in microseconds (`serverMicroseconds`) no later than the replay's start; `points`: each point encoded, oldest first. */
export const replaceBackfillCall = (keys: CustomerKeys, replayBegan: string, points: readonly string[]): ScriptInvocation => ({
  keys: keysOf(KEYS, keys),
  args: [replayBegan, ...points],
});

export function parseReplaceBackfillReply(reply: unknown): BackfillReplaced {
  switch (Number(reply)) {
    case REPLACE_BACKFILL_REPLY.written:
      return 'written';
    case REPLACE_BACKFILL_REPLY.notScored:
      return 'not-scored';
    case REPLACE_BACKFILL_REPLY.createdSinceReplay:
      return 'created-since-replay';
    default:
      throw new Error(`replaceBackfill answered an unknown code: ${String(reply)}`);
  }
}
