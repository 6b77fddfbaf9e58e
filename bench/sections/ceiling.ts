import { registryClientConfig } from '@churnscore/config';
import { createEventCodec, eventCodecOptions, type EventCodec, type WireRecord } from '@churnscore/events';
import type { BenchContext } from '../context';
import { stageInput, type BenchInput } from '../input';
import type { SectionOutcome } from '../report';
import { Sandbox } from '../../infra/src/sandbox';
import { count, perSecond } from '../stats';
import { startCpuMeter, type CpuUse } from '../system';
import { sleep } from '../waiting';

export interface CeilingDetails {
  events: number;
  /** Read from Kafka and decoded by a bare consumer: what any consumer of this input can reach here. */
  consumeAndDecodeRate: number;
  /** Decoded from memory, no Kafka: the codec's share of that. */
  decodeOnlyRate: number;
  rejected: number;
  seconds: number;
  cpu: CpuUse;
}

/**
 * The reference for the scorer's throughput: a bare kafkajs consumer (eachBatch, default fetch
 * settings, as the scorer's) that reads the same pre-produced input and decodes every record with the
 * real codec (Avro + validation), and does nothing else.
 */
export async function measureCeiling(
  context: BenchContext,
  input: BenchInput,
  options: { partitions: number; signal: AbortSignal },
): Promise<SectionOutcome<CeilingDetails>> {
  const { reporter } = context;
  const sandbox = await Sandbox.open(context, 'ceiling', options.partitions);
  const config = sandbox.config();
  const codec = createEventCodec(eventCodecOptions(config, registryClientConfig(config)));
  try {
    reporter.step('ceiling', `staging ${count(input.records.length)} events in an open transaction`);
    const staged = await stageInput(context.kafka, sandbox.topics, input, `${sandbox.name}-input`);
    const consumer = context.kafka.consumer({ groupId: sandbox.group('bare-consumer') });
    let decoded = 0;
    let rejected = 0;
    let joined = false;
    let finishedAt = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: sandbox.inputTopics, fromBeginning: true });
      await consumer.run({
        // kafkajs' auto-commit commits after every partition's batch, a broker round trip each: not part of reading.
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const now = Date.now();
          const results = await codec.decodeAll(batch.topic, batch.messages, now);
          rejected += results.filter((result) => !result.ok).length;
          decoded += results.length;
          if (decoded >= input.records.length && finishedAt === 0) finishedAt = Date.now();
        },
      });
      while (!joined) await sleep(50, options.signal);
      const meter = await startCpuMeter(context, {});
      reporter.step('ceiling', 'consumer joined; committing the input');
      const startedAt = await staged.commit();
      while (finishedAt === 0) await sleep(20, options.signal);
      const cpu = await meter.stop();
      const seconds = (finishedAt - startedAt) / 1000;
      const consumeAndDecodeRate = input.records.length / seconds;
      reporter.step('ceiling', `bare consumer: ${perSecond(consumeAndDecodeRate)} (read + decode)`);
      const decodeOnlyRate = await decodeFromMemory(codec, sandbox, input);
      reporter.step('ceiling', `decode alone, from memory: ${perSecond(decodeOnlyRate)}`);
      return {
        rows: [
          { metric: 'Ceiling: bare consumer, read + Avro decode', value: perSecond(consumeAndDecodeRate), reference: 'measured', verdict: 'reference for throughput' },
          { metric: 'Avro decode + validation alone, from memory', value: perSecond(decodeOnlyRate), reference: 'measured (one thread)', verdict: 'the codec\'s share of the ceiling' },
        ],
        details: { events: input.records.length, consumeAndDecodeRate, decodeOnlyRate, rejected, seconds, cpu },
      };
    } finally {
      await consumer.disconnect();
      await staged.discard();
    }
  } finally {
    codec.close();
    await sandbox.cleanup();
  }
}

/** The scorer's default chunk size. */
const DECODE_CHUNK = 500;

/** The decode step on its own: the codec over the encoded records, in chunks the size of the scorer's. */
async function decodeFromMemory(codec: EventCodec, sandbox: Sandbox, input: BenchInput): Promise<number> {
  const started = performance.now();
  const now = Date.now();
  for (let start = 0; start < input.records.length; start += DECODE_CHUNK) {
    const byTopic = new Map<string, WireRecord[]>();
    for (const record of input.records.slice(start, start + DECODE_CHUNK)) {
      const topic = sandbox.topics[record.kind];
      const records = byTopic.get(topic) ?? [];
      records.push({ key: Buffer.from(record.customerId), value: record.value });
      byTopic.set(topic, records);
    }
    await Promise.all([...byTopic].map(([topic, records]) => codec.decodeAll(topic, records, now)));
  }
  return input.records.length / ((performance.now() - started) / 1000);
}
