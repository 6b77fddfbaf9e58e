// Shared by the event integration tests: per-file topics and subjects on the test stack, a registry client,
// and a plain kafkajs producer and consumer (the kafka package's loop is not under test here).
import { DEFAULT_TOPICS, type TopicNames, type TopicRole } from '@churnscore/config';
import { createEventCodec, schemaSource, TOPIC_ROLE_OF_KIND, valueSubject, type EventCodec, type EventKind } from '@churnscore/events';
import { Compatibility, SchemaRegistryClient } from '@confluentinc/schemaregistry';
import { Kafka, logLevel, type IHeaders, type KafkaMessage } from 'kafkajs';
import { createTopics, deleteTopics, testStack, uniqueName } from '../harness/stack';

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  /** The record's timestamp, epoch ms as a string (the producer's, or the broker's on a LogAppendTime topic). */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** One test file's private world: its own topics (one per role) and their subjects. */
export class EventsTestBed {
  readonly topics: TopicNames;
  readonly registry: SchemaRegistryClient;
  readonly codec: EventCodec;
  readonly kafka: Kafka;
  private readonly subjects = new Set<string>();

  /** @param kafkaBrokers a broker of the test's own instead of the stack's (a test that takes it away). */
  constructor(
    name: string,
    protected readonly kafkaBrokers: string[] = testStack().kafkaBrokers,
  ) {
    const { schemaRegistryUrl } = testStack();
    const roles = Object.keys(DEFAULT_TOPICS) as TopicRole[];
    this.topics = Object.fromEntries(roles.map((role) => [role, uniqueName(`${name}.${DEFAULT_TOPICS[role]}`)])) as unknown as TopicNames;
    this.registry = new SchemaRegistryClient({ baseURLs: [schemaRegistryUrl], createAxiosDefaults: { timeout: 15_000 } });
    this.codec = createEventCodec({ registry: this.registry, topics: this.topics, reportingCurrency: 'USD', maxFutureSkewMs: 3_600_000 });
    // kafkajs logs the retriable "group coordinator not available" of a fresh group at ERROR; real failures
    // still reject the calls below.
    this.kafka = new Kafka({ clientId: name, brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
  }

  topicOf(kind: EventKind): string {
    return this.topics[TOPIC_ROLE_OF_KIND[kind]];
  }

  /** Creates the topics and registers the repository's schemas under their subjects, BACKWARD-compatible. */
  async setUp(partitions = 1): Promise<void> {
    await createTopics(Object.values(this.topics), partitions, this.kafkaBrokers);
    await this.registerSchemas();
  }

  /**
   * Registers the repository's schemas under this test bed's subjects (no topics are needed for that).
   * `compatibility` NONE lets a test register any writer schema, as a foreign producer's registry might hold.
   */
  async registerSchemas(compatibility: Compatibility = Compatibility.BACKWARD): Promise<void> {
    for (const kind of Object.keys(TOPIC_ROLE_OF_KIND) as EventKind[]) {
      await this.register(valueSubject(this.topicOf(kind)), schemaSource(kind), compatibility);
    }
  }

  /** Registers a schema (version) under a subject of this test bed; the subject's compatibility is set on first use. */
  async register(subject: string, schema: string, compatibility: Compatibility = Compatibility.BACKWARD, schemaType = 'AVRO'): Promise<number> {
    if (!this.subjects.has(subject)) {
      this.subjects.add(subject);
      await this.registry.updateCompatibility(subject, compatibility);
    }
    return this.registry.register(subject, { schemaType, schema });
  }

  async produce(topic: string, messages: Array<{ key: string | Buffer | null; value: Buffer | null; headers?: IHeaders; partition?: number; timestamp?: string }>) {
    const producer = this.kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages });
    } finally {
      await producer.disconnect();
    }
  }

  /** Reads the first `count` records of the topics from the beginning. */
  consume(topics: string[], count: number, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
    return this.consumeUntil(topics, (records) => records.length >= count, timeoutMs, `${count} records`);
  }

  /** Reads the topics from the beginning until `done` accepts what was read so far. */
  async consumeUntil(
    topics: string[],
    done: (records: readonly ConsumedRecord[]) => boolean | Promise<boolean>,
    timeoutMs = 30_000,
    what = 'the expected records',
  ): Promise<ConsumedRecord[]> {
    const consumer = this.kafka.consumer({ groupId: uniqueName('events-test') });
    const records: ConsumedRecord[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms (read ${records.length} records)`)), timeoutMs);
        void consumer.run({
          eachMessage: async ({ topic, partition, message }) => {
            records.push(toRecord(topic, partition, message));
            if (await done(records)) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    return records;
  }

  async tearDown(): Promise<void> {
    await deleteTopics(Object.values(this.topics), this.kafkaBrokers);
    for (const subject of this.subjects) {
      await this.registry.deleteSubject(subject, false);
      await this.registry.deleteSubject(subject, true);
    }
    this.codec.close();
    this.registry.close();
  }
}

const toRecord = (topic: string, partition: number, message: KafkaMessage): ConsumedRecord => ({
  topic,
  partition,
  offset: message.offset,
  timestamp: message.timestamp,
  key: message.key,
  value: message.value,
  headers: message.headers ?? {},
});
