import { kafkaClientOptions, registryClientConfig, type AppConfig, type TopicNames } from '@churnscore/config';
import type { InputEvent, InputEventKind } from '@churnscore/domain';
import { createEventCodec, eventCodecOptions } from '@churnscore/events';
import { connectIdempotentProducer, createKafkaClient } from '@churnscore/kafka';
import { createLogger } from '@churnscore/observability';
import type { Message, Producer } from 'kafkajs';
import { pumpEvents, type PumpOptions } from './pump';

/** Serialises an event for a topic (the Confluent wire format, via the events package's codec). */
export interface EventEncoder {
  encode(topic: string, event: InputEvent): Promise<Buffer>;
}

/** The input topic of each event kind. */
export type InputTopics = Pick<TopicNames, InputEventKind>;

export interface PublishEventsOptions extends PumpOptions {
  producer: Pick<Producer, 'sendBatch'>;
  encoder: EventEncoder;
  topics: InputTopics;
}

/**
 * Publishes events to their kind's input topic keyed by customerId (so one customer's events stay
 * in order on one partition), in rate-paced batches, each awaited until the broker acknowledges it.
 * Returns how many were published.
 *
 * Record timestamps are left to the producer (send time) on purpose: stamping a year-old occurredAt
 * would let time-based retention delete the simulated history as soon as it is written.
 */
export function publishEvents(options: PublishEventsOptions): Promise<number> {
  const { producer, encoder, topics } = options;
  return pumpEvents(options, async (batch) => {
    const byTopic = new Map<string, Message[]>();
    const encoded = await Promise.all(
      batch.map(async (event) => {
        const topic = topics[event.kind];
        return { topic, message: { key: event.customerId, value: await encoder.encode(topic, event) } };
      }),
    );
    for (const { topic, message } of encoded) {
      const messages = byTopic.get(topic) ?? [];
      messages.push(message);
      byTopic.set(topic, messages);
    }
    await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  });
}

/** Publishes to the configured topics: what the simulator and ingest CLIs publish through. */
export interface EventPublisher {
  /**
   * `kinds`: every kind among the events, whose topics' schemas are checked before the first is sent, so that a topic
   * with no schema registered refuses the whole publication rather than stop it halfway (EventEncodeError).
   */
  publish(options: PumpOptions & { kinds?: readonly InputEventKind[] }): Promise<number>;
  /** Disconnects, if a publish ever connected. */
  close(): Promise<void>;
}

/**
 * Retries of a batch the broker does not acknowledge before the command fails (exit 3): about two minutes of backoff
 * (300 ms doubling to 30 s), which rides out a leader election but not a broker or topic that is gone.
 */
export const COMMAND_SEND_RETRIES = 10;

/**
 * Retries of the first connection to the brokers (and of each metadata request) before the command fails (exit 3):
 * about ten seconds of backoff (300 ms doubling). Brokers that never answered are a wrong address or an outage, not a
 * leader election: an outside tester's ingest with a typo in KAFKA_BROKERS printed "publishing 0/2 events" for 2 min
 * 11 s before failing (adv51 F15). A batch not acknowledged is still retried for COMMAND_SEND_RETRIES.
 */
export const COMMAND_CONNECT_RETRIES = 5;

/**
 * An idempotent producer and the registry codec, connected on the first publish, so a command that
 * turns out to have nothing to publish (a rejected file) never needs the broker. `sendRetries`: COMMAND_SEND_RETRIES.
 */
export function createEventPublisher(config: AppConfig, serviceName: string, { sendRetries = COMMAND_SEND_RETRIES } = {}): EventPublisher {
  type Connection = { producer: Producer; codec: ReturnType<typeof createEventCodec> };
  let connection: Promise<Connection> | null = null;
  const connect = (): Promise<Connection> =>
    (connection ??= (async () => {
      // A command's stdout is its report (or the events it prints): the Kafka client's lines go with the progress, to stderr.
      const logger = createLogger({ name: serviceName, level: config.logLevel, destination: process.stderr });
      const kafka = createKafkaClient(kafkaClientOptions(config), logger, { retries: COMMAND_CONNECT_RETRIES });
      const producer = await connectIdempotentProducer(kafka, { retries: sendRetries });
      return { producer, codec: createEventCodec(eventCodecOptions(config, registryClientConfig(config))) };
    })());
  return {
    async publish({ kinds, ...options }) {
      const { producer, codec } = await connect();
      if (kinds !== undefined) await codec.requireSchemas(kinds.map((kind) => config.topics[kind]));
      return publishEvents({ ...options, producer, encoder: codec, topics: config.topics });
    },
    async close() {
      const connected = await connection?.catch(() => null);
      if (!connected) return;
      await connected.producer.disconnect();
      connected.codec.close();
    },
  };
}
