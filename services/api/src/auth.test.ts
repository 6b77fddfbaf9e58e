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
  const start = 1_700_000_040_000; // a multiple of the window: windows run [start, start + WINDOW)

  it('refuses an address once it reached the limit, until its window ends', () => {
    let now = start + 10_000;
    const limiter = new WrongTokenLimiter(3, WINDOW, () => now);
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(false);
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(false);
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(0);
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(true);
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(50_000);
    now = start + WINDOW - 1;
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(1);
    now = start + WINDOW;
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(0);
  });

  it('counts each address on its own', () => {
    const limiter = new WrongTokenLimiter(2, WINDOW, () => start);
    limiter.recordWrongToken('10.0.0.1');
    limiter.recordWrongToken('10.0.0.1');
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(WINDOW);
    expect(limiter.retryAfterMs('10.0.0.2')).toBe(0);
  });

  it('reports reaching the limit once per window', () => {
    let now = start;
    const limiter = new WrongTokenLimiter(1, WINDOW, () => now);
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(true);
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(false);
    now = start + WINDOW;
    expect(limiter.recordWrongToken('10.0.0.1')).toBe(true);
  });
});
