import { createHash } from 'node:crypto';
import {
  MS_PER_DAY,
  utcDay,
  type ActivityEvent,
  type ActivityType,
  type ContractEvent,
  type ContractStatus,
  type ContractType,
  type EventEnvelope,
  type InputEvent,
  type OpportunityStage,
} from '@churnscore/domain';
import {
  DEFAULT_COHORT_MIX,
  SEGMENT_PROFILES,
  SUBSCRIPTION_TERM_DAYS,
  SURVEY_RANGES,
  activityIntensity,
  assignCohorts,
  drawSegment,
  drawTimeline,
  isLatePhase,
  ticketBehaviour,
  type Cohort,
  type CohortMix,
  type Segment,
  type Timeline,
} from './cohorts';
import { createRandom, seedFrom, type Random } from './random';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before it is placed in time and given its ids. */
type EventBody = DistributiveOmit<InputEvent, keyof EventEnvelope>;
type ActivityBody = Omit<ActivityEvent, keyof EventEnvelope>;
type ContractBody = Omit<ContractEvent, keyof EventEnvelope>;

export interface GeneratorOptions {
  customers: number;
  /** Length of the simulated history: events fall on the `days` UTC days up to and including today. */
  days: number;
  /** Same seed, same options, same `now`: the same events, ids included. */
  seed: number | string;
  /** The simulator's clock, epoch ms; nothing is generated after it. */
  now: number;
  mix?: CohortMix;
  /** Customer ids are `<idPrefix>-000001`…; use distinct prefixes for runs that must not share customers. */
  idPrefix?: string;
  /** The events' `source` field. */
  source?: string;
  /** Reporting currency of every amount. */
  currency?: string;
}

export interface CustomerPlan {
  customerId: string;
  cohort: Cohort;
  segment: Segment;
  /** Value of the current subscription term. */
  annualValue: number;
  timeline: Timeline;
}

export interface CustomerHistory extends CustomerPlan {
  /** Ordered by occurredAt, then eventId. */
  events: InputEvent[];
}

type ResolvedOptions = Required<GeneratorOptions>;

const resolveOptions = (options: GeneratorOptions): ResolvedOptions => ({
  mix: DEFAULT_COHORT_MIX,
  idPrefix: 'sim',
  source: 'simulator',
  currency: 'USD',
  ...options,
});

/** Who the customers are: cohort, segment, value and timeline. Cheap; histories are generated from it. */
export function planCustomers(options: GeneratorOptions): CustomerPlan[] {
  const { customers, seed, mix, idPrefix } = resolveOptions(options);
  const cohorts = assignCohorts(customers, mix, createRandom(seedFrom(seed, 'cohorts')));
  return cohorts.map((cohort, index) => {
    const random = createRandom(seedFrom(seed, 'plan', index));
    const segment = drawSegment(random);
    const [minValue, maxValue] = SEGMENT_PROFILES[segment].annualValue;
    return {
      customerId: `${idPrefix}-${String(index + 1).padStart(6, '0')}`,
      cohort,
      segment,
      annualValue: roundTo(random.between(minValue, maxValue), 100),
      timeline: drawTimeline(cohort, random),
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

/** An event scheduled on a day, `daysAgo` before today (0 = today). */
interface Scheduled<Body extends EventBody = EventBody> {
  daysAgo: number;
  /** At the first instant of the day rather than during business hours: the initial CRM sync. */
  atStartOfDay?: boolean;
  body: Body;
}
type ScheduledContract = Scheduled<ContractBody>;

/**
 * A customer's events over the span: its profile, daily activity, surveys, deals and contracts, as
 * its cohort and timeline dictate. Depends only on the plan, the seed and the clock, not on the
 * other customers, so one history can be regenerated alone.
 */
export function generateCustomerHistory(plan: CustomerPlan, options: GeneratorOptions): CustomerHistory {
  const resolved = resolveOptions(options);
  const random = createRandom(seedFrom(resolved.seed, 'history', plan.customerId));
  const span = resolved.days;
  const today = utcDay(resolved.now);
  const scheduled: Scheduled[] = [
    {
      daysAgo: Math.min(span - 1, plan.timeline.customerSinceDaysAgo),
      atStartOfDay: true,
      body: { kind: 'customer', segment: plan.segment, erase: false },
    },
  ];

  let ticketCount = 0;
  const nextTicketId = (): string => `${plan.customerId}-T${++ticketCount}`;
  for (let daysAgo = span - 1; daysAgo >= 0; daysAgo -= 1) {
    for (const { afterDays, body } of sampleDayActivity(plan, daysAgo, isWeekend(today - daysAgo), random, nextTicketId)) {
      const onDay = daysAgo - afterDays;
      // A follow-up that would land in the future, or while the customer is silent, never happened.
      if (onDay >= 0 && activityIntensity(plan.cohort, plan.timeline, onDay) > 0) scheduled.push({ daysAgo: onDay, body });
    }
  }
  scheduled.push(...scheduleSurveys(plan, span, random));
  const contractContext: ContractContext = { currency: resolved.currency, midnightOf: (daysAgo) => (today - daysAgo) * MS_PER_DAY };
  const deals = scheduleDeals(plan, span, contractContext, random);
  scheduled.push(...deals.events);
  const contracts = [...subscriptionContracts(plan, contractContext, random), ...deals.contracts];
  scheduled.push(...contracts.flatMap((events) => fromSpanStart(events, span)));

  return { ...plan, events: materialise(plan, scheduled, resolved, random) };
}

const BUSINESS_HOURS_MS: readonly [number, number] = [7 * 3_600_000, 19 * 3_600_000];

/**
 * Places scheduled events in time (business hours; today's between midnight and the clock, so
 * nothing lies in the future) and gives them ids, ordered by time.
 */
function materialise(plan: CustomerPlan, scheduled: Scheduled[], options: ResolvedOptions, random: Random): InputEvent[] {
  const today = utcDay(options.now);
  const events = scheduled.map(({ daysAgo, atStartOfDay, body }, sequence): InputEvent => {
    const dayStart = (today - daysAgo) * MS_PER_DAY;
    const [from, to] = daysAgo === 0 ? [0, options.now - dayStart] : BUSINESS_HOURS_MS;
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

/** Expected events per weekday for a steady customer, before the segment's scale. */
const CONVERSATION_RATES: ReadonlyArray<readonly [ActivityType, number]> = [
  ['EMAIL_SENT', 0.35],
  ['EMAIL_RECEIVED', 0.3],
  ['CALL', 0.05],
  ['MEETING', 0.04],
  ['FOLLOW_UP_TASK', 0.05],
];
const USAGE_DAY_CHANCE = 0.85;
/** Usage quantity (active seats, sessions…) of a steady SMB customer on a working day. */
const BASE_DAILY_USAGE = 20;
const WEEKEND_LEVEL = 0.2;

export interface SampledActivity {
  /** 0: on the sampled day; more: a follow-up (a ticket being closed) that many days later. */
  afterDays: number;
  body: ActivityBody;
}

const activity = (
  activityType: ActivityType,
  fields: Partial<Pick<ActivityBody, 'value' | 'ticketId' | 'slaBreached'>> = {},
): ActivityBody => ({ kind: 'activity', activityType, value: null, ticketId: null, slaBreached: null, ...fields });

/**
 * One day of a customer's conversations, product usage and support tickets, at the cohort's
 * intensity for that day. Conversations grow with the square root of the segment's scale (more
 * contacts, not proportionally more mail); usage grows linearly (seats).
 */
export function sampleDayActivity(
  plan: CustomerPlan,
  daysAgo: number,
  weekend: boolean,
  random: Random,
  nextTicketId: () => string,
): SampledActivity[] {
  const intensity = activityIntensity(plan.cohort, plan.timeline, daysAgo);
  if (intensity === 0) return [];
  const { activityScale } = SEGMENT_PROFILES[plan.segment];
  const level = intensity * (weekend ? WEEKEND_LEVEL : 1);
  const sampled: SampledActivity[] = [];
  if (random.chance(Math.min(1, USAGE_DAY_CHANCE * level))) {
    const usage = Math.max(1, Math.round(BASE_DAILY_USAGE * activityScale * intensity * random.between(0.8, 1.2)));
    sampled.push({ afterDays: 0, body: activity('PRODUCT_USAGE', { value: usage }) });
  }
  for (const [activityType, rate] of CONVERSATION_RATES) {
    for (let n = random.poisson(rate * level * Math.sqrt(activityScale)); n > 0; n -= 1) {
      sampled.push({ afterDays: 0, body: activity(activityType) });
    }
  }
  const tickets = ticketBehaviour(plan.cohort, isLatePhase(plan.timeline, daysAgo));
  for (let n = random.poisson(tickets.openedPerDay * Math.sqrt(activityScale)); n > 0; n -= 1) {
    const ticketId = nextTicketId();
    sampled.push({ afterDays: 0, body: activity('SUPPORT_TICKET_OPENED', { ticketId }) });
    if (random.chance(tickets.closeChance)) {
      sampled.push({
        afterDays: random.integer(...tickets.daysToClose),
        body: activity('SUPPORT_TICKET_CLOSED', { ticketId, slaBreached: random.chance(tickets.slaBreachChance) }),
      });
    }
  }
  return sampled;
}

const NPS_EVERY_DAYS = 90;
const SENTIMENT_EVERY_DAYS = 30;

/**
 * A quarterly NPS survey and a monthly CSM sentiment entry while the customer is active, plus, for
 * cohorts with a late phase, one final answer of each shortly before the end (or the silence), so
 * the latest values always show the cohort's mood.
 */
function scheduleSurveys(plan: CustomerPlan, span: number, random: Random): Scheduled[] {
  const { timeline, cohort } = plan;
  const ranges = SURVEY_RANGES[cohort];
  const answer = (daysAgo: number, activityType: 'NPS_RESPONSE' | 'CSM_SENTIMENT'): Scheduled => {
    const late = isLatePhase(timeline, daysAgo);
    const range = activityType === 'NPS_RESPONSE' ? (late ? ranges.lateNps : ranges.nps) : late ? ranges.lateSentiment : ranges.sentiment;
    return { daysAgo, body: activity(activityType, { value: random.integer(...range) }) };
  };
  const surveys: Scheduled[] = [];
  const isActive = (daysAgo: number): boolean => activityIntensity(cohort, timeline, daysAgo) > 0;
  for (let daysAgo = random.integer(0, NPS_EVERY_DAYS - 1); daysAgo < span; daysAgo += NPS_EVERY_DAYS) {
    if (isActive(daysAgo)) surveys.push(answer(daysAgo, 'NPS_RESPONSE'));
  }
  for (let daysAgo = random.integer(0, SENTIMENT_EVERY_DAYS - 1); daysAgo < span; daysAgo += SENTIMENT_EVERY_DAYS) {
    if (isActive(daysAgo)) surveys.push(answer(daysAgo, 'CSM_SENTIMENT'));
  }
  if (timeline.lateSinceDaysAgo !== null) {
    const finalDay = (timeline.silentSinceDaysAgo ?? 0) + random.integer(1, 7);
    if (finalDay < span) surveys.push(answer(finalDay, 'NPS_RESPONSE'), answer(finalDay, 'CSM_SENTIMENT'));
  }
  return surveys;
}

type DealOutcome = 'won' | 'lost' | 'open';

interface Deal {
  outcome: DealOutcome;
  stages: OpportunityStage[];
  openedDaysAgo: number;
  /** Day of the last stage change: the close, or the latest move of an open deal. */
  lastDaysAgo: number;
}

const OPEN_STAGES: readonly OpportunityStage[] = ['LEAD', 'QUALIFIED', 'PROPOSAL', 'NEGOTIATION'];

/**
 * The deals each cohort works through: healthy customers win most and sometimes have one in
 * progress; growing ones win every deal and are negotiating another; declining ones lose the deals
 * that close during the decline; churning ones lose theirs before going silent.
 */
function planDeals(plan: CustomerPlan, span: number, random: Random): Deal[] {
  const { cohort, timeline } = plan;
  const oldestDay = Math.min(span - 1, timeline.customerSinceDaysAgo);
  const lateEnd = timeline.silentSinceDaysAgo ?? 0;
  const deals: Deal[] = [];
  const closeDeals = (count: number, closeRange: readonly [number, number], outcome: () => 'won' | 'lost'): void => {
    for (let n = 0; n < count; n += 1) {
      const duration = random.integer(20, 60);
      const latestClose = Math.min(closeRange[1], oldestDay - duration);
      if (latestClose < closeRange[0]) continue;
      const closedDaysAgo = random.integer(closeRange[0], latestClose);
      const result = outcome();
      const stages: OpportunityStage[] =
        result === 'won' ? [...OPEN_STAGES, 'CLOSED_WON'] : [...OPEN_STAGES.slice(0, random.integer(1, 4)), 'CLOSED_LOST'];
      deals.push({ outcome: result, stages, openedDaysAgo: closedDaysAgo + duration, lastDaysAgo: closedDaysAgo });
    }
  };
  const openDeal = (reached: OpportunityStage): void => {
    const openedDaysAgo = Math.min(oldestDay, random.integer(10, 45));
    const stages = OPEN_STAGES.slice(0, OPEN_STAGES.indexOf(reached) + 1);
    deals.push({ outcome: 'open', stages, openedDaysAgo, lastDaysAgo: random.integer(0, Math.min(7, openedDaysAgo)) });
  };
  const mostlyWon = (winRate: number) => (): 'won' | 'lost' => (random.chance(winRate) ? 'won' : 'lost');
  switch (cohort) {
    case 'healthy':
      closeDeals(random.integer(1, 3), [0, oldestDay], mostlyWon(0.85));
      if (random.chance(0.5)) openDeal('PROPOSAL');
      break;
    case 'growing':
      closeDeals(random.integer(2, 4), [0, oldestDay], () => 'won');
      openDeal('NEGOTIATION');
      break;
    case 'declining':
    case 'churning': {
      const lateSince = timeline.lateSinceDaysAgo ?? 0;
      if (cohort === 'declining') closeDeals(random.integer(0, 1), [lateSince, oldestDay], mostlyWon(0.6));
      closeDeals(random.integer(1, 2), [lateEnd, lateSince], () => 'lost');
      break;
    }
  }
  return deals;
}

/** Open quotes as the CRM reports them: none before a proposal, none left once the deal is closed. */
const openQuotesAt = (stage: OpportunityStage, random: Random): number | null => {
  if (stage === 'PROPOSAL') return 1;
  if (stage === 'NEGOTIATION') return random.integer(1, 3);
  if (stage === 'CLOSED_WON' || stage === 'CLOSED_LOST') return 0;
  return null;
};

/**
 * Opportunity events for the cohort's deals, and a contract for each deal won: an expansion
 * subscription for growing customers, a one-off 90-day sales contract (which then expires) for the rest.
 */
function scheduleDeals(
  plan: CustomerPlan,
  span: number,
  context: ContractContext,
  random: Random,
): { events: Scheduled[]; contracts: ScheduledContract[][] } {
  const events: Scheduled[] = [];
  const contracts: ScheduledContract[][] = [];
  const amountShare: readonly [number, number] = plan.cohort === 'growing' ? [0.2, 0.5] : [0.1, 0.35];
  planDeals(plan, span, random).forEach((deal, index) => {
    const opportunityId = `${plan.customerId}-O${index + 1}`;
    const amount = roundTo(plan.annualValue * random.between(...amountShare), 100);
    const lastStep = Math.max(1, deal.stages.length - 1);
    deal.stages.forEach((stage, step) => {
      const daysAgo = Math.round(deal.openedDaysAgo - ((deal.openedDaysAgo - deal.lastDaysAgo) * step) / lastStep);
      // An explicit forecast now and then; otherwise the stage default applies.
      const probability = stage === 'NEGOTIATION' && random.chance(0.5) ? roundTo(random.between(0.6, 0.85), 0.05) : null;
      const openQuotes = openQuotesAt(stage, random);
      events.push({
        daysAgo,
        body: { kind: 'opportunity', opportunityId, stage, amount, currency: context.currency, probability, openQuotes },
      });
    });
    if (deal.outcome !== 'won') return;
    const [contractType, termDays]: [ContractType, number] =
      plan.cohort === 'growing' ? ['SUBSCRIPTION', SUBSCRIPTION_TERM_DAYS] : ['SALES', 90];
    const contract = contractState(`${plan.customerId}-C${index + 1}`, contractType, amount, context);
    const endsDaysAgo = deal.lastDaysAgo - termDays;
    const terms: ScheduledContract[] = [{ daysAgo: deal.lastDaysAgo, body: contract('ACTIVE', deal.lastDaysAgo, endsDaysAgo) }];
    if (endsDaysAgo >= 0) terms.push({ daysAgo: endsDaysAgo, body: contract('EXPIRED', deal.lastDaysAgo, endsDaysAgo) });
    contracts.push(terms);
  });
  return { events, contracts };
}

interface ContractContext {
  currency: string;
  /** Contract dates are UTC midnights. */
  midnightOf(daysAgo: number): number;
}

type ContractAt = (status: ContractStatus, startDaysAgo: number, endDaysAgo: number, totalValue?: number) => ContractBody;

/** Builds full-state events of one contract (latest wins downstream, so every event carries everything). */
function contractState(contractId: string, contractType: ContractType, totalValue: number, context: ContractContext): ContractAt {
  return (status, startDaysAgo, endDaysAgo, value = totalValue) => ({
    kind: 'contract',
    contractId,
    contractType,
    totalValue: value,
    currency: context.currency,
    startDate: context.midnightOf(startDaysAgo),
    endDate: context.midnightOf(endDaysAgo),
    status,
  });
}

/**
 * Contract events from before the simulated span collapse into one snapshot of the latest, at the
 * span's first instant (the CRM's initial sync), so a contract signed years ago is still known.
 */
function fromSpanStart(events: ScheduledContract[], span: number): Scheduled[] {
  const inside = events.filter((event) => event.daysAgo < span);
  const before = events.filter((event) => event.daysAgo >= span);
  if (before.length === 0) return inside;
  const latestBefore = before.reduce((latest, event) => (event.daysAgo < latest.daysAgo ? event : latest));
  return [{ daysAgo: span - 1, atStartOfDay: true, body: latestBefore.body }, ...inside];
}

const RENEWAL_UPLIFT = 1.05;
const SERVICE_SHARE_OF_SUBSCRIPTION = 0.12;

/**
 * The subscription through its annual terms (signed ACTIVE, then RENEWED with a 5% uplift at each
 * anniversary), ending EXPIRED or CANCELLED for churning customers. Enterprise customers also hold a
 * premium-support SERVICE contract on the same terms.
 */
function subscriptionContracts(plan: CustomerPlan, context: ContractContext, random: Random): ScheduledContract[][] {
  const { customerSinceDaysAgo: startDaysAgo, termEndsInDays } = plan.timeline;
  const endDaysAgo = -termEndsInDays;
  const termCount = Math.round((startDaysAgo - endDaysAgo) / SUBSCRIPTION_TERM_DAYS);
  const subscription = contractState(`${plan.customerId}-SUB`, 'SUBSCRIPTION', plan.annualValue, context);
  const valueOfTerm = (term: number): number => roundTo(plan.annualValue / RENEWAL_UPLIFT ** (termCount - 1 - term), 100);
  const events: ScheduledContract[] = [];
  for (let term = 0; term < termCount; term += 1) {
    const termStart = startDaysAgo - term * SUBSCRIPTION_TERM_DAYS;
    const status = term === 0 ? 'ACTIVE' : 'RENEWED';
    events.push({ daysAgo: termStart, body: subscription(status, startDaysAgo, termStart - SUBSCRIPTION_TERM_DAYS, valueOfTerm(term)) });
  }
  if (plan.cohort === 'churning') {
    // Either the term simply ran out, or the customer gave notice shortly before it did.
    const [status, daysAgo]: [ContractStatus, number] = random.chance(0.5)
      ? ['EXPIRED', endDaysAgo]
      : ['CANCELLED', endDaysAgo + random.integer(5, 20)];
    events.push({ daysAgo, body: subscription(status, startDaysAgo, endDaysAgo) });
  }
  if (plan.segment !== 'ENTERPRISE') return [events];
  const service = events.map(({ daysAgo, body }) => ({
    daysAgo,
    body: {
      ...body,
      contractId: `${plan.customerId}-SVC`,
      contractType: 'SERVICE' as const,
      totalValue: roundTo(body.totalValue * SERVICE_SHARE_OF_SUBSCRIPTION, 100),
    },
  }));
  return [events, service];
}

/** Rounds to a multiple of `step` without binary-fraction noise (0.7000000000000001). */
function roundTo(value: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return Number((Math.round(value / step) * step).toFixed(decimals));
}
