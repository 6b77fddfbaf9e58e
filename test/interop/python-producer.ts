// Records produced by Python's confluent-kafka (librdkafka) with its schema-registry AvroSerializer
// (test/interop/confluent_avro_producer.py): Confluent's own Python serializer and another Kafka client than
// kafkajs or Java's, as SPEC §1 names them. The client is installed from PyPI into a virtual environment in the
// stack's cache folder on first use (pip, ~10 s), as the stack's jars are fetched from Maven Central.
//
//   await produceWithPythonSerializer({ brokers, registryUrl, compression: 'zstd', records: [{ topic, key, value: avroRecord, schema }] });
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSettings } from '../../infra/src/index';
import type { KafkaCompressionType } from './java-producer';
import { runProcess } from './run-process';

/** Pinned, so that every run tests the same client; 2.16 is the release the black-box round of 2026-12-05 used. */
const CONFLUENT_KAFKA = 'confluent-kafka[avro,schemaregistry]==2.16.1';
const PRODUCER_SCRIPT = fileURLToPath(new URL('./confluent_avro_producer.py', import.meta.url));

export interface PythonProducedRecord {
  topic: string;
  key: string;
  /** The Avro record as its schema holds it (toAvroRecord of @churnscore/events/testing). */
  value: Record<string, unknown>;
  /** The topic's schema text, which the serializer looks up in the registry (it registers nothing). */
  schema: string;
}

export interface PythonProduceRequest {
  brokers: readonly string[];
  registryUrl: string;
  compression: KafkaCompressionType;
  records: readonly PythonProducedRecord[];
}

/**
 * The longest a producer run may take: the script's flush waits at most 60 s for the acknowledgements, and the
 * interpreter starts in seconds. Past it the process is killed and its stderr reported (see runProcess).
 */
export const PYTHON_PRODUCER_TIMEOUT_MS = 75_000;

let python: Promise<string> | undefined;

/** The virtual environment's Python, with the client installed; made once per cache folder. */
async function pythonWithClient(): Promise<string> {
  const venv = join(loadSettings().cacheDir, 'python', CONFLUENT_KAFKA.replace(/[^\w.=-]/g, '_'));
  const executable = join(venv, 'bin', 'python');
  if (!existsSync(join(venv, 'installed'))) {
    mkdirSync(venv, { recursive: true });
    await runProcess('python3 -m venv', 'python3', ['-m', 'venv', venv], '');
    await runProcess('pip install', executable, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', CONFLUENT_KAFKA], '');
    writeFileSync(join(venv, 'installed'), `${CONFLUENT_KAFKA}\n`);
  }
  return executable;
}

/**
 * Makes the virtual environment on first use: call it where a download from PyPI may take its time (a test file's
 * set-up), so that the tests' own timeouts measure the producer, not the index.
 */
export async function installPythonClient(): Promise<void> {
  python ??= pythonWithClient();
  await python;
}

/** Produces the records (acks=all, idempotent, the given compression) and resolves once every one is acknowledged. */
export async function produceWithPythonSerializer(request: PythonProduceRequest): Promise<void> {
  python ??= pythonWithClient();
  const stdin = request.records.map((record) => `${JSON.stringify(record)}\n`).join('');
  const stdout = await runProcess('Python producer', await python, [PRODUCER_SCRIPT, request.brokers.join(','), request.registryUrl, request.compression], stdin, PYTHON_PRODUCER_TIMEOUT_MS);
  if (stdout.trim() !== `sent ${request.records.length}`) throw new Error(`Python producer: expected "sent ${request.records.length}", got "${stdout.trim()}"`);
}
