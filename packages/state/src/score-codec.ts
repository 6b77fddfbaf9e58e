// The dashboard-facing hashes: a score as flat, HGETALL-readable fields, and the insights flattened to
// dotted field names (`activity.EMAIL_SENT.d30`). Both omit the customerId, which is in the key.
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

/** The Score's own fields, as alternating field/value arguments (version, revision, asOf are the script's). */
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
    ['explanation', JSON.stringify(score.explanation)],
  ];
  return fields.flatMap(([field, value]) => (value === null ? [] : [field, String(value)]));
}

export function decodeStoredScore(customerId: string, hash: Record<string, string>): StoredScore | null {
  if (hash.version === undefined) return null;
  return {
    customerId,
    health: Number(hash.health),
    band: hash.band as HealthBand,
    churnRisk: Number(hash.churnRisk),
    riskBand: hash.riskBand as RiskBand,
    lifecycleStage: hash.lifecycleStage as LifecycleStage,
    valueAtRisk: Number(hash.valueAtRisk),
    segment: hash.segment ?? null,
    explanation: JSON.parse(hash.explanation ?? 'null') as Explanation,
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

export function insightsFieldArgs(insights: CustomerInsights): string[] {
  const { customerId: _inKey, ...fields } = insights;
  return flattenFields(fields);
}
