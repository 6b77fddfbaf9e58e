import { ConfigError } from '@churnscore/config';
import { RestError } from '@confluentinc/schemaregistry';
import { EventEncodeError, SchemaRegistryAccessRefusedError, SchemaRegistryError } from '@churnscore/events';
import { KafkaAccessRefusedError } from '@churnscore/kafka';
import { RedisAccessRefusedError, RedisEvictsStateError, RedisFullError } from '@churnscore/state';
import { ReplyError } from 'ioredis';
import { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { lastingRefusal } from './lasting-refusal';

/** The error kafkajs raises for a broker's error code (kafkajs builds it from its table of codes). */
const protocolError = (type: string, code: number) => Object.assign(new KafkaJSProtocolError(`broker answered ${type}`), { type, code });
/** What kafkajs's consumer reports once it has given up retrying a unit of work's failure. */
const retriesExceeded = (cause: Error) => {
  // kafkajs's typings leave out the cause its errors take (src/errors.js).
  const NonRetriable = KafkaJSNonRetriableError as unknown as new (message: string, options: { cause: Error }) => Error;
  return new KafkaJSNumberOfRetriesExceeded(new NonRetriable(cause.message, { cause }), { retryCount: 5, retryTime: 2_000 });
};
// ioredis's ReplyError takes its message as its only argument; its typings do not say so.
const reply = (message: string) => new (ReplyError as unknown as new (message: string) => Error)(message);

describe('lastingRefusal', () => {
  it.each([
    "NOPERM this user has no permissions to run the 'evalsha' command",
    'NOPERM this user has no permissions to access one of the keys used as arguments',
    'NOAUTH Authentication required.',
    'WRONGPASS invalid username-password pair or user is disabled.',
    "ERR The user executing the script can't run this command or subcommand script: 104ae65d, on @user_script:1.",
  ])('stops for Redis refusing the user: %s', (message) => {
    const refusal = lastingRefusal(retriesExceeded(reply(message)));
    expect(refusal).toBeInstanceOf(RedisAccessRefusedError);
    expect(refusal!.message).toContain(`(${message})`);
  });

  it.each(['TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'])(
    'stops for a broker refusing an ACL: %s',
    (type) => {
      const refusal = lastingRefusal(retriesExceeded(protocolError(type, 29)));
      expect(refusal).toBeInstanceOf(KafkaAccessRefusedError);
      expect(refusal!.message).toMatch(new RegExp(`^KAFKA_SASL_USERNAME: the broker refused the user an operation \\(${type}: `));
    },
  );

  it('stops for the schema registry refusing the credentials', () => {
    const refused = new SchemaRegistryAccessRefusedError('refused', { cause: new RestError('Unauthorized', 401, 40101) });
    expect(lastingRefusal(new Error('a unit of work failed', { cause: refused }))).toBe(refused);
  });

  it.each([
    "OOM command not allowed when used memory > 'maxmemory'.",
    "OOM command not allowed when used memory > 'maxmemory'. script: 71e6319f97b0fe8bdfa1c5df3ce4489946dda479, on @user_script:1.",
  ])('stops for Redis full, which frees no memory by itself: %s', (message) => {
    const refusal = lastingRefusal(retriesExceeded(reply(message)));
    expect(refusal).toBeInstanceOf(RedisFullError);
    expect(refusal!.message).toMatch(/^REDIS_URL: Redis is full and refuses writes \(OOM command not allowed/);
  });

  it('stops for Redis set to evict the state, and for an output event no registered schema carries', () => {
    const evicting = new RedisEvictsStateError(['allkeys-lru']);
    expect(lastingRefusal(new Error('an offset commit failed', { cause: evicting }))).toBe(evicting);
    const unregistered = new EventEncodeError('no schema is registered under subject customer-score-changed-value');
    expect(lastingRefusal(new Error('a unit of work failed', { cause: unregistered }))).toBe(unregistered);
  });

  it('stops for a setting found wrong while it runs (an output topic lowered below any record)', () => {
    const tooSmall = new ConfigError(['topic crm.dlq.v1: max.message.bytes 300 leaves no room for the records the service sends']);
    expect(lastingRefusal(new Error('a unit of work failed', { cause: tooSmall }))).toBe(tooSmall);
  });

  // An outage or a failover ends without the operator: the scorer waits them out as before.
  it.each([
    ['Redis loading its data set', reply('LOADING Redis is loading the dataset in memory')],
    ['a replica that was a master', reply("READONLY You can't write against a read only replica.")],
    ['a broker moving a partition', retriesExceeded(protocolError('NOT_LEADER_FOR_PARTITION', 6))],
    ['the registry away', new SchemaRegistryError('schema registry request failed: connect ECONNREFUSED', { cause: new RestError('unavailable', 503, 50301) })],
    ['a connection lost', new Error('Connection is closed.')],
    ['not an error at all', 'NOPERM as a string'],
  ])('waits out %s', (_what, error) => {
    expect(lastingRefusal(error)).toBeUndefined();
  });
});
