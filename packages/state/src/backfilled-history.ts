// The back-filled score history (`npm run backfill`): each customer's score as of past instants, computed from
// event time, kept apart from the live history the scorer publishes (docs/redis-contract.md, `backfill`). The
// read store serves it before the live points.
import type { RedisClient } from './connection';
import { DEFAULT_PREFIX, keySchema } from './keys';
import { encodeScoreHistoryEntry, type ScoreHistoryEntry } from './score-codec';
import { defineScript } from './scripts/lua-script';
import { REPLACE_BACKFILL_SCRIPT, parseReplaceBackfillReply, replaceBackfillCall, type BackfillReplaced } from './scripts/replace-backfill';

export interface BackfilledHistoryWriter {
  /**
   * Replaces the customer's back-filled points (oldest first) with `points` in one script, so a re-run replaces
   * the previous back-fill whole; no points deletes it. Writes nothing for a customer the store holds no score of
   * (never scored, or erased since the replay was read), nor for one whose state was created after the replay
   * began (erased and created again since: the points may be of erased data), and says which.
   */
  replace(customerId: string, points: readonly ScoreHistoryEntry[]): Promise<BackfillReplaced>;
}

export interface BackfilledHistoryWriterOptions {
  prefix?: string;
  /** When the replay the points are computed from began: `serverMicroseconds` taken before it read anything. */
  replayBegan: string;
}

export function createBackfilledHistoryWriter(redis: RedisClient, options: BackfilledHistoryWriterOptions): BackfilledHistoryWriter {
  const keys = keySchema(options.prefix ?? DEFAULT_PREFIX);
  const run = defineScript(redis, REPLACE_BACKFILL_SCRIPT);
  return {
    replace: async (customerId, points) =>
      parseReplaceBackfillReply(await run(replaceBackfillCall(keys.customer(customerId), options.replayBegan, points.map(encodeScoreHistoryEntry)))),
  };
}
