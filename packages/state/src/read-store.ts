// The read-only side of the key contract, for dashboards and the read API: what commitScores wrote (a
// customer's score, explanation, insights, alert book and score history, with the history `npm run backfill`
// computed before it) and the global indexes that follow it (rankings, the open-alert index), decoded. Its callers never see a key. It only reads, with plain commands
// each within one hash slot and one MULTI (docs/operations.md lists them), so it runs on Redis Cluster and
// under an ACL user without write or script permissions.
import type { AlertBook, CustomerInsights } from '@churnscore/domain';
import { redisServesEveryKey, type RedisClient } from './connection';
import { ExplanationLegends } from './explanation-codec';
import { DEFAULT_PREFIX, EVERY_CUSTOMER_RANKING, keySchema, type RankingMetric } from './keys';
import {
  decodeAlertBook,
  decodeScoreHistoryEntry,
  decodeScoreSummary,
  decodeStoredInsights,
  decodeStoredScore,
  type ScoreHistoryEntry,
  type ScoreSummary,
  type StoredScore,
} from './score-codec';

/** A customer's current score, explanation, insights and alert book, as one commit left them. */
export interface CustomerReadModel {
  score: StoredScore;
  insights: CustomerInsights | null;
  /** The alert book, or null. */
  alertBook: AlertBook | null;
}

/** A ranked list's row: the stored score and the next renewal from its insights. */
export interface CustomerSummary extends ScoreSummary {
  nextRenewalAt: number | null;
}

export type RankingOrder = 'asc' | 'desc';

export interface RankedEntry {
  customerId: string;
  /** The score exactly as Redis prints it (17 significant digits), so that it compares exactly. */
  score: string;
}

/** A sorted set of customers by a metric: a ranking, or the open-alert index (by value at risk). */
export interface RankingReader {
  /** How many customers it holds. */
  size(): Promise<number>;
  /** `count` entries from position `from` (0: the first) in that order. */
  entries(order: RankingOrder, from: number, count: number): Promise<RankedEntry[]>;
  /** Where the customer sits in that order and its score; null when it is not ranked. */
  position(order: RankingOrder, customerId: string): Promise<{ rank: number; score: string } | null>;
  /** Customers with a score of at least `score`. */
  countAtLeast(score: number | string): Promise<number>;
  /** Customers with a score greater than `score`. */
  countAbove(score: number | string): Promise<number>;
  /** Customers with a score less than `score`. */
  countBelow(score: number | string): Promise<number>;
}

export interface ReadStore {
  /** One customer's score, explanation, insights and alert book from one commit; null when it has no score. */
  customer(customerId: string): Promise<CustomerReadModel | null>;
  /** The row of each customer (null for one without a score, e.g. erased since it was ranked). */
  customerSummaries(customerIds: readonly string[]): Promise<Array<CustomerSummary | null>>;
  /**
   * The latest `limit` points, oldest first: the back-filled ones before the first published one, then the
   * published ones (withBackfilled); entries that do not decode are skipped. Null when the customer has no score.
   */
  scoreHistory(customerId: string, limit: number): Promise<ScoreHistoryPoint[] | null>;
  /** The alert book of each customer, or null (none, or one that does not decode: ReadStoreOptions.onUndecodable). */
  alertBooks(customerIds: readonly string[]): Promise<Array<AlertBook | null>>;
  /** Every scored customer by `metric`, or only those of `segment`. */
  ranking(metric: RankingMetric, segment?: string | null): RankingReader;
  /** Customers with an open alert, by value at risk. */
  readonly openAlerts: RankingReader;
  /** The customers whose alerts resolved most recently, by when their latest resolved (RESOLVED_ALERTS_INDEXED of them at most). */
  readonly resolvedAlerts: RankingReader;
  /**
   * Whether Redis answers and lets this user read the namespace (a readiness check): a read of the overall churn-risk
   * ranking, which the dashboard's reads need, rather than PING, which an ACL that took the reads away still allows;
   * and, on a cluster, whether every key is served (redisServesEveryKey): that one key's shard may be up while another is down.
   */
  readable(): Promise<boolean>;
}

export interface ReadStoreOptions {
  /** The key prefix of the namespace to read. Default DEFAULT_PREFIX. */
  prefix?: string;
  /**
   * Told of each stored alert book that does not decode (a hand edit, a corrupt restore), which `alertBooks` answers as
   * null: one customer's record then leaves the others' alerts readable. `customer` throws instead.
   */
  onUndecodable?: (record: 'alert book') => void;
}

type ReplyOf<T> = [error: Error | null, result: T];

/** A point of a customer's score history: a published score, or one computed from event time by `npm run backfill`. */
export interface ScoreHistoryPoint extends ScoreHistoryEntry {
  backfilled?: true;
}

const decodePoints = (entries: readonly string[]): ScoreHistoryEntry[] =>
  entries.map(decodeScoreHistoryEntry).filter((point): point is ScoreHistoryEntry => point !== null);

/**
 * The latest `limit` points of a history, oldest first: the back-filled points (oldest first) before the first
 * published one, each marked, then the published points (oldest first). A back-filled point at or after the first
 * published point is left out: where the scorer published, its scores are the history.
 */
export function withBackfilled(backfilled: readonly ScoreHistoryEntry[], published: readonly ScoreHistoryEntry[], limit: number): ScoreHistoryPoint[] {
  const firstPublished = published[0]?.t ?? Infinity;
  const earlier = backfilled.filter((point) => point.t < firstPublished).map((point): ScoreHistoryPoint => ({ ...point, backfilled: true }));
  return [...earlier, ...published].slice(-limit);
}

/** The exec() replies of a read transaction, or the first error among them. */
function repliesOf<Replies extends Array<ReplyOf<unknown>>>(replies: Array<ReplyOf<unknown>> | null): Replies {
  if (replies === null) throw new Error('the read transaction was aborted');
  const failed = replies.find(([error]) => error !== null);
  if (failed) throw failed[0];
  return replies as Replies;
}

/** A `ZRANGE … WITHSCORES` reply as entries. */
function rankedEntries(flat: readonly string[]): RankedEntry[] {
  const entries: RankedEntry[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ customerId: flat[i]!, score: flat[i + 1]! });
  return entries;
}

function rankingReader(redis: RedisClient, key: string): RankingReader {
  return {
    size: () => redis.zcard(key),
    entries: async (order, from, count) =>
      rankedEntries(
        order === 'desc' ? await redis.zrange(key, from, from + count - 1, 'REV', 'WITHSCORES') : await redis.zrange(key, from, from + count - 1, 'WITHSCORES'),
      ),
    async position(order, customerId) {
      const [rank, score] = await Promise.all([order === 'desc' ? redis.zrevrank(key, customerId) : redis.zrank(key, customerId), redis.zscore(key, customerId)]);
      return rank === null || score === null ? null : { rank, score };
    },
    countAtLeast: (score) => redis.zcount(key, score, '+inf'),
    countAbove: (score) => redis.zcount(key, `(${score}`, '+inf'),
    countBelow: (score) => redis.zcount(key, '-inf', `(${score}`),
  };
}

// A ranked list shows the next renewal, which lives in the insights hash under the insight's own name.
const NEXT_RENEWAL_FIELD = 'nextRenewalAt' satisfies keyof CustomerInsights;

export function createReadStore(redis: RedisClient, options: ReadStoreOptions = {}): ReadStore {
  const keys = keySchema(options.prefix ?? DEFAULT_PREFIX);
  const legends = new ExplanationLegends(redis, keys.legends);

  return {
    /** In one MULTI (the keys share one hash slot), so the score, explanation, insights and alerts always come from the same commit. */
    async customer(customerId) {
      const k = keys.customer(customerId);
      const [[, scoreHash], [, explanation], [, insightsHash], [, alertBook]] = repliesOf<
        [ReplyOf<Record<string, string>>, ReplyOf<string | null>, ReplyOf<Record<string, string>>, ReplyOf<string | null>]
      >(await redis.multi().hgetall(k.score).get(k.explanation).hgetall(k.insights).get(k.alerts).exec());
      await legends.learn([explanation]);
      const score = decodeStoredScore(customerId, scoreHash, explanation, legends);
      if (score === null) return null;
      return { score, insights: decodeStoredInsights(customerId, insightsHash), alertBook: decodeAlertBook(customerId, alertBook) };
    },

    customerSummaries: (customerIds) =>
      Promise.all(
        customerIds.map(async (customerId) => {
          const k = keys.customer(customerId);
          const [scoreHash, nextRenewalAt] = await Promise.all([redis.hgetall(k.score), redis.hget(k.insights, NEXT_RENEWAL_FIELD)]);
          const summary = decodeScoreSummary(customerId, scoreHash);
          return summary === null ? null : { ...summary, nextRenewalAt: nextRenewalAt === null ? null : Number(nextRenewalAt) };
        }),
      ),

    /** In one MULTI (the keys share one hash slot), so a back-fill replaced meanwhile is read whole or not at all. */
    async scoreHistory(customerId, limit) {
      const k = keys.customer(customerId);
      const [[, scored], [, entries], [, backfilled]] = repliesOf<[ReplyOf<number>, ReplyOf<string[]>, ReplyOf<string[]>]>(
        await redis.multi().exists(k.score).lrange(k.history, 0, limit - 1).lrange(k.backfill, -limit, -1).exec(),
      );
      if (scored === 0) return null;
      // The list is newest first; reversing before the (stable) sort keeps points of the same instant in publication order.
      const published = decodePoints(entries.reverse()).sort((a, b) => a.t - b.t);
      return withBackfilled(decodePoints(backfilled), published, limit);
    },

    alertBooks: (customerIds) =>
      Promise.all(
        customerIds.map(async (customerId) => {
          const stored = await redis.get(keys.customer(customerId).alerts);
          try {
            return decodeAlertBook(customerId, stored);
          } catch {
            options.onUndecodable?.('alert book');
            return null;
          }
        }),
      ),

    ranking: (metric, segment = null) => rankingReader(redis, keys.ranking(metric, segment)),

    openAlerts: rankingReader(redis, keys.openAlerts),

    resolvedAlerts: rankingReader(redis, keys.resolvedAlerts),

    readable: async () => {
      await redis.zcard(keys.ranking(EVERY_CUSTOMER_RANKING));
      return redisServesEveryKey(redis);
    },
  };
}
