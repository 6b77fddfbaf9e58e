import { utcDay } from '@churnscore/domain';
import type { PopulationParameters } from './population';
import type { Random } from './random';

/**
 * The hidden life of one customer, which everything it does is sampled from: how active it is by
 * nature, how its engagement drifts, the passing dips it recovers from, and whether and when it
 * leaves, with or without a decline beforehand. Nothing here is published; a customer's events are
 * noisy samples of it, so churn can be learnt from behaviour only. Days are UTC day numbers.
 *
 * Churn is memoryless: the day a customer decides to leave does not depend on its tenure, segment,
 * value or where it stands in its contract term, so none of those can predict it.
 */
export interface LatentTrajectory {
  /** The day its first subscription term started (long before the simulated span for most customers). */
  customerSinceDay: number;
  /** Length of each subscription term; renewals follow one another without a gap. */
  termDays: number;
  /** Its own activity level, relative to a typical customer of its segment (median about 1). */
  activityLevel: number;
  /** Days from its start to full engagement: a new customer starts at ONBOARDING_FLOOR of its level. */
  rampDays: number;
  /** Drift of its engagement, as a natural logarithm per year (0.4 ≈ +50% a year), counted from `driftFromDay`. */
  driftPerYear: number;
  driftFromDay: number;
  /** Passing dips: engagement and mood sag by up to `depth` and recover within `days`. */
  dips: readonly Dip[];
  /** The day the relationship ends (its last contract is cancelled or expires); null: it never does. */
  churnDay: number | null;
  /** How it ends: cancelled mid-term, or left to expire at a term end that fell soon after the decision. */
  churnKind: 'CANCELLED' | 'EXPIRED' | null;
  /** The decline before churn; null for a customer that stays or leaves with no warning. */
  decline: Decline | null;
  /** Its habitual answers and habits, whatever its health: an NPS it tends to give, the CSM's usual sentiment… */
  disposition: Disposition;
}

export interface Dip {
  fromDay: number;
  days: number;
  /** Share of engagement lost at the bottom, 0–1. */
  depth: number;
}

export interface Decline {
  fromDay: number;
  /** Share of `depth` lost at once when it starts (a champion leaves, a budget is cut); the rest slides away. */
  onset: number;
  /** Share of engagement lost by the day it goes dark (or churns), 0–1. */
  depth: number;
  /** Exponent of the slide: below 1 it falls early and levels off, above 1 it accelerates towards the end. */
  curve: number;
  /** From this day it has stopped using the product altogether (the churn day when it never goes dark). */
  darkFromDay: number;
}

export interface Disposition {
  /** The NPS it gives when all is well, before noise. */
  npsBaseline: number;
  /** The CSM's sentiment when all is well, before noise (−2…+2 scale). */
  sentimentBaseline: number;
  /** How many support tickets it raises relative to a typical customer of its activity. */
  ticketPropensity: number;
  /** How many deals it opens relative to a typical customer. */
  dealPropensity: number;
}

/** What the customer is like on one day. */
export interface LatentState {
  /** It holds its subscription: started, and not churned yet. */
  active: boolean;
  /** Share of its normal engagement lost to the decline that ends in churn: 0 none, 1 gone (and after churn). */
  decline: number;
  /** Share lost to a passing dip it will recover from. */
  dip: number;
  /** Engagement relative to its own activity level: onboarding ramp × drift × what dips and decline leave; 0 when not active. */
  engagement: number;
  /** How it feels about the product, 1 content … 0 fed up: drives its surveys, tickets and deals. */
  health: number;
}

/** Engagement of a customer on its first day, relative to its level once onboarded. */
export const ONBOARDING_FLOOR = 0.3;
/** The decline before churn starts this many days before it (brief, steep ones to slow, long ones). */
export const DECLINE_LEAD_DAYS: readonly [number, number] = [60, 180];
/** A customer who decides to leave this many days or fewer before its term ends lets it expire rather than cancel. */
const NON_RENEWAL_WINDOW_DAYS = 30;
/** Passing dips per customer-year, for every customer whatever its fate. */
const DIPS_PER_YEAR = 0.5;
const DIP_DAYS: readonly [number, number] = [30, 120];
const DIP_DEPTH: readonly [number, number] = [0.2, 0.5];
/** Share of customers on a growth path, and its drift per year. */
const GROWING_SHARE = 0.2;
const GROWTH_DRIFT: readonly [number, number] = [0.35, 0.8];
/** Everyone else's engagement wanders a little, up or down. */
const STEADY_DRIFT_SD = 0.1;
/** Drift stops compounding here: growth saturates, and a slow fade is not a decline to churn. */
const DRIFT_LIMITS: readonly [number, number] = [0.5, 2.5];
/** Share of declining churners who stop using the product some days before their contract ends. */
const GOES_DARK_SHARE = 0.3;
const DARK_DAYS: readonly [number, number] = [7, 45];
/** Longest tenure drawn for a customer already on board when the span starts. */
const MAX_TENURE_DAYS = 8 * 365;
/** The 95th percentile of the standard normal distribution. */
const NORMAL_95TH_PERCENTILE = 1.645;

export interface LatentContext {
  population: PopulationParameters;
  /** First and last day of the simulated span. */
  spanStartDay: number;
  today: number;
  termDays: number;
}

/**
 * Draws one customer's trajectory. The population is in steady state: customers already on board
 * when the span starts (tenure drawn as churn leaves it) and, replacing those who leave, new ones
 * signing during the span. Every customer decides to leave after a memoryless wait from the later of
 * its start and the span's, so churn days spread over the whole span and beyond it.
 */
export function drawLatent(random: Random, context: LatentContext): LatentTrajectory {
  const { population, spanStartDay, today, termDays } = context;
  const span = today - spanStartDay + 1;
  const hazardPerDay = -Math.log(1 - population.churnRate) / 365;
  const meanWait = hazardPerDay === 0 ? Infinity : 1 / hazardPerDay;
  // In steady state the span's newcomers replace its leavers: hazard × span of them for each customer on board at its start.
  const newcomerShare = (hazardPerDay * span) / (1 + hazardPerDay * span);
  const customerSinceDay = random.chance(newcomerShare)
    ? random.integer(spanStartDay, today)
    : spanStartDay - Math.max(1, Math.min(MAX_TENURE_DAYS, Math.round(random.exponential(Math.min(meanWait, MAX_TENURE_DAYS)))));
  // At least a day after signing, so every customer holds its subscription for a while.
  const decidedDay = meanWait === Infinity ? null : Math.max(customerSinceDay + 1, spanStartDay) + Math.round(random.exponential(meanWait));
  const churn = decidedDay === null ? null : churnOf(decidedDay, customerSinceDay, termDays);
  const silent = random.chance(population.silentChurnShare);
  const decline = churn === null || silent ? null : drawDecline(churn.day, random);
  const growing = random.chance(GROWING_SHARE);
  // A lognormal level whose 5th and 95th percentiles are `activitySpread` apart, with a mean of 1 so the
  // population's volume does not depend on the spread.
  const levelSd = Math.log(population.activitySpread) / (2 * NORMAL_95TH_PERCENTILE);
  return {
    customerSinceDay,
    termDays,
    activityLevel: Math.exp(random.normal(-(levelSd ** 2) / 2, levelSd)),
    rampDays: random.integer(45, 120),
    driftPerYear: growing ? random.between(...GROWTH_DRIFT) : random.normal(0, STEADY_DRIFT_SD),
    driftFromDay: Math.max(customerSinceDay, spanStartDay),
    dips: drawDips(random, spanStartDay - DIP_DAYS[1], today),
    churnDay: churn?.day ?? null,
    churnKind: churn?.kind ?? null,
    decline,
    disposition: {
      npsBaseline: random.normal(8, 1.2),
      sentimentBaseline: random.normal(0.8, 0.6),
      ticketPropensity: Math.exp(random.normal(0, 0.5)),
      dealPropensity: Math.exp(random.normal(0, 0.4)),
    },
  };
}

/** Cancelled on the day of the decision, or not renewed when the term ends within NON_RENEWAL_WINDOW_DAYS of it. */
function churnOf(decidedDay: number, customerSinceDay: number, termDays: number): { day: number; kind: 'CANCELLED' | 'EXPIRED' } {
  const termEnd = customerSinceDay + Math.max(1, Math.ceil((decidedDay - customerSinceDay) / termDays)) * termDays;
  return termEnd - decidedDay <= NON_RENEWAL_WINDOW_DAYS ? { day: termEnd, kind: 'EXPIRED' } : { day: decidedDay, kind: 'CANCELLED' };
}

function drawDecline(churnDay: number, random: Random): Decline {
  const fromDay = churnDay - random.integer(...DECLINE_LEAD_DAYS);
  const darkDays = random.chance(GOES_DARK_SHARE) ? random.integer(...DARK_DAYS) : 0;
  return { fromDay, onset: random.between(0.3, 0.6), depth: random.between(0.6, 1), curve: random.between(0.6, 1.6), darkFromDay: churnDay - darkDays };
}

function drawDips(random: Random, fromDay: number, toDay: number): Dip[] {
  const dips: Dip[] = [];
  for (let n = random.poisson((DIPS_PER_YEAR * (toDay - fromDay)) / 365); n > 0; n -= 1) {
    dips.push({ fromDay: random.integer(fromDay, toDay), days: random.integer(...DIP_DAYS), depth: random.between(...DIP_DEPTH) });
  }
  return dips.sort((a, b) => a.fromDay - b.fromDay);
}

/** A dip's depth on its way down (first 40%), at the bottom, and on its way back up (last 40%), as a share of its full depth. */
function dipShape(progress: number): number {
  if (progress < 0 || progress >= 1) return 0;
  return Math.min(1, progress / 0.4, (1 - progress) / 0.4);
}

export const isChurned = (latent: LatentTrajectory, day: number): boolean => latent.churnDay !== null && day >= latent.churnDay;

/** The customer's state on a UTC day: what its events that day are sampled from. */
export function latentStateOnDay(latent: LatentTrajectory, day: number): LatentState {
  if (isChurned(latent, day)) return { active: false, decline: 1, dip: 0, engagement: 0, health: 0 };
  const dip = Math.max(0, ...latent.dips.map(({ fromDay, days, depth }) => depth * dipShape((day - fromDay) / days)));
  const decline = declineOn(latent.decline, day);
  const health = 1 - Math.max(dip, decline);
  if (day < latent.customerSinceDay) return { active: false, decline: 0, dip: 0, engagement: 0, health };
  const ramp = Math.min(1, ONBOARDING_FLOOR + ((1 - ONBOARDING_FLOOR) * (day - latent.customerSinceDay)) / latent.rampDays);
  const drift = Math.exp((latent.driftPerYear * (day - latent.driftFromDay)) / 365);
  const engagement = ramp * Math.min(DRIFT_LIMITS[1], Math.max(DRIFT_LIMITS[0], drift)) * (1 - dip) * (1 - decline);
  return { active: true, decline, dip, engagement, health };
}

function declineOn(decline: Decline | null, day: number): number {
  if (decline === null || day < decline.fromDay) return 0;
  if (day >= decline.darkFromDay) return 1;
  const progress = (day - decline.fromDay) / (decline.darkFromDay - decline.fromDay);
  return decline.depth * (decline.onset + (1 - decline.onset) * progress ** decline.curve);
}

/**
 * The simulated latent state of a customer as of an instant, for evaluations: an oracle that knows
 * each customer's `decline` today is the ceiling a model learning from behaviour can approach (it
 * still misses silent churners, and cannot tell how soon a decline ends in churn).
 */
export const latentState = (customer: { latent: LatentTrajectory }, asOf: number): LatentState =>
  latentStateOnDay(customer.latent, utcDay(asOf));
