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

/** `lookup()` for `key`, or the promise of the one already in flight for it; forgotten once settled. */
export function shareInFlight<K, V>(inFlight: Map<K, Promise<V>>, key: K, lookup: () => Promise<V>): Promise<V> {
  let pending = inFlight.get(key);
  if (pending === undefined) {
    pending = lookup().finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

/**
 * `call`, made once at a time: while its last call has not settled, a caller gets that call's answer instead of making
 * another. A readiness check asked by every probe of a Redis that hangs then leaves one command waiting in the client
 * for the Redis to answer, not one more per probe (20,000 probes left 20,000 PINGs queued, 2026-12-06; an outside
 * tester had seen the API's memory grow with probes while Redis hung).
 */
export function oneCallAtATime<V>(call: () => Promise<V>): () => Promise<V> {
  const inFlight = new Map<typeof call, Promise<V>>();
  return () => shareInFlight(inFlight, call, call);
}
