import { ConfigError } from '@churnscore/config';
import { EventEncodeError, SchemaRegistryAccessRefusedError } from '@churnscore/events';
import { kafkaAccessRefusal } from '@churnscore/kafka';
import { redisAccessRefusal, RedisEvictsStateError, redisFull } from '@churnscore/state';

/** kafkajs wraps what it gave up retrying, the codec what the registry answered: a refusal is a few causes deep at most. */
const MAX_CAUSE_DEPTH = 8;

/** Errors that say, once, what no retry will change; the rest of a refusal is Redis's or a broker's reply, read below. */
const isLastingError = (error: Error): boolean =>
  error instanceof SchemaRegistryAccessRefusedError ||
  error instanceof EventEncodeError ||
  error instanceof RedisEvictsStateError ||
  // A setting found wrong while the scorer runs: an output topic's max.message.bytes lowered below any record's size.
  error instanceof ConfigError;

/**
 * The refusal behind `error`, if it is one that every retry would meet again until an operator acts: a dependency
 * refusing the scorer's user (Redis a command, its ACL rules or password changed; a broker an ACL; the schema registry
 * its credentials), Redis full under a policy that evicts nothing of the scorer's, Redis set to evict the scorer's
 * keys, a setting found wrong (ConfigError: an output topic's record size lowered below any record), or an output
 * event the registered schemas cannot carry (its subject deleted, say, with the registry's data).
 * Unlike an outage, waiting does not end one: the scorer's liveness fails with the refusal, naming the setting, and
 * the process exits so that a supervisor restarts it (once the operator has acted, the restart goes on where it
 * stopped), instead of retrying, live and consuming nothing, for ever. Looked for in the error and its causes.
 */
export function lastingRefusal(error: unknown): Error | undefined {
  let link = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && link instanceof Error; depth += 1) {
    const refusal = redisAccessRefusal(link) ?? redisFull(link) ?? kafkaAccessRefusal(link) ?? (isLastingError(link) ? link : undefined);
    if (refusal !== undefined) return refusal;
    link = link.cause;
  }
  return undefined;
}
