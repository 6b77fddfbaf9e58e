// The dashboard-facing values: a score as flat, HGETALL-readable fields beside its explanation (a JSON
// string of its own: inside the hash, a value that long would turn the compact listpack encoding into a
// hash table), the insights as flat fields (an activity type's windowed counts in one: `activity.EMAIL_SENT`),
// the alert book and the score history. Both hashes omit the customerId, which is in the key.
import { ACTIVITY_TYPES, HEALTH_BANDS, LIFECYCLE_STAGES, RISK_BANDS, WINDOWS_DAYS, alertId } from '@churnscore/domain';
import type { ExplanationLegends } from './explanation-codec';
import { allFieldsOf } from './field-order';
import { SCORE_FIELD, type OutboxEntry } from './layout';
import type {
  ActivityType,
  AlertBook,
  AlertEpisode,
  AlertType,
  CustomerInsights,
  Explanation,
  HealthBand,
  LifecycleStage,
  RiskBand,
  Score,
  WindowedCounts,
} from '@churnscore/domain';

/** A score as stored: the Score plus what commitScores records about the write. */
export interface StoredScore extends Score {
  /** Per-customer version of the last significant (published) change; 0 before the first one. */
  version: number;
  /** The state revision the score was computed from. */
  revision: number;
  /** The time it was computed as of (epoch ms). */
  asOf: number;
  /** When the customer is next due for a time-driven recomputation, or null. */
  nextDueAt: number | null;
  /** The Redis generation the score was last committed in (WriteFence.generation); '' for none. */
  generation: string;
  /** Whether it was published while its customer's inputs were being caught up (its score-changed event said so). */
  catchingUp: boolean;
}

/**
 * The Score's scalar fields, as alternating field/value arguments; a null segment is left out. The
 * explanation is stored apart, and version, revision, asOf and nextDueAt are written by the script.
 */
export function scoreFieldArgs(score: Score): string[] {
  const fields: Array<[keyof Score, string | number | null]> = [
    ['health', score.health],
    ['band', score.band],
    ['churnRisk', score.churnRisk],
    ['riskBand', score.riskBand],
    ['lifecycleStage', score.lifecycleStage],
    ['valueAtRisk', score.valueAtRisk],
    [SCORE_FIELD.segment, score.segment],
    ['modelVersion', score.modelVersion],
    ['computedAt', score.computedAt],
  ];
  return fields.flatMap(([field, value]) => (value === null ? [] : [field, String(value)]));
}

/** A stored score without its explanation (which lives in a key of its own): what a ranked list shows. */
export type ScoreSummary = Omit<StoredScore, 'explanation'>;

/** Decodes the `score` hash alone; null when the customer has no score. */
export function decodeScoreSummary(customerId: string, hash: Record<string, string>): ScoreSummary | null {
  const version = hash[SCORE_FIELD.version];
  if (version === undefined) return null;
  const nextDueAt = hash[SCORE_FIELD.nextDueAt];
  return {
    customerId,
    health: Number(hash.health),
    band: hash.band as HealthBand,
    churnRisk: Number(hash.churnRisk),
    riskBand: hash.riskBand as RiskBand,
    lifecycleStage: hash.lifecycleStage as LifecycleStage,
    valueAtRisk: Number(hash.valueAtRisk),
    segment: hash[SCORE_FIELD.segment] ?? null,
    modelVersion: hash.modelVersion ?? '',
    computedAt: Number(hash.computedAt),
    version: Number(version),
    revision: Number(hash[SCORE_FIELD.revision]),
    asOf: Number(hash[SCORE_FIELD.asOf]),
    nextDueAt: nextDueAt === undefined ? null : Number(nextDueAt),
    generation: hash[SCORE_FIELD.generation] ?? '',
    catchingUp: hash[SCORE_FIELD.catchingUp] !== undefined,
  };
}

const isOneOf = (values: readonly string[], value: string): boolean => values.includes(value);
const isFiniteIn = (value: number, min: number, max: number): boolean => Number.isFinite(value) && value >= min && value <= max;

/**
 * Whether a stored score's values are ones a score can hold (a hand edit or a corrupt restore may leave a health of
 * `NaN`, a band outside its list): what a score-changed event says of the previous score must fit its schema. The
 * fields the commit protocol reads (version, revision, asOf, generation) are not among them.
 */
export const scoreValuesReadable = (score: Score): boolean =>
  isFiniteIn(score.health, 0, 100) &&
  isFiniteIn(score.churnRisk, 0, 1) &&
  isFiniteIn(score.valueAtRisk, 0, Number.MAX_VALUE) &&
  Number.isFinite(score.computedAt) &&
  isOneOf(HEALTH_BANDS, score.band) &&
  isOneOf(RISK_BANDS, score.riskBand) &&
  isOneOf(LIFECYCLE_STAGES, score.lifecycleStage);

/**
 * Decodes the `score` hash and the `explanation` string that one commit wrote together. The explanation is parsed
 * when first read: the scorer reads it only to measure the drivers of a published change, and most commits publish
 * nothing, while parsing the ~1.3 KB of JSON it was until `chs:v5` took a twentieth of a re-score's time.
 */
export function decodeStoredScore(customerId: string, hash: Record<string, string>, explanation: string | null, legends: ExplanationLegends): StoredScore | null {
  const summary = decodeScoreSummary(customerId, hash);
  if (summary === null || explanation === null) return null;
  let decoded: Explanation | undefined;
  return Object.defineProperty(summary, 'explanation', { enumerable: true, get: () => (decoded ??= legends.decode(explanation)) }) as StoredScore;
}

/**
 * The insights fields that read as null when absent: a time, a rate, a rating, the segment, whose 0 is a value.
 * Every other field is a count or an amount, most of them 0 for most customers (windowed counts, closed deals,
 * cancellations, open tickets), written only when non-zero and read as 0 when absent: a third of the hash or more.
 */
const NULLABLE_INSIGHTS: ReadonlySet<string> = new Set([
  'segment',
  'lastActivityAt',
  'lastInboundAt',
  'lastCustomerActivityAt',
  'winRate365',
  'nextRenewalAt',
  'firstContractStartAt',
  'latestNps',
  'latestCsmSentiment',
] satisfies Array<keyof CustomerInsights>);

/** The insights' field of an activity type's windowed counts. */
const activityField = (type: ActivityType): string => `activity.${type}`;
const USAGE_QUANTITY_FIELD = 'usageQuantity' satisfies keyof CustomerInsights;
/**
 * A set of windowed counts is one field: its counts for the WINDOWS_DAYS windows, shortest first, comma-separated
 * (`activity.EMAIL_SENT` → `8,21,52,194`). A field per window repeated the ~20-byte name four times over: most
 * of the hash's bytes (chs:v3).
 */
const WINDOWED_SEPARATOR = ',';

/** A number written as text by String(); anything else (an empty or garbled field) is NaN, which no decoder accepts. */
const storedNumber = (text: string): number => (text === '' ? NaN : Number(text));

function pushWindowed(args: string[], field: string, counts: WindowedCounts): void {
  const values = WINDOWS_DAYS.map((days) => counts[`d${days}`]);
  if (values.some((value) => value !== 0)) args.push(field, values.join(WINDOWED_SEPARATOR));
}

/** Absent (all 0) or not four numbers: zeros, as a chart would rather show than fail on. */
function decodeWindowed(value: string | undefined): WindowedCounts {
  const counts = value?.split(WINDOWED_SEPARATOR).map(storedNumber) ?? [];
  const valid = counts.length === WINDOWS_DAYS.length && counts.every(Number.isFinite);
  return Object.fromEntries(WINDOWS_DAYS.map((days, i) => [`d${days}`, valid ? counts[i]! : 0])) as unknown as WindowedCounts;
}

/** Insights as field/value arguments: nulls left out, counts and amounts when they are 0, windowed counts when all are. */
export function insightsFieldArgs(insights: CustomerInsights): string[] {
  const { customerId: _inKey, activity, usageQuantity, ...scalars } = insights;
  const args: string[] = [];
  for (const type of ACTIVITY_TYPES) pushWindowed(args, activityField(type), activity[type]);
  pushWindowed(args, USAGE_QUANTITY_FIELD, usageQuantity);
  for (const [field, value] of Object.entries(scalars)) {
    if (value !== null && (value !== 0 || NULLABLE_INSIGHTS.has(field))) args.push(field, String(value));
  }
  return args;
}

/**
 * Rebuilds CustomerInsights from its `insights` hash (the inverse of insightsFieldArgs): absent counts and amounts
 * (left out for being 0) read as 0, and the absent NULLABLE_INSIGHTS (left out for being null) as null. Null when
 * the customer has never been scored.
 */
export function decodeStoredInsights(customerId: string, hash: Record<string, string>): CustomerInsights | null {
  if (hash.asOf === undefined) return null;
  const count = (field: string): number => Number(hash[field] ?? 0);
  const nullable = (field: string): number | null => (hash[field] === undefined ? null : Number(hash[field]));
  return {
    customerId,
    asOf: count('asOf'),
    segment: hash.segment ?? null,
    activity: Object.fromEntries(ACTIVITY_TYPES.map((type) => [type, decodeWindowed(hash[activityField(type)])])) as Record<ActivityType, WindowedCounts>,
    usageQuantity: decodeWindowed(hash[USAGE_QUANTITY_FIELD]),
    lastActivityAt: nullable('lastActivityAt'),
    lastInboundAt: nullable('lastInboundAt'),
    lastCustomerActivityAt: nullable('lastCustomerActivityAt'),
    openOpportunities: count('openOpportunities'),
    openPipelineAmount: count('openPipelineAmount'),
    weightedPipelineAmount: count('weightedPipelineAmount'),
    openQuotes: count('openQuotes'),
    won365: count('won365'),
    wonAmount365: count('wonAmount365'),
    lost365: count('lost365'),
    lostAmount365: count('lostAmount365'),
    winRate365: nullable('winRate365'),
    activeContracts: count('activeContracts'),
    totalContractValue: count('totalContractValue'),
    nextRenewalAt: nullable('nextRenewalAt'),
    cancelled365: count('cancelled365'),
    contractsSeen: count('contractsSeen'),
    firstContractStartAt: nullable('firstContractStartAt'),
    openTickets: count('openTickets'),
    slaBreaches90: count('slaBreaches90'),
    latestNps: nullable('latestNps'),
    latestCsmSentiment: nullable('latestCsmSentiment'),
  };
}

/**
 * An alert episode as the `alerts` string stores it (`chs:v7`): its values in this order, without the customerId (in
 * the key), its alertType (its member's name) and its alertId (derived from the three, `alertId`).
 */
const STORED_EPISODE_FIELDS = allFieldsOf<Omit<AlertEpisode, 'alertId' | 'customerId' | 'alertType'>>()([
  'status',
  'severity',
  'episode',
  'openedAt',
  'resolvedAt',
  'valueAtRisk',
  'churnRisk',
  'health',
  'band',
  'reason',
]);
type StoredAlertBook = Omit<AlertBook, 'episodes'> & { episodes: Partial<Record<AlertType, unknown[]>> };

const alertBookNotThisFormat = (): Error =>
  new Error('alert book not in the format of this key contract (docs/redis-contract.md, "Prefix and versioning" and "Alerts and outbox")');

/** The `alerts` string: the alert book as JSON, each episode a tuple of what its key and member name do not say. */
export function encodeAlertBook(book: AlertBook): string {
  const episodes: StoredAlertBook['episodes'] = {};
  for (const [alertType, episode] of Object.entries(book.episodes) as Array<[AlertType, AlertEpisode]>) {
    episodes[alertType] = STORED_EPISODE_FIELDS.map((field) => episode[field]);
  }
  return JSON.stringify({ ...book, episodes } satisfies StoredAlertBook);
}

/**
 * Decodes the `alerts` string: the alert book the last commit stored, or null when there is none.
 * @throws Error for a book of another format (e.g. `chs:v6`'s episodes as objects).
 */
export function decodeAlertBook(customerId: string, json: string | null): AlertBook | null {
  if (json === null) return null;
  const stored = JSON.parse(json) as StoredAlertBook;
  const episodes: AlertBook['episodes'] = {};
  for (const [alertType, values] of Object.entries(stored.episodes) as Array<[AlertType, unknown]>) {
    if (!Array.isArray(values) || values.length !== STORED_EPISODE_FIELDS.length) throw alertBookNotThisFormat();
    const episode: Record<string, unknown> = {};
    STORED_EPISODE_FIELDS.forEach((field, i) => (episode[field] = values[i]));
    const number = episode.episode as number;
    episodes[alertType] = { alertId: alertId(customerId, alertType, number), customerId, alertType, ...episode } as AlertEpisode;
  }
  return { ...stored, episodes };
}

/** Decodes one entry of the `outbox` list; a score-changed message's explanation, put back by the script in its stored form, too. */
export function decodeOutboxEntry(json: string, legends: ExplanationLegends): OutboxEntry {
  const entry = JSON.parse(json) as OutboxEntry;
  const { value } = entry;
  if (value.kind !== 'score-changed') return entry;
  // As stored, the explanation is the stored JSON the script put back, or null when none was stored.
  const stored = value.explanation as unknown;
  return stored === null ? entry : { ...entry, value: { ...value, explanation: legends.decodeParsed(stored) } };
}

/** One point of a customer's score history, as the `history` and `backfill` lists hold it (see encodeScoreHistoryEntry). */
export interface ScoreHistoryEntry {
  t: number;
  health: number;
  churnRisk: number;
  band: HealthBand;
}

export const historyEntry = (score: Score): ScoreHistoryEntry => ({ t: score.computedAt, health: score.health, churnRisk: score.churnRisk, band: score.band });

/**
 * A point as stored: one integer, its decimal digits `<t in minutes><health, 3 digits><band, 1 digit><churn risk × 10⁴,
 * 5 digits>` (docs/redis-contract.md, `chs:v6`). A list entry that is an integer takes 10 bytes in Redis's listpack,
 * where chs:v5's `t,health,churnRisk,band` took ~32: the history is the largest part of a customer scored for a
 * year. Built and read as text: it exceeds 2⁵³, which a double would round. A chart needs no finer time than the minute.
 */
const MS_PER_MINUTE = 60_000;
const HISTORY_HEALTH_DIGITS = 3;
const HISTORY_RISK_DIGITS = 5;
/** The churn risk's 4 decimals, as the score keeps them. */
const HISTORY_RISK_SCALE = 10_000;
const HISTORY_POINT = new RegExp(`^(\\d+)(\\d{${HISTORY_HEALTH_DIGITS}})(\\d)(\\d{${HISTORY_RISK_DIGITS}})$`);

/** The instant a history point stores for `t`: the start of its minute. */
export const historyTime = (t: number): number => t - (t % MS_PER_MINUTE);

export function encodeScoreHistoryEntry({ t, health, churnRisk, band }: ScoreHistoryEntry): string {
  const risk = Math.round(churnRisk * HISTORY_RISK_SCALE);
  return `${historyTime(t) / MS_PER_MINUTE}${String(health).padStart(HISTORY_HEALTH_DIGITS, '0')}${HEALTH_BANDS.indexOf(band)}${String(risk).padStart(HISTORY_RISK_DIGITS, '0')}`;
}

/** Decodes one entry of the `history` or `backfill` list; null for one that is not a point (a chart skips it rather than failing). */
export function decodeScoreHistoryEntry(entry: string): ScoreHistoryEntry | null {
  const digits = HISTORY_POINT.exec(entry);
  if (digits === null) return null;
  const [, minutes, health, band, risk] = digits.map(Number) as [number, number, number, number, number];
  const bandName = HEALTH_BANDS[band];
  return health <= 100 && risk <= HISTORY_RISK_SCALE && bandName !== undefined ? { t: minutes * MS_PER_MINUTE, health, churnRisk: risk / HISTORY_RISK_SCALE, band: bandName } : null;
}
