import { ConfigError } from '@churnscore/config';
import { recordBytes } from '@churnscore/events';
import kafkajs, { type Admin, type KafkaJSProtocolError, type Message, type Producer, type TopicMessages } from 'kafkajs';

/** What a sender needs of a kafkajs producer: the seam a test fakes (`@churnscore/kafka/testing`). */
export type BatchSender = Pick<Producer, 'sendBatch'>;

// kafkajs is CommonJS: Node's ESM loader does not see this enum as a named export.
const { ConfigResourceTypes } = kafkajs;

/** A record batch's own header, and slack for the estimate of each record's varints. */
const BATCH_HEADER_BYTES = 1024;
/**
 * The least room for records a send needs: a DLQ copy's own headers (reason, message, source, time) come to a few
 * hundred bytes before anything of the original. Below it (an outside tester set the DLQ's max.message.bytes to 300)
 * no copy fits, and the limit read as a negative number of bytes.
 */
const MIN_RECORDS_BYTES = 1024;
/** Kafka's default `message.max.bytes` / `max.message.bytes`: the limit where a topic names none. */
const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/**
 * The largest record batch every one of `topics` accepts (their `max.message.bytes`, which defaults to the
 * broker's `message.max.bytes`), less a batch header: what one send may carry to any partition of them.
 */
async function recordBatchLimit(admin: Admin, topics: readonly string[]): Promise<number> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
  });
  const limits = described.resources.flatMap((resource) =>
    resource.configEntries
      .filter((entry) => entry.configName === 'max.message.bytes' && Number.isFinite(Number(entry.configValue)) && Number(entry.configValue) > 0)
      .map((entry) => ({ topic: resource.resourceName, bytes: Number(entry.configValue) })),
  );
  const tooSmall = limits.filter(({ bytes }) => bytes - BATCH_HEADER_BYTES < MIN_RECORDS_BYTES);
  if (tooSmall.length > 0) {
    throw new ConfigError(
      tooSmall.map(
        ({ topic, bytes }) =>
          `topic ${topic}: max.message.bytes ${bytes} leaves no room for the records the service sends (a DLQ copy's own headers alone ` +
          `take a few hundred bytes): it needs at least ${BATCH_HEADER_BYTES + MIN_RECORDS_BYTES}; raise it (kafka-configs --alter --add-config max.message.bytes=<bytes>)`,
      ),
    );
  }
  return (limits.length > 0 ? Math.min(...limits.map(({ bytes }) => bytes)) : KAFKA_DEFAULT_MAX_MESSAGE_BYTES) - BATCH_HEADER_BYTES;
}

/** Whether a send was refused for its size: a record batch over its topic's `max.message.bytes` (or the broker's limit). */
const refusedForSize = (error: unknown): boolean => {
  const type = (error as Partial<KafkaJSProtocolError> | undefined)?.type;
  return type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE';
};

/** The topics' limit was lowered since it was read: read again, a retry sends within it. */
export class RecordBatchLimitLoweredError extends Error {
  override readonly name = 'RecordBatchLimitLoweredError';
}

/** A send refused for its size although within the topics' limit as read: a retry would be refused again. */
export class RecordBatchRefusedError extends Error {
  override readonly name = 'RecordBatchRefusedError';
  /** kafkajs neither retries nor restarts its consumer for it (as for the broker's own refusal). */
  readonly retriable = false;
}

/**
 * The largest record batch some topics accept (recordBatchLimit), read at start and again whenever a send to them is
 * refused for its size: an operator may lower a topic's `max.message.bytes` while the service runs, and a service
 * keeping the limit of its start was refused for good (an outside tester's scorer stopped at its next large DLQ copy).
 */
export class RecordBatchLimit {
  private constructor(
    private readonly readLimit: () => Promise<number>,
    private limit: number,
  ) {}

  /** The limit of `topics`, read from the brokers now and whenever a send is refused for its size. */
  static async read(admin: Admin, topics: readonly string[]): Promise<RecordBatchLimit> {
    const readLimit = () => recordBatchLimit(admin, topics);
    return new RecordBatchLimit(readLimit, await readLimit());
  }

  /** A limit that is not read from any broker (a bench's templates, a test): Kafka's default unless given. */
  static fixed(bytes = KAFKA_DEFAULT_MAX_MESSAGE_BYTES - BATCH_HEADER_BYTES): RecordBatchLimit {
    return new RecordBatchLimit(() => Promise.resolve(bytes), bytes);
  }

  /** The most bytes one send may carry, as last read: bounds what a caller builds (DLQ copies) and each send. */
  get bytes(): number {
    return this.limit;
  }

  /**
   * sendWithinLimit at the limit as last read. Refused for its size, the limit is read again.
   * @throws RecordBatchLimitLoweredError when it was lowered (messages built within the new one go through).
   * @throws RecordBatchRefusedError when it was not: the topics and the limit named.
   */
  async send(producer: BatchSender, topicMessages: readonly TopicMessages[]): Promise<void> {
    try {
      await sendWithinLimit(producer, topicMessages, this.limit);
    } catch (error) {
      if (!refusedForSize(error)) throw error;
      const before = this.limit;
      this.limit = await this.readLimit();
      const topics = topicMessages.map(({ topic }) => topic).join(', ');
      if (this.limit < before) {
        throw new RecordBatchLimitLoweredError(`${topics} refused a record batch of up to ${before} bytes: their max.message.bytes now allows ${this.limit}, which the next attempt keeps within`, { cause: error });
      }
      throw new RecordBatchRefusedError(`${topics} refused a record batch of up to ${this.limit} bytes, within their max.message.bytes: is the brokers' message.max.bytes or a proxy's limit lower?`, { cause: error });
    }
  }
}

/**
 * Sends messages in as few `sendBatch` calls as keep each call's bytes within `maxBatchBytes`, one call
 * after another so that every partition receives its messages in the order given. kafkajs puts all of a
 * partition's messages of one call into one record batch, which the broker refuses whole (and for good)
 * once it is over the topic's `max.message.bytes`. A single message over the limit still fails: the
 * caller bounds its messages (the DLQ truncates its copies).
 */
export async function sendWithinLimit(producer: BatchSender, topicMessages: readonly TopicMessages[], maxBatchBytes: number): Promise<void> {
  let call: TopicMessages[] = [];
  let callBytes = 0;
  const flush = async () => {
    if (call.length > 0) await producer.sendBatch({ acks: -1, topicMessages: call });
    call = [];
    callBytes = 0;
  };
  for (const { topic, messages } of topicMessages) {
    for (const message of messages) {
      const bytes = messageBytes(message);
      if (callBytes > 0 && callBytes + bytes > maxBatchBytes) await flush();
      const last = call[call.length - 1];
      if (last?.topic === topic) last.messages.push(message);
      else call.push({ topic, messages: [message] });
      callBytes += bytes;
    }
  }
  await flush();
}

const messageBytes = (message: Message): number =>
  recordBytes({ key: message.key ?? null, value: message.value, headers: message.headers as Parameters<typeof recordBytes>[0]['headers'] });
