// The back-filled score history (`npm run backfill`): each customer's score as of past instants, computed from
// event time, kept apart from the live history the scorer publishes (docs/redis-contract.md, `backfill`). The
// read store serves it before the live points.
import type { RedisClient } from './connection';
import { DEFAULT_PREFIX, keySchema } from './keys';
import { encodeScoreHistoryEntry, type ScoreHistoryEntry } from './score-codec';
import { defineScript } from './scripts/lua-script';
import { REPLACE_BACKFILL_SCRIPT, parseReplaceBackfillReply, replaceBackfillCall } from './scripts/replace-backfill';

export interface BackfilledHistoryWriter {
  /**
   * Replaces the customer's back-filled points (oldest first) with `points` in one script, so a re-run replaces
   * the previous back-fill whole; no points deletes it. Resolves false, writing nothing, for a customer the store
   * holds no score of (never scored, or erased since the replay was read).
   */
  replace(customerId: string, points: readonly ScoreHistoryEntry[]): Promise<boolean>;
}

export function createBackfilledHistoryWriter(redis: RedisClient, options: { prefix?: string } = {}): BackfilledHistoryWriter {
  const keys = keySchema(options.prefix ?? DEFAULT_PREFIX);
  const run = defineScript(redis, REPLACE_BACKFILL_SCRIPT);
  return {
    replace: async (customerId, points) =>
      parseReplaceBackfillReply(await run(replaceBackfillCall(keys.customer(customerId), points.map(encodeScoreHistoryEntry)))),
  };
}
