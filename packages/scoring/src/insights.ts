import {
  ACTIVITY_TYPES,
  CUSTOMER_ACTIVITY_TYPES,
  utcDay,
  windowFirstDay,
  type ActivityDayBucket,
  type ActivityType,
  type ContractState,
  type ContractStatus,
  type CustomerInsights,
  type CustomerState,
  type LatestWins,
  type OpportunityStage,
  type OpportunityState,
  type TicketState,
  type UtcDay,
  type WindowedCounts,
} from '@churnscore/domain';
import { LONGEST_WINDOW_DAYS, addToWindows, emptyWindows, isDayInWindow, startOfDay, sumByWindow } from './calendar';
import { compareStrings } from './numeric';

export interface InsightsOptions {
  /** Retention horizon in days (default 400 in the service); must cover the 365-day window. */
  retentionDays: number;
}

/** SPEC §3: the probability an opportunity carries when its event gave none. */
export const DEFAULT_STAGE_PROBABILITY: Readonly<Record<OpportunityStage, number>> = {
  LEAD: 0.1,
  QUALIFIED: 0.2,
  PROPOSAL: 0.5,
  NEGOTIATION: 0.7,
  CLOSED_WON: 1,
  CLOSED_LOST: 0,
};

const ACTIVE_CONTRACT_STATUSES: ReadonlySet<ContractStatus> = new Set(['ACTIVE', 'RENEWED']);

export const isOpenOpportunity = (opportunity: OpportunityState): boolean =>
  opportunity.stage !== 'CLOSED_WON' && opportunity.stage !== 'CLOSED_LOST';

const isActiveContract = (contract: ContractState): boolean => ACTIVE_CONTRACT_STATUSES.has(contract.status);

/**
 * Where the customer's tenure begins: the earliest start any of its contract events carried (a contract renewed with the
 * new term's dates keeps only those in its record), or, for a state stored before the store kept that, its contracts'
 * earliest start. Null without a contract.
 */
export function firstContractStart({ contracts, earliestContractStart }: CustomerState): number | null {
  if (contracts.length === 0) return null;
  return Math.min(earliestContractStart ?? Infinity, ...contracts.map((contract) => contract.startDate));
}

const CUSTOMER_TYPES: ReadonlySet<ActivityType> = new Set(CUSTOMER_ACTIVITY_TYPES);

/**
 * The latest of the customer's own activities (CUSTOMER_ACTIVITY_TYPES), from the stored instant and the latest day its
 * buckets hold one (activityWindows'). For a state applied before the store kept the instant, the start of that day
 * stands in: at most a day early, until its next own activity. The greater of the two otherwise, which is the stored
 * instant (no bucket of the customer's own begins after the activity that made it).
 */
const lastCustomerActivity = (storedAt: number | null, latestOwnDay: UtcDay | null): number | null =>
  latestOwnDay === null ? storedAt : Math.max(storedAt ?? -Infinity, startOfDay(latestOwnDay));

/** (occurredAt, eventId) order: the greater record is an entity's latest state (SPEC §3). */
const compareLatest = (a: LatestWins, b: LatestWins): number =>
  a.occurredAt - b.occurredAt || compareStrings(a.eventId, b.eventId);

/**
 * (occurredAt, closed after open, eventId) order of a ticket's events: a close never precedes its open, so at the
 * same instant the close is the later one whatever the eventIds (SPEC §4 "opened and not closed"). The state
 * store ranks ticket records the same way.
 */
const compareTicketEvents = (a: TicketState, b: TicketState): number =>
  a.occurredAt - b.occurredAt || Number(!a.open) - Number(!b.open) || compareStrings(a.eventId, b.eventId);

/**
 * One record per entity id (the latest wins), sorted by id. The Redis layer already keeps one per
 * id; doing it again here keeps the aggregates exact for any input, and the fixed order makes the
 * floating-point sums identical for every permutation of the state arrays.
 */
export function latestPerEntity<T extends LatestWins>(
  records: readonly T[],
  idOf: (record: T) => string,
  compare: (a: T, b: T) => number = compareLatest,
): T[] {
  // The store hands each entity's one record back, in id order: then they are the answer already.
  if (records.every((record, i) => i === 0 || compareStrings(idOf(records[i - 1]!), idOf(record)) < 0)) return [...records];
  const latest = new Map<string, T>();
  for (const record of records) {
    const id = idOf(record);
    const current = latest.get(id);
    if (current === undefined || compare(record, current) > 0) latest.set(id, record);
  }
  return [...latest.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, record]) => record);
}

const sum = <T>(items: readonly T[], valueOf: (item: T) => number): number =>
  items.reduce((total, item) => total + valueOf(item), 0);

/**
 * Activity counts and usage quantity per window, and the latest day holding one of the customer's own activities, in
 * one pass over the buckets. Counts are whole numbers, exact in any order; usage quantities are summed in a canonical
 * order, so that their sums do not depend on the order Redis returned the buckets in.
 */
function activityWindows(
  buckets: readonly ActivityDayBucket[],
  asOfDay: UtcDay,
): Pick<CustomerInsights, 'activity' | 'usageQuantity'> & { latestOwnDay: UtcDay | null } {
  const activity = Object.fromEntries(ACTIVITY_TYPES.map((type) => [type, emptyWindows()])) as CustomerInsights['activity'];
  // Looked up in a Map: a property of `activity` named by each bucket's type, a keyed lookup, cost computeInsights a tenth more.
  const windowsOf = new Map(Object.entries(activity) as Array<[ActivityType, WindowedCounts]>);
  const usage: ActivityDayBucket[] = [];
  let latestOwnDay: UtcDay | null = null;
  for (const bucket of buckets) {
    addToWindows(windowsOf.get(bucket.type)!, asOfDay - bucket.day, bucket.count);
    if (bucket.type === 'PRODUCT_USAGE') usage.push(bucket);
    if (CUSTOMER_TYPES.has(bucket.type) && bucket.count > 0 && (latestOwnDay === null || bucket.day > latestOwnDay)) latestOwnDay = bucket.day;
  }
  usage.sort((a, b) => a.day - b.day || a.count - b.count || a.valueSum - b.valueSum);
  return { activity, usageQuantity: sumByWindow(usage, (bucket) => bucket.valueSum, asOfDay), latestOwnDay };
}

/** Each ticket's latest state, sorted by ticketId. */
export const latestTickets = (tickets: readonly TicketState[]): TicketState[] =>
  latestPerEntity(tickets, (ticket) => ticket.ticketId, compareTicketEvents);

/**
 * Whether an open ticket still counts at `asOfDay`: its latest event lies inside the retention
 * horizon. A ticket opened without a ticketId can never be closed; without this horizon it would
 * count as open forever.
 */
export const isTicketCounted = (ticket: TicketState, asOfDay: UtcDay, retentionDays: number): boolean =>
  ticket.open && utcDay(ticket.occurredAt) >= windowFirstDay(asOfDay, retentionDays);

/** The instant a counted open ticket stops counting (its last event leaves the retention horizon). */
export const ticketAgesOutAt = (ticket: TicketState, retentionDays: number): number =>
  startOfDay(utcDay(ticket.occurredAt) + retentionDays);

/**
 * SPEC §4 "Insights" of one customer as of `asOf`. Pure and order-independent: any permutation of
 * the state arrays, and any duplicate entity records, give the same result.
 *
 * - A W-day window covers the UTC days day(asOf)−W+1 … day(asOf), both inclusive; buckets and
 *   events on later days (up to an hour in the future, stamped tomorrow) count from their day on.
 * - won/lost/cancelled "in the 365-day window" use the occurredAt of the entity's latest event.
 * - `nextRenewalAt` is the earliest endDate ≥ asOf among active contracts (endDate = asOf still counts).
 */
export function computeInsights(state: CustomerState, asOf: number, opts: InsightsOptions): CustomerInsights {
  if (!Number.isInteger(opts.retentionDays) || opts.retentionDays < LONGEST_WINDOW_DAYS) {
    throw new RangeError(`retentionDays must be an integer ≥ ${LONGEST_WINDOW_DAYS}, got ${opts.retentionDays}`);
  }
  const asOfDay = utcDay(asOf);
  const inYear = (occurredAt: number): boolean => isDayInWindow(utcDay(occurredAt), asOfDay, LONGEST_WINDOW_DAYS);

  const { activity, usageQuantity, latestOwnDay } = activityWindows(state.activityDays, asOfDay);

  const opportunities = latestPerEntity(state.opportunities, (opportunity) => opportunity.opportunityId);
  const open = opportunities.filter(isOpenOpportunity);
  const wonInYear = opportunities.filter((o) => o.stage === 'CLOSED_WON' && inYear(o.occurredAt));
  const lostInYear = opportunities.filter((o) => o.stage === 'CLOSED_LOST' && inYear(o.occurredAt));
  const closedInYear = wonInYear.length + lostInYear.length;

  const contracts = latestPerEntity(state.contracts, (contract) => contract.contractId);
  const active = contracts.filter(isActiveContract);
  const upcomingEnds = active.map((contract) => contract.endDate).filter((endDate) => endDate >= asOf);
  const tickets = latestTickets(state.tickets);

  return {
    customerId: state.customerId,
    asOf,
    segment: state.segment,
    activity,
    usageQuantity,
    lastActivityAt: state.lastActivityAt,
    lastInboundAt: state.lastInboundAt,
    lastCustomerActivityAt: lastCustomerActivity(state.lastCustomerActivityAt, latestOwnDay),

    openOpportunities: open.length,
    openPipelineAmount: sum(open, (o) => o.amount),
    weightedPipelineAmount: sum(open, (o) => o.amount * (o.probability ?? DEFAULT_STAGE_PROBABILITY[o.stage])),
    openQuotes: sum(open, (o) => o.openQuotes ?? 0),
    won365: wonInYear.length,
    wonAmount365: sum(wonInYear, (o) => o.amount),
    lost365: lostInYear.length,
    lostAmount365: sum(lostInYear, (o) => o.amount),
    winRate365: closedInYear === 0 ? null : wonInYear.length / closedInYear,

    activeContracts: active.length,
    totalContractValue: sum(active, (contract) => contract.totalValue),
    nextRenewalAt: upcomingEnds.length === 0 ? null : Math.min(...upcomingEnds),
    cancelled365: contracts.filter((contract) => contract.status === 'CANCELLED' && inYear(contract.occurredAt)).length,
    contractsSeen: contracts.length,
    firstContractStartAt: firstContractStart(state),

    openTickets: tickets.filter((ticket) => isTicketCounted(ticket, asOfDay, opts.retentionDays)).length,
    slaBreaches90: sum(
      state.slaBreachDays.filter((entry) => isDayInWindow(entry.day, asOfDay, 90)),
      (entry) => entry.count,
    ),

    latestNps: state.latestNps?.value ?? null,
    latestCsmSentiment: state.latestCsmSentiment?.value ?? null,
  };
}
