import type { CustomerInsights } from '@churnscore/domain';
import type { Signals } from './signals';
import { engagementCounts } from './signals';

/** What a reader needs to know beyond the aggregates and signals. */
export interface MeasureReadContext {
  /** The customer is in its first `lifecycle.onboardingDays` (scorecard.ts isOnboarding). */
  onboarding: boolean;
}

type MeasureInputReader = (insights: CustomerInsights, signals: Signals, context: MeasureReadContext) => number | null;

/**
 * Activity-derived counts have data once any activity was ever recorded for the customer, or while it is onboarding.
 * A zero then means "nothing happened (yet)". For a customer of long standing with no activity ever recorded it would
 * mean "we do not know" (a product without an activity feed, or history not loaded) and must not drag the score down.
 * A customer that signed within the onboarding period has had little time to do anything, and its counts are the
 * truth so far: left out, its health would rest on the days since signing alone (100 on the day it signs), and its
 * first email, the first sign of engagement, would bring in the low counts of its first days and lower its health
 * (100 to 52 and HEALTH_BAND_DROPPED, found by an outside tester); counted, health starts low and rises as it engages.
 */
const whenActivityTracked =
  (read: (insights: CustomerInsights) => number): MeasureInputReader =>
  (insights, _signals, { onboarding }) =>
    insights.lastActivityAt === null && !onboarding ? null : read(insights);

/** Contract-derived values have data once the customer has had a contract. */
const whenContracted =
  (read: (insights: CustomerInsights) => number): MeasureInputReader =>
  (insights) =>
    insights.contractsSeen === 0 ? null : read(insights);

/**
 * Every aggregate or derived value a measure can read, by the name a scorecard uses in `input`.
 * A reader returns null when the customer has no data for it; the measure is then excluded.
 */
export const MEASURE_INPUTS = {
  /** Whole days since the last activity (or the first contract's start, if later). */
  daysSinceLastActivity: (_insights, signals) => signals.silentDays,
  /** EMAIL_RECEIVED + CALL + MEETING + PRODUCT_USAGE events in the last 30 days. */
  engagementActivities30: whenActivityTracked((insights) => engagementCounts(insights).d30),
  /** Engagement events of the last 30 days ÷ the 30-day average of the 60 days before (0 once silent 30 days). */
  activityTrend: (_insights, signals) => signals.engagementTrend,
  /** Product-usage quantity, same ratio (0 once usage stopped); null without usage telemetry. */
  usageTrend: (_insights, signals) => signals.usageTrend,
  /** MEETING + CALL events in the last 90 days. */
  meetings90: whenActivityTracked((insights) => insights.activity.MEETING.d90 + insights.activity.CALL.d90),
  /** EMAIL_RECEIVED events in the last 90 days. */
  emailsReceived90: whenActivityTracked((insights) => insights.activity.EMAIL_RECEIVED.d90),
  /** Won ÷ (won + lost) deals closed in the last 365 days. */
  winRate365: (insights) => insights.winRate365,
  /** Weighted open pipeline ÷ total active contract value: expansion in the making. */
  pipelineToContractValue: (insights) =>
    insights.totalContractValue > 0 ? insights.weightedPipelineAmount / insights.totalContractValue : null,
  /** Contracts cancelled in the last 365 days. */
  cancelled365: whenContracted((insights) => insights.cancelled365),
  /** Contracts currently ACTIVE or RENEWED. */
  activeContracts: whenContracted((insights) => insights.activeContracts),
  /** Support tickets opened and not closed. */
  openTickets: whenActivityTracked((insights) => insights.openTickets),
  /** SLA-breached ticket events in the last 90 days. */
  slaBreaches90: whenActivityTracked((insights) => insights.slaBreaches90),
  /** Latest NPS answer, 0–10. */
  latestNps: (insights) => insights.latestNps,
  /** Latest CSM sentiment, −2…+2. */
  latestCsmSentiment: (insights) => insights.latestCsmSentiment,
} satisfies Record<string, MeasureInputReader>;

export type MeasureInputName = keyof typeof MEASURE_INPUTS;
export const MEASURE_INPUT_NAMES = Object.keys(MEASURE_INPUTS) as [MeasureInputName, ...MeasureInputName[]];

/** The one input that moves with the clock day by day, not only at window edges; `nextDueAt` schedules it. */
export const SILENCE_MEASURE_INPUT: MeasureInputName = 'daysSinceLastActivity';
