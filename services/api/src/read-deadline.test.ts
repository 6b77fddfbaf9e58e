import { describe, expect, it } from 'vitest';
import { createReadDeadline } from './read-deadline';
import { StoreUnavailableError } from './request-error';

/** A read that answers only when told to: a Redis that hangs, then comes back. */
function hungRead(): { read: () => Promise<string>; answer: () => void } {
  let answer = (): void => {};
  const read = () => new Promise<string>((resolve) => (answer = () => resolve('late')));
  return { read, answer: () => answer() };
}

describe('a data read against its deadline', () => {
  it('answers what the read answers in time, and its errors', async () => {
    const within = createReadDeadline(50);
    await expect(within(async () => 'scores')).resolves.toBe('scores');
    await expect(within(async () => Promise.reject(new Error('bad cursor')))).rejects.toThrow('bad cursor');
  });

  it('is a 503 once the deadline passes; while that read is unanswered, the next requests are 503 without a read', async () => {
    const within = createReadDeadline(20);
    const hung = hungRead();
    const first = within(hung.read);
    await expect(first).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(first).rejects.toThrow('Redis did not answer within 0.02 s: try again later');

    let readsStarted = 0;
    const counted = async (): Promise<string> => {
      readsStarted += 1;
      return 'scores';
    };
    await expect(within(counted)).rejects.toThrow('Redis has not answered a read for more than 0.02 s: try again later');
    await expect(within(counted)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(readsStarted).toBe(0);

    // Redis back: the late answer reopens reading.
    hung.answer();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(within(counted)).resolves.toBe('scores');
    expect(readsStarted).toBe(1);
  });

  it('reopens reading when the unanswered read fails instead (the connection replaced)', async () => {
    const within = createReadDeadline(20);
    let fail = (): void => {};
    await expect(within(() => new Promise<string>((_, reject) => (fail = () => reject(new Error('Connection is closed.')))))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(within(async () => 'scores')).rejects.toBeInstanceOf(StoreUnavailableError);
    fail();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(within(async () => 'scores')).resolves.toBe('scores');
  });
});
