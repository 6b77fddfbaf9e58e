// The validated domain shape of every event, shared by the producers, the scorer and the tests.
// Times are epoch milliseconds (UTC); Avro timestamp-millis / date values are converted at the serde edge.

export const ACTIVITY_TYPES = [
  'EMAIL_SENT',
  'EMAIL_RECEIVED',
  'CALL',
  'MEETING',
  'FOLLOW_UP_TASK',
  'SUPPORT_TICKET_OPENED',
  'SUPPORT_TICKET_CLOSED',
  'PRODUCT_USAGE',
  'NPS_RESPONSE',
  'CSM_SENTIMENT',
] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

export const OPPORTUNITY_STAGES = ['LEAD', 'QUALIFIED', 'PROPOSAL', 'NEGOTIATION', 'CLOSED_WON', 'CLOSED_LOST'] as const;
export type OpportunityStage = (typeof OPPORTUNITY_STAGES)[number];
/** Stages that end a deal: its last state, which the state store lets age out with the retention horizon. */
export const CLOSED_OPPORTUNITY_STAGES: readonly OpportunityStage[] = ['CLOSED_WON', 'CLOSED_LOST'];

export const CONTRACT_TYPES = ['SALES', 'SERVICE', 'SUBSCRIPTION'] as const;
export type ContractType = (typeof CONTRACT_TYPES)[number];

export const CONTRACT_STATUSES = ['ACTIVE', 'RENEWED', 'EXPIRED', 'CANCELLED'] as const;
export type ContractStatus = (typeof CONTRACT_STATUSES)[number];
/** A contract whose latest status is one of these is active: the customer is a customer (the CRM decides when it ends). */
export const ACTIVE_CONTRACT_STATUSES: readonly ContractStatus[] = ['ACTIVE', 'RENEWED'];

/** Fields every input event carries. */
export interface EventEnvelope {
  /** Unique per logical event; a repeated eventId of the same customer counts once within the dedupe window. */
  eventId: string;
  /** 1–128 characters; also the Kafka message key. */
  customerId: string;
  /** Event time, epoch ms. */
  occurredAt: number;
  /** Name of the publishing system. */
  source: string;
}

export interface ActivityEvent extends EventEnvelope {
  kind: 'activity';
  activityType: ActivityType;
  /** NPS 0–10, CSM sentiment −2…+2, product-usage quantity; null when not applicable. */
  value: number | null;
  ticketId: string | null;
  slaBreached: boolean | null;
}

export interface OpportunityEvent extends EventEnvelope {
  kind: 'opportunity';
  opportunityId: string;
  stage: OpportunityStage;
  amount: number;
  currency: string;
  /** 0–1; null means the stage default applies. */
  probability: number | null;
  openQuotes: number | null;
}

export interface ContractEvent extends EventEnvelope {
  kind: 'contract';
  contractId: string;
  contractType: ContractType;
  totalValue: number;
  currency: string;
  /** UTC midnight of the start date, epoch ms. */
  startDate: number;
  /** UTC midnight of the end date, epoch ms. */
  endDate: number;
  status: ContractStatus;
}

export interface CustomerEvent extends EventEnvelope {
  kind: 'customer';
  segment: string | null;
  /** true: delete every piece of state held for this customer. */
  erase: boolean;
}

export type InputEvent = ActivityEvent | OpportunityEvent | ContractEvent | CustomerEvent;
export type InputEventKind = InputEvent['kind'];

/**
 * What the dedupe window remembers of an event: a repeated key counts once. An activity's eventId as it is; another
 * kind's with its kind before it, because a CRM's ids are often unique per table only: an opportunity whose id an
 * activity of the customer already had was taken for a copy of it and dropped (an outside tester's two per-table
 * exports lost every opportunity). Only activities are counted, so a copy of another kind applied again changes
 * nothing (latest wins); the activity's key stays the eventId, so windows written before keep their meaning.
 */
export const dedupeKey = (event: InputEvent): string => (event.kind === 'activity' ? event.eventId : `${event.kind}\u0000${event.eventId}`);
