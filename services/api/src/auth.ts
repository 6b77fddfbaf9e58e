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

/** Addresses the limiter keeps before it forgets those whose wrong tokens all left the window. */
const ADDRESSES_BEFORE_SWEEP = 1_000;

/**
 * Counts wrong tokens per client address over a sliding window: the instants of an address's latest `limit` ones. An
 * address with `limit` of them within the window is refused until the oldest leaves it, the right token included:
 * otherwise guessing would go on at full speed. Windows aligned on the clock let `limit` guesses end one and `limit`
 * more begin the next, twice the limit within a second or two (an outside tester).
 */
export class WrongTokenLimiter {
  /** Per address, the instants of its latest wrong tokens within the window (at most `limit`), oldest first. */
  private readonly wrongTokens = new Map<string, number[]>();

  constructor(
    private readonly limit = WRONG_TOKEN_LIMIT,
    private readonly windowMs = WRONG_TOKEN_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `address` may present a token again; 0 when it may now. */
  retryAfterMs(address: string): number {
    const at = this.now();
    const recent = this.recent(address, at);
    return recent.length >= this.limit ? recent[0]! + this.windowMs - at : 0;
  }

  /** Counts a wrong token from `address`; true when it is the one that reaches the limit. */
  recordWrongToken(address: string): boolean {
    const at = this.now();
    if (this.wrongTokens.size >= ADDRESSES_BEFORE_SWEEP) for (const known of [...this.wrongTokens.keys()]) this.recent(known, at);
    const recent = this.recent(address, at);
    const reached = recent.length === this.limit - 1;
    recent.push(at);
    if (recent.length > this.limit) recent.shift();
    this.wrongTokens.set(address, recent);
    return reached;
  }

  /** The address's wrong tokens still within the window at `at`; an address with none is forgotten. */
  private recent(address: string, at: number): number[] {
    const recent = (this.wrongTokens.get(address) ?? []).filter((instant) => at - instant < this.windowMs);
    if (recent.length === 0) this.wrongTokens.delete(address);
    else this.wrongTokens.set(address, recent);
    return recent;
  }
}
