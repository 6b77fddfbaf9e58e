import { redisUnreachable } from '@churnscore/state';
import { answerWithin, NO_ANSWER } from '@churnscore/observability';
import { StoreUnavailableError } from './request-error';

/**
 * How long a data request waits for Redis. The client retries a command until Redis is back (the scorer needs that);
 * a reader is better told at once: without a deadline a request hung as long as Redis was down (150 s and more in a
 * black-box test), and every waiting request held a connection.
 */
export const READ_DEADLINE_MS = 5_000;

/**
 * Runs data reads against the deadline. While a read that missed it is still unanswered (a Redis that hangs: the client
 * holds the command until the connection is replaced), the next request is answered at once, without a read: each
 * would otherwise queue one more command behind the first and wait out a deadline of its own.
 */
export function createReadDeadline(deadlineMs = READ_DEADLINE_MS): <T>(read: () => Promise<T>) => Promise<T> {
  let overdue = 0;
  return async (read) => {
    if (overdue > 0) throw new StoreUnavailableError(`Redis has not answered a read for more than ${deadlineMs / 1000} s`);
    const reading = read().catch((error: unknown) => {
      // A cluster client none of whose seed nodes answers fails a read at once (a 500 until 2026-12-06).
      throw redisUnreachable(error) ? new StoreUnavailableError('Redis cannot be reached') : error;
    });
    const answer = await answerWithin(reading, deadlineMs);
    if (answer !== NO_ANSWER) return answer;
    overdue += 1;
    const answered = (): void => {
      overdue -= 1;
    };
    reading.then(answered, answered);
    throw new StoreUnavailableError(`Redis did not answer within ${deadlineMs / 1000} s`);
  };
}
