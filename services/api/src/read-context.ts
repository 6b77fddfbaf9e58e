import type { KeySchema, RedisClient } from '@churnscore/state';

/** What every read needs: the connection and the key contract of the configured prefix. */
export interface ReadContext {
  redis: RedisClient;
  keys: KeySchema;
}

/** A request the client got wrong (bad cursor, unknown customer): mapped to a 4xx by the server. */
export class RequestError extends Error {
  constructor(
    readonly statusCode: 400 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** A `ZRANGE … WITHSCORES` reply as (member, score) pairs; scores stay strings so they compare exactly. */
export function memberScorePairs(flat: readonly string[]): Array<{ member: string; score: string }> {
  const pairs: Array<{ member: string; score: string }> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push({ member: flat[i] as string, score: flat[i + 1] as string });
  return pairs;
}
