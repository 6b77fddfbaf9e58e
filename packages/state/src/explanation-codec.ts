// How the `explanation` key stores a score's Explanation: compact JSON that a dashboard reads with a JSON parser
// and the tuple order below, nothing else (SPEC "Redis read contract"). The field names, repeated in every
// measure, churn feature and driver, were most of the ~2.8 KB of the plain JSON; written once here instead,
// each item is a tuple of its values, ~1.2 KB. Every field is kept, so an explanation reads the same whatever
// the configuration now loaded. Documented in docs/redis-contract.md ("Explanation").
import type { ChurnFeatureValue, Explanation, MeasureExplanation, ScoreDriver } from '@churnscore/domain';

/** The fields of T in a fixed order; the type refuses a list that leaves one of them out. */
const allFieldsOf =
  <T>() =>
  <const F extends readonly (keyof T)[]>(fields: F & ([Exclude<keyof T, F[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, F[number]> })): F =>
    fields;

/**
 * The stored JSON's members and, for each list, the order of the values in its tuples: the field order of the
 * domain types. The one home of the format; the docs' jq example spells the same order.
 */
const STORED_EXPLANATION = {
  scorecardId: 's',
  measures: { member: 'm', fields: allFieldsOf<MeasureExplanation>()(['measureId', 'group', 'rawValue', 'score', 'weight', 'contribution']) },
  churnFeatures: { member: 'f', fields: allFieldsOf<ChurnFeatureValue>()(['feature', 'value', 'coefficient', 'logitContribution']) },
  topDrivers: { member: 'd', fields: allFieldsOf<ScoreDriver>()(['id', 'kind', 'previous', 'current', 'impact']) },
} as const;

type ListName = 'measures' | 'churnFeatures' | 'topDrivers';
const LISTS: readonly ListName[] = ['measures', 'churnFeatures', 'topDrivers'];

const toTuples = (items: readonly object[], fields: readonly string[]): unknown[][] =>
  items.map((item) => fields.map((field) => (item as Record<string, unknown>)[field]));
const fromTuples = (tuples: unknown[][], fields: readonly string[]): object[] =>
  tuples.map((tuple) => {
    const item: Record<string, unknown> = {};
    fields.forEach((field, i) => (item[field] = tuple[i]));
    return item;
  });

export function encodeExplanation(explanation: Explanation): string {
  const stored: Record<string, unknown> = { [STORED_EXPLANATION.scorecardId]: explanation.scorecardId };
  for (const list of LISTS) {
    const { member, fields } = STORED_EXPLANATION[list];
    stored[member] = toTuples(explanation[list], fields);
  }
  return JSON.stringify(stored);
}

const notThisFormat = (): Error =>
  new Error('explanation not in the format of this key contract (docs/redis-contract.md, "Prefix and versioning" and "Explanation")');

/**
 * The explanation from its stored JSON already parsed (as inside an outbox entry, where the scripts put it back
 * as a member).
 * @throws Error for a value of another format (e.g. the JSON of the `chs:v1` contract, read under a v2 prefix).
 */
export function explanationOfStored(stored: unknown): Explanation {
  if (typeof stored !== 'object' || stored === null) throw notThisFormat();
  const members = stored as Record<string, unknown>;
  const scorecardId = members[STORED_EXPLANATION.scorecardId];
  if (typeof scorecardId !== 'string') throw notThisFormat();
  const explanation: Record<string, unknown> = { scorecardId };
  for (const list of LISTS) {
    const { member, fields } = STORED_EXPLANATION[list];
    const tuples = members[member];
    if (!Array.isArray(tuples) || !tuples.every((tuple) => Array.isArray(tuple) && tuple.length === fields.length)) throw notThisFormat();
    explanation[list] = fromTuples(tuples as unknown[][], fields);
  }
  return explanation as unknown as Explanation;
}

/** @throws Error for a value of another format (e.g. the JSON of the `chs:v1` contract, read under a v2 prefix). */
export function decodeExplanation(stored: string): Explanation {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    throw notThisFormat();
  }
  return explanationOfStored(parsed);
}
