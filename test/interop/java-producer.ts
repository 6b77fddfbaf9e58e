// Records produced by Kafka's own Java client (test/interop/RawProducer.java, run from the jars the
// stack already has), for regression tests that must not go through the product's kafkajs code path:
// compressed batches, null-valued headers, whatever a real Java or librdkafka producer sends.
//
//   await produceWithJavaClient({
//     brokers: testStack().kafkaBrokers,
//     compression: 'lz4',
//     records: [{ topic, key: 'customer-1', value: encodedAvro, headers: { source: null } }],
//   });
import { fileURLToPath } from 'node:url';
import { kafkaJavaRuntime, loadSettings, silentReporter, type KafkaJavaRuntime } from '../../infra/src/index';
import { runProcess } from './run-process';

/** The values of the Java producer's `compression.type`. */
export const KAFKA_COMPRESSION_TYPES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type KafkaCompressionType = (typeof KAFKA_COMPRESSION_TYPES)[number];

export interface RawRecord {
  topic: string;
  /** Omitted: the Java client's default partitioner (murmur2 of the key) picks it. */
  partition?: number;
  /** A string is sent as its UTF-8 bytes. */
  key: Buffer | string | null;
  value: Buffer | null;
  /** Header name → value; a string is sent as UTF-8, null as a header with a null value. */
  headers?: Record<string, Buffer | string | null>;
}

/** Ends the transaction the records before it (since the previous end) were produced in. */
export interface TransactionEnd {
  endTransaction: 'commit' | 'abort';
}

export interface JavaProduceRequest {
  brokers: readonly string[];
  /**
   * Records, produced in this order (per partition, that is the order a consumer sees). With a
   * `transactional.id` producer property they go out in transactions, each ended where a TransactionEnd
   * stands; the records after the last one are committed.
   */
  records: readonly (RawRecord | TransactionEnd)[];
  compression: KafkaCompressionType;
  /** Further Java producer properties, e.g. `{ 'max.request.size': '2097152' }`; they override the defaults. */
  producerProperties?: Record<string, string>;
}

const RAW_PRODUCER_SOURCE = fileURLToPath(new URL('./RawProducer.java', import.meta.url));
const NULL_FIELD = '-';

let runtime: Promise<KafkaJavaRuntime> | undefined;

/**
 * Produces the records with Kafka's Java producer (acks=all, the given compression, many records to a
 * batch) and resolves once every one is acknowledged; rejects with the producer's stderr otherwise.
 */
export async function produceWithJavaClient(request: JavaProduceRequest): Promise<void> {
  runtime ??= kafkaJavaRuntime(loadSettings(), silentReporter);
  const { java, classpath } = await runtime;
  const properties = Object.entries(request.producerProperties ?? {}).map(([name, value]) => `${name}=${value}`);
  const args = ['-cp', classpath, RAW_PRODUCER_SOURCE, request.brokers.join(','), request.compression, ...properties];
  const stdout = await runProcess('Java producer', java, args, request.records.map(recordLine).join(''));
  const sent = request.records.filter((record) => !('endTransaction' in record)).length;
  if (stdout.trim() !== `sent ${sent}`) throw new Error(`Java producer: expected "sent ${sent}", got "${stdout.trim()}"`);
}

/** One stdin line of RawProducer.java: topic, partition, key, value, headers, tab-separated; or a transaction's end. */
function recordLine(record: RawRecord | TransactionEnd): string {
  if ('endTransaction' in record) return `@${record.endTransaction}\n`;
  const headers = Object.entries(record.headers ?? {}).map(([name, value]) => {
    if (/[\t\n,=]/.test(name)) throw new Error(`Java producer: header name ${JSON.stringify(name)} has a tab, newline, comma or equals sign`);
    return `${name}=${base64OrNull(value)}`;
  });
  const fields = [record.topic, record.partition?.toString() ?? '', base64OrNull(record.key), base64OrNull(record.value), headers.join(',')];
  return `${fields.join('\t')}\n`;
}

function base64OrNull(bytes: Buffer | string | null): string {
  if (bytes === null) return NULL_FIELD;
  return (typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes).toString('base64');
}
