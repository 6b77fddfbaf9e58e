// Translates one input event into the commutative operations the applyEvents Lua script performs.
// Keeping the event semantics here (pure, unit-tested) leaves the script a small generic engine:
// latest-wins and earliest-wins records, maxima, minima and day-bucket counters, each of which gives the same result in
// any order.
import { CLOSED_OPPORTUNITY_STAGES, CUSTOMER_ACTIVITY_TYPES, INBOUND_ACTIVITY_TYPES, USAGE_SUM_SCALE, ticketOf, utcDay } from '@churnscore/domain';
import type { ActivityEvent, ActivityType, InputEvent, OpportunityStage } from '@churnscore/domain';
import {
  ACTIVITY_COUNTER,
  LAST_BUCKET_DAY,
  LATEST_VALUE_ID,
  SLA_BREACH_COUNTER,
  STATE_FIELD,
  USAGE_SUM_COUNTER,
  entityField,
  type ContractPayload,
  type LatestRecord,
  type OpportunityPayload,
  type SegmentPayload,
  type SlaBreachRecord,
  type TicketPayload,
  type ValuePayload,
  ticketRankId,
} from './layout';

export type ApplyOp =
  /** Keep `record` in line `field` of the ent string unless the stored record has a greater (occurredAt, eventId). */
  | { op: 'latest'; field: string; record: string }
  /** Keep `record` in line `field` of the ent string unless the stored record has a smaller (occurredAt, eventId) or `record` is past the horizon. */
  | { op: 'earliest'; field: string; record: string }
  /** Keep the greater of the stored number and `value`. */
  | { op: 'max'; field: string; value: number }
  /** Keep the smaller of the stored number and `value`. */
  | { op: 'min'; field: string; value: number }
  /** Add `amount` to counter `counter` of the UTC day bucket `day` (skipped past the retention horizon). */
  | { op: 'add'; day: number; counter: string; amount: number };

/**
 * Each operation's opcode and how many values follow it in the script's packed events: opsAsValues writes
 * them, and applyEvents-5.lua decodes by this table (it is substituted into the script as OP).
 */
export const APPLY_OP = {
  latest: { opcode: 'L', arguments: 2 },
  earliest: { opcode: 'E', arguments: 2 },
  max: { opcode: 'M', arguments: 2 },
  min: { opcode: 'N', arguments: 2 },
  add: { opcode: 'A', arguments: 3 },
} as const satisfies { [Op in ApplyOp['op']]: { opcode: string; arguments: number } };

const INBOUND_TYPES: ReadonlySet<ActivityType> = new Set(INBOUND_ACTIVITY_TYPES);
const CUSTOMER_TYPES: ReadonlySet<ActivityType> = new Set(CUSTOMER_ACTIVITY_TYPES);
const CLOSED_STAGES: ReadonlySet<OpportunityStage> = new Set(CLOSED_OPPORTUNITY_STAGES);
const LATEST_VALUE_FIELD: Partial<Record<ActivityType, string>> = {
  NPS_RESPONSE: entityField('value', LATEST_VALUE_ID.latestNps),
  CSM_SENTIMENT: entityField('value', LATEST_VALUE_ID.latestCsmSentiment),
};

/** `rankId` breaks a tie on occurredAt: the eventId, or for a ticket its phase and eventId (`ticketRankId`). */
function latest<P extends unknown[]>(field: string, event: InputEvent, agesOut: boolean, payload: P, rankId = event.eventId): ApplyOp {
  const record: LatestRecord<P> = [event.occurredAt, rankId, agesOut ? 1 : 0, ...payload];
  return { op: 'latest', field, record: JSON.stringify(record) };
}

function activityOps(event: ActivityEvent): ApplyOp[] {
  const day = utcDay(event.occurredAt);
  if (day < 0 || day > LAST_BUCKET_DAY) throw new RangeError(`occurredAt ${event.occurredAt} is outside the days a bucket can name`);
  const ops: ApplyOp[] = [
    { op: 'add', day, counter: ACTIVITY_COUNTER[event.activityType], amount: 1 },
    { op: 'max', field: STATE_FIELD.lastActivityAt, value: event.occurredAt },
  ];
  if (INBOUND_TYPES.has(event.activityType)) {
    ops.push({ op: 'max', field: STATE_FIELD.lastInboundAt, value: event.occurredAt });
  }
  if (CUSTOMER_TYPES.has(event.activityType)) {
    ops.push({ op: 'max', field: STATE_FIELD.lastCustomerActivityAt, value: event.occurredAt });
  }
  const ticketId = ticketOf(event);
  // A breach counts once per ticket, on the day of the ticket's first flagged event; an event of no ticket is a breach of its own.
  if (event.slaBreached && ticketId === null) ops.push({ op: 'add', day, counter: SLA_BREACH_COUNTER, amount: 1 });
  if (event.activityType === 'PRODUCT_USAGE' && event.value) {
    ops.push({ op: 'add', day, counter: USAGE_SUM_COUNTER, amount: Math.round(event.value * USAGE_SUM_SCALE) });
  }
  if (ticketId !== null) {
    // Even an open ticket stops counting once its last event leaves the horizon: one opened without a
    // ticketId can never be closed. Its record first: the breach record goes with it (layout.ts, SlaBreachRecord).
    const open = event.activityType === 'SUPPORT_TICKET_OPENED';
    ops.push(latest<TicketPayload>(entityField('ticket', ticketId), event, true, [open ? 1 : 0], ticketRankId(open, event.eventId)));
    if (event.slaBreached) {
      const breach: SlaBreachRecord = [event.occurredAt, event.eventId, 0];
      ops.push({ op: 'earliest', field: entityField('slaBreach', ticketId), record: JSON.stringify(breach) });
    }
  }
  const valueField = LATEST_VALUE_FIELD[event.activityType];
  if (valueField !== undefined && event.value !== null) {
    ops.push(latest<ValuePayload>(valueField, event, false, [event.value]));
  }
  return ops;
}

export function opsForEvent(event: InputEvent): ApplyOp[] {
  switch (event.kind) {
    case 'activity':
      return activityOps(event);
    case 'opportunity':
      return [
        latest<OpportunityPayload>(entityField('opportunity', event.opportunityId), event, CLOSED_STAGES.has(event.stage), [
          event.stage,
          event.amount,
          event.probability,
          event.openQuotes,
        ]),
      ];
    case 'contract':
      // Never age out: contracts of any status decide PROSPECT vs CHURNED for the customer's whole life, and a
      // customer has few of them. The earliest start any of its events carried is kept apart: a renewal recorded on
      // the same contract with the new term's dates replaces the record, and the customer's tenure with it.
      return [
        latest<ContractPayload>(entityField('contract', event.contractId), event, false, [
          event.contractType,
          event.totalValue,
          event.startDate,
          event.endDate,
          event.status,
        ]),
        { op: 'min', field: STATE_FIELD.earliestContractStart, value: event.startDate },
      ];
    case 'customer':
      if (event.erase) throw new RangeError('an erasure request is not applied: call eraseCustomer');
      return [latest<SegmentPayload>(entityField('value', LATEST_VALUE_ID.segment), event, false, [event.segment])];
  }
}

/** How many values opsAsValues writes for `ops`. */
export function opsValueCount(ops: readonly ApplyOp[]): number {
  let count = 0;
  for (const op of ops) count += 1 + APPLY_OP[op.op].arguments;
  return count;
}

/**
 * One event's operations as the values the script reads, appended to `values` (format in the header of lua/applyEvents-5.lua). A maximum
 * travels as text because the script stores it as given; a day and an amount, which it only computes with, as numbers.
 */
export function opsAsValues<V>(ops: readonly ApplyOp[], values: Array<V | string | number> = []): Array<V | string | number> {
  // Appended to the caller's array in a loop, not flatMap: this runs for every event, and an array per operation,
  // or per event, was garbage.
  for (const op of ops) {
    switch (op.op) {
      case 'latest':
      case 'earliest':
        values.push(APPLY_OP[op.op].opcode, op.field, op.record);
        break;
      case 'max':
      case 'min':
        values.push(APPLY_OP[op.op].opcode, op.field, String(op.value));
        break;
      case 'add':
        values.push(APPLY_OP.add.opcode, op.day, op.counter, op.amount);
        break;
    }
  }
  return values;
}
