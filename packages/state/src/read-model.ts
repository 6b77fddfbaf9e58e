// Read-only views of what commitScores wrote, for dashboards and the read API: the inverse of the
// score and insights encodings of score-codec.ts, and one consistent read of a customer's read model.
import { ACTIVITY_TYPES, WINDOWS_DAYS, type ActivityType, type CustomerInsights, type WindowedCounts } from '@churnscore/domain';
import type { RedisClient } from './connection';
import type { KeySchema } from './keys';
import { decodeStoredScore, type StoredScore } from './score-codec';

/** A stored score without its explanation (which lives in a key of its own): what a ranked list shows. */
export type ScoreSummary = Omit<StoredScore, 'explanation'>;

/** The explanation a summary does without: decodeStoredScore only needs to know one was stored. */
const NO_EXPLANATION = 'null';

/** Decodes the `score` hash alone; null when the customer has no score. */
export function decodeScoreSummary(customerId: string, hash: Record<string, string>): ScoreSummary | null {
  const score = decodeStoredScore(customerId, hash, NO_EXPLANATION);
  if (score === null) return null;
  const { explanation: _storedApart, ...summary } = score;
  return summary;
}

/**
 * Rebuilds CustomerInsights from its `insights` hash (the inverse of insightsFieldArgs): dotted field names
 * nest again, windowed counts left out for being zero read as 0, and the other absent fields, which were
 * left out for being null, read as null. Null when the customer has never been scored.
 */
export function decodeStoredInsights(customerId: string, hash: Record<string, string>): CustomerInsights | null {
  if (hash.asOf === undefined) return null;
  const count = (field: string): number => Number(hash[field] ?? 0);
  const nullable = (field: string): number | null => (hash[field] === undefined ? null : Number(hash[field]));
  const windowed = (base: string): WindowedCounts =>
    Object.fromEntries(WINDOWS_DAYS.map((days) => [`d${days}`, count(`${base}.d${days}`)])) as unknown as WindowedCounts;
  return {
    customerId,
    asOf: count('asOf'),
    segment: hash.segment ?? null,
    activity: Object.fromEntries(ACTIVITY_TYPES.map((type) => [type, windowed(`activity.${type}`)])) as Record<ActivityType, WindowedCounts>,
    usageQuantity: windowed('usageQuantity'),
    lastActivityAt: nullable('lastActivityAt'),
    lastInboundAt: nullable('lastInboundAt'),
    openOpportunities: count('openOpportunities'),
    openPipelineAmount: count('openPipelineAmount'),
    weightedPipelineAmount: count('weightedPipelineAmount'),
    openQuotes: count('openQuotes'),
    won365: count('won365'),
    wonAmount365: count('wonAmount365'),
    lost365: count('lost365'),
    lostAmount365: count('lostAmount365'),
    winRate365: nullable('winRate365'),
    activeContracts: count('activeContracts'),
    totalContractValue: count('totalContractValue'),
    nextRenewalAt: nullable('nextRenewalAt'),
    cancelled365: count('cancelled365'),
    contractsSeen: count('contractsSeen'),
    firstContractStartAt: nullable('firstContractStartAt'),
    openTickets: count('openTickets'),
    slaBreaches90: count('slaBreaches90'),
    latestNps: nullable('latestNps'),
    latestCsmSentiment: nullable('latestCsmSentiment'),
  };
}

/** A customer's current score, explanation, insights and alert book, as one commit left them. */
export interface CustomerReadModel {
  score: StoredScore;
  insights: CustomerInsights | null;
  /** The alert book (opaque to this package: the scoring package's AlertBook), or null. */
  alertBook: unknown;
}

type ReplyOf<T> = [error: Error | null, result: T];

/**
 * Reads a customer's read model in one MULTI (its keys share one hash slot), so the score, explanation,
 * insights and alerts always come from the same commit. Null when the customer has no score.
 */
export async function readCustomerReadModel(redis: RedisClient, keys: KeySchema, customerId: string): Promise<CustomerReadModel | null> {
  const k = keys.customer(customerId);
  const replies = (await redis.multi().hgetall(k.score).get(k.explanation).hgetall(k.insights).get(k.alerts).exec()) as
    | [ReplyOf<Record<string, string>>, ReplyOf<string | null>, ReplyOf<Record<string, string>>, ReplyOf<string | null>]
    | null;
  if (replies === null) throw new Error('the read transaction was aborted');
  const failed = replies.find(([error]) => error !== null);
  if (failed) throw failed[0];
  const [[, scoreHash], [, explanation], [, insightsHash], [, alertBook]] = replies;
  const score = decodeStoredScore(customerId, scoreHash, explanation);
  if (score === null) return null;
  return {
    score,
    insights: decodeStoredInsights(customerId, insightsHash),
    alertBook: alertBook === null ? null : JSON.parse(alertBook),
  };
}
