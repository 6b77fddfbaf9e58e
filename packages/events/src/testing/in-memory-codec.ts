import { DEFAULT_TOPICS, type TopicNames } from '@churnscore/config';
import { MockClient } from '@confluentinc/schemaregistry';
import { createEventCodec, type EventCodec, type EventCodecOptions } from '../codec';
import { EVENT_KINDS, TOPIC_ROLE_OF_KIND, valueSubject } from '../event-kinds';
import { schemaSource } from '../schemas';

/**
 * The real codec (Confluent wire format, validation, rejection reasons) on the registry client's in-memory
 * mock, with this repository's schemas registered for every topic: unit tests encode and decode records
 * exactly as the services do, without a schema registry.
 */
export async function inMemoryEventCodec(options: Partial<EventCodecOptions> = {}): Promise<EventCodec> {
  const topics: TopicNames = options.topics ?? DEFAULT_TOPICS;
  const registry = new MockClient();
  for (const kind of EVENT_KINDS) {
    await registry.register(valueSubject(topics[TOPIC_ROLE_OF_KIND[kind]]), { schemaType: 'AVRO', schema: schemaSource(kind) });
  }
  return createEventCodec({ reportingCurrency: 'USD', maxFutureSkewMs: 3_600_000, ...options, topics, registry });
}
