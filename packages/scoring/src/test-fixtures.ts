// Builders shared by this package's unit tests (not exported from the package).
import {
  MS_PER_DAY,
  utcDay,
  type ActivityType,
  type ContractState,
  type CustomerState,
  type OpportunityState,
  type TicketState,
} from '@churnscore/domain';

export const DAY = MS_PER_DAY;
/** 2025-06-15 12:00 UTC: "now" in most tests. */
export const NOW = Date.UTC(2025, 5, 15, 12);
export const TODAY = utcDay(NOW);
export const RETENTION = { retentionDays: 400 };

export const emptyState = (overrides: Partial<CustomerState> = {}): CustomerState => ({
  customerId: 'customer-1',
  segment: 'SMB',
  activityDays: [],
  slaBreachDays: [],
  lastActivityAt: null,
  lastInboundAt: null,
  opportunities: [],
  contracts: [],
  tickets: [],
  latestNps: null,
  latestCsmSentiment: null,
  revision: 1,
  ...overrides,
});

/** An activity bucket `daysAgo` UTC days before TODAY (negative: in the future). */
export const bucket = (daysAgo: number, type: ActivityType, count = 1, valueSum = 0) => ({
  day: TODAY - daysAgo,
  type,
  count,
  valueSum,
});

let sequence = 0;
const nextEventId = (): string => `event-${String(++sequence).padStart(4, '0')}`;

export const opportunity = (overrides: Partial<OpportunityState> = {}): OpportunityState => ({
  opportunityId: 'opp-1',
  stage: 'PROPOSAL',
  amount: 10_000,
  probability: null,
  openQuotes: null,
  occurredAt: NOW - 10 * DAY,
  eventId: nextEventId(),
  ...overrides,
});

export const contract = (overrides: Partial<ContractState> = {}): ContractState => ({
  contractId: 'contract-1',
  contractType: 'SUBSCRIPTION',
  totalValue: 100_000,
  startDate: utcDay(NOW - 400 * DAY) * DAY,
  endDate: utcDay(NOW + 200 * DAY) * DAY,
  status: 'ACTIVE',
  occurredAt: NOW - 400 * DAY,
  eventId: nextEventId(),
  ...overrides,
});

export const ticket = (overrides: Partial<TicketState> = {}): TicketState => ({
  ticketId: 'ticket-1',
  open: true,
  occurredAt: NOW - 5 * DAY,
  eventId: nextEventId(),
  ...overrides,
});

/**
 * A healthy, established customer: a two-year-old contract renewing in 200 days, steady daily
 * product use, weekly meetings, customer replies, a promoter NPS and positive CSM sentiment.
 */
export const healthyState = (overrides: Partial<CustomerState> = {}): CustomerState =>
  emptyState({
    activityDays: [
      ...Array.from({ length: 120 }, (_, daysAgo) => bucket(daysAgo, 'PRODUCT_USAGE', 3, 30)),
      ...Array.from({ length: 17 }, (_, week) => bucket(week * 7, 'MEETING')),
      ...Array.from({ length: 17 }, (_, week) => bucket(week * 7 + 2, 'EMAIL_RECEIVED', 2)),
    ],
    lastActivityAt: NOW - 2 * 3_600_000,
    lastInboundAt: NOW - 2 * DAY,
    contracts: [contract({ startDate: utcDay(NOW - 730 * DAY) * DAY })],
    latestNps: { value: 9, occurredAt: NOW - 30 * DAY, eventId: 'nps-1' },
    latestCsmSentiment: { value: 1, occurredAt: NOW - 20 * DAY, eventId: 'csm-1' },
    ...overrides,
  });

/** The healthy customer's activity shifted `days` into the past: it has been silent since. */
export const silentFor = (days: number, state: CustomerState = healthyState()): CustomerState => ({
  ...state,
  activityDays: state.activityDays.map((entry) => ({ ...entry, day: entry.day - days })),
  lastActivityAt: NOW - days * DAY,
  lastInboundAt: NOW - days * DAY,
});
