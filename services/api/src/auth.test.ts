import { describe, expect, it } from 'vitest';
import { bearerTokenCheck, WrongTokenLimiter } from './auth';

describe('bearerTokenCheck', () => {
  it('accepts exactly the configured token as a Bearer credential', () => {
    const matches = bearerTokenCheck('the-right-token-0123');
    expect(matches('Bearer the-right-token-0123')).toBe(true);
    expect(matches('bearer the-right-token-0123')).toBe(true);
    expect(matches('Bearer the-right-token-01234')).toBe(false);
    expect(matches('Basic the-right-token-0123')).toBe(false);
    expect(matches(undefined)).toBe(false);
  });
});

describe('WrongTokenLimiter', () => {
  const WINDOW = 60_000;
  const start = 1_700_000_040_000;

  it('refuses an address once it reached the limit within the window, until its oldest wrong token leaves it', () => {
    let now = start + 10_000;
    const limiter = new WrongTokenLimiter(3, WINDOW, () => now);
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(false);
    now += 5_000;
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(false);
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(0);
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(true);
    // The first of the three leaves the window 60 s after it came.
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(55_000);
    now = start + 10_000 + WINDOW - 1;
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(1);
    now += 1;
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(0);
  });

  it('allows no more than the limit across the turn of a clock minute (a window of its own for every address)', () => {
    let now = start + WINDOW - 1_000;
    const limiter = new WrongTokenLimiter(3, WINDOW, () => now);
    for (let i = 0; i < 3; i += 1) limiter.recordWrongToken('10.0.0.1');
    now = start + WINDOW + 1_000;
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(WINDOW - 2_000);
  });

  it('counts each address on its own', () => {
    const limiter = new WrongTokenLimiter(2, WINDOW, () => start);
    limiter.recordWrongToken('10.0.0.1');
    limiter.recordWrongToken('10.0.0.1');
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(WINDOW);
    expect(limiter.retryAfterMs('10.0.0.2')).toBe(0);
  });

  it('reports reaching the limit once, and again once the window has passed', () => {
    let now = start;
    const limiter = new WrongTokenLimiter(1, WINDOW, () => now);
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(true);
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(false);
    now = start + WINDOW;
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(true);
  });
});
