// The global sorted sets beside the per-customer truth: the rankings (overall and per segment), the due
// shards and the open-alert index live in other slots than the customer, so no script writes them. After
// each commit or erasure they are brought in line with plain, idempotent ZADD / ZREM carrying values from
// the customer's stored score, so they converge with it (docs/redis-contract.md, Guarantees).
import type { Score } from '@churnscore/domain';
import type { RedisClient } from './connection';
import { RANKING_METRICS, type KeySchema } from './keys';
import type { ScoreSummary } from './score-codec';
import { publishesScore, type CommitResult, type ScoreCommit } from './scripts/commit-score';

/** What a ranking entry is made of. */
type RankedScore = Pick<Score, 'segment' | (typeof RANKING_METRICS)[number]>;

export interface CustomerIndexes {
  /** Sets (null: removes) the customer's due time in its shard. */
  scheduleDue(customerId: string, dueAt: number | null): Promise<void>;
  /** After a commit: the rankings, due time and open-alert entry follow the score that is stored now. */
  followCommit(commit: ScoreCommit, result: CommitResult): Promise<unknown>[];
  /** After an erasure: the customer leaves every ranking (overall and `rankedSegment`'s), its due shard and the open-alert index. */
  followErasure(customerId: string, rankedSegment: string | null): Promise<unknown>[];
}

export function customerIndexes(redis: RedisClient, keys: KeySchema): CustomerIndexes {
  /** Brings a customer's entries in the rankings in line with `score` (null: removes them all). */
  function rank(customerId: string, score: RankedScore | null, previousSegment: string | null): Promise<unknown>[] {
    const segment = score?.segment ?? null;
    return RANKING_METRICS.flatMap((metric) => [
      score ? redis.zadd(keys.ranking(metric), score[metric], customerId) : redis.zrem(keys.ranking(metric), customerId),
      ...(score && segment !== null ? [redis.zadd(keys.ranking(metric, segment), score[metric], customerId)] : []),
      ...(previousSegment !== null && previousSegment !== segment ? [redis.zrem(keys.ranking(metric, previousSegment), customerId)] : []),
    ]);
  }

  async function scheduleDue(customerId: string, dueAt: number | null): Promise<void> {
    const shardKey = keys.dueShard(keys.dueShardOf(customerId));
    await (dueAt === null ? redis.zrem(shardKey, customerId) : redis.zadd(shardKey, dueAt, customerId));
  }

  const markOpenAlert = (customerId: string, valueAtRisk: number | null): Promise<unknown> =>
    valueAtRisk === null ? redis.zrem(keys.openAlerts, customerId) : redis.zadd(keys.openAlerts, valueAtRisk, customerId);

  return {
    scheduleDue,

    // When a call was refused, the newer score that is stored decides. That heals a follow-up lost with an
    // earlier call (a retried commit is refused as not newer) and one overtaken by an older commit's.
    followCommit(commit, result) {
      const customerId = commit.score.customerId;
      const previous: ScoreSummary | null = result.previousScore;
      if (result.written) {
        // An insignificant change leaves the published score stored, and ranked.
        const stored = publishesScore(commit.outbox) || previous === null ? commit.score : previous;
        return [
          ...rank(customerId, stored, previous?.segment ?? null),
          scheduleDue(customerId, commit.nextDueAt),
          markOpenAlert(customerId, commit.hasOpenAlerts ? stored.valueAtRisk : null),
        ];
      }
      return previous && !result.fenced ? [...rank(customerId, previous, previous.segment), scheduleDue(customerId, previous.nextDueAt)] : [];
    },

    followErasure: (customerId, rankedSegment) => [...rank(customerId, null, rankedSegment), scheduleDue(customerId, null), markOpenAlert(customerId, null)],
  };
}
