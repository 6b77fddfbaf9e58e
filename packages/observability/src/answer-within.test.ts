import { afterEach, describe, expect, it, vi } from 'vitest';
import { answerWithin, NO_ANSWER } from './answer-within';

afterEach(() => vi.useRealTimers());

describe('answerWithin', () => {
  it('gives the answer that comes in time, and throws the refusal that does', async () => {
    await expect(answerWithin(Promise.resolve('pong'), 1_000)).resolves.toBe('pong');
    await expect(answerWithin(Promise.reject(new Error('refused')), 1_000)).rejects.toThrow('refused');
  });

  it('gives NO_ANSWER once the time is up, and drops a refusal that comes later', async () => {
    vi.useFakeTimers();
    let refuse: (error: Error) => void = () => undefined;
    const late = new Promise<string>((_resolve, reject) => {
      refuse = reject;
    });
    const answer = answerWithin(late, 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(answer).resolves.toBe(NO_ANSWER);
    // No unhandled rejection: the race holds a handler on it.
    refuse(new Error('too late'));
    await vi.advanceTimersByTimeAsync(0);
  });
});
