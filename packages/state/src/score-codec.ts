// The dashboard-facing values: a score as flat, HGETALL-readable fields beside its explanation (a JSON
// string of its own: inside the hash, a value that long would turn the compact listpack encoding into a
// hash table), and the insights flattened to dotted field names (`activity.EMAIL_SENT.d30`).
// Both hashes omit the customerId, which is in the key.
import type { CustomerInsights, Explanation, HealthBand, LifecycleStage, RiskBand, Score } from '@churnscore/domain';

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
}

/**
 * The Score's scalar fields, as alternating field/value arguments; a null segment is left out. The
 * explanation is stored apart, and version, revision, asOf and nextDueAt are written by the script.
 */
export function scoreFieldArgs(score: Score): string[] {
  const fields: Array<[string, string | number | null]> = [
    ['health', score.health],
    ['band', score.band],
    ['churnRisk', score.churnRisk],
    ['riskBand', score.riskBand],
    ['lifecycleStage', score.lifecycleStage],
    ['valueAtRisk', score.valueAtRisk],
    ['segment', score.segment],
    ['modelVersion', score.modelVersion],
    ['computedAt', score.computedAt],
  ];
  return fields.flatMap(([field, value]) => (value === null ? [] : [field, String(value)]));
}

export function decodeStoredScore(customerId: string, hash: Record<string, string>, explanation: string | null): StoredScore | null {
  if (hash.version === undefined || explanation === null) return null;
  return {
    customerId,
    health: Number(hash.health),
    band: hash.band as HealthBand,
    churnRisk: Number(hash.churnRisk),
    riskBand: hash.riskBand as RiskBand,
    lifecycleStage: hash.lifecycleStage as LifecycleStage,
    valueAtRisk: Number(hash.valueAtRisk),
    segment: hash.segment ?? null,
    explanation: JSON.parse(explanation) as Explanation,
    modelVersion: hash.modelVersion ?? '',
    computedAt: Number(hash.computedAt),
    version: Number(hash.version),
    revision: Number(hash.revision),
    asOf: Number(hash.asOf),
    nextDueAt: hash.nextDueAt === undefined ? null : Number(hash.nextDueAt),
  };
}

/** Nested objects become dotted field names; null values are left out (an absent field reads as null). */
export function flattenFields(value: object, path = ''): string[] {
  return Object.entries(value).flatMap(([name, inner]: [string, unknown]) => {
    const field = path + name;
    if (inner === null || inner === undefined) return [];
    if (typeof inner === 'object') return flattenFields(inner, `${field}.`);
    return [field, String(inner)];
  });
}

// Most windowed counts of most customers are 0; leaving those out saves about a third of the hash.
const WINDOWED_COUNT = /^(activity\.[A-Z_]+|usageQuantity)\.d\d+$/;

/** Insights as field/value arguments; windowed counts (`activity.*`, `usageQuantity.*`) only when non-zero. */
export function insightsFieldArgs(insights: CustomerInsights): string[] {
  const { customerId: _inKey, ...fields } = insights;
  const flat = flattenFields(fields);
  const args: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i] as string;
    const value = flat[i + 1] as string;
    if (value !== '0' || !WINDOWED_COUNT.test(field)) args.push(field, value);
  }
  return args;
}
