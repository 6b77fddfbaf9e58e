import { afterEach, describe, expect, it, vi } from 'vitest';
import { answerWithin, NO_ANSWER, oneCallAtATime } from './answer-within';

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

describe('oneCallAtATime', () => {
  it('asks a dependency that does not answer once, however often it is asked meanwhile, and again once it answered', async () => {
    const answers: Array<(value: string) => void> = [];
    const ping = oneCallAtATime(() => new Promise<string>((resolve) => answers.push(resolve)));
    const probes = [ping(), ping(), ping()];
    expect(answers).toHaveLength(1);
    answers[0]!('PONG');
    await expect(Promise.all(probes)).resolves.toEqual(['PONG', 'PONG', 'PONG']);

    const next = ping();
    expect(answers).toHaveLength(2);
    answers[1]!('PONG again');
    await expect(next).resolves.toBe('PONG again');
  });

  it('asks again after a refusal, which every caller of the refused call got', async () => {
    let calls = 0;
    const ping = oneCallAtATime(() => (calls += 1) === 1 ? Promise.reject(new Error('LOADING')) : Promise.resolve('PONG'));
    await expect(Promise.all([ping(), ping()])).rejects.toThrow('LOADING');
    await expect(ping()).resolves.toBe('PONG');
    expect(calls).toBe(2);
  });
});
