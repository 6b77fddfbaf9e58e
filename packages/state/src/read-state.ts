// Decodes a customer's state hash, `act` and `ent` strings (as applyEvents-5.lua writes them) into the
// domain's CustomerState, as of a read time: only what lies inside the retention horizon is returned, so
// whether the daily sweep has already trimmed something never shows.
import { ACTIVITY_TYPES, MS_PER_DAY, slaBreachDaysOf, utcDay, windowFirstDay } from '@churnscore/domain';
import type {
  ActivityDayBucket,
  ActivityType,
  ContractState,
  ContractStatus,
  ContractType,
  CustomerState,
  LatestValue,
  OpportunityStage,
  OpportunityState,
  TicketState,
  UtcDay,
} from '@churnscore/domain';
import { percentDecode } from './keys';
import {
  ACTIVITY_COUNTER,
  DAYS_PER_LINE,
  ENTITY_KIND,
  LATEST_VALUE_ID,
  LINE_KEY_RADIX,
  LINE_KEY_WIDTH,
  RECORD_INDEX,
  SLA_BREACH_COUNTER,
  STATE_FIELD,
  TOMBSTONE_LENGTH,
  USAGE_SUM_COUNTER,
  type ContractPayload,
  type LatestRecord,
  type OpportunityPayload,
  type SegmentPayload,
  type SlaBreachRecord,
  type TicketPayload,
  type ValuePayload,
  eventIdOfTicketRank,
} from './layout';

/** First UTC day inside the retention horizon at `clock` (the same rule as applyEvents-5.lua). */
const horizonDay = (clock: number, retentionDays: number): UtcDay => windowFirstDay(utcDay(clock), retentionDays);

/** An HGETALL reply (flat field, value list) as an object. */
export function pairsToRecord(flat: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[flat[i] as string] = flat[i + 1] as string;
  return record;
}

/** The order a day's buckets sort in: ACTIVITY_TYPES'. */
const TYPE_ORDER = new Map(ACTIVITY_TYPES.map((type, index) => [type, index]));
/** The activity type of each counter letter, by its character code (a sparse array: a lookup per counter of every bucket). */
const TYPE_OF_COUNTER_CODE: Array<ActivityType | undefined> = [];
/** TYPE_ORDER of each counter letter's type, by its character code. */
const TYPE_ORDER_OF_COUNTER_CODE: number[] = [];
for (const [type, letter] of Object.entries(ACTIVITY_COUNTER)) {
  TYPE_OF_COUNTER_CODE[letter.charCodeAt(0)] = type as ActivityType;
  TYPE_ORDER_OF_COUNTER_CODE[letter.charCodeAt(0)] = TYPE_ORDER.get(type as ActivityType)!;
}
const SLA_BREACH_CODE = SLA_BREACH_COUNTER.charCodeAt(0);
const USAGE_SUM_CODE = USAGE_SUM_COUNTER.charCodeAt(0);
const BUCKET_SEPARATOR = ',';
const SEPARATOR_CODE = BUCKET_SEPARATOR.charCodeAt(0);
const [DIGIT_0, DIGIT_9, MINUS, POINT] = ['0', '9', '-', '.'].map((char) => char.charCodeAt(0)) as [number, number, number, number];

/** Lines of an `act` or `ent` string: each record is "\n" followed by the line. */
const lines = (blob: string | null): string[] => (blob ? blob.split('\n').slice(1) : []);

/**
 * Where the decoded lists stand, to tell whether they came out in order (they do when the string keeps the order
 * applyEvents-5.lua writes) without comparing every pair afterwards, two lookups of a Map each.
 */
interface DecodeOrder {
  day: UtcDay;
  typeOrder: number;
  slaDay: UtcDay;
  sorted: boolean;
}

/**
 * One day bucket's counters (from `line[from]` to the separator that ends the bucket or the line: a letter each,
 * then its amount, none meaning 1), appended to the state's lists; returns where the bucket ends. Scanned in place,
 * digits summed as they are read (a count is an integer; a usage sum with a point or a sign falls back to Number):
 * re-scoring reads every bucket of every due customer, and a regex match and a Map per bucket were a tenth of its
 * time and much of its garbage.
 */
function decodeBucket(
  line: string,
  from: number,
  day: UtcDay,
  activityDays: ActivityDayBucket[],
  slaBreachDays: Array<{ day: UtcDay; count: number }>,
  order: DecodeOrder,
): number {
  let usageSum = 0;
  let usageBucket: ActivityDayBucket | undefined;
  let at = from;
  while (at < line.length && line.charCodeAt(at) !== SEPARATOR_CODE) {
    const letter = line.charCodeAt(at);
    let end = at + 1;
    let amount = 0;
    let integer = true;
    for (let code = line.charCodeAt(end); end < line.length; code = line.charCodeAt(++end)) {
      if (code >= DIGIT_0 && code <= DIGIT_9) amount = amount * 10 + (code - DIGIT_0);
      else if (code === MINUS || code === POINT) integer = false;
      else break;
    }
    if (end === at + 1) amount = 1;
    else if (!integer) amount = Number(line.slice(at + 1, end));
    at = end;
    const type = TYPE_OF_COUNTER_CODE[letter];
    if (type !== undefined) {
      const typeOrder = TYPE_ORDER_OF_COUNTER_CODE[letter]!;
      if (day < order.day || (day === order.day && typeOrder < order.typeOrder)) order.sorted = false;
      order.day = day;
      order.typeOrder = typeOrder;
      const bucket: ActivityDayBucket = { day, type, count: amount, valueSum: 0 };
      activityDays.push(bucket);
      if (type === 'PRODUCT_USAGE') usageBucket = bucket;
    } else if (letter === SLA_BREACH_CODE) {
      if (day < order.slaDay) order.sorted = false;
      order.slaDay = day;
      slaBreachDays.push({ day, count: amount });
    } else if (letter === USAGE_SUM_CODE) {
      usageSum = amount;
    }
  }
  if (usageBucket !== undefined) usageBucket.valueSum = usageSum;
  return at;
}

const byDayAndType = (a: ActivityDayBucket, b: ActivityDayBucket): number => a.day - b.day || TYPE_ORDER.get(a.type)! - TYPE_ORDER.get(b.type)!;
const byDay = (a: { day: UtcDay }, b: { day: UtcDay }): number => a.day - b.day;

function decodeActivity(act: string | null, firstDay: UtcDay) {
  const activityDays: ActivityDayBucket[] = [];
  const slaBreachDays: Array<{ day: UtcDay; count: number }> = [];
  // Lines are stored in the order they were added, but their keys (fixed width, digits before letters) sort as
  // their periods do, and a bucket's counters are in letter order, which is ACTIVITY_TYPES' (layout.ts): decoded
  // line by line in key order, the buckets come out sorted. Sorting the buckets instead, some 600 for a year,
  // was a third of re-scoring's decoding; they are still sorted if a string does not keep that order.
  const order: DecodeOrder = { day: -Infinity, typeOrder: -1, slaDay: -Infinity, sorted: true };
  for (const line of lines(act).sort()) {
    const firstDayOfLine = parseInt(line.slice(0, LINE_KEY_WIDTH), LINE_KEY_RADIX) * DAYS_PER_LINE;
    if (firstDayOfLine + DAYS_PER_LINE <= firstDay) continue;
    // A bucket is scanned once, up to the separator that ends it; only days before the horizon are skipped by search.
    for (let at = LINE_KEY_WIDTH, day = firstDayOfLine; at <= line.length; day += 1) {
      if (day >= firstDay) {
        at = decodeBucket(line, at, day, activityDays, slaBreachDays, order) + 1;
      } else {
        const separator = line.indexOf(BUCKET_SEPARATOR, at);
        at = (separator === -1 ? line.length : separator) + 1;
      }
    }
  }
  if (!order.sorted) {
    activityDays.sort(byDayAndType);
    slaBreachDays.sort(byDay);
  }
  return { activityDays, slaBreachDays };
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function decodeLatestRecords(ent: string | null, horizonMs: number) {
  const opportunities: OpportunityState[] = [];
  const contracts: ContractState[] = [];
  const tickets: TicketState[] = [];
  const values = new Map<string, LatestRecord<unknown[]>>();
  const firstBreachOfTicket = new Map<string, number>();
  for (const line of lines(ent)) {
    const tab = line.indexOf('\t');
    const field = line.slice(0, tab);
    const record = JSON.parse(line.slice(tab + 1)) as unknown[];
    // A tombstone is [occurredAt, eventId] alone; an aged-out record past the horizon is one the sweep has not reached yet.
    if (record.length <= TOMBSTONE_LENGTH || (record[RECORD_INDEX.agesOut] === 1 && (record[RECORD_INDEX.occurredAt] as number) < horizonMs)) continue;
    const id = percentDecode(field.slice(2));
    switch (field[0]) {
      case ENTITY_KIND.ticket: {
        const [occurredAt, rankId, , open] = record as LatestRecord<TicketPayload>;
        tickets.push({ ticketId: id, occurredAt, eventId: eventIdOfTicketRank(rankId), open: open === 1 });
        break;
      }
      case ENTITY_KIND.opportunity: {
        const [occurredAt, eventId, , stage, amount, probability, openQuotes] = record as LatestRecord<OpportunityPayload>;
        opportunities.push({ opportunityId: id, occurredAt, eventId, stage: stage as OpportunityStage, amount, probability, openQuotes });
        break;
      }
      case ENTITY_KIND.contract: {
        const [occurredAt, eventId, , contractType, totalValue, startDate, endDate, status] = record as LatestRecord<ContractPayload>;
        contracts.push({
          contractId: id,
          occurredAt,
          eventId,
          contractType: contractType as ContractType,
          totalValue,
          startDate,
          endDate,
          status: status as ContractStatus,
        });
        break;
      }
      case ENTITY_KIND.value:
        values.set(id, record as LatestRecord<unknown[]>);
        break;
      case ENTITY_KIND.slaBreach:
        firstBreachOfTicket.set(id, (record as SlaBreachRecord)[RECORD_INDEX.occurredAt]);
        break;
    }
  }
  // A breach counts while its ticket does: the record of a ticket dropped since is left to the next sweep.
  const ticketBreaches: number[] = [];
  for (const { ticketId } of tickets) {
    const breachedAt = firstBreachOfTicket.get(ticketId);
    if (breachedAt !== undefined) ticketBreaches.push(breachedAt);
  }
  tickets.sort((a, b) => byId(a.ticketId, b.ticketId));
  opportunities.sort((a, b) => byId(a.opportunityId, b.opportunityId));
  contracts.sort((a, b) => byId(a.contractId, b.contractId));
  const latestValue = (id: string): LatestValue | null => {
    const record = values.get(id) as LatestRecord<ValuePayload> | undefined;
    return record ? { occurredAt: record[0], eventId: record[1], value: record[3] } : null;
  };
  const segment = values.get(LATEST_VALUE_ID.segment) as LatestRecord<SegmentPayload> | undefined;
  return {
    segment: segment ? segment[3] : null,
    opportunities,
    contracts,
    tickets,
    ticketBreaches,
    latestNps: latestValue(LATEST_VALUE_ID.latestNps),
    latestCsmSentiment: latestValue(LATEST_VALUE_ID.latestCsmSentiment),
  };
}

const numberOrNull = (text: string | undefined): number | null => (text === undefined ? null : Number(text));

export function decodeCustomerState(
  customerId: string,
  stateHash: Record<string, string>,
  act: string | null,
  ent: string | null,
  asOf: number,
  retentionDays: number,
): CustomerState {
  const firstDay = horizonDay(asOf, retentionDays);
  const { segment, opportunities, contracts, tickets, ticketBreaches, latestNps, latestCsmSentiment } = decodeLatestRecords(ent, firstDay * MS_PER_DAY);
  const { activityDays, slaBreachDays } = decodeActivity(act, firstDay);
  return {
    customerId,
    segment,
    activityDays,
    slaBreachDays: slaBreachDaysOf(slaBreachDays, ticketBreaches, firstDay),
    lastActivityAt: numberOrNull(stateHash[STATE_FIELD.lastActivityAt]),
    lastInboundAt: numberOrNull(stateHash[STATE_FIELD.lastInboundAt]),
    lastCustomerActivityAt: numberOrNull(stateHash[STATE_FIELD.lastCustomerActivityAt]),
    earliestContractStart: numberOrNull(stateHash[STATE_FIELD.earliestContractStart]),
    opportunities,
    contracts,
    tickets,
    latestNps,
    latestCsmSentiment,
    revision: Number(stateHash[STATE_FIELD.revision] ?? 0),
  };
}
