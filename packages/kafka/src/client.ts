import type { KafkaClientOptions } from '@churnscore/config';
import { Kafka, logLevel, Partitioners, type Admin, type KafkaJSProtocolError, type ICustomPartitioner, type LogEntry, type logCreator, type Producer, type SASLOptions } from 'kafkajs';
import { connectionErrorLog, type Logger } from '@churnscore/observability';
import { registerCompressionCodecs } from './codecs';
import { groupRecordHeadersSafely } from './record-headers';
import { murmur2Partition } from './murmur2';

type PinoLevel = 'error' | 'warn' | 'info' | 'debug' | 'silent';

const PINO_LEVEL_BY_KAFKAJS: Record<logLevel, PinoLevel> = {
  [logLevel.NOTHING]: 'silent',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * Group coordination answers every member of a consumer group gets in every rebalance, which kafkajs
 * handles by re-joining (its messages for the error codes REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION and
 * MEMBER_ID_REQUIRED). kafkajs logs each response carrying one at level error.
 */
const ROUTINE_GROUP_ERRORS = [
  'The group is rebalancing, so a rejoin is needed',
  'Specified group generation id is not valid',
  'The group member needs to have a valid member id before actually entering a consumer group',
];
/**
 * A group or transaction coordinator the broker is still loading or moving (GROUP_LOAD_IN_PROGRESS,
 * GROUP_COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR_FOR_GROUP): what every client meets for a few seconds after a broker
 * starts or a coordinator moves, and kafkajs retries. A warning (the client waits), not an error: nothing failed.
 */
const COORDINATOR_MOVING_ERRORS = [
  "The coordinator is loading and hence can't process requests for this group",
  'The group coordinator is not available',
  'This is not the correct coordinator for this group',
];
/** UNKNOWN_MEMBER_ID: the group expelled this member (no heartbeat within the session timeout); it re-joins. */
const EXPELLED_MEMBER_ERROR = 'The coordinator is not aware of this member';
const REJOINING_MESSAGE = 'The group is rebalancing, re-joining';
/**
 * kafkajs warns of an idempotent producer with bounded retries (connectIdempotentProducer's `retries`): a command sets
 * them so as to end, reporting the failure, when the broker does not take its records; re-running it is safe. The
 * guarantee the warning speaks of is the producer's own, across retries that a command no longer makes.
 */
const BOUNDED_RETRIES_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/**
 * The level a kafkajs log line is logged at: its own, except for routine rebalancing (info), a member
 * re-joining after it was expelled (warn: it was stalled for a session timeout, but nothing is lost), a coordinator
 * still loading or moving (warn) and the warning of a command's bounded retries (debug).
 */
export function kafkaLogLevel(level: logLevel, message: string, error: unknown): PinoLevel {
  if (level !== logLevel.ERROR && level !== logLevel.WARN) return PINO_LEVEL_BY_KAFKAJS[level];
  if (message === BOUNDED_RETRIES_WARNING) return 'debug';
  const detail = typeof error === 'string' ? error : '';
  if (message === REJOINING_MESSAGE || ROUTINE_GROUP_ERRORS.some((routine) => detail.startsWith(routine))) return 'info';
  if (message.startsWith(EXPELLED_MEMBER_ERROR) || detail.startsWith(EXPELLED_MEMBER_ERROR)) return 'warn';
  if (level === logLevel.ERROR && COORDINATOR_MOVING_ERRORS.some((moving) => detail.startsWith(moving))) return 'warn';
  return PINO_LEVEL_BY_KAFKAJS[level];
}

/**
 * The starts of kafkajs's lines for a broker it cannot reach. Each client logs one or two of them on every retry of
 * every connection while a broker is away: dozens a minute.
 */
const BROKER_UNREACHABLE = ['Connection error', 'Connection timeout', 'Failed to connect to seed broker'];

/**
 * kafkajs logs through our structured logger (component `kafkajs`), so broker trouble shows up in the same JSON
 * stream; its lines for an unreachable broker as every client's connection errors are, at most one every 30 s.
 */
export function kafkaLogCreator(logger: Logger, now?: () => number): logCreator {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  const brokerUnreachable = connectionErrorLog(kafkaLogger, now);
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      const pinoLevel = kafkaLogLevel(level, message, extra.error);
      if (pinoLevel === 'error' && BROKER_UNREACHABLE.some((start) => message.startsWith(start))) {
        brokerUnreachable({ dependency: 'kafka', namespace, ...extra, detail: message });
      } else if (pinoLevel !== 'silent') kafkaLogger[pinoLevel]({ namespace, ...extra }, message);
    };
}

/**
 * How often a client retries reaching the brokers (a connection, a metadata request), backing off from 300 ms to 30 s:
 * about two and a half minutes, which a service's start rides out a broker's restart with.
 */
const CLIENT_RETRIES = 10;

/** `retries`: CLIENT_RETRIES unless a command asks for fewer (COMMAND_CONNECT_RETRIES of the simulator's publisher). */
export function createKafkaClient(options: KafkaClientOptions, logger: Logger, { retries = CLIENT_RETRIES }: { retries?: number } = {}): Kafka {
  const { maxDecompressionRatio, ...clientOptions } = options;
  registerCompressionCodecs(maxDecompressionRatio);
  groupRecordHeadersSafely();
  // kafkajs types SASL per mechanism; the validated mechanism/credentials pair is exactly one of them.
  const sasl = options.sasl ? ({ ...options.sasl } as SASLOptions) : undefined;
  return new Kafka({
    ...clientOptions,
    sasl,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
    retry: { initialRetryTime: 300, retries, maxRetryTime: 30_000 },
  });
}

/**
 * The Java client's default partitioner: every producer of a customer's events picks the same partition. Keyed
 * records are placed by our murmur2 (kafkajs's computes on Long objects); records without a key or with a partition
 * of their own are left to kafkajs's default, which spreads unkeyed ones round robin.
 */
const KEY_PARTITIONER: ICustomPartitioner = () => {
  const otherwise = Partitioners.DefaultPartitioner();
  return (args) => {
    const { key, partition } = args.message;
    if (key === null || key === undefined || (partition !== null && partition !== undefined)) return otherwise(args);
    return murmur2Partition(typeof key === 'string' ? Buffer.from(key) : key, args.partitionMetadata.length);
  };
};

/**
 * The partition Kafka's default partitioner puts a record keyed `key` in, in a topic of `partitionCount`
 * partitions: where a customer's records are, in every topic keyed by customerId.
 */
export const keyPartition = (key: string, partitionCount: number): number => murmur2Partition(Buffer.from(key), partitionCount);

/** The broker refused the SASL login: waiting or restarting will not fix that, the settings must change. */
export class KafkaLoginRefusedError extends Error {
  override readonly name = 'KafkaLoginRefusedError';

  constructor(cause: Error) {
    // kafkajs' message names the mechanism and the broker's reason, never the password.
    super(`KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: the broker refused the login (${cause.message})`, { cause });
  }
}

/**
 * The broker refused the service's user an operation while it ran: an ACL it needs (READ on an input topic or the
 * consumer group, WRITE on an output topic) was removed. kafkajs does not retry it, and nothing but an operator
 * granting it again changes the answer: the service cannot go on.
 */
export class KafkaAccessRefusedError extends Error {
  override readonly name = 'KafkaAccessRefusedError';

  constructor(cause: KafkaJSProtocolError) {
    super(
      `KAFKA_SASL_USERNAME: the broker refused the user an operation (${cause.type}: ${cause.message}); ` +
        'grant it back the ACLs it lost (READ on the input topics and the consumer group, WRITE on the output topics)',
      { cause },
    );
  }
}

/** `error` as a KafkaAccessRefusedError if it is the broker's refusal of an ACL (`*_AUTHORIZATION_FAILED`), else undefined. */
export function kafkaAccessRefusal(error: unknown): KafkaAccessRefusedError | undefined {
  // By name, as connectAdmin tells a refused login: kafkajs's error classes are not among the exports Node's ESM loader
  // finds in its CommonJS module.
  if (!(error instanceof Error) || error.name !== 'KafkaJSProtocolError') return undefined;
  const refused = error as KafkaJSProtocolError;
  return refused.type.endsWith('_AUTHORIZATION_FAILED') ? new KafkaAccessRefusedError(refused) : undefined;
}

/**
 * No broker of KAFKA_BROKERS answered a first connection, through all of the client's retries (about two and a half
 * minutes for a service, seconds for a command): an outage or a wrong address, which a restart may outlast, so not a
 * refusal of the setting.
 */
export class BrokersUnreachableError extends Error {
  override readonly name = 'BrokersUnreachableError';

  constructor(cause: Error) {
    super(`KAFKA_BROKERS: no broker answered (${cause.message})`, { cause });
  }
}

/**
 * The broker's answers to a SASL handshake it cannot take, whatever the password: a mechanism its listener does not offer
 * (KAFKA_SASL_MECHANISM PLAIN on a SCRAM listener), or SASL asked of a listener without it. Settings to fix, as a wrong
 * password is: an outside tester's scorer exited 1 blaming KAFKA_BROKERS ("no broker answered"), and ingest exited 3
 * ("re-running is safe").
 */
const SASL_HANDSHAKE_REFUSALS: ReadonlySet<string> = new Set(['UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE']);

/** Whether a client's connect failed because the broker refused its SASL login (by name, as kafkaAccessRefusal tells). */
const isLoginRefusal = (error: unknown): error is Error =>
  error instanceof Error &&
  (error.name === 'KafkaJSSASLAuthenticationError' || (error.name === 'KafkaJSProtocolError' && SASL_HANDSHAKE_REFUSALS.has((error as KafkaJSProtocolError).type)));

/** Connects an admin client; a refused SASL login becomes a KafkaLoginRefusedError (a configuration refusal). */
export async function connectAdmin(kafka: Kafka): Promise<Admin> {
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    if (isLoginRefusal(error)) throw new KafkaLoginRefusedError(error);
    throw error instanceof Error ? new BrokersUnreachableError(error) : error;
  }
  return admin;
}

export interface IdempotentProducerOptions {
  /**
   * How often a send the broker does not acknowledge is retried (backing off from 300 ms to 30 s) before it fails.
   * Default: without end, for a service, which an unavailable broker pauses. A command bounds it: it must end, its exit
   * code saying the broker failed, rather than hang (an outside tester's ingest retried for 5 minutes and more).
   */
  retries?: number;
}

/**
 * Outputs are at-least-once and must survive broker retries without duplicates from the producer
 * itself: idempotent, acks from all in-sync replicas. A refused SASL login becomes a KafkaLoginRefusedError.
 */
export async function connectIdempotentProducer(kafka: Kafka, { retries = Number.MAX_SAFE_INTEGER }: IdempotentProducerOptions = {}): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: KEY_PARTITIONER,
    retry: { retries, initialRetryTime: 300, maxRetryTime: 30_000 },
  });
  try {
    await producer.connect();
  } catch (error) {
    // As connectAdmin: a command that publishes says the settings are wrong (exit 2), not that the broker failed.
    if (isLoginRefusal(error)) throw new KafkaLoginRefusedError(error);
    throw error instanceof Error ? new BrokersUnreachableError(error) : error;
  }
  return producer;
}
