import type { TopicNames } from '@churnscore/config';
import { MS_PER_DAY, type InputEvent } from '@churnscore/domain';
import type { EventCodec } from '@churnscore/events';
import { generateCustomerHistories, streamCustomerHistories, type GeneratorOptions } from '@churnscore/simulator';
import { Partitioners, type Kafka, type Message } from 'kafkajs';

/** An input event encoded once (Avro, Confluent wire format), ready to be produced to any sandbox's topic of its kind. */
export interface EncodedEvent {
  kind: InputEvent['kind'];
  customerId: string;
  eventId: string;
  occurredAt: number;
  value: Buffer;
}

export interface BenchInput {
  /** In time order. */
  records: EncodedEvent[];
  /** Distinct events per customer: a customer is fully scored when its score was computed from that many. */
  eventsByCustomer: Map<string, number>;
  /** Days of simulated history the events span. */
  days: number;
}

function inputOf(records: EncodedEvent[]): BenchInput {
  const eventsByCustomer = new Map<string, number>();
  for (const { customerId } of records) eventsByCustomer.set(customerId, (eventsByCustomer.get(customerId) ?? 0) + 1);
  const first = records[0]?.occurredAt ?? 0;
  const last = records[records.length - 1]?.occurredAt ?? 0;
  return { records, eventsByCustomer, days: Math.ceil((last - first) / MS_PER_DAY) };
}

/** The first `count` events (in time order) of an input: a shorter run over the same traffic. */
export const firstEvents = (input: BenchInput, count: number): BenchInput => inputOf(input.records.slice(0, count));

const PILOT_CUSTOMERS = 100;
/** A little more history than the estimate needs, so trimming to the exact count drops only recent days. */
const HISTORY_SLACK = 1.1;
const MAX_DAYS = 365;

/**
 * `events` events of realistic mix over `customers` simulated customers: the simulator's cohort
 * histories over as many recent days as that takes, interleaved in time order as CRM systems would
 * emit them live (so a chunk of a partition touches many customers, not one customer's backlog),
 * and cut at exactly `events`.
 */
export function generateInput(options: { customers: number; events: number; seed: string; now: number }): InputEvent[] {
  const { customers, events, seed, now } = options;
  const generator = (days: number, count: number): GeneratorOptions => ({ customers: count, days, seed, now, idPrefix: 'cust' });
  const pilot = generateCustomerHistories(generator(MAX_DAYS, Math.min(customers, PILOT_CUSTOMERS)));
  const perCustomerDay = pilot.reduce((n, history) => n + history.events.length, 0) / (pilot.length * MAX_DAYS);
  const days = Math.min(MAX_DAYS, Math.ceil((HISTORY_SLACK * events) / (customers * perCustomerDay)));
  const all: InputEvent[] = [];
  for (const history of streamCustomerHistories(generator(days, customers))) all.push(...history.events);
  all.sort((a, b) => a.occurredAt - b.occurredAt || (a.eventId < b.eventId ? -1 : 1));
  return all.slice(0, events);
}

const ENCODE_BATCH = 5_000;

export async function encodeInput(codec: EventCodec, topics: TopicNames, events: readonly InputEvent[]): Promise<BenchInput> {
  const records: EncodedEvent[] = [];
  for (let start = 0; start < events.length; start += ENCODE_BATCH) {
    const batch = events.slice(start, start + ENCODE_BATCH);
    const values = await Promise.all(batch.map((event) => codec.encode(topics[event.kind], event)));
    batch.forEach(({ kind, customerId, eventId, occurredAt }, i) => records.push({ kind, customerId, eventId, occurredAt, value: values[i]! }));
  }
  return inputOf(records);
}

export interface StagedInput {
  /** Makes every staged record visible at once; resolves with the epoch ms at which the commit was asked for. */
  commit(): Promise<number>;
  /** Aborts the transaction unless it was committed; for clean-up after a failure. */
  discard(): Promise<void>;
}

/** Records per produce request: ~0.6 MB, well under the broker's request limit. */
const STAGE_BATCH = 5_000;

/**
 * Produces the input to the sandbox's input topics inside one Kafka transaction and leaves it open.
 * Read-committed consumers (kafkajs' default, and so the scorer's) see none of it until `commit`:
 * every consumer under test can join its group first, and all of them start on the whole input at the
 * same instant, which is also when the clock starts. Keys are customerIds and the partitioner is the
 * Java client's, so each customer's events land on the partition a CRM producer would have chosen.
 */
export async function stageInput(kafka: Kafka, topics: TopicNames, input: BenchInput, transactionalId: string): Promise<StagedInput> {
  const producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    // Staging, then starting the scorers, takes longer than kafkajs' one-minute default.
    transactionTimeout: 300_000,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const transaction = await producer.transaction();
  try {
    for (let start = 0; start < input.records.length; start += STAGE_BATCH) {
      const byTopic = new Map<string, Message[]>();
      for (const record of input.records.slice(start, start + STAGE_BATCH)) {
        const topic = topics[record.kind];
        const messages = byTopic.get(topic) ?? [];
        messages.push({ key: record.customerId, value: record.value });
        byTopic.set(topic, messages);
      }
      await transaction.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    }
  } catch (error) {
    await transaction.abort().finally(() => producer.disconnect());
    throw error;
  }
  let open = true;
  return {
    async commit() {
      const requestedAt = Date.now();
      await transaction.commit();
      open = false;
      await producer.disconnect();
      return requestedAt;
    },
    async discard() {
      if (!open) return;
      open = false;
      await transaction.abort().finally(() => producer.disconnect());
    },
  };
}
