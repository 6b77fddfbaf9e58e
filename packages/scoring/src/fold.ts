// The event fold in pure TypeScript: the CustomerState the scorer reads back from Redis after the state store
// applied the same events with the same clocks (packages/state: apply-ops.ts, lua/applyEvents-5.lua,
// read-state.ts), built without Redis. Training computes features as of any past instant with it, through the
// same computeInsights the scorer runs; test/state/fold.test.ts checks it equal to the store on random events.
import {
  ACTIVITY_TYPES,
  CLOSED_OPPORTUNITY_STAGES,
  INBOUND_ACTIVITY_TYPES,
  CUSTOMER_ACTIVITY_TYPES,
  USAGE_SUM_SCALE,
  slaBreachDaysOf,
  dedupeKey,
  ticketOf,
  utcDay,
  windowFirstDay,
  type ActivityEvent,
  type ActivityType,
  type ContractState,
  type CustomerState,
  type InputEvent,
  type LatestValue,
  type OpportunityStage,
  type OpportunityState,
  type TicketState,
  type UtcDay,
} from '@churnscore/domain';
import { compareStrings } from './numeric';

export interface FoldOptions {
  /** The scorer's RETENTION_DAYS: day buckets, tickets and closed deals older than this stop counting. */
  retentionDays: number;
  /** The scorer's DEDUPE_WINDOW_DAYS: how long after its arrival a repeated eventId is recognised. */
  dedupeWindowDays: number;
  /** The scorer's MAX_ENTITIES_PER_CUSTOMER: tickets, opportunities and contracts together, past which an event adding one is refused. */
  maxEntities: number;
}

/**
 * What applying one event did, as the store reports it (`erased`: an erasure request emptied the state; `refused`: it
 * would have added a ticket, opportunity or contract past maxEntities, and the scorer sent it to the DLQ;
 * `predatesErasure`: it occurred at or before the customer's latest erasure request, and is not applied;
 * `erasureSuperseded`: an erasure request no later than the latest one, the customer having come back since, which
 * erases nothing).
 */
export type FoldOutcome = 'applied' | 'duplicate' | 'refused' | 'erased' | 'erasureSuperseded' | 'predatesErasure';

/** An event and the clock the store applied it with: the scorer's `now` when it arrived, or a replayed record's timestamp. */
export interface ReceivedEvent {
  event: InputEvent;
  /** Default (in foldEvents): the fold's asOf, as when a whole backlog is loaded at once. */
  receivedAt?: number;
}

/**
 * The rank of a latest-wins record: (occurredAt, phase, eventId), eventIds compared as UTF-8 bytes like the Lua
 * script compares them. `phase` is 1 for a ticket's close and 0 otherwise: a close never precedes its open, so at
 * the same instant it outranks the open whatever the eventIds (layout.ts, ticketRankId).
 */
interface Latest<T> {
  occurredAt: number;
  phase: 0 | 1;
  eventId: string;
  /** Stops counting once older than the retention horizon (tickets, closed deals); it still outranks what it outranked. */
  agesOut: boolean;
  value: T;
}

/** The store compares eventIds byte by byte in UTF-8, i.e. by code point; JavaScript's < compares UTF-16 units. */
const codePointRank = (unit: number): number => (unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit);
export function compareUtf8(a: string, b: string): number {
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

const outranks = (record: Latest<unknown>, stored: Latest<unknown>): boolean =>
  record.occurredAt !== stored.occurredAt
    ? record.occurredAt > stored.occurredAt
    : record.phase !== stored.phase
      ? record.phase > stored.phase
      : compareUtf8(record.eventId, stored.eventId) > 0;

function offer<T>(records: Map<string, Latest<T>>, id: string, record: Latest<T>): void {
  const stored = records.get(id);
  if (stored === undefined || outranks(record, stored)) records.set(id, record);
}

/** Counters of one UTC day: distinct events per activity type, SLA breaches, and Σ usage in thousandths. */
interface DayCounters {
  activity: Map<ActivityType, number>;
  slaBreaches: number;
  usageThousandths: number;
}

const INBOUND: ReadonlySet<ActivityType> = new Set(INBOUND_ACTIVITY_TYPES);
const CUSTOMER: ReadonlySet<ActivityType> = new Set(CUSTOMER_ACTIVITY_TYPES);
const CLOSED: ReadonlySet<OpportunityStage> = new Set(CLOSED_OPPORTUNITY_STAGES);
const TYPE_ORDER = new Map(ACTIVITY_TYPES.map((type, index) => [type, index]));
const MS_PER_HOUR = 3_600_000;

type OpportunityFields = Omit<OpportunityState, 'opportunityId' | 'occurredAt' | 'eventId'>;
type ContractFields = Omit<ContractState, 'contractId' | 'occurredAt' | 'eventId'>;

interface FoldData {
  revision: number;
  lastActivityAt: number | null;
  lastInboundAt: number | null;
  lastCustomerActivityAt: number | null;
  earliestContractStart: number | null;
  /** The UTC day of the latest clock applied: reads must be as of it or later. */
  latestClockDay: UtcDay | null;
  days: Map<UtcDay, DayCounters>;
  tickets: Map<string, Latest<boolean>>;
  /** Each ticket's first SLA breach, its earliest flagged event (the store's earliest-wins `b` records): kept while its ticket is. */
  ticketBreaches: Map<string, Latest<null>>;
  opportunities: Map<string, Latest<OpportunityFields>>;
  contracts: Map<string, Latest<ContractFields>>;
  /** The customer's latest-wins values: segment, NPS, CSM sentiment. */
  values: Map<'segment' | 'nps' | 'csm', Latest<string | number | null>>;
  /** The dedupe window: arrival hour and dedupeKey, in arrival order, as the store's `seen` string holds them. */
  seen: Array<{ hour: number; eventId: string }>;
  seenIds: Set<string>;
}

const emptyData = (): FoldData => ({
  revision: 0,
  lastActivityAt: null,
  lastInboundAt: null,
  lastCustomerActivityAt: null,
  earliestContractStart: null,
  latestClockDay: null,
  days: new Map(),
  tickets: new Map(),
  ticketBreaches: new Map(),
  opportunities: new Map(),
  contracts: new Map(),
  values: new Map(),
  seen: [],
  seenIds: new Set(),
});

const later = (stored: number | null, occurredAt: number): number => (stored === null ? occurredAt : Math.max(stored, occurredAt));
const earlier = (stored: number | null, instant: number): number => (stored === null ? instant : Math.min(stored, instant));

/**
 * One customer's state, event by event: the store's apply (per event: dedupe window, retention horizon,
 * latest-wins records, maxima, day buckets; an erasure empties it, as eraseCustomer does, and events from before it
 * are not applied afterwards), then read back as of
 * an instant the way read-state.ts reads Redis. A mutable accumulator, so a backfill walks a customer's history
 * once and reads it as of each date on the way.
 *
 * The store forgets what leaves the retention horizon of the clocks it applies with, so a state can be read as
 * of the UTC day of the latest clock applied or later (the scorer always reads as of now). Kafka redeliveries
 * (the offset watermarks) are not modelled: a history holds each record once.
 */
export class CustomerFold {
  private data = emptyData();
  /** When the latest erasure request occurred (as the state hash's erasedTo, which an erasure keeps), or null. */
  private erasedTo: number | null = null;

  constructor(
    readonly customerId: string,
    private readonly options: FoldOptions,
  ) {}

  apply(event: InputEvent, receivedAt: number): FoldOutcome {
    if (event.customerId !== this.customerId) throw new RangeError('an event of another customer cannot join this fold');
    if (event.kind === 'customer' && event.erase) {
      // No later than the latest erasure, the customer having come back since: nothing to erase (as eraseCustomer).
      if (this.erasedTo !== null && event.occurredAt <= this.erasedTo && this.data.revision > 0) return 'erasureSuperseded';
      this.data = emptyData();
      this.erasedTo = later(this.erasedTo, event.occurredAt);
      return 'erased';
    }
    if (this.erasedTo !== null && event.occurredAt <= this.erasedTo) return 'predatesErasure';
    if (this.isDuplicate(dedupeKey(event), receivedAt)) return 'duplicate';
    const clockDay = utcDay(receivedAt);
    this.advanceClock(clockDay);
    if (this.addsEntityPastLimit(event, clockDay)) return 'refused';
    this.remember(dedupeKey(event), receivedAt);
    this.data.revision += 1;
    switch (event.kind) {
      case 'activity':
        this.applyActivity(event, clockDay);
        break;
      case 'opportunity': {
        const { stage, amount, probability, openQuotes } = event;
        offer(this.data.opportunities, event.opportunityId, latest(event, CLOSED.has(stage), { stage, amount, probability, openQuotes }));
        break;
      }
      case 'contract': {
        const { contractType, totalValue, startDate, endDate, status } = event;
        // Never ages out: contracts decide PROSPECT vs CHURNED for the customer's whole life. The earliest start is kept
        // apart, as the store does: a renewal recorded with the new term's dates replaces the contract's record.
        offer(this.data.contracts, event.contractId, latest(event, false, { contractType, totalValue, startDate, endDate, status }));
        this.data.earliestContractStart = earlier(this.data.earliestContractStart, startDate);
        break;
      }
      case 'customer':
        offer(this.data.values, 'segment', latest(event, false, event.segment));
        break;
    }
    return 'applied';
  }

  /** The CustomerState Redis would return as of `asOf`: only what lies inside its retention horizon. */
  stateAsOf(asOf: number): CustomerState {
    const { data } = this;
    if (data.latestClockDay !== null && utcDay(asOf) < data.latestClockDay) {
      throw new RangeError('a fold can be read as of the day of its latest clock or later: the store keeps nothing older');
    }
    const firstDay = this.horizonDay(utcDay(asOf));
    const counts = (record: Latest<unknown>): boolean => !record.agesOut || utcDay(record.occurredAt) >= firstDay;
    const visible = <T>(records: Map<string, Latest<T>>): Array<[string, Latest<T>]> =>
      [...records].filter(([, record]) => counts(record)).sort(([a], [b]) => compareStrings(a, b));
    const latestValue = (id: 'nps' | 'csm'): LatestValue | null => {
      const record = data.values.get(id);
      return record ? { occurredAt: record.occurredAt, eventId: record.eventId, value: record.value as number } : null;
    };
    const days = [...data.days].filter(([day]) => day >= firstDay).sort(([a], [b]) => a - b);
    return {
      customerId: this.customerId,
      segment: (data.values.get('segment')?.value as string | null | undefined) ?? null,
      activityDays: days.flatMap(([day, counters]) =>
        [...counters.activity]
          .sort(([a], [b]) => (TYPE_ORDER.get(a) ?? 0) - (TYPE_ORDER.get(b) ?? 0))
          .map(([type, count]) => ({ day, type, count, valueSum: type === 'PRODUCT_USAGE' ? counters.usageThousandths / USAGE_SUM_SCALE : 0 })),
      ),
      slaBreachDays: slaBreachDaysOf(
        days.filter(([, counters]) => counters.slaBreaches > 0).map(([day, counters]) => ({ day, count: counters.slaBreaches })),
        visible(data.tickets).flatMap(([ticketId]) => data.ticketBreaches.get(ticketId)?.occurredAt ?? []),
        firstDay,
      ),
      lastActivityAt: data.lastActivityAt,
      lastInboundAt: data.lastInboundAt,
      lastCustomerActivityAt: data.lastCustomerActivityAt,
      earliestContractStart: data.earliestContractStart,
      opportunities: visible(data.opportunities).map(([opportunityId, { occurredAt, eventId, value }]): OpportunityState => ({
        opportunityId,
        occurredAt,
        eventId,
        ...value,
      })),
      contracts: visible(data.contracts).map(([contractId, { occurredAt, eventId, value }]): ContractState => ({ contractId, occurredAt, eventId, ...value })),
      tickets: visible(data.tickets).map(([ticketId, { occurredAt, eventId, value }]): TicketState => ({ ticketId, occurredAt, eventId, open: value })),
      latestNps: latestValue('nps'),
      latestCsmSentiment: latestValue('csm'),
      revision: data.revision,
    };
  }

  private horizonDay(day: UtcDay): UtcDay {
    return windowFirstDay(day, this.options.retentionDays);
  }

  /**
   * The store's dedupe window: arrivals older than the window (plus an hour, its granularity) are forgotten
   * first, from the front of the arrival-ordered list up to the first one still inside it; then the eventId is
   * looked up. It is remembered (`remember`) only once the event is applied.
   */
  private isDuplicate(eventId: string, receivedAt: number): boolean {
    const { seen, seenIds } = this.data;
    const oldestKeptHour = Math.floor(receivedAt / MS_PER_HOUR) - this.options.dedupeWindowDays * 24 - 1;
    let forgotten = 0;
    while (forgotten < seen.length && seen[forgotten]!.hour < oldestKeptHour) seenIds.delete(seen[forgotten++]!.eventId);
    seen.splice(0, forgotten);
    return seenIds.has(eventId);
  }

  private remember(eventId: string, receivedAt: number): void {
    this.data.seen.push({ hour: Math.floor(receivedAt / MS_PER_HOUR), eventId });
    this.data.seenIds.add(eventId);
  }

  /**
   * Like the store's daily sweep: day buckets that left the horizon of the latest clock can never be read again, and
   * tickets that left it are forgotten (the store drops their records, which no longer count towards maxEntities).
   */
  private advanceClock(day: UtcDay): void {
    if (this.data.latestClockDay !== null && day <= this.data.latestClockDay) return;
    this.data.latestClockDay = day;
    const firstDay = this.horizonDay(day);
    for (const bucketDay of this.data.days.keys()) if (bucketDay < firstDay) this.data.days.delete(bucketDay);
    for (const [ticketId, ticket] of this.data.tickets) if (this.agedOut(ticket, day)) this.data.tickets.delete(ticketId);
    for (const ticketId of this.data.ticketBreaches.keys()) if (!this.data.tickets.has(ticketId)) this.data.ticketBreaches.delete(ticketId);
  }

  /** Whether a record that ages out has left the retention horizon of a clock on `clockDay`. */
  private agedOut(record: Latest<unknown>, clockDay: UtcDay): boolean {
    return record.agesOut && utcDay(record.occurredAt) < this.horizonDay(clockDay);
  }

  /**
   * The store's bound: whether the event would add a ticket, opportunity or contract (one the customer has no record
   * of, and for a ticket one not aged out already, which the store would not keep) to maxEntities of them.
   */
  private addsEntityPastLimit(event: InputEvent, clockDay: UtcDay): boolean {
    const { tickets, opportunities, contracts } = this.data;
    const ticketId = event.kind === 'activity' ? ticketOf(event) : null;
    const adds =
      event.kind === 'opportunity'
        ? !opportunities.has(event.opportunityId)
        : event.kind === 'contract'
          ? !contracts.has(event.contractId)
          : ticketId !== null && !tickets.has(ticketId) && !this.agedOut(latest(event, true, null), clockDay);
    return adds && tickets.size + opportunities.size + contracts.size >= this.options.maxEntities;
  }

  private applyActivity(event: ActivityEvent, clockDay: UtcDay): void {
    const { data } = this;
    data.lastActivityAt = later(data.lastActivityAt, event.occurredAt);
    if (INBOUND.has(event.activityType)) data.lastInboundAt = later(data.lastInboundAt, event.occurredAt);
    if (CUSTOMER.has(event.activityType)) data.lastCustomerActivityAt = later(data.lastCustomerActivityAt, event.occurredAt);
    const ticketId = ticketOf(event);
    this.countOnDay(event, ticketId);
    if (ticketId !== null) {
      const open = event.activityType === 'SUPPORT_TICKET_OPENED';
      const record: Latest<boolean> = { ...latest(event, true, open), phase: open ? 0 : 1 };
      const stored = data.tickets.get(ticketId);
      // As the store does: a record aged out as of its clock is not kept, and where it wins it takes the one it outranks along.
      if (stored === undefined || outranks(record, stored)) {
        if (this.agedOut(record, clockDay)) data.tickets.delete(ticketId);
        else data.tickets.set(ticketId, record);
      }
      // Its first breach, as the store keeps it: earliest wins, and a breach already past the horizon is not kept.
      const breach = latest(event, true, null);
      const firstBreach = data.ticketBreaches.get(ticketId);
      if (event.slaBreached && !this.agedOut(breach, clockDay) && (firstBreach === undefined || outranks(firstBreach, breach))) {
        data.ticketBreaches.set(ticketId, breach);
      }
    }
    const valueId = event.activityType === 'NPS_RESPONSE' ? 'nps' : event.activityType === 'CSM_SENTIMENT' ? 'csm' : null;
    if (valueId !== null && event.value !== null) offer(data.values, valueId, latest(event, false, event.value));
  }

  /** An event on a day before the horizon changes no window. */
  private countOnDay(event: ActivityEvent, ticketId: string | null): void {
    const day = utcDay(event.occurredAt);
    if (day < this.horizonDay(this.data.latestClockDay ?? day)) return;
    const counters = this.data.days.get(day) ?? { activity: new Map(), slaBreaches: 0, usageThousandths: 0 };
    this.data.days.set(day, counters);
    counters.activity.set(event.activityType, (counters.activity.get(event.activityType) ?? 0) + 1);
    // A ticket's breach counts once, on its first breach's day (stateAsOf); an event of no ticket is a breach of its own.
    if (event.slaBreached && ticketId === null) counters.slaBreaches += 1;
    if (event.activityType === 'PRODUCT_USAGE' && event.value) counters.usageThousandths += Math.round(event.value * USAGE_SUM_SCALE);
  }
}

const latest = <T>(event: InputEvent, agesOut: boolean, value: T): Latest<T> => ({
  occurredAt: event.occurredAt,
  phase: 0,
  eventId: event.eventId,
  agesOut,
  value,
});

/**
 * A customer's state as of `asOf` after the store applied `events` in the order given, each with its
 * `receivedAt` clock (default `asOf`: a backlog loaded at once). `computeInsights(foldEvents(…), asOf, …)` is
 * what the scorer computes from Redis for the same events.
 */
export function foldEvents(customerId: string, events: Iterable<ReceivedEvent>, options: FoldOptions & { asOf: number }): CustomerState {
  const fold = new CustomerFold(customerId, options);
  for (const { event, receivedAt = options.asOf } of events) fold.apply(event, receivedAt);
  return fold.stateAsOf(options.asOf);
}
