import { recordBytes } from '@churnscore/events';
import kafkajs, { type Admin, type Message, type Producer, type TopicMessages } from 'kafkajs';

/** What a sender needs of a kafkajs producer: the seam a test fakes (`@churnscore/kafka/testing`). */
export type BatchSender = Pick<Producer, 'sendBatch'>;

// kafkajs is CommonJS: Node's ESM loader does not see this enum as a named export.
const { ConfigResourceTypes } = kafkajs;

/** A record batch's own header, and slack for the estimate of each record's varints. */
const BATCH_HEADER_BYTES = 1024;
/** Kafka's default `message.max.bytes` / `max.message.bytes`: the limit where a topic names none. */
export const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/**
 * The largest record batch every one of `topics` accepts (their `max.message.bytes`, which defaults to the
 * broker's `message.max.bytes`), less a batch header: what one send may carry to any partition of them.
 */
export async function recordBatchLimit(admin: Admin, topics: readonly string[]): Promise<number> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
  });
  const limits = described.resources
    .flatMap((resource) => resource.configEntries.filter((entry) => entry.configName === 'max.message.bytes'))
    .map((entry) => Number(entry.configValue))
    .filter((value) => Number.isFinite(value) && value > 0);
  return (limits.length > 0 ? Math.min(...limits) : KAFKA_DEFAULT_MAX_MESSAGE_BYTES) - BATCH_HEADER_BYTES;
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
