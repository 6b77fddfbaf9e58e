import type { ActivityEvent, ActivityType, ContractStatus, ContractType, OpportunityStage } from './events';

/** UTC day number: floor(epochMs / 86_400_000). Windows and buckets are counted in these. */
export type UtcDay = number;

export const MS_PER_DAY = 86_400_000;
export const utcDay = (epochMs: number): UtcDay => Math.floor(epochMs / MS_PER_DAY);
/**
 * First UTC day of the `windowDays`-day window that ends on (and includes) `asOfDay` (SPEC §4): the insights' windows and
 * the retention horizon alike (applyEvents-5.lua's `horizonDay` computes the same).
 */
export const windowFirstDay = (asOfDay: UtcDay, windowDays: number): UtcDay => asOfDay - windowDays + 1;

/**
 * The ticket a ticket's open or close is about; null for any other activity. One opened without a ticketId is a ticket
 * of its own, named by its eventId, which nothing can close: it stops counting once its event leaves the horizon.
 */
export const ticketOf = (event: ActivityEvent): string | null =>
  event.activityType === 'SUPPORT_TICKET_OPENED' || event.activityType === 'SUPPORT_TICKET_CLOSED' ? (event.ticketId ?? event.eventId) : null;

/** Activities in which the customer reaches out or talks with us: `lastInboundAt` is the latest of them. */
export const INBOUND_ACTIVITY_TYPES: readonly ActivityType[] = ['EMAIL_RECEIVED', 'CALL', 'MEETING'];

/**
 * The customer's own signs of life: its replies, conversations, product use, support requests and survey answers. What
 * we do (our emails, follow-up tasks, the CSM's sentiment, a ticket closed by support) is left out, so that mailing a
 * silent account does not end its silence: `lastCustomerActivityAt` is the latest of them, and silence counts from it.
 */
export const CUSTOMER_ACTIVITY_TYPES: readonly ActivityType[] = ['EMAIL_RECEIVED', 'CALL', 'MEETING', 'PRODUCT_USAGE', 'SUPPORT_TICKET_OPENED', 'NPS_RESPONSE'];

/** Distinct activity events of one type on one UTC day, and the sum of their `value` (usage quantity). */
export interface ActivityDayBucket {
  day: UtcDay;
  type: ActivityType;
  count: number;
  /** Σ value over the bucket's events (product-usage quantity); 0 when none carried a value. */
  valueSum: number;
}

/** Latest-state-wins record: the event with the greatest (occurredAt, eventId) is the entity's state. */
export interface LatestWins {
  occurredAt: number;
  eventId: string;
}

export interface OpportunityState extends LatestWins {
  opportunityId: string;
  stage: OpportunityStage;
  amount: number;
  /** Explicit probability from the event, or null for the stage default. */
  probability: number | null;
  openQuotes: number | null;
}

export interface ContractState extends LatestWins {
  contractId: string;
  contractType: ContractType;
  totalValue: number;
  startDate: number;
  endDate: number;
  status: ContractStatus;
}

export interface TicketState extends LatestWins {
  /** The event's ticketId, or its eventId when the CRM sent none (such a ticket can never be closed). */
  ticketId: string;
  open: boolean;
}

export interface LatestValue extends LatestWins {
  value: number;
}

/**
 * Everything the product holds about one customer, as read back from Redis. Built only from
 * commutative, idempotent updates, so any delivery order of the same events gives the same state.
 */
export interface CustomerState {
  customerId: string;
  segment: string | null;
  /** Buckets inside the retention horizon only. */
  activityDays: ActivityDayBucket[];
  /**
   * UTC days with at least one SLA breach, and how many: a ticket's breach on the day of its first event flagged
   * `slaBreached` (once per ticket, however many of its events carry the flag), an event of no ticket on its own day.
   * Sorted by day (slaBreachDaysOf).
   */
  slaBreachDays: Array<{ day: UtcDay; count: number }>;
  lastActivityAt: number | null;
  lastInboundAt: number | null;
  /**
   * The latest occurredAt of CUSTOMER_ACTIVITY_TYPES, or null when the store holds none (none applied, or a state applied
   * before 2026-12-07: its day buckets stand in, computeInsights' `lastCustomerActivityAt`).
   */
  lastCustomerActivityAt: number | null;
  /**
   * The earliest startDate any of its contract events carried, or null when the store holds none (no contract event, or
   * a state applied before 2026-12-05): a contract renewed with the new term's dates keeps only those in `contracts`.
   */
  earliestContractStart: number | null;
  opportunities: OpportunityState[];
  contracts: ContractState[];
  tickets: TicketState[];
  latestNps: LatestValue | null;
  latestCsmSentiment: LatestValue | null;
  /** Incremented by every applied (non-duplicate) event; guards score writes against stale instances. */
  revision: number;
}

/**
 * slaBreachDays from its two sources: the flagged events of no ticket counted per day (`eventDays`, sorted by day), and
 * the instant of each visible ticket's first breach; days before `firstDay` (the retention horizon) are left out.
 */
export function slaBreachDaysOf(eventDays: ReadonlyArray<{ day: UtcDay; count: number }>, ticketBreaches: Iterable<number>, firstDay: UtcDay): Array<{ day: UtcDay; count: number }> {
  const counts = new Map<UtcDay, number>();
  for (const { day, count } of eventDays) counts.set(day, count);
  let counted = false;
  for (const occurredAt of ticketBreaches) {
    const day = utcDay(occurredAt);
    if (day < firstDay) continue;
    counts.set(day, (counts.get(day) ?? 0) + 1);
    counted = true;
  }
  if (!counted) return [...eventDays];
  return [...counts].sort(([a], [b]) => a - b).map(([day, count]) => ({ day, count }));
}
