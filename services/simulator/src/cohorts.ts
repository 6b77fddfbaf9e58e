import type { Random } from './random';

/**
 * The four behaviours the simulator draws customers from. Each is a recognisable shape in a
 * customer-success tool, and together they exercise every part of the scorer: steady engagement,
 * growth, a decline before renewal, and churn.
 */
export const COHORTS = ['healthy', 'growing', 'declining', 'churning'] as const;
export type Cohort = (typeof COHORTS)[number];

/** Relative weight of each cohort; normalised, so 40/25/20/15 and 0.4/0.25/0.2/0.15 are the same mix. */
export type CohortMix = Record<Cohort, number>;

export const DEFAULT_COHORT_MIX: CohortMix = { healthy: 40, growing: 25, declining: 20, churning: 15 };

/**
 * Parses `healthy=40,growing=25,declining=20,churning=15`. Cohorts left out get weight 0, so
 * `churning=1` makes every customer churn.
 */
export function parseCohortMix(text: string): CohortMix {
  const mix: CohortMix = { healthy: 0, growing: 0, declining: 0, churning: 0 };
  for (const part of text.split(',')) {
    const [name, weight] = part.split('=').map((s) => s.trim());
    if (!isCohort(name)) throw new Error(`unknown cohort "${name ?? ''}" (expected one of ${COHORTS.join(', ')})`);
    const value = Number(weight);
    if (weight === undefined || weight === '' || !Number.isFinite(value) || value < 0) {
      throw new Error(`cohort ${name} needs a non-negative weight, e.g. ${name}=25`);
    }
    mix[name] = value;
  }
  if (COHORTS.every((cohort) => mix[cohort] === 0)) throw new Error('the cohort mix needs at least one positive weight');
  return mix;
}

const isCohort = (name: string | undefined): name is Cohort => (COHORTS as readonly string[]).includes(name ?? '');

/**
 * Exactly how many customers of each cohort, by largest remainder, so a 200-customer run with the
 * default mix has 80/50/40/30 customers rather than whatever a dice roll per customer gives. The
 * returned list is shuffled so cohorts are spread across customer ids (and Kafka partitions).
 */
export function assignCohorts(customers: number, mix: CohortMix, random: Random): Cohort[] {
  const total = COHORTS.reduce((sum, cohort) => sum + mix[cohort], 0);
  const quotas = COHORTS.map((cohort) => ({ cohort, exact: (customers * mix[cohort]) / total }));
  const counts = new Map(quotas.map(({ cohort, exact }) => [cohort, Math.floor(exact)]));
  let unassigned = customers - [...counts.values()].reduce((sum, n) => sum + n, 0);
  for (const { cohort } of [...quotas].sort((a, b) => (b.exact % 1) - (a.exact % 1))) {
    if (unassigned === 0) break;
    counts.set(cohort, (counts.get(cohort) ?? 0) + 1);
    unassigned -= 1;
  }
  const cohorts = COHORTS.flatMap((cohort) => Array<Cohort>(counts.get(cohort) ?? 0).fill(cohort));
  for (let i = cohorts.length - 1; i > 0; i -= 1) {
    const j = random.integer(0, i);
    [cohorts[i], cohorts[j]] = [cohorts[j]!, cohorts[i]!];
  }
  return cohorts;
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
}

export const SEGMENT_PROFILES: Record<Segment, SegmentProfile> = {
  SMB: { share: 0.5, annualValue: [6_000, 30_000], activityScale: 1 },
  MID_MARKET: { share: 0.35, annualValue: [30_000, 150_000], activityScale: 2 },
  ENTERPRISE: { share: 0.15, annualValue: [150_000, 900_000], activityScale: 4 },
};

export function drawSegment(random: Random): Segment {
  let roll = random.next();
  for (const segment of SEGMENTS) {
    roll -= SEGMENT_PROFILES[segment].share;
    if (roll < 0) return segment;
  }
  return 'SMB';
}

/**
 * When a customer's behaviour changes, in days before "now" (0 = today). Drawn per customer so the
 * cohort is a family of histories, not one history repeated.
 */
export interface Timeline {
  /** How long ago the first subscription started (a whole number of terms before the current term ends); may lie before the simulated span. */
  customerSinceDaysAgo: number;
  /** Start of the late phase (the decline, or the fade before going silent); null when there is none. */
  lateSinceDaysAgo: number | null;
  /** Since when the customer has been completely silent; null unless churning. */
  silentSinceDaysAgo: number | null;
  /** Days from now to the end of the current subscription term; negative when it already ended. */
  termEndsInDays: number;
}

/** Subscriptions run in annual terms. */
export const SUBSCRIPTION_TERM_DAYS = 365;

export function drawTimeline(cohort: Cohort, random: Random): Timeline {
  switch (cohort) {
    case 'healthy':
      return established(random.integer(120, 330), null, null, random);
    case 'growing': {
      // A newer customer, onboarded inside a year-long span, still in its first term.
      const customerSinceDaysAgo = random.integer(200, 330);
      const termEndsInDays = SUBSCRIPTION_TERM_DAYS - customerSinceDaysAgo;
      return { customerSinceDaysAgo, lateSinceDaysAgo: null, silentSinceDaysAgo: null, termEndsInDays };
    }
    case 'declining':
      // Renewal approaching while activity trails off.
      return established(random.integer(20, 80), random.integer(60, 90), null, random);
    case 'churning': {
      // Silent for at least 31 whole UTC days, so nothing lands within 30 days of "now" at any time of day;
      // the subscription ended (or was cancelled) during the silence.
      const silentSinceDaysAgo = random.integer(31, 60);
      const lateSinceDaysAgo = silentSinceDaysAgo + random.integer(45, 75);
      return established(-random.integer(0, silentSinceDaysAgo - 1), lateSinceDaysAgo, silentSinceDaysAgo, random);
    }
  }
}

/** A customer of two to four annual terms, the current one ending `termEndsInDays` from now. */
function established(termEndsInDays: number, lateSinceDaysAgo: number | null, silentSinceDaysAgo: number | null, random: Random): Timeline {
  const customerSinceDaysAgo = -termEndsInDays + SUBSCRIPTION_TERM_DAYS * random.integer(2, 4);
  return { customerSinceDaysAgo, lateSinceDaysAgo, silentSinceDaysAgo, termEndsInDays };
}

/** How low activity falls by the end of the late phase, relative to the customer's steady level. */
const LATE_PHASE_FLOOR: Record<Cohort, number> = { healthy: 1, growing: 1, declining: 0.15, churning: 0.3 };

/**
 * Activity level on a day, relative to a steady healthy customer of the same segment: 0 before the
 * customer existed and while silent, ramping up for growing customers, sliding linearly towards
 * the cohort's floor through the late phase.
 */
export function activityIntensity(cohort: Cohort, timeline: Timeline, daysAgo: number): number {
  const { customerSinceDaysAgo, lateSinceDaysAgo, silentSinceDaysAgo } = timeline;
  if (daysAgo > customerSinceDaysAgo) return 0;
  if (silentSinceDaysAgo !== null && daysAgo < silentSinceDaysAgo) return 0;
  if (cohort === 'growing') return 0.35 + 1.15 * (1 - daysAgo / customerSinceDaysAgo);
  if (lateSinceDaysAgo !== null && daysAgo < lateSinceDaysAgo) {
    const lateEnd = silentSinceDaysAgo ?? 0;
    const progress = (lateSinceDaysAgo - daysAgo) / (lateSinceDaysAgo - lateEnd);
    return 1 - (1 - LATE_PHASE_FLOOR[cohort]) * progress;
  }
  return 1;
}

export const isLatePhase = (timeline: Timeline, daysAgo: number): boolean =>
  timeline.lateSinceDaysAgo !== null && daysAgo < timeline.lateSinceDaysAgo;

type Range = readonly [number, number];

/** What the customer and its CSM say: NPS 0–10 and CSM sentiment −2…+2, in steady and late phase. */
export const SURVEY_RANGES: Record<Cohort, { nps: Range; lateNps: Range; sentiment: Range; lateSentiment: Range }> = {
  healthy: { nps: [9, 10], lateNps: [9, 10], sentiment: [1, 2], lateSentiment: [1, 2] },
  growing: { nps: [8, 10], lateNps: [8, 10], sentiment: [1, 2], lateSentiment: [1, 2] },
  declining: { nps: [7, 8], lateNps: [4, 6], sentiment: [0, 1], lateSentiment: [-1, -1] },
  churning: { nps: [6, 8], lateNps: [0, 3], sentiment: [0, 0], lateSentiment: [-2, -2] },
};

export interface TicketBehaviour {
  /** Tickets opened per day, before the segment scale. */
  openedPerDay: number;
  /** Chance that a closed ticket breached its SLA. */
  slaBreachChance: number;
  /** Chance that a ticket is closed at all (the rest stay open). */
  closeChance: number;
  /** Days from opening to closing. */
  daysToClose: Range;
}

const STEADY_TICKETS: TicketBehaviour = { openedPerDay: 0.015, slaBreachChance: 0.05, closeChance: 1, daysToClose: [1, 4] };

export function ticketBehaviour(cohort: Cohort, latePhase: boolean): TicketBehaviour {
  if (!latePhase) return STEADY_TICKETS;
  if (cohort === 'declining') return { openedPerDay: 0.06, slaBreachChance: 0.6, closeChance: 0.6, daysToClose: [3, 15] };
  if (cohort === 'churning') return { openedPerDay: 0.06, slaBreachChance: 0.5, closeChance: 0.3, daysToClose: [5, 20] };
  return STEADY_TICKETS;
}
