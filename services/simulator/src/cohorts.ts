import { isChurned, latentStateOnDay, type LatentTrajectory } from './latent';
import type { Random } from './random';

/**
 * Names for where a customer's latent trajectory stands on the simulator's clock, as a
 * customer-success manager would put it. They describe the hidden state and are not published: a
 * customer's events are sampled from its trajectory, never from its cohort.
 * - churning: already churned within the span (its last contract cancelled or expired);
 * - declining: sliding towards a churn that is yet to come;
 * - growing: on a growth path, or still ramping up after signing;
 * - healthy: everyone else, passing dips included (and silent churners, until they leave).
 */
export const COHORTS = ['healthy', 'growing', 'declining', 'churning'] as const;
export type Cohort = (typeof COHORTS)[number];

/** Engagement drift per year from which a customer counts as growing. */
export const GROWING_DRIFT_PER_YEAR = 0.25;

export function cohortOf(latent: LatentTrajectory, day: number): Cohort {
  if (isChurned(latent, day)) return 'churning';
  if (latentStateOnDay(latent, day).decline > 0) return 'declining';
  if (latent.driftPerYear >= GROWING_DRIFT_PER_YEAR || day - latent.customerSinceDay < latent.rampDays) return 'growing';
  return 'healthy';
}

export const SEGMENTS = ['SMB', 'MID_MARKET', 'ENTERPRISE'] as const;
export type Segment = (typeof SEGMENTS)[number];

interface SegmentProfile {
  /** Share of customers in this segment. */
  share: number;
  /** Annual subscription value range, in the reporting currency. */
  annualValue: readonly [number, number];
  /** More seats, more usage and more conversations: multiplies the activity rates. */
  activityScale: number;
  /** Subscription term lengths in days, with their weights: larger customers sign longer terms. */
  terms: ReadonlyArray<readonly [days: number, weight: number]>;
}

export const SEGMENT_PROFILES: Record<Segment, SegmentProfile> = {
  SMB: { share: 0.5, annualValue: [6_000, 30_000], activityScale: 1, terms: [[182, 0.2], [365, 0.75], [730, 0.05]] },
  MID_MARKET: { share: 0.35, annualValue: [30_000, 150_000], activityScale: 2, terms: [[365, 0.7], [730, 0.2], [1095, 0.1]] },
  ENTERPRISE: { share: 0.15, annualValue: [150_000, 900_000], activityScale: 4, terms: [[365, 0.4], [730, 0.35], [1095, 0.25]] },
};

/** The first item whose cumulative weight passes a uniform roll; weights sum to 1. */
function weighted<T>(items: ReadonlyArray<readonly [T, number]>, random: Random): T {
  let roll = random.next();
  for (const [item, weight] of items) {
    roll -= weight;
    if (roll < 0) return item;
  }
  return items.at(-1)![0];
}

export const drawSegment = (random: Random): Segment =>
  weighted(
    SEGMENTS.map((segment) => [segment, SEGMENT_PROFILES[segment].share] as const),
    random,
  );

export const drawTermDays = (segment: Segment, random: Random): number => weighted(SEGMENT_PROFILES[segment].terms, random);
