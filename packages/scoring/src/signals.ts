import type { ActivityType, CustomerInsights, WindowedCounts } from '@churnscore/domain';
import { LONGEST_WINDOW_DAYS, daysUntil, wholeDaysSince } from './calendar';
import type { ScoringConfig } from './config-schema';

/**
 * Activity types that show the customer engaging: their replies, live conversations and product
 * use. Our own outbound emails and follow-up tasks are left out on purpose, so a CSM mailing a
 * silent account cannot mask its decline; tickets, NPS and sentiment feed the support measures.
 */
export const ENGAGEMENT_ACTIVITY_TYPES: readonly ActivityType[] = ['EMAIL_RECEIVED', 'CALL', 'MEETING', 'PRODUCT_USAGE'];

/**
 * Time-dependent and derived quantities read by measures, churn features, lifecycle and alerts,
 * computed once per evaluation (evaluateCustomer hands the same signals to the score and to the alert
 * rules) so that all of them agree.
 */
export interface Signals {
  /**
   * Whole days since the customer's latest sign of life: its last own activity (CUSTOMER_ACTIVITY_TYPES: not our
   * emails, follow-up tasks or the CSM's sentiment), or the start of its first contract if that is later (a customer who just signed is not "silent" since long before
   * signing). null when neither exists.
   */
  silentDays: number | null;
  /**
   * Engagement events in the last 30 days ÷ the 30-day average of the 60 days before, when that
   * baseline holds enough events. Without one: 0 once the customer has been silent for 30 days
   * (engagement stopped; the baseline empties as silence goes on, and a trend that turned
   * "unknown" would make a longer silence look better), else null.
   */
  engagementTrend: number | null;
  /**
   * Product-usage quantity, the same ratio, when the baseline holds enough usage events. Without
   * one: 0 when usage stopped — none in the last 30 days although some in the last 365, or the
   * customer silent for the whole 365 days — else null (no usage telemetry for this customer).
   */
  usageTrend: number | null;
  /** Days until `nextRenewalAt`, rounded up; null when no active contract ends in the future. */
  daysToRenewal: number | null;
  /** Whole days since the first contract started; null for prospects, 0 before the start date. */
  tenureDays: number | null;
}

/** The instant silence is measured from (see `Signals.silentDays`), or null. */
export function silentSince(insights: CustomerInsights): number | null {
  const marks = [insights.lastCustomerActivityAt, insights.firstContractStartAt].filter((mark) => mark !== null);
  return marks.length === 0 ? null : Math.max(...marks);
}

/** The trend compares the last this-many days with the 60 days before them. */
export const TREND_RECENT_DAYS = 30;

/**
 * recent ÷ baseline, where recent = the last 30 days and baseline = the average 30 days of the 60
 * days before them (days 31–90). null with fewer than `minBaselineEvents` events in that baseline,
 * so a handful of events cannot swing it.
 */
function measuredTrend(amounts: WindowedCounts, events: WindowedCounts, minBaselineEvents: number): number | null {
  const baselinePer30Days = (amounts.d90 - amounts.d30) / 2;
  if (events.d90 - events.d30 < minBaselineEvents || baselinePer30Days <= 0) return null;
  return amounts.d30 / baselinePer30Days;
}

const NO_EVENTS: WindowedCounts = { d7: 0, d30: 0, d90: 0, d365: 0 };
const addWindows = (a: WindowedCounts, b: WindowedCounts): WindowedCounts => ({
  d7: a.d7 + b.d7,
  d30: a.d30 + b.d30,
  d90: a.d90 + b.d90,
  d365: a.d365 + b.d365,
});

/** Engagement events (ENGAGEMENT_ACTIVITY_TYPES) per window. */
export const engagementCounts = (insights: CustomerInsights): WindowedCounts =>
  ENGAGEMENT_ACTIVITY_TYPES.map((type) => insights.activity[type]).reduce(addWindows, NO_EVENTS);

function computeSignals(insights: CustomerInsights, now: number, minBaselineEvents: number): Signals {
  const since = silentSince(insights);
  const silentDays = since === null ? null : wholeDaysSince(since, now);
  const engagement = engagementCounts(insights);
  const usageEvents = insights.activity.PRODUCT_USAGE;
  const engagementStopped = silentDays !== null && silentDays >= TREND_RECENT_DAYS;
  const usageStopped =
    usageEvents.d30 === 0 && (usageEvents.d365 > 0 || (silentDays !== null && silentDays >= LONGEST_WINDOW_DAYS));
  return {
    silentDays,
    engagementTrend: measuredTrend(engagement, engagement, minBaselineEvents) ?? (engagementStopped ? 0 : null),
    usageTrend: measuredTrend(insights.usageQuantity, usageEvents, minBaselineEvents) ?? (usageStopped ? 0 : null),
    daysToRenewal: insights.nextRenewalAt === null ? null : daysUntil(insights.nextRenewalAt, now),
    tenureDays: insights.firstContractStartAt === null ? null : wholeDaysSince(insights.firstContractStartAt, now),
  };
}

/** The signals `config` scores with, as of `now`. */
export const signalsFor = (insights: CustomerInsights, config: ScoringConfig, now: number): Signals =>
  computeSignals(insights, now, config.engagementTrend.minBaselineEvents);
