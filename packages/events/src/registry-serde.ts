import { shareInFlight } from '@churnscore/observability';
import { RestError, SchemaRegistryClient, type Client, type Reference, type SchemaInfo, type SchemaMetadata } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import type { AvroRecord } from './avro-records';
import { isRejected, rejected, type Rejected } from './rejections';
import { frame, unframe } from './wire-format';
import { boundedWriterType, finerTimestampsOf, strictReaderType, unionBranches, type FinerTimestamp } from './strict-avro';

/**
 * The schema registry could not answer (unreachable, timed out, refused our credentials). Not the record's
 * fault: the caller must pause and retry, never reject the record to the DLQ.
 */
export class SchemaRegistryError extends Error {
  override readonly name: string = 'SchemaRegistryError';
}

/**
 * The registry refused the service's credentials (401) or their access (403): unlike an outage, waiting will not end
 * it. Still a registry failure, never the record's (its records are not rejected), but one the service cannot go on
 * from.
 */
export class SchemaRegistryAccessRefusedError extends SchemaRegistryError {
  override readonly name = 'SchemaRegistryAccessRefusedError';
}

/** An event could not be encoded: no schema is registered for the topic, or the event does not fit it. */
export class EventEncodeError extends Error {
  override readonly name = 'EventEncodeError';
}

export type AvroReadResult = { ok: true; record: AvroRecord; schemaId: number } | Rejected;

type Resolver = ReturnType<avro.Type['createResolver']>;
/**
 * How a writer's record reads as the reader's: no resolver is needed when the writer schema is the reader schema. A
 * writer's field that the reader has, declared `timestamp-micros` or `timestamp-nanos`, is read in milliseconds, the
 * readers' unit: Avro's resolution leaves logical types out, and its value would read as a date millennia ahead.
 */
type RecordResolution =
  | {
      /** The type read with: the reader's own, or one whose fields a writer's union makes nullable (nullableWritten). */
      readAs: avro.Type;
      resolver: Resolver | undefined;
      finerTimestamps: readonly FinerTimestamp[];
      /** The reader's fields that a writer's `["null", T]` union fills, whose records written with `null` are refused. */
      nullableWritten: readonly string[];
    }
  | Rejected;
/**
 * A writer schema that is a union (`["null", "ActivityEvent"]`, as some producers' tooling registers) is read as
 * Java's Avro reads it: record by record, by the branch each record was written with.
 */
type Resolution = RecordResolution | { branches: readonly (RecordResolution | 'null')[] };

const NOT_FOUND = 404;
/** From this HTTP status on, the registry failed rather than answered. */
const SERVER_ERROR = 500;
/** The URL is never repeated: it may hold credentials. */
const REGISTRY_API_NOT_FOUND =
  'SCHEMA_REGISTRY_URL: no Confluent-compatible schema registry API answers there (GET /subjects: 404); Apicurio Registry serves it under /apis/ccompat/v7';
/** Unauthorized (no or wrong credentials) and Forbidden (credentials without the access). */
const ACCESS_REFUSED = new Set([401, 403]);
const MISSING_READER_FIELD = /^no matching field for default-less (\S+)$/;
/**
 * A registry answers in milliseconds. A request still open after this long is failing out of sight: the client retries
 * a refused connection or a server error (three times, backing off up to seven seconds), and a hung registry holds
 * each attempt until the client's timeout; the work that waits on it is stuck meanwhile.
 */
export const REGISTRY_STALLED_AFTER_MS = 2_000;

/**
 * How many schema ids the registry turns out not to hold a batch of records looks up; the batch's other ids not known
 * yet are rejected without a lookup. A producer's records name a few schema ids, each known, and the ids naming the
 * most records are looked up first; a flood of values that only look framed (raw Avro opening with a zero byte) names
 * a different id in nearly every record. Looked up one after another (the registry client queues id lookups behind one
 * lock), 20,000 of them held every partition for minutes, until the stall watch took the scorer for stuck and exited,
 * again after each restart (an outside tester, with a registry 20 ms away).
 */
export const UNKNOWN_SCHEMA_IDS_LOOKED_UP_PER_BATCH = 32;
/**
 * How long an id the registry did not hold is taken as unknown without asking again: a producer writing with another
 * registry's ids names the same few in every batch. Short, because a registry restored from a backup may hold it again.
 */
export const UNKNOWN_SCHEMA_ID_REMEMBERED_MS = 60_000;
/** The most unknown ids remembered at once: the oldest are forgotten first. */
const UNKNOWN_SCHEMA_IDS_REMEMBERED = 10_000;

/**
 * Avro in the Confluent wire format on top of the registry client (which caches schemas by id and subject).
 *
 * We use avsc directly rather than the library's AvroSerializer/AvroDeserializer because we need what they
 * do not give: every kind of bad record mapped to its own rejection reason (an unknown schema id is not a
 * network failure), a fixed *reader* schema per topic so that records written with an older or newer
 * compatible schema resolve to the shape this code was written for, and plain numbers for timestamps and
 * dates instead of Date objects.
 */
export class AvroRegistrySerde {
  /**
   * Parsed writer schemas by registry id. A registry never gives an id another meaning, but one that lost its data (or
   * was restored from an older backup, or re-created) hands its ids out again: verifySchemaIds finds that out.
   */
  private readonly writerTypes = new Map<number, avro.Type | Rejected>();
  /** What the registry answered for each id of writerTypes (schemaSignature), to tell whether it still does. */
  private readonly writerSignatures = new Map<number, string>();
  /** Ids the registry did not hold, with when they were found so (see UNKNOWN_SCHEMA_ID_REMEMBERED_MS), oldest first. */
  private readonly unknownIds = new Map<number, { rejection: Rejected; at: number }>();
  /**
   * Writer-to-reader resolvers per reader type and parsed writer type (not its id: a batch read while verifySchemaIds
   * drops the caches still resolves the writers it began with, and must not file them under an id now meaning another).
   */
  private readonly resolutions = new WeakMap<avro.Type, WeakMap<avro.Type, Resolution>>();
  /**
   * Registry lookups in flight, shared by the batches and encodes that need the same answer meanwhile (a unit's
   * partitions are decoded together, a publication encodes thousands of values at once). The client answers behind a
   * mutex per lookup, whose queue is an array shifted at every release: thousands of lookups queued on it slowed a
   * scorer's first seconds of a backlog to half its rate. Dropped once settled: the caches above keep writer
   * schemas, and the client's cache (with its expiry) still decides which schema is the latest.
   */
  private readonly writersInFlight = new Map<number, Promise<avro.Type | Rejected>>();
  /** Whether the registry answered the last request sent to it (true before the first). */
  private lastRequestAnswered = true;
  /** When each registry request still open was sent. */
  private readonly openRequests = new Set<{ sentAt: number }>();
  /** When the registry last answered a request (a 404 is an answer). */
  private lastAnswerAt = Number.NEGATIVE_INFINITY;

  /**
   * False while the registry's last answer was a failure (down, hung past the client's timeout, a server error), or a
   * request has been open for REGISTRY_STALLED_AFTER_MS with no answer to any meanwhile (the client still retrying it):
   * the decoding or publishing that needs it is then stuck, retried. A registry answering a queue of requests (a batch
   * naming thousands of unknown schema ids asks for each) is answering, however long the last of them waits. Requests
   * the caches spare do not count: a registry that went away while every schema in use is known stops nothing.
   */
  get registryAnswering(): boolean {
    const stalledBefore = this.now() - REGISTRY_STALLED_AFTER_MS;
    const stalled = this.lastAnswerAt <= stalledBefore && [...this.openRequests].some(({ sentAt }) => sentAt <= stalledBefore);
    return this.lastRequestAnswered && !stalled;
  }

  /**
   * registryAnswering, but when it is false the registry is asked (its list of subjects), so that a registry back
   * after an outage reads as answering at once rather than at the next decode or publication needing it: a scorer
   * with no input arriving, or one started while the registry was down, would otherwise stay not ready for good.
   * Concurrent calls share one question.
   */
  async registryAnswers(): Promise<boolean> {
    if (this.registryAnswering) return true;
    await shareInFlight(this.probesInFlight, 'subjects', () => this.listsSubjects().catch(() => false));
    return this.registryAnswering;
  }
  private readonly latestInFlight = new Map<string, Promise<SchemaMetadata>>();
  /** registryAnswers' question to a registry that last failed, shared while in flight. */
  private readonly probesInFlight = new Map<'subjects', Promise<boolean>>();

  /** The client verifySchemaIds asks (made on first use). */
  private verifier: Client | undefined;

  /**
   * `now` times the open requests (milliseconds since the epoch); `newVerifier` makes the client verifySchemaIds asks: by
   * default a registry client with the same configuration, or the client itself when it is none (the library's mock,
   * whose answers are its own store, not a cache: inMemoryEventCodec, the unit tests' codec).
   */
  constructor(
    private readonly client: Client,
    private readonly now: () => number = Date.now,
    private readonly newVerifier: () => Client = () => (client instanceof SchemaRegistryClient ? new SchemaRegistryClient(client.config()) : client),
  ) {}

  /**
   * Writes `record` with the latest schema registered under `subject` (never auto-registering: schemas are
   * registered explicitly, and a schema inferred from a message would differ from the contract). A field the
   * record lacks takes the schema's default, so a producer keeps working when a compatible version adds one.
   */
  async serialize(subject: string, record: AvroRecord): Promise<Buffer> {
    const { id, writer } = await this.latestWriter(subject);
    const badFields: string[] = [];
    if (!writer.isValid(record, { errorHook: (path) => badFields.push(path.join('.')) })) {
      const fields = badFields.join(', ');
      throw new EventEncodeError(`event does not fit schema ${id} of subject ${subject}; bad fields: ${fields}`);
    }
    return frame(id, writer.toBuffer(record));
  }

  /** Whether the registry answers the list of subjects: false where no Confluent-compatible API answers at all (404). */
  private async listsSubjects(): Promise<boolean> {
    return this.registryCall(
      () => this.client.getAllSubjects().then(() => true),
      () => false,
    );
  }

  /**
   * The latest schema registered under `subject`, parsed: what `serialize` writes with.
   * @throws EventEncodeError when none is registered or it is unusable; SchemaRegistryError when the registry fails.
   */
  async latestWriter(subject: string): Promise<{ id: number; writer: avro.Type }> {
    const latest = await this.registryCall(
      () => this.latestSchema(subject),
      async () => {
        // A URL that misses the registry's Confluent-compatible API answers 404 to every subject: say which setting.
        if (!(await this.listsSubjects())) throw new EventEncodeError(REGISTRY_API_NOT_FOUND);
        throw new EventEncodeError(`no schema is registered under subject ${subject}; register the schemas first (npm run schemas:register)`);
      },
    );
    if (latest.id === undefined) throw new EventEncodeError(`the registry returned no schema id for subject ${subject}`);
    const writer = await this.parseWriter(latest.id, latest);
    if (isRejected(writer)) {
      throw new EventEncodeError(`the latest schema of subject ${subject} is unusable: ${writer.rejection.message}`);
    }
    return { id: latest.id, writer };
  }

  /**
   * Reads framed values as `reader`, each resolved from the writer schema its schema id names. The registry is
   * asked only for the schema ids not read before (once each, whatever the number of values naming it), and the
   * values are read without a promise each: a fetched batch holds thousands.
   */
  async deserializeAll(values: readonly Buffer[], reader: avro.Type): Promise<AvroReadResult[]> {
    const framed = values.map(unframe);
    // The writers known now: verifySchemaIds may drop the caches while the others are looked up.
    const writers = new Map<number, avro.Type | Rejected>();
    const unseen = new Map<number, number>();
    for (const value of framed) {
      if (value === null || writers.has(value.schemaId)) continue;
      const known = this.writerTypes.get(value.schemaId);
      if (known !== undefined) writers.set(value.schemaId, known);
      else unseen.set(value.schemaId, (unseen.get(value.schemaId) ?? 0) + 1);
    }
    for (const [schemaId, writer] of await this.lookUpWriters(unseen)) writers.set(schemaId, writer);
    return framed.map((value) => {
      if (value === null) {
        return rejected('NOT_WIRE_FORMAT', 'value is not in the Confluent wire format (magic byte 0 + 4-byte schema id + Avro)');
      }
      return this.read(value.schemaId, value.body, writers.get(value.schemaId)!, reader);
    });
  }

  /**
   * Asks the registry again for every schema id read or written here, and drops every schema cached (here and in the
   * registry client) when one of them names another schema than it did (one it no longer holds keeps its own): a registry that lost its data, was restored from
   * an older backup or was re-created hands its ids out again, and a record naming a reused id would be read with the
   * schema cached for its old meaning (an outside tester's swapped enum symbols read a usage reading as an NPS answer),
   * an output written with a subject's latest schema as it was. Ids looked up from then on get the registry's present
   * meaning. Returns the ids whose meaning changed (empty: none); throws SchemaRegistryError when the registry fails,
   * which registryAnswering does not count (see lookUpUncounted).
   */
  async verifySchemaIds(): Promise<number[]> {
    const known = [...this.writerSignatures];
    if (known.length === 0) return [];
    // A client of its own, emptied, so that it asks: the serde's client keeps, until the registry is known to have changed,
    // each subject's latest schema, with which outputs are published while the registry is away.
    this.verifier ??= this.newVerifier();
    if (this.verifier !== this.client) this.verifier.clearCaches();
    const changed: number[] = [];
    for (const [schemaId, signature] of known) {
      const info = await lookUpUncounted(() => this.verifier!.getBySubjectAndId('', schemaId));
      // An id the registry does not hold (yet) keeps its schema: a registry restarted empty and filled again gives the
      // same ids their same schemas, and records naming one are readable only by it meanwhile (an outside tester's
      // records were dead-lettered UNKNOWN_SCHEMA_ID for a minute when it was dropped).
      if (info !== null && schemaSignature(info) !== signature) changed.push(schemaId);
    }
    if (changed.length > 0) this.forgetSchemas();
    return changed;
  }

  private forgetSchemas(): void {
    this.writerTypes.clear();
    this.writerSignatures.clear();
    this.unknownIds.clear();
    this.client.clearCaches();
  }

  private read(schemaId: number, body: Buffer, writer: avro.Type | Rejected, reader: avro.Type): AvroReadResult {
    if (isRejected(writer)) return writer;
    const resolution = this.resolution(reader, schemaId, writer);
    if (isRejected(resolution)) return resolution;
    if ('branches' in resolution) return readUnionValue(schemaId, body, resolution.branches);
    return readRecord(schemaId, body, resolution);
  }

  private latestSchema(subject: string): Promise<SchemaMetadata> {
    return shareInFlight(this.latestInFlight, subject, () => this.client.getLatestSchemaMetadata(subject));
  }

  /**
   * The writer schemas of a batch's ids not known yet (with how many of its records name each), the ids naming the most
   * records first, until UNKNOWN_SCHEMA_IDS_LOOKED_UP_PER_BATCH of them turned out unknown to the registry.
   */
  private async lookUpWriters(recordsNaming: ReadonlyMap<number, number>): Promise<Map<number, avro.Type | Rejected>> {
    const writers = new Map<number, avro.Type | Rejected>();
    let unknown = 0;
    // A stable sort: ids naming as many records stay in the order they first appear.
    for (const schemaId of [...recordsNaming.keys()].sort((a, b) => recordsNaming.get(b)! - recordsNaming.get(a)!)) {
      const remembered = this.unknownIds.get(schemaId);
      if (remembered !== undefined && this.now() - remembered.at < UNKNOWN_SCHEMA_ID_REMEMBERED_MS) {
        writers.set(schemaId, remembered.rejection);
      } else if (unknown >= UNKNOWN_SCHEMA_IDS_LOOKED_UP_PER_BATCH) {
        writers.set(
          schemaId,
          rejected(
            'UNKNOWN_SCHEMA_ID',
            `schema id ${schemaId} was not looked up: this batch of records named ${UNKNOWN_SCHEMA_IDS_LOOKED_UP_PER_BATCH} other schema ids the schema registry does not hold`,
          ),
        );
      } else {
        const writer = await this.writerType(schemaId);
        if (isRejected(writer) && writer.rejection.reason === 'UNKNOWN_SCHEMA_ID') {
          unknown += 1;
          this.rememberUnknown(schemaId, writer);
        }
        writers.set(schemaId, writer);
      }
    }
    return writers;
  }

  private rememberUnknown(schemaId: number, rejection: Rejected): void {
    this.unknownIds.delete(schemaId);
    this.unknownIds.set(schemaId, { rejection, at: this.now() });
    for (const oldest of this.unknownIds.keys()) {
      if (this.unknownIds.size <= UNKNOWN_SCHEMA_IDS_REMEMBERED) break;
      this.unknownIds.delete(oldest);
    }
  }

  private async writerType(schemaId: number): Promise<avro.Type | Rejected> {
    const cached = this.writerTypes.get(schemaId);
    if (cached !== undefined) return cached;
    return shareInFlight(this.writersInFlight, schemaId, async () => {
      const info = await this.registryCall(
        // No subject: a writer's schema id is valid whatever subject (naming strategy) its producer registered it under.
        () => this.client.getBySubjectAndId('', schemaId),
        () => rejected('UNKNOWN_SCHEMA_ID', `schema id ${schemaId} is not in the schema registry`),
      );
      return isRejected(info) ? info : this.parseWriter(schemaId, info);
    });
  }

  private async parseWriter(schemaId: number, info: SchemaInfo): Promise<avro.Type | Rejected> {
    let parsed = this.writerTypes.get(schemaId);
    if (parsed === undefined) {
      if (info.schemaType !== undefined && info.schemaType !== 'AVRO') {
        parsed = rejected('SCHEMA_MISMATCH', `schema ${schemaId} is a ${info.schemaType} schema, not Avro`);
      } else {
        const references = await this.referencedSchemas(schemaId, info.references ?? [], new Set());
        try {
          parsed = isRejected(references) ? references : boundedWriterType(JSON.parse(info.schema) as avro.Schema, references);
        } catch (error) {
          parsed = rejected('SCHEMA_MISMATCH', `schema ${schemaId} is not a usable Avro schema: ${(error as Error).message}`);
        }
      }
      this.writerTypes.set(schemaId, parsed);
      this.writerSignatures.set(schemaId, schemaSignature(info));
    }
    return parsed;
  }

  /**
   * The schemas a writer schema's references name (Confluent's schema references: a named type registered under a
   * subject of its own), each after those it references itself, as boundedWriterType takes them. `path`: the
   * references being resolved, so that a cycle is refused rather than followed for ever.
   */
  private async referencedSchemas(schemaId: number, references: readonly Reference[], path: Set<string>): Promise<avro.Schema[] | Rejected> {
    const schemas: avro.Schema[] = [];
    for (const { name, subject, version } of references) {
      const at = `${subject} version ${version}`;
      if (path.has(at)) return rejected('SCHEMA_MISMATCH', `schema ${schemaId} references ${name} (${at}) in a cycle`);
      const referenced = await this.registryCall(
        // Deleted versions too: records written before a deletion still name them, as their schema id does.
        () => this.client.getSchemaMetadata(subject, version, true),
        () => rejected('SCHEMA_MISMATCH', `schema ${schemaId} references ${name} (${at}), which is not in the schema registry`),
      );
      if (isRejected(referenced)) return referenced;
      const nested = await this.referencedSchemas(schemaId, referenced.references ?? [], new Set([...path, at]));
      if (isRejected(nested)) return nested;
      try {
        schemas.push(...nested, JSON.parse(referenced.schema) as avro.Schema);
      } catch (error) {
        return rejected('SCHEMA_MISMATCH', `schema ${schemaId} references ${name} (${at}), which is not JSON: ${(error as Error).message}`);
      }
    }
    return schemas;
  }

  private resolution(reader: avro.Type, schemaId: number, writer: avro.Type): Resolution {
    let byWriter = this.resolutions.get(reader);
    if (byWriter === undefined) {
      byWriter = new WeakMap();
      this.resolutions.set(reader, byWriter);
    }
    let resolution = byWriter.get(writer);
    if (resolution === undefined) {
      const branches = unionBranches(writer);
      resolution = branches?.some((branch) => branch.typeName === 'record')
        ? { branches: branches.map((branch) => (branch.typeName === 'null' ? 'null' : recordResolution(reader, schemaId, branch))) }
        : recordResolution(reader, schemaId, writer);
      byWriter.set(writer, resolution);
    }
    return resolution;
  }

  /** Runs a registry request; a 404 is the caller's to interpret, anything else is the registry's failure. */
  private async registryCall<T, N>(request: () => Promise<T>, onNotFound: () => N): Promise<T | N> {
    const open = { sentAt: this.now() };
    this.openRequests.add(open);
    try {
      const answer = await request();
      this.lastRequestAnswered = true;
      this.lastAnswerAt = this.now();
      return answer;
    } catch (error) {
      this.lastRequestAnswered = error instanceof RestError && error.status < SERVER_ERROR;
      if (this.lastRequestAnswered) this.lastAnswerAt = this.now();
      return notFoundOrThrow(error, onNotFound);
    } finally {
      this.openRequests.delete(open);
    }
  }
}

/**
 * A lookup that registryAnswering leaves out (null when the registry does not hold it): the work needs none of
 * verifySchemaIds' answers, so a registry away while every schema in use is known still holds nothing.
 */
async function lookUpUncounted(request: () => Promise<SchemaInfo>): Promise<SchemaInfo | null> {
  try {
    return await request();
  } catch (error) {
    return notFoundOrThrow(error, () => null);
  }
}

/** A failed registry request: `onNotFound`'s answer for a 404 (the caller's to interpret), else the registry's failure, thrown. */
function notFoundOrThrow<N>(error: unknown, onNotFound: () => N): N {
  if (error instanceof RestError && error.status === NOT_FOUND) return onNotFound();
  if (error instanceof RestError && ACCESS_REFUSED.has(error.status)) {
    throw new SchemaRegistryAccessRefusedError(
      `SCHEMA_REGISTRY_USERNAME, SCHEMA_REGISTRY_PASSWORD: the schema registry refused the credentials (HTTP ${error.status}: ${error.message})`,
      { cause: error },
    );
  }
  throw new SchemaRegistryError(`schema registry request failed: ${(error as Error).message}`, { cause: error });
}

/** What a registry answers for a schema id, as compared by verifySchemaIds: its type, text and references. */
const schemaSignature = (info: SchemaInfo): string => JSON.stringify([info.schemaType ?? 'AVRO', info.schema, info.references ?? []]);

function readRecord(schemaId: number, body: Buffer, { readAs, resolver, finerTimestamps, nullableWritten }: Exclude<RecordResolution, Rejected>): AvroReadResult {
  let record: AvroRecord;
  try {
    record = readAs.fromBuffer(body, resolver) as AvroRecord;
  } catch (error) {
    // avsc's message is left out: it may quote decoded content.
    return error instanceof RangeError ? nestedTooDeep(schemaId) : undecodable(schemaId);
  }
  const writtenNull = nullableWritten.find((field) => record[field] === null);
  if (writtenNull !== undefined) {
    return rejected('MISSING_FIELD', `${writtenNull}: is required but was written as null (the null branch of writer schema ${schemaId}'s union)`, writtenNull);
  }
  if (finerTimestamps.length > 0) {
    for (const { field, divisor } of finerTimestamps) {
      const value = record[field];
      if (typeof value === 'number') record[field] = Math.floor(value / divisor);
    }
  }
  return { ok: true, record, schemaId };
}

const undecodable = (schemaId: number): Rejected =>
  rejected('AVRO_DECODE_FAILED', `Avro body does not decode with writer schema ${schemaId} (truncated, corrupt or trailing bytes)`);
/** A recursive writer schema's value nested deeper than the reader's stack reaches: it may be valid Avro, but unreadable here. */
const nestedTooDeep = (schemaId: number): Rejected =>
  rejected('AVRO_DECODE_FAILED', `Avro body with writer schema ${schemaId} nests values deeper than can be read (a recursive schema's value thousands of levels deep)`);

const UNION_INDEX = avro.Type.forSchema('long');

/** A value written with a union: its branch index, then the branch's value. */
function readUnionValue(schemaId: number, body: Buffer, branches: readonly (RecordResolution | 'null')[]): AvroReadResult {
  // Avro writes the branch's index as a long before the branch's value; a cut one decodes to offset -1.
  const index = UNION_INDEX.decode(body, 0);
  const written = index.offset < 0 ? undefined : branches[index.value as number];
  if (written === undefined) return undecodable(schemaId);
  if (written === 'null') return rejected('EMPTY_VALUE', `value is null (the null branch of writer schema ${schemaId})`);
  if (isRejected(written)) return written;
  return readRecord(schemaId, body.subarray(index.offset), written);
}

/** How `writer` (a record, or any type a writer's union holds) reads as the `reader` record, or why it cannot. */
function recordResolution(reader: avro.Type, schemaId: number, writer: avro.Type): RecordResolution {
  const readerFields = reader instanceof avro.types.RecordType ? new Set(reader.fields.map((field) => field.name)) : new Set<string>();
  const finerTimestamps = finerTimestampsOf(writer).filter(({ field }) => readerFields.has(field));
  try {
    // Like Java's Avro, match record names without their namespace: producers in other languages
    // sometimes generate their classes under their own namespace.
    return { readAs: reader, resolver: reader.equals(writer) ? undefined : reader.createResolver(writer, resolveOptions()), finerTimestamps, nullableWritten: [] };
  } catch (error) {
    const nullableWritten = fieldsWrittenNullable(reader, writer);
    if (nullableWritten.length > 0) {
      try {
        const readAs = readingNullable(reader, nullableWritten);
        return { readAs, resolver: readAs.createResolver(writer, resolveOptions()), finerTimestamps, nullableWritten };
      } catch {
        // The writer differs in more than those unions: the first refusal says how.
      }
    }
    // avsc's own resolution errors name what does not match; a TypeError is avsc failing on a writer type it does
    // not expect there (a union or a primitive for a record), whose text would only confuse.
    const message = error instanceof TypeError ? `a ${writer.typeName.split(':')[0]} does not resolve to a record` : (error as Error).message;
    const missing = MISSING_READER_FIELD.exec(message)?.[1];
    const field = missing?.slice(missing.lastIndexOf('.') + 1);
    return field === undefined
      ? rejected('SCHEMA_MISMATCH', `writer schema ${schemaId} cannot be read as ${reader.name}: ${message}`)
      : rejected('MISSING_FIELD', `${field}: is required but absent from writer schema ${schemaId}`, field);
  }
}

/** Fresh for each resolver: avsc keeps the resolvers it makes in the options (by reader and writer name), a failed attempt's too. */
const resolveOptions = () => ({ ignoreNamespaces: true });

/**
 * The reader's fields that are no union where the writer's field of that name (or of one of its aliases) is a union with
 * a `null` branch (`eventId: ["string", "null"]`). Java's Avro reads such a writer record by record, by the branch each
 * value was written with; avsc refuses the whole writer, and every record of an outside tester's producer was
 * SCHEMA_MISMATCH, an erasure request among them.
 */
function fieldsWrittenNullable(reader: avro.Type, writer: avro.Type): string[] {
  if (!(reader instanceof avro.types.RecordType) || !(writer instanceof avro.types.RecordType)) return [];
  return reader.fields.flatMap((field) => {
    if (unionBranches(field.type) !== undefined) return [];
    const written = writer.fields.find(({ name }) => name === field.name || field.aliases.includes(name));
    return written !== undefined && unionBranches(written.type)?.some((branch) => branch.typeName === 'null') ? [field.name] : [];
  });
}

/** The reader with `fields` made `[its type, "null"]`, so that a writer's nullable union resolves to it (readRecord refuses the nulls). */
function readingNullable(reader: avro.Type, fields: readonly string[]): avro.Type {
  const schema = reader.schema({ exportAttrs: true }) as { fields: Array<{ name: string; type: avro.Schema }> };
  return strictReaderType({ ...schema, fields: schema.fields.map((field) => (fields.includes(field.name) ? { ...field, type: [field.type, 'null'] } : field)) } as avro.Schema);
}
