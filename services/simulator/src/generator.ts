import { createHash } from 'node:crypto';
import { MS_PER_DAY, utcDay, type ActivityType, type InputEvent } from '@churnscore/domain';
import { SEGMENT_PROFILES, cohortOf, drawSegment, drawTermDays, type Cohort, type Segment } from './cohorts';
import { scheduleContracts } from './contracts';
import { scheduleDeals } from './deals';
import { drawLatent, latentStateOnDay, type LatentTrajectory } from './latent';
import { resolvePopulation, type PopulationParameters } from './population';
import { createRandom, seedFrom, type Random } from './random';
import { activity, clamp, roundTo, type ActivityBody, type Scheduled, type SpanContext } from './schedule';

export interface GeneratorOptions extends Partial<PopulationParameters> {
  customers: number;
  /** Length of the simulated history: events fall on the `days` UTC days up to and including today. */
  days: number;
  /** Same seed, same options, same `now`: the same events, ids included. */
  seed: number | string;
  /** The simulator's clock, epoch ms; nothing is generated after it. */
  now: number;
  /** Customer ids are `<idPrefix>-000001`…; use distinct prefixes for runs that must not share customers. */
  idPrefix?: string;
  /** The events' `source` field. */
  source?: string;
  /** Reporting currency of every amount. */
  currency?: string;
}

export interface CustomerPlan {
  customerId: string;
  /** Where its latent trajectory stands at `now` (see COHORTS); a label for people, never published. */
  cohort: Cohort;
  segment: Segment;
  /** Annual value of the subscription when it was first signed. */
  annualValue: number;
  /** The hidden state its events are sampled from; never published. Read it with `latentState`. */
  latent: LatentTrajectory;
  /** Its population's: how much of its usage readings' quantity follows its engagement (PopulationParameters). */
  usageSignal: number;
  /** Whether its product reports usage at all (drawn with the population's usageReporting share); never published. */
  reportsUsage: boolean;
}

export interface CustomerHistory extends CustomerPlan {
  /** Ordered by occurredAt, then eventId. */
  events: InputEvent[];
}

type ResolvedOptions = Required<Omit<GeneratorOptions, keyof PopulationParameters>> & PopulationParameters;

// resolvePopulation reads only the population's parameters from the options, and its result replaces them.
const resolveOptions = (options: GeneratorOptions): ResolvedOptions => ({
  idPrefix: 'sim',
  source: 'simulator',
  currency: 'USD',
  ...options,
  ...resolvePopulation(options),
});

const spanOf = (options: ResolvedOptions): SpanContext => {
  const today = utcDay(options.now);
  return { today, spanStartDay: today - options.days + 1, currency: options.currency };
};

/** The id of the `index`th customer (from 0) of a simulated base: P-000001, P-000002, … */
export const simulatedCustomerId = (idPrefix: string, index: number): string => `${idPrefix}-${String(index + 1).padStart(6, '0')}`;

/**
 * Who the customers are: segment, value and latent trajectory, each drawn independently from its own
 * seeded stream (so neither its id nor the number of customers says anything about it). Cheap;
 * histories are generated from it.
 */
export function planCustomers(options: GeneratorOptions): CustomerPlan[] {
  const resolved = resolveOptions(options);
  const span = spanOf(resolved);
  return Array.from({ length: resolved.customers }, (_, index) => {
    const random = createRandom(seedFrom(resolved.seed, 'plan', index));
    const segment = drawSegment(random);
    const [minValue, maxValue] = SEGMENT_PROFILES[segment].annualValue;
    const annualValue = roundTo(random.between(minValue, maxValue), 100);
    const latent = drawLatent(random, { population: resolved, ...span, termDays: drawTermDays(segment, random) });
    return {
      customerId: simulatedCustomerId(resolved.idPrefix, index),
      cohort: cohortOf(latent, span.today),
      segment,
      annualValue,
      latent,
      usageSignal: resolved.usageSignal,
      // A stream of its own: the population's other draws, and so its customers, are the same whatever the share.
      reportsUsage: createRandom(seedFrom(resolved.seed, 'usage-reporting', index)).chance(resolved.usageReporting),
    };
  });
}

/** Every customer's history, materialised. For large runs prefer {@link streamCustomerHistories}. */
export function generateCustomerHistories(options: GeneratorOptions): CustomerHistory[] {
  return [...streamCustomerHistories(options)];
}

/** One customer's history at a time, so memory stays flat however many customers are simulated. */
export function* streamCustomerHistories(options: GeneratorOptions): Generator<CustomerHistory> {
  for (const plan of planCustomers(options)) yield generateCustomerHistory(plan, options);
}

/** Engagement also wanders from month to month, as a lognormal factor per 30-day block, so a trend is never a clean line. */
const NOISE_BLOCK_DAYS = 30;
const MONTHLY_NOISE_SD = 0.1;

/**
 * A customer's events over the span: its profile, daily activity, surveys, deals and contracts, all
 * sampled from its latent trajectory. Depends only on the plan, the seed and the clock, not on the
 * other customers, so one history can be regenerated alone.
 */
export function generateCustomerHistory(plan: CustomerPlan, options: GeneratorOptions): CustomerHistory {
  const resolved = resolveOptions(options);
  const random = createRandom(seedFrom(resolved.seed, 'history', plan.customerId));
  const span = spanOf(resolved);
  const { latent } = plan;
  const scheduled: Scheduled[] = [
    {
      day: Math.max(span.spanStartDay, latent.customerSinceDay),
      atStartOfDay: true,
      body: { kind: 'customer', segment: plan.segment, erase: false },
    },
  ];

  const noise = Array.from({ length: Math.ceil(resolved.days / NOISE_BLOCK_DAYS) }, () => Math.exp(random.normal(0, MONTHLY_NOISE_SD)));
  let ticketCount = 0;
  const nextTicketId = (): string => `${plan.customerId}-T${++ticketCount}`;
  for (let day = span.spanStartDay; day <= span.today; day += 1) {
    const monthly = noise[Math.floor((day - span.spanStartDay) / NOISE_BLOCK_DAYS)]!;
    for (const { afterDays, body } of sampleDayActivity(plan, day, { weekend: isWeekend(day), noise: monthly }, random, nextTicketId)) {
      const onDay = day + afterDays;
      // A follow-up that would land in the future, or after the customer left, never happened.
      if (onDay <= span.today && latentStateOnDay(latent, onDay).active) scheduled.push({ day: onDay, body });
    }
  }
  scheduled.push(...scheduleSurveys(latent, span, random));
  const deals = scheduleDeals(plan, span, random);
  scheduled.push(...deals.events, ...scheduleContracts(plan, deals.won, span, random));

  // Usage is drawn and placed either way, then left out: a customer whose product does not report has the same
  // conversations, tickets, deals and contracts, at the same instants and under the same ids.
  return { ...plan, events: materialise(plan, scheduled, resolved, random).filter((event) => isReported(plan, event)) };
}

/** Whether the CRM sees an event of the customer's: product usage only when its product reports usage (CustomerPlan.reportsUsage). */
export const isReported = (plan: CustomerPlan, event: { kind: string; activityType?: string }): boolean =>
  plan.reportsUsage || event.activityType !== 'PRODUCT_USAGE';

const BUSINESS_HOURS_MS: readonly [number, number] = [7 * 3_600_000, 19 * 3_600_000];

/**
 * Places scheduled events in time (business hours; today's between midnight and the clock, so
 * nothing lies in the future) and gives them ids, ordered by time.
 */
function materialise(plan: CustomerPlan, scheduled: Scheduled[], options: ResolvedOptions, random: Random): InputEvent[] {
  const today = utcDay(options.now);
  const events = scheduled.map(({ day, atStartOfDay, body }, sequence): InputEvent => {
    const dayStart = day * MS_PER_DAY;
    const [from, to] = day === today ? [0, options.now - dayStart] : BUSINESS_HOURS_MS;
    return {
      eventId: deterministicId(options.seed, options.now, plan.customerId, sequence),
      customerId: plan.customerId,
      occurredAt: dayStart + (atStartOfDay ? 0 : Math.floor(random.between(from, to))),
      source: options.source,
      ...body,
    };
  });
  return events.sort((a, b) => a.occurredAt - b.occurredAt || (a.eventId < b.eventId ? -1 : 1));
}

/** A UUID-shaped id from a hash of its parts: stable across runs with the same seed and clock. */
export function deterministicId(...parts: Array<string | number>): string {
  const hex = createHash('sha256').update(parts.join('|')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** 1970-01-01 was a Thursday. B2B customers are quiet at weekends. */
const isWeekend = (day: number): boolean => [0, 6].includes((day + 4) % 7);

/** Expected events per weekday for a typical customer at full engagement, before the segment's scale. */
const CONVERSATION_RATES: ReadonlyArray<readonly [ActivityType, number]> = [
  ['EMAIL_SENT', 0.35],
  ['EMAIL_RECEIVED', 0.3],
  ['CALL', 0.05],
  ['MEETING', 0.04],
  ['FOLLOW_UP_TASK', 0.05],
];
/** Product usage readings (a team's session, a sync job) a typical customer's product reports per working day. */
const USAGE_READINGS_PER_DAY = 0.85;
/** Quantity of one usage reading (active seats, actions…) of a typical SMB customer at full engagement. */
const BASE_USAGE = 20;
const WEEKEND_LEVEL = 0.2;
/** Support tickets a typical customer opens per day when content; frustration (1 − health) multiplies them by up to 1 + TICKET_FRUSTRATION. */
const TICKETS_PER_DAY = 0.015;
const TICKET_FRUSTRATION = 3;

export interface SampledActivity {
  /** 0: on the sampled day; more: a follow-up (a ticket being closed) that many days later. */
  afterDays: number;
  body: ActivityBody;
}

/**
 * One day of a customer's conversations, product usage and support tickets, sampled from its latent
 * state that day. Its own activity level scales the number of readings and conversations linearly (a
 * customer ten times as active uses the product and writes ten times as often); the segment scales
 * the quantity of each usage reading linearly (seats) and conversations with its square root (more
 * contacts, not proportionally more mail). Engagement scales the number of readings, and the quantity
 * of each as far as the population's usage signal says. Tickets follow the square root of
 * activity and rise with frustration, as do breached SLAs and tickets left open.
 */
export function sampleDayActivity(
  plan: CustomerPlan,
  day: number,
  { weekend, noise }: { weekend: boolean; noise: number },
  random: Random,
  nextTicketId: () => string,
): SampledActivity[] {
  const state = latentStateOnDay(plan.latent, day);
  if (!state.active) return [];
  const { activityScale } = SEGMENT_PROFILES[plan.segment];
  const { activityLevel, disposition } = plan.latent;
  const engagement = state.engagement * noise;
  const intensity = engagement * (weekend ? WEEKEND_LEVEL : 1);
  // With a usage signal of 1 exactly `engagement`: the populations drawn before the parameter existed are unchanged.
  const usageLevel = 1 - plan.usageSignal + plan.usageSignal * engagement;
  const sampled: SampledActivity[] = [];
  for (let n = random.poisson(USAGE_READINGS_PER_DAY * intensity * activityLevel); n > 0; n -= 1) {
    const usage = Math.max(1, Math.round(BASE_USAGE * activityScale * usageLevel * random.between(0.8, 1.2)));
    sampled.push({ afterDays: 0, body: activity('PRODUCT_USAGE', { value: usage }) });
  }
  for (const [activityType, rate] of CONVERSATION_RATES) {
    for (let n = random.poisson(rate * intensity * activityLevel * Math.sqrt(activityScale)); n > 0; n -= 1) {
      sampled.push({ afterDays: 0, body: activity(activityType) });
    }
  }
  const frustration = 1 - state.health;
  const ticketRate = TICKETS_PER_DAY * disposition.ticketPropensity * Math.sqrt(intensity * activityLevel * activityScale);
  for (let n = random.poisson(ticketRate * (1 + TICKET_FRUSTRATION * frustration)); n > 0; n -= 1) {
    const ticketId = nextTicketId();
    sampled.push({ afterDays: 0, body: activity('SUPPORT_TICKET_OPENED', { ticketId }) });
    if (random.chance(0.97 - 0.5 * frustration)) {
      sampled.push({
        afterDays: random.integer(1, 4 + Math.round(12 * frustration)),
        body: activity('SUPPORT_TICKET_CLOSED', { ticketId, slaBreached: random.chance(0.05 + 0.4 * frustration) }),
      });
    }
  }
  return sampled;
}

const NPS_EVERY_DAYS = 90;
const SENTIMENT_EVERY_DAYS = 30;
/** How far an unhappy customer's answers fall below its usual ones at health 0, before noise. */
const NPS_HEALTH_SWING = 6;
const SENTIMENT_HEALTH_SWING = 3;

/**
 * A quarterly NPS survey and a monthly CSM sentiment entry while the customer is active. Each answer
 * is the customer's usual one, lowered by how unhappy it is that day, plus noise: ranges overlap
 * across fates, a content customer can answer 6 and a leaving one 8. Unhappy customers answer fewer
 * surveys, and CSMs skip an entry now and then.
 */
function scheduleSurveys(latent: LatentTrajectory, span: SpanContext, random: Random): Scheduled[] {
  const { npsBaseline, sentimentBaseline } = latent.disposition;
  const surveys: Scheduled[] = [];
  const every = (days: number, answer: (health: number) => ActivityBody | null): void => {
    for (let day = span.spanStartDay + random.integer(0, days - 1); day <= span.today; day += days) {
      const state = latentStateOnDay(latent, day);
      const body = state.active ? answer(state.health) : null;
      if (body !== null) surveys.push({ day, body });
    }
  };
  // A whole-number answer on the survey's scale (+ 0 turns a rounded −0 into 0).
  const answer = (mean: number, sd: number, [min, max]: readonly [number, number]): number => clamp(Math.round(random.normal(mean, sd)), min, max) + 0;
  every(NPS_EVERY_DAYS, (health) =>
    random.chance(0.3 + 0.4 * health) ? activity('NPS_RESPONSE', { value: answer(npsBaseline - NPS_HEALTH_SWING * (1 - health), 1.2, [0, 10]) }) : null,
  );
  every(SENTIMENT_EVERY_DAYS, (health) =>
    random.chance(0.9) ? activity('CSM_SENTIMENT', { value: answer(sentimentBaseline - SENTIMENT_HEALTH_SWING * (1 - health), 0.6, [-2, 2]) }) : null,
  );
  return surveys;
}
