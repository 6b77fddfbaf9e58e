// The global sorted sets beside the per-customer truth: the rankings (overall and per segment), the due
// shards and the open-alert index live in other slots than the customer, so no script writes them. After
// each commit or erasure they are brought in line with plain, idempotent ZADD / ZREM carrying values from
// the customer's stored score, so they converge with it (docs/redis-contract.md, Guarantees). Entries this
// process itself put there on the customer's previous commit are not sent again while their values hold.
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
  /**
   * After a commit: the rankings, due time and open-alert entry follow the score that is stored now.
   * `generation`: the Redis generation the commit was fenced to ('' for none).
   */
  followCommit(commit: ScoreCommit, result: CommitResult, generation: string): Promise<unknown>[];
  /** The customer's due entry was moved by something other than a follow-up (a claim's lease): the next follow-up sends it again. */
  dueMoved(customerId: string): void;
  /** After an erasure: the customer leaves every ranking (overall and `rankedSegment`'s), its due shard and the open-alert index. */
  followErasure(customerId: string, rankedSegment: string | null): Promise<unknown>[];
}

/**
 * What this process's follow-up of a customer's commit put in the indexes: the commit it followed
 * (`revision:asOf`), in which generation, the entries (each part as one string) and whether its writes landed.
 */
interface Followed {
  commitToken: string;
  generation: string;
  ranking: string;
  due: string;
  openAlert: string;
  landed: boolean;
}

/**
 * Customers whose last follow-up is remembered. Past it the memory starts afresh, which costs each customer
 * one full follow-up (~150 bytes an entry: 100,000 is ~15 MB).
 */
export const FOLLOWED_CUSTOMERS_REMEMBERED = 100_000;

const commitToken = (score: Pick<ScoreSummary, 'revision' | 'asOf'>): string => `${score.revision}:${score.asOf}`;

export function customerIndexes(redis: RedisClient, keys: KeySchema): CustomerIndexes {
  // An entry is trusted only once its writes have landed, while the stored score is still the commit it
  // followed, in the same generation (a Redis that lost writes, maybe the entries' own, is another one). So a
  // follow-up lost with a crash or a failed call is sent in full by the next commit, as before.
  const followed = new Map<string, Followed>();

  /** Brings a customer's entries in the rankings in line with `score` (null: removes them all). */
  function rank(customerId: string, score: RankedScore | null, previousSegment: string | null): Promise<unknown>[] {
    const segment = score?.segment ?? null;
    return RANKING_METRICS.flatMap((metric) => [
      score ? redis.zadd(keys.ranking(metric), score[metric], customerId) : redis.zrem(keys.ranking(metric), customerId),
      ...(score && segment !== null ? [redis.zadd(keys.ranking(metric, segment), score[metric], customerId)] : []),
      ...(previousSegment !== null && previousSegment !== segment ? [redis.zrem(keys.ranking(metric, previousSegment), customerId)] : []),
    ]);
  }

  async function setDue(customerId: string, dueAt: number | null): Promise<void> {
    const shardKey = keys.dueShard(keys.dueShardOf(customerId));
    await (dueAt === null ? redis.zrem(shardKey, customerId) : redis.zadd(shardKey, dueAt, customerId));
  }

  const markOpenAlert = (customerId: string, valueAtRisk: number | null): Promise<unknown> =>
    valueAtRisk === null ? redis.zrem(keys.openAlerts, customerId) : redis.zadd(keys.openAlerts, valueAtRisk, customerId);

  const dueMoved = (customerId: string) => {
    const last = followed.get(customerId);
    if (last !== undefined) followed.set(customerId, { ...last, due: '' });
  };

  return {
    scheduleDue(customerId, dueAt) {
      dueMoved(customerId);
      return setDue(customerId, dueAt);
    },

    dueMoved,

    // When a call was refused, the newer score that is stored decides. That heals a follow-up lost with an
    // earlier call (a retried commit is refused as not newer) and one overtaken by an older commit's.
    followCommit(commit, result, generation) {
      const customerId = commit.score.customerId;
      const previous: ScoreSummary | null = result.previousScore;
      const last = followed.get(customerId);
      followed.delete(customerId);
      if (followed.size >= FOLLOWED_CUSTOMERS_REMEMBERED) followed.clear();
      if (result.written) {
        // An insignificant change leaves the published score stored, and ranked.
        const stored = publishesScore(commit.outbox) || previous === null ? commit.score : previous;
        const openAlertValue = commit.hasOpenAlerts ? stored.valueAtRisk : null;
        const entry: Followed = {
          commitToken: commitToken(commit),
          generation,
          ranking: [stored.segment, ...RANKING_METRICS.map((metric) => stored[metric])].join('|'),
          due: String(commit.nextDueAt),
          openAlert: String(openAlertValue),
          landed: false,
        };
        const trusted = last?.landed === true && previous !== null && last.commitToken === commitToken(previous) && last.generation === generation;
        const unchanged = (part: 'ranking' | 'due' | 'openAlert') => trusted && last[part] === entry[part];
        const writes = [
          ...(unchanged('ranking') ? [] : rank(customerId, stored, previous?.segment ?? null)),
          ...(unchanged('due') ? [] : [setDue(customerId, commit.nextDueAt)]),
          ...(unchanged('openAlert') ? [] : [markOpenAlert(customerId, openAlertValue)]),
        ];
        followed.set(customerId, entry);
        const landed = () => {
          // Still this follow-up's entry (a later commit's replaces it), with any due move since kept.
          const current = followed.get(customerId);
          if (current?.commitToken === entry.commitToken && current.generation === generation) followed.set(customerId, { ...current, landed: true });
        };
        return [Promise.all(writes).then(landed)];
      }
      return previous && !result.fenced ? [...rank(customerId, previous, previous.segment), setDue(customerId, previous.nextDueAt)] : [];
    },

    followErasure(customerId, rankedSegment) {
      followed.delete(customerId);
      return [...rank(customerId, null, rankedSegment), setDue(customerId, null), markOpenAlert(customerId, null)];
    },
  };
}
