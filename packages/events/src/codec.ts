import { isUtf8 } from 'node:buffer';
import { TOPIC_ENV_VARS, type AppConfig, type TopicNames } from '@churnscore/config';
import type avro from 'avsc';
import type { InputEvent, OutputEvent } from '@churnscore/domain';
import { oneCallAtATime, type Logger } from '@churnscore/observability';
import { SchemaRegistryClient, type Client, type ClientConfig } from '@confluentinc/schemaregistry';
import { inputFromAvro, outputFromAvro, toAvroRecord } from './avro-records';
import {
  EVENT_KINDS,
  isInputKind,
  isOutputKind,
  kindsByTopic,
  TOPIC_ROLE_OF_KIND,
  valueSubject,
  type EventKind,
  type WireEvent,
} from './event-kinds';
import { AvroRegistrySerde, EventEncodeError, SchemaRegistryError } from './registry-serde';
import { catchRejection, rejected, type DecodeResult } from './rejections';
import { readerType } from './schemas';
import { validateEvent } from './validation';

export interface EventCodecOptions {
  /**
   * Registry client configuration, e.g. `registryClientConfig(cfg)`, or a client to share (its owner closes it).
   */
  registry: ClientConfig | Client;
  /** The deployed topic names; each topic's value schema is the subject `<topic>-value`. */
  topics: TopicNames;
  reportingCurrency: string;
  maxFutureSkewMs: number;
}

/** A record as Kafka carries it: its key and value bytes. */
export interface WireRecord {
  key: Buffer | null;
  value: Buffer | null;
}

export interface EventCodec {
  /**
   * Serializes an event for `topic` with the latest schema registered under `<topic>-value`. Does not
   * validate the event's content (a producer may deliberately send bad input); throws `EventEncodeError`
   * when the topic does not carry this kind of event or no fitting schema is registered, and
   * `SchemaRegistryError` when the registry cannot be reached.
   */
  encode(topic: string, event: WireEvent): Promise<Buffer>;
  /**
   * Decodes and validates the input records of one topic, in order. Bad input resolves to a rejection with its
   * reason; only a registry failure throws (`SchemaRegistryError`), since the records themselves may be fine:
   * pause and retry. The registry is asked once per writer schema the records name that is not known yet.
   * @param now the service clock (epoch ms), against which a future occurredAt is judged.
   */
  decodeAll(topic: string, records: readonly WireRecord[], now: number): Promise<DecodeResult<InputEvent>[]>;
  /** `decodeAll` of one record. */
  decode(topic: string, key: Buffer | null, value: Buffer | null, now: number): Promise<DecodeResult<InputEvent>>;
  /** Decodes a record of an output topic (score-changed, alerts), for subscribers and tests; no content checks. */
  decodeOutput(topic: string, key: Buffer | null, value: Buffer | null): Promise<DecodeResult<OutputEvent>>;
  /**
   * Asks the registry for the latest schema of every output topic's subject, as `encode` will: a service that publishes
   * checks at start what it would otherwise find at its first publication.
   * @throws EventEncodeError naming each subject with no usable schema or with another kind's (output topics swapped),
   * or SCHEMA_REGISTRY_URL when no registry API
   * answers there at all; SchemaRegistryAccessRefusedError when the registry refuses the credentials;
   * SchemaRegistryError when it fails otherwise.
   */
  requireOutputSchemas(): Promise<void>;
  /** requireOutputSchemas for these topics (of any kind the codec handles): a command checks the topics it will publish to. */
  requireSchemas(topics: readonly string[]): Promise<void>;
  /** The kind of event a topic carries, or undefined for a topic the codec does not handle. */
  kindOf(topic: string): EventKind | undefined;
  /** Whether the schema registry answers: asked again only while its last answer was a failure or a request is stalled (AvroRegistrySerde.registryAnswers). */
  registryAnswers(): Promise<boolean>;
  /**
   * Whether the schema ids read or written so far still name the same schemas in the registry; when one does not (its
   * data lost, restored from an older backup, re-created), every cached schema is dropped. The ids that changed meaning
   * (AvroRegistrySerde.verifySchemaIds); throws SchemaRegistryError when the registry fails.
   */
  verifySchemaIds(): Promise<number[]>;
  /** Closes the registry client if the codec created it. */
  close(): void;
}

/**
 * How often a long-running service asks whether the schema ids it has read or written still name the same schemas
 * (watchSchemaIds): how long, at most, records naming an id a registry handed out again are read with its old meaning,
 * and outputs written with a schema id that now names another. A few requests each time, one per id in use.
 */
export const SCHEMA_ID_CHECK_INTERVAL_MS = 10_000;

/**
 * Verifies the codec's schema ids every SCHEMA_ID_CHECK_INTERVAL_MS, one check at a time; logs the ids a registry gave
 * another meaning (their schemas already dropped) and tells `onChanged`. A registry that fails is readiness's to report
 * (registryAnswers): the check waits for the next round. Returns the function that stops it.
 */
export function watchSchemaIds(codec: Pick<EventCodec, 'verifySchemaIds'>, logger: Logger, onChanged: (schemaIds: readonly number[]) => void = () => undefined): () => void {
  const check = oneCallAtATime(() => codec.verifySchemaIds());
  const timer = setInterval(() => {
    check().then(
      (changed) => {
        if (changed.length === 0) return;
        logger.error(
          { schemaIds: changed },
          'the schema registry gives schema ids read or written here another meaning (its data lost, restored from an older backup or re-created): every cached schema is dropped, records naming them are read and outputs written as the registry now says; records read since it changed may have been read with the old meaning, and those dead-lettered meanwhile (SCHEMA_MISMATCH, AVRO_DECODE_FAILED, UNKNOWN_SCHEMA_ID) can be re-driven',
        );
        onChanged(changed);
      },
      (error: unknown) => {
        if (!(error instanceof SchemaRegistryError)) logger.error({ err: error }, 'could not verify the schema ids in use');
      },
    );
  }, SCHEMA_ID_CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Codec options from the validated application configuration. */
export const eventCodecOptions = (cfg: AppConfig, registry: ClientConfig | Client): EventCodecOptions => ({
  registry,
  topics: cfg.topics,
  reportingCurrency: cfg.reportingCurrency,
  maxFutureSkewMs: cfg.maxFutureSkewMs,
});

/** A record's name without its namespace, which schemas generated in other languages often change. */
const recordName = (type: avro.Type): string | undefined => type.name?.slice(type.name.lastIndexOf('.') + 1);

/**
 * Refuses a subject whose latest schema is another kind's record (a topic setting naming another output's topic, two
 * of them swapped): no event of `kind` fits it, and subscribers resolve records by name.
 */
function requireSchemaOfKind(subject: string, kind: EventKind, writer: avro.Type): void {
  const expected = readerType(kind).name;
  if (recordName(writer) === recordName(readerType(kind))) return;
  const setting = TOPIC_ENV_VARS[TOPIC_ROLE_OF_KIND[kind]];
  const otherKind = EVENT_KINDS.find((other) => recordName(readerType(other)) === recordName(writer));
  const whose =
    otherKind === undefined
      ? ''
      : `, the schema of ${otherKind} events (the topic ${TOPIC_ENV_VARS[TOPIC_ROLE_OF_KIND[otherKind]]} should name? the two settings swapped?)`;
  throw new EventEncodeError(
    `subject ${subject} holds schema ${writer.name ?? 'without a name'}, not ${expected}: ${setting} must name the topic of ${kind} events${whose}`,
  );
}

/** A record value there is something to decode in: not a tombstone, not empty. */
const hasValue = (value: Buffer | null): value is Buffer => value !== null && value.length > 0;

export function createEventCodec(options: EventCodecOptions): EventCodec {
  const { registry } = options;
  const ownsClient = 'baseURLs' in registry;
  const client: Client = ownsClient ? new SchemaRegistryClient(registry) : registry;
  const serde = new AvroRegistrySerde(client);
  const kinds = kindsByTopic(options.topics);
  const kindOf = (topic: string) => kinds.get(topic);

  async function requireSchemas(topics: readonly string[]): Promise<void> {
    const lookups = await Promise.allSettled(
      topics.map(async (topic) => {
        const kind = kindOf(topic);
        if (kind === undefined) throw new EventEncodeError(`topic ${topic} is not encoded here`);
        const { writer } = await serde.latestWriter(valueSubject(topic));
        requireSchemaOfKind(valueSubject(topic), kind, writer);
      }),
    );
    const failed = lookups.flatMap((lookup) => (lookup.status === 'rejected' ? [lookup.reason as unknown] : []));
    const refused = failed.find((reason) => !(reason instanceof EventEncodeError));
    if (refused !== undefined) throw refused;
    if (failed.length > 0) throw new EventEncodeError([...new Set(failed.map((reason) => (reason as EventEncodeError).message))].join('; '));
  }

  /** Shared first steps of every decode: known topic, non-empty values, Avro read with the topic's reader schema. */
  async function readRecords<K extends EventKind>(topic: string, values: readonly (Buffer | null)[], accepts: (kind: EventKind) => kind is K) {
    const kind = kindOf(topic);
    if (kind === undefined || !accepts(kind)) return values.map(() => rejected('UNKNOWN_TOPIC', `topic ${topic} is not decoded here`));
    const reads = await serde.deserializeAll(values.filter(hasValue), readerType(kind));
    let next = 0;
    return values.map((value) => {
      if (!hasValue(value)) return rejected('EMPTY_VALUE', 'value is empty (a tombstone?)');
      const read = reads[next++]!;
      return read.ok ? { ok: true as const, kind, record: read.record } : read;
    });
  }

  function checkKey<E extends { customerId: string }>(key: Buffer | null, result: DecodeResult<E>): DecodeResult<E> {
    // Bytes that are not UTF-8 decode with U+FFFD in their place: distinct keys would name one customer.
    if (result.ok && (key === null || !isUtf8(key) || key.toString('utf8') !== result.event.customerId)) {
      return rejected('KEY_MISMATCH', 'Kafka key must be the customerId, as a UTF-8 string', 'customerId');
    }
    return result;
  }

  async function decodeAll(topic: string, records: readonly WireRecord[], now: number): Promise<DecodeResult<InputEvent>[]> {
    const reads = await readRecords(topic, records.map((record) => record.value), isInputKind);
    const { reportingCurrency, maxFutureSkewMs } = options;
    return reads.map((read, i) => {
      if (!read.ok) return read;
      const candidate = inputFromAvro(read.kind, read.record);
      return checkKey(records[i]!.key, validateEvent(read.kind, candidate, { reportingCurrency, maxFutureSkewMs, now }));
    });
  }

  return {
    async encode(topic, event) {
      if (kindOf(topic) !== event.kind) {
        throw new EventEncodeError(`topic ${topic} does not carry ${event.kind} events`);
      }
      return serde.serialize(valueSubject(topic), toAvroRecord(event));
    },

    decodeAll,

    async decode(topic, key, value, now) {
      const [result] = await decodeAll(topic, [{ key, value }], now);
      return result!;
    },

    async decodeOutput(topic, key, value) {
      const [read] = await readRecords(topic, [value], isOutputKind);
      if (!read!.ok) return read!;
      const { kind, record } = read!;
      return checkKey(key, catchRejection(() => outputFromAvro(kind, record)));
    },

    requireOutputSchemas: () => requireSchemas([...kinds].flatMap(([topic, kind]) => (isOutputKind(kind) ? [topic] : []))),
    requireSchemas,
    kindOf,

    registryAnswers: () => serde.registryAnswers(),
    verifySchemaIds: () => serde.verifySchemaIds(),
    close() {
      if (ownsClient) client.close();
    },
  };
}
