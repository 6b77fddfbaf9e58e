import type { ActivityType } from './events';

export const WINDOWS_DAYS = [7, 30, 90, 365] as const;
export type WindowDays = (typeof WINDOWS_DAYS)[number];

/** A W-day window at T covers the UTC days day(T)−W+1 … day(T). */
export interface WindowedCounts {
  d7: number;
  d30: number;
  d90: number;
  d365: number;
}

/** The SPEC §4 "Insights" aggregates of one customer, evaluated as of `asOf`. */
export interface CustomerInsights {
  customerId: string;
  asOf: number;
  segment: string | null;
  activity: Record<ActivityType, WindowedCounts>;
  /** Σ PRODUCT_USAGE value per window. */
  usageQuantity: WindowedCounts;
  lastActivityAt: number | null;
  /** Latest EMAIL_RECEIVED, CALL or MEETING. */
  lastInboundAt: number | null;
  /** Latest of the customer's own activities (CUSTOMER_ACTIVITY_TYPES): silence counts from it. */
  lastCustomerActivityAt: number | null;

  openOpportunities: number;
  openPipelineAmount: number;
  /** Σ amount × probability over open opportunities. */
  weightedPipelineAmount: number;
  openQuotes: number;
  won365: number;
  wonAmount365: number;
  lost365: number;
  lostAmount365: number;
  /** won / (won + lost); null when both are 0. */
  winRate365: number | null;

  /** Contracts whose latest status is ACTIVE or RENEWED. */
  activeContracts: number;
  totalContractValue: number;
  /** Earliest endDate ≥ asOf among active contracts. */
  nextRenewalAt: number | null;
  cancelled365: number;
  /** Contracts ever seen (any status): 0 means a prospect. */
  contractsSeen: number;
  /** Earliest startDate of any contract; drives the onboarding lifecycle stage. */
  firstContractStartAt: number | null;

  openTickets: number;
  slaBreaches90: number;

  latestNps: number | null;
  latestCsmSentiment: number | null;
}
