// Read-only view of what commitScores wrote, for dashboards and the read API: one consistent read of a
// customer's score, explanation, insights and alert book (decoded by score-codec.ts).
import type { AlertBook, CustomerInsights } from '@churnscore/domain';
import type { RedisClient } from './connection';
import type { KeySchema } from './keys';
import { decodeAlertBook, decodeStoredInsights, decodeStoredScore, type StoredScore } from './score-codec';

/** A customer's current score, explanation, insights and alert book, as one commit left them. */
export interface CustomerReadModel {
  score: StoredScore;
  insights: CustomerInsights | null;
  /** The alert book, or null. */
  alertBook: AlertBook | null;
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
    alertBook: decodeAlertBook(alertBook),
  };
}
