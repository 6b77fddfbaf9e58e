// Shared by the simulator and ingest integration tests: the environment that points the CLIs at a test
// bed's private topics, and a look at what landed on them.
import { TOPIC_ENV_VARS, type Env, type TopicRole } from '@churnscore/config';
import type { InputEvent } from '@churnscore/domain';
import { INPUT_EVENT_KINDS } from '@churnscore/events';
import { Kafka, logLevel } from 'kafkajs';
import type { EventsTestBed } from '../events/support';
import { testStack } from '../harness/stack';

/** What `npm run simulate` / `npm run ingest` read from the environment, aimed at the bed's topics. */
export function producerEnv(bed: EventsTestBed): Env {
  const { kafkaBrokers, schemaRegistryUrl, redisUrl } = testStack();
  const topics = Object.entries(TOPIC_ENV_VARS).map(([role, envVar]) => [envVar, bed.topics[role as TopicRole]]);
  return {
    KAFKA_BROKERS: kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: schemaRegistryUrl,
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'warn',
    ...Object.fromEntries(topics),
  };
}

const inputTopics = (bed: EventsTestBed): string[] => INPUT_EVENT_KINDS.map((kind) => bed.topicOf(kind));

/** Records on the bed's four input topics, counted from their high watermarks. */
export async function inputRecordCount(bed: EventsTestBed): Promise<number> {
  const kafka = new Kafka({ clientId: 'producer-tests', brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    let count = 0;
    for (const topic of inputTopics(bed)) {
      for (const { high, low } of await admin.fetchTopicOffsets(topic)) count += Number(high) - Number(low);
    }
    return count;
  } finally {
    await admin.disconnect();
  }
}

/** Reads `count` records back from the input topics and decodes each with the scorer's codec, which also checks key = customerId. */
export async function consumeInputEvents(bed: EventsTestBed, count: number, now: number): Promise<InputEvent[]> {
  const records = await bed.consume(inputTopics(bed), count);
  const events: InputEvent[] = [];
  for (const { topic, key, value } of records) {
    const result = await bed.codec.decode(topic, key, value, now);
    if (!result.ok) throw new Error(`record on ${topic} did not decode: ${result.rejection.reason} ${result.rejection.message}`);
    events.push(result.event);
  }
  return events;
}

export const byEventId = (a: InputEvent, b: InputEvent): number => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);

/** A stderr stand-in: progress lines are not under test. */
export const quietStream = { write: () => true, isTTY: false };
