import { SchemaRegistryAccessRefusedError } from '@churnscore/events';
import { kafkaAccessRefusal } from '@churnscore/kafka';
import { redisAccessRefusal } from '@churnscore/state';

/** kafkajs wraps what it gave up retrying, the codec what the registry answered: a refusal is a few causes deep at most. */
const MAX_CAUSE_DEPTH = 8;

/**
 * The refusal behind `error`, if a dependency refused the scorer's user while it ran: Redis a command (its ACL rules or
 * password changed), a broker an ACL, the schema registry its credentials. Unlike an outage, waiting does not end
 * one: the scorer's liveness fails with the refusal, naming the setting, and the process exits so that a supervisor
 * restarts it (once the operator has granted the permission again, the restart goes on where it stopped), instead of
 * retrying, live and consuming nothing, for ever. Looked for in the error and its causes.
 */
export function accessRefusal(error: unknown): Error | undefined {
  let link = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && link instanceof Error; depth += 1) {
    const refusal = redisAccessRefusal(link) ?? kafkaAccessRefusal(link) ?? (link instanceof SchemaRegistryAccessRefusedError ? link : undefined);
    if (refusal !== undefined) return refusal;
    link = link.cause;
  }
  return undefined;
}
