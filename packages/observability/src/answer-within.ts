// Waiting a bounded time for a dependency's answer: a probe or a start-up check must answer, never hang on a
// dependency that does.

/** What `answerWithin` gives when no answer came in time. */
export const NO_ANSWER = Symbol('no answer');

/**
 * `answer`'s value, or NO_ANSWER when it has not settled within `timeoutMs`; its rejection, if it comes in time, is
 * thrown. One that comes later is handled (the race holds a handler on it) and dropped.
 */
export async function answerWithin<T>(answer: Promise<T>, timeoutMs: number): Promise<T | typeof NO_ANSWER> {
  let timer: NodeJS.Timeout | undefined;
  const noAnswer = new Promise<typeof NO_ANSWER>((resolve) => {
    timer = setTimeout(() => resolve(NO_ANSWER), timeoutMs);
  });
  try {
    return await Promise.race([answer, noAnswer]);
  } finally {
    clearTimeout(timer);
  }
}
