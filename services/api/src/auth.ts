import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * A check of `Authorization: Bearer <token>` against the configured token. Both sides are hashed first so
 * the comparison takes the same time whatever the presented value, its length included.
 */
export function bearerTokenCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    return match !== null && timingSafeEqual(digest(match[1] as string), expected);
  };
}

/** Wrong tokens one client address may present per window before its API requests are refused. */
const WRONG_TOKEN_LIMIT = 20;
const WRONG_TOKEN_WINDOW_MS = 60_000;

/**
 * Counts wrong tokens per client address in fixed windows (aligned on multiples of the window, so every
 * count starts over at once and memory holds one window's addresses). An address at the limit is refused
 * until its window ends, the right token included: otherwise guessing would go on at full speed.
 */
export class WrongTokenLimiter {
  private windowStart = Number.NEGATIVE_INFINITY;
  private readonly wrongTokens = new Map<string, number>();

  constructor(
    private readonly limit = WRONG_TOKEN_LIMIT,
    private readonly windowMs = WRONG_TOKEN_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `address` may present a token again; 0 when it may now. */
  retryAfterMs(address: string): number {
    const at = this.enterCurrentWindow();
    return (this.wrongTokens.get(address) ?? 0) >= this.limit ? this.windowStart + this.windowMs - at : 0;
  }

  /** Counts a wrong token from `address`; true when it is the one that reaches the limit. */
  recordWrongToken(address: string): boolean {
    this.enterCurrentWindow();
    const count = (this.wrongTokens.get(address) ?? 0) + 1;
    this.wrongTokens.set(address, count);
    return count === this.limit;
  }

  private enterCurrentWindow(): number {
    const at = this.now();
    const start = at - (at % this.windowMs);
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.wrongTokens.clear();
    }
    return at;
  }
}
