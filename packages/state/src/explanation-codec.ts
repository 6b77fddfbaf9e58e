// How the `explanation` key stores a score's Explanation: compact JSON that a dashboard reads with a JSON parser,
// the tuple orders below and the explanation's legend, nothing else (SPEC "Redis read contract"; docs/redis-contract.md,
// "Explanation"). What every customer scored by the same scorecard and churn model shares, each measure's id and group
// and each churn feature's name and coefficient, was two thirds of a stored explanation (~0.9 of ~1.3 KB): it is
// written once, as a legend in `<p>:legends` named by a digest of its content, and a customer's explanation keeps its
// own numbers and the legend's name. A contribution is the product of two stated numbers (the domain's
// measureContribution and featureLogitContribution), so it is not stored but derived again on reading (chs:v7). Every
// other field is kept, so an explanation reads the same whatever configuration is loaded now.
import { createHash } from 'node:crypto';
import { featureLogitContribution, measureContribution, type ChurnFeatureValue, type Explanation, type MeasureExplanation, type ScoreDriver } from '@churnscore/domain';
import type { RedisClient } from './connection';
import { allFieldsOf } from './field-order';

/**
 * Which fields of each item the legend holds, which the customer's explanation holds, which neither because the
 * domain's rule derives them from the others, and in what order: the one home of the format; the docs' jq example
 * spells the same orders. A measure's and a feature's fields are split between the legend and the customer's tuple,
 * each in the field order of its domain type; a driver is the customer's alone. A measure's weight is in the legend:
 * it is the scorecard's weight renormalised over the measures with data, so customers whose same measures have data
 * share it (a legend for each such set).
 */
const STORED_EXPLANATION = {
  legend: 'l',
  scorecardId: 's',
  measures: {
    member: 'm',
    inLegend: ['measureId', 'group', 'weight'],
    own: ['rawValue', 'score'],
    derived: { contribution: (item: Record<string, unknown>) => measureContribution(item.score as number | null, item.weight as number) },
    all: allFieldsOf<MeasureExplanation>()(['measureId', 'group', 'rawValue', 'score', 'weight', 'contribution']),
  },
  churnFeatures: {
    member: 'f',
    inLegend: ['feature', 'coefficient'],
    own: ['value'],
    derived: { logitContribution: (item: Record<string, unknown>) => featureLogitContribution(item.coefficient as number, item.value as number) },
    all: allFieldsOf<ChurnFeatureValue>()(['feature', 'value', 'coefficient', 'logitContribution']),
  },
  topDrivers: { member: 'd', own: allFieldsOf<ScoreDriver>()(['id', 'kind', 'previous', 'current', 'impact']) },
} as const;

type LegendList = 'measures' | 'churnFeatures';
const LEGEND_LISTS: readonly LegendList[] = ['measures', 'churnFeatures'];

/** A legend's name: hex digits of SHA-256 over its JSON, so that a legend never changes once written and any writer of the same legend names it alike. */
const LEGEND_ID_LENGTH = 12;
/** Where a stored explanation names its legend: it opens with it, so that a reader finds it without parsing the rest. */
const LEGEND_ID_PATTERN = new RegExp(`\\{"${STORED_EXPLANATION.legend}":"([0-9a-f]{${LEGEND_ID_LENGTH}})"`, 'g');

/** A legend as stored: for each list, the legend's fields of every item, in the explanation's order. */
type StoredLegend = Record<(typeof STORED_EXPLANATION)[LegendList]['member'], unknown[][]>;

const toTuples = (items: readonly object[], fields: readonly string[]): unknown[][] =>
  items.map((item) => fields.map((field) => (item as Record<string, unknown>)[field]));

const notThisFormat = (): Error =>
  new Error('explanation not in the format of this key contract (docs/redis-contract.md, "Prefix and versioning" and "Explanation")');

/** A list's own fields as the customer's explanation stores them: a tuple per item, or the value itself when an item keeps one. */
const toOwnValues = (items: readonly object[], fields: readonly string[]): unknown[] =>
  fields.length === 1 ? items.map((item) => (item as Record<string, unknown>)[fields[0]!]) : toTuples(items, fields);

/** The customer's tuples of a list as `toOwnValues` stored them; null when the value is not in that form. */
const ownTuplesOf = (value: unknown, length: number): unknown[][] | null =>
  length !== 1 ? (isTupleList(value, length) ? value : null) : Array.isArray(value) && value.every((item) => !Array.isArray(item)) ? value.map((item) => [item]) : null;

const isTupleList = (value: unknown, length: number): value is unknown[][] =>
  Array.isArray(value) && value.every((tuple) => Array.isArray(tuple) && tuple.length === length);

/** The legends named by stored explanations in `text`: an explanation, or an outbox entry with one put back in it. */
export function legendIdsIn(text: string): string[] {
  return [...text.matchAll(LEGEND_ID_PATTERN)].map((match) => match[1]!);
}

/**
 * The legends of one namespace (`<p>:legends`, a hash of legend JSON by name), as one process knows them: those it
 * wrote and those it read. A legend is immutable, so one known is never read again; one this process encodes with is
 * written before the commit that names it is sent, and written again, with every other legend known, in each new
 * generation of the Redis data (a master's data lost may have taken the hash with it).
 */
export class ExplanationLegends {
  /** Legends by name. */
  private readonly known = new Map<string, StoredLegend>();
  /** Names by legend JSON: an encode builds the legend's JSON, and hashes it only the first time. */
  private readonly nameOf = new Map<string, string>();
  /** The generation the names of `written` were written in. */
  private writtenIn: string | undefined;
  /** Legends written (or being written) in that generation: the write, shared by the commits that wait for it. */
  private readonly written = new Map<string, Promise<unknown>>();
  /** The hash's reading in flight, shared by the reads that wait for it. */
  private reading: Promise<void> | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
  ) {}

  /** The explanation as the `explanation` key stores it; its legend is known from then on, and is written by `persist`. */
  encode(explanation: Explanation): string {
    const legend: Record<string, unknown> = {};
    const stored: Record<string, unknown> = { [STORED_EXPLANATION.legend]: '', [STORED_EXPLANATION.scorecardId]: explanation.scorecardId };
    for (const list of LEGEND_LISTS) {
      const { member, inLegend, own } = STORED_EXPLANATION[list];
      legend[member] = toTuples(explanation[list], inLegend);
      stored[member] = toOwnValues(explanation[list], own);
    }
    stored[STORED_EXPLANATION.topDrivers.member] = toTuples(explanation.topDrivers, STORED_EXPLANATION.topDrivers.own);
    const legendJson = JSON.stringify(legend);
    let name = this.nameOf.get(legendJson);
    if (name === undefined) {
      name = createHash('sha256').update(legendJson).digest('hex').slice(0, LEGEND_ID_LENGTH);
      this.nameOf.set(legendJson, name);
      this.known.set(name, legend as StoredLegend);
      // Written by this process's next persist even if read from the hash before: so one altered there is mended.
      this.written.delete(name);
    }
    stored[STORED_EXPLANATION.legend] = name;
    return JSON.stringify(stored);
  }

  /**
   * Writes every legend known and not yet written in `generation` (the WriteFence's; '' for none), and waits for those
   * being written: call it after encoding a batch's explanations and before sending the commits that name them.
   */
  async persist(generation: string): Promise<void> {
    if (generation !== this.writtenIn) {
      this.writtenIn = generation;
      this.written.clear();
    }
    const unwritten = [...this.known.keys()].filter((name) => !this.written.has(name));
    if (unwritten.length > 0) {
      const write = this.redis.hset(this.key, ...unwritten.flatMap((name) => [name, JSON.stringify(this.known.get(name))]));
      for (const name of unwritten) this.written.set(name, write);
      // A write that failed is tried again by the next call.
      write.catch(() => unwritten.forEach((name) => this.written.get(name) === write && this.written.delete(name)));
    }
    await Promise.all(new Set(this.written.values()));
  }

  /** Reads the hash once if `texts` (stored explanations, outbox entries) name a legend this process does not know. */
  async learn(texts: Iterable<string | null>): Promise<void> {
    let unknown = false;
    for (const text of texts) if (text !== null && legendIdsIn(text).some((name) => !this.known.has(name))) unknown = true;
    if (!unknown) return;
    this.reading ??= this.redis.hgetall(this.key).then(
      (legends) => {
        this.reading = null;
        for (const [name, json] of Object.entries(legends)) if (!this.known.has(name)) this.learnStored(name, json);
      },
      (error: unknown) => {
        this.reading = null;
        throw error;
      },
    );
    await this.reading;
  }

  /**
   * A legend as the hash holds it. One that is not JSON (written there by something else) is left unknown, so the
   * explanations naming it read as those of a lost legend do (as they do with one that does not fit them), rather than
   * every read that meets an unknown name failing.
   */
  private learnStored(name: string, json: string): void {
    try {
      this.known.set(name, JSON.parse(json) as StoredLegend);
    } catch {
      // Left unknown: see above.
    }
  }

  /**
   * The explanation from its stored JSON already parsed (as inside an outbox entry, where the scripts put it back as a
   * member). One whose legend is not in the hash (a master's data lost took it, and no scorer wrote it again since), or
   * is there altered, keeps its scorecard and drivers, without its measures and churn features, until a scorer writes
   * the legend again (persist).
   * @throws Error for a value of another format (e.g. the explanation of the `chs:v4` contract, read under a v5 prefix).
   */
  decodeParsed(stored: unknown): Explanation {
    if (typeof stored !== 'object' || stored === null) throw notThisFormat();
    const members = stored as Record<string, unknown>;
    const [name, scorecardId, drivers] = [members[STORED_EXPLANATION.legend], members[STORED_EXPLANATION.scorecardId], members[STORED_EXPLANATION.topDrivers.member]];
    if (typeof name !== 'string' || typeof scorecardId !== 'string') throw notThisFormat();
    if (!isTupleList(drivers, STORED_EXPLANATION.topDrivers.own.length)) throw notThisFormat();
    const explanation: Record<string, unknown> = { scorecardId };
    const legend = this.known.get(name);
    for (const list of LEGEND_LISTS) {
      const { member, inLegend, own } = STORED_EXPLANATION[list];
      const values = ownTuplesOf(members[member], own.length);
      if (values === null) throw notThisFormat();
      const labels = legend?.[member];
      // A legend unknown, or not one that fits (altered in Redis): the list as a lost legend leaves it.
      explanation[list] = isTupleList(labels, inLegend.length) && labels.length === values.length ? itemsOf(list, values, labels) : [];
    }
    explanation.topDrivers = driversOf(drivers);
    return explanation as unknown as Explanation;
  }

  /** @throws Error for a value of another format (e.g. the explanation of the `chs:v4` contract, read under a v5 prefix). */
  decode(stored: string): Explanation {
    let parsed: unknown;
    try {
      parsed = JSON.parse(stored);
    } catch {
      throw notThisFormat();
    }
    return this.decodeParsed(parsed);
  }
}

type DerivedField = (item: Record<string, unknown>) => unknown;

/**
 * For each field of a list's items, in the domain type's order, where its value is: at which position of the
 * customer's tuple, or of the legend's, or the rule that derives it from the fields before it.
 */
function fieldSources(list: LegendList): ReadonlyArray<{ field: string; own: number; inLegend: number; derive: DerivedField | undefined }> {
  const { all, own, inLegend, derived } = STORED_EXPLANATION[list];
  const positionIn = (fields: readonly string[], field: string): number => fields.indexOf(field);
  return all.map((field) => ({ field, own: positionIn(own, field), inLegend: positionIn(inLegend, field), derive: (derived as Record<string, DerivedField>)[field] }));
}
const FIELD_SOURCES: Record<LegendList, ReturnType<typeof fieldSources>> = { measures: fieldSources('measures'), churnFeatures: fieldSources('churnFeatures') };

/** The items of a list from the customer's tuples and the legend's tuples of the same positions, fields in the domain type's order. */
function itemsOf(list: LegendList, values: unknown[][], labels: unknown[][]): object[] {
  const sources = FIELD_SOURCES[list];
  return values.map((tuple, i) => {
    const item: Record<string, unknown> = {};
    for (const { field, own, inLegend, derive } of sources) item[field] = derive !== undefined ? derive(item) : own >= 0 ? tuple[own] : labels[i]![inLegend];
    return item;
  });
}

function driversOf(tuples: unknown[][]): ScoreDriver[] {
  const fields = STORED_EXPLANATION.topDrivers.own;
  return tuples.map((tuple) => {
    const driver: Record<string, unknown> = {};
    fields.forEach((field, j) => (driver[field] = tuple[j]));
    return driver as unknown as ScoreDriver;
  });
}
