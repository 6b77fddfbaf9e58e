import { MS_PER_DAY, WINDOWS_DAYS, utcDay, type CustomerInsights, type CustomerState, type UtcDay } from '@churnscore/domain';
import { LONGEST_WINDOW_DAYS, startOfDay } from './calendar';
import { RENEWAL_PROXIMITY_HORIZON_DAYS, churnSilenceHorizonDays, type ChurnFeatureName } from './churn';
import type { ScoringConfig } from './config-schema';
import { isOpenOpportunity, isTicketCounted, latestPerEntity, latestTickets, ticketAgesOutAt, type InsightsOptions } from './insights';
import { SILENCE_MEASURE_INPUT } from './measure-inputs';
import { TREND_RECENT_DAYS, silentSince } from './signals';

const usesChurnFeature = (config: ScoringConfig, feature: ChurnFeatureName): boolean =>
  (config.churn.coefficients[feature] ?? 0) !== 0;

/** 1, 2, …, last. */
const daysThrough = (last: number): number[] => Array.from({ length: Math.max(0, Math.ceil(last)) }, (_, i) => i + 1);

/** For each window, the earliest day in it (Infinity: none); and the earliest day after today (Infinity: none). */
interface EarliestDays {
  inWindow: number[];
  future: number;
}

/** The first index of days in day order whose day is at least `day` (dated.length if none). */
function firstAtLeast(dated: ReadonlyArray<{ day: UtcDay }>, day: UtcDay): number {
  let low = 0;
  let high = dated.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (dated[middle]!.day < day) low = middle + 1;
    else high = middle;
  }
  return low;
}

function isInDayOrder(dated: ReadonlyArray<{ day: UtcDay }>): boolean {
  for (let d = 1; d < dated.length; d += 1) if (dated[d - 1]!.day > dated[d]!.day) return false;
  return true;
}

/** EarliestDays of days in day order (as a customer's state is read back): a few steps of search per window. */
function earliestInOrder(dated: ReadonlyArray<{ day: UtcDay }>, today: UtcDay, windows: readonly number[]): EarliestDays {
  const inWindow = windows.map((windowDays) => {
    const first = dated[firstAtLeast(dated, today - windowDays + 1)];
    return first !== undefined && first.day <= today ? first.day : Infinity;
  });
  return { inWindow, future: dated[firstAtLeast(dated, today + 1)]?.day ?? Infinity };
}

/** EarliestDays of days in any order: one pass, allocating nothing per day. */
function earliestInAnyOrder(dated: ReadonlyArray<{ day: UtcDay }>, today: UtcDay, windows: readonly number[]): EarliestDays {
  const inWindow = windows.map(() => Infinity);
  let future = Infinity;
  for (let d = 0; d < dated.length; d += 1) {
    const day = dated[d]!.day;
    if (day > today) {
      if (day < future) future = day;
      continue;
    }
    // In the W-day window while younger than W days (isDayInWindow): the age once, not the window's first day per window.
    const age = today - day;
    for (let w = 0; w < windows.length; w += 1) {
      if (age < windows[w]! && day < inWindow[w]!) inWindow[w] = day;
    }
  }
  return { inWindow, future };
}

/**
 * The instants at which dated data changes a window: the start of day d + W, when the earliest
 * in-window day d leaves the W-day window; and the start of the earliest future day, when it enters.
 * It runs for every customer scored, over a year of day buckets: searched when in day order, else scanned.
 */
function windowEdges(dated: ReadonlyArray<{ day: UtcDay }>, today: UtcDay, windows: readonly number[]): number[] {
  const { inWindow, future } = (isInDayOrder(dated) ? earliestInOrder : earliestInAnyOrder)(dated, today, windows);
  const edges = windows.flatMap((windowDays, w) => (inWindow[w] === Infinity ? [] : [startOfDay(inWindow[w]! + windowDays)]));
  return future === Infinity ? edges : [...edges, startOfDay(future)];
}

/** Earliest `origin + k days` after `now` over the given day offsets k, or null. */
function nextAfter(origin: number, now: number, offsets: readonly number[], direction: 1 | -1): number | null {
  let earliest = Infinity;
  for (const k of offsets) {
    const instant = origin + direction * k * MS_PER_DAY;
    if (instant > now && instant < earliest) earliest = instant;
  }
  return earliest === Infinity ? null : earliest;
}

/** What a configuration decides about due times, computed once per configuration rather than per customer scored. */
interface ConfigBreakpoints {
  /** Silence breakpoints of a customer with an active contract, and of one without. */
  silence: { underContract: number[]; withoutContract: number[] };
  renewal: number[];
}

const breakpointsByConfig = new WeakMap<ScoringConfig, ConfigBreakpoints>();

function configBreakpoints(config: ScoringConfig): ConfigBreakpoints {
  let breakpoints = breakpointsByConfig.get(config);
  if (breakpoints === undefined) {
    breakpoints = {
      silence: { underContract: silenceBreakpoints(config, true), withoutContract: silenceBreakpoints(config, false) },
      renewal: renewalBreakpoints(config),
    };
    breakpointsByConfig.set(config, breakpoints);
  }
  return breakpoints;
}

/** Day counts of silence at which some score, stage or alert input changes (NO_RECENT_ACTIVITY's only under contract). */
function silenceBreakpoints(config: ScoringConfig, underContract: boolean): number[] {
  const usedMeasureIds = new Set(config.scorecards.flatMap((scorecard) => scorecard.measures.map((entry) => entry.measure)));
  const silenceMeasureEnds = config.measures
    .filter((measure) => measure.input === SILENCE_MEASURE_INPUT && usedMeasureIds.has(measure.id))
    .map((measure) => measure.points[measure.points.length - 1]?.value ?? 0);
  const dailyThrough = Math.max(churnSilenceHorizonDays(config.churn), ...silenceMeasureEnds);
  const alertThresholds = underContract ? [config.alerts.noRecentActivity.silentDays] : [];
  return [...daysThrough(dailyThrough), TREND_RECENT_DAYS, LONGEST_WINDOW_DAYS, ...alertThresholds];
}

/** Days-before-renewal counts at which the phase, an alert or the renewal-proximity feature changes. */
function renewalBreakpoints(config: ScoringConfig): number[] {
  const proximityDays = usesChurnFeature(config, 'renewalProximity')
    ? Array.from({ length: RENEWAL_PROXIMITY_HORIZON_DAYS }, (_, k) => k)
    : [];
  return [...proximityDays, config.phases.renewalWithinDays, config.alerts.renewalAtRisk.withinDays];
}

/**
 * SPEC §7: the earliest instant after `now` at which this customer's insights, score or alerts can
 * change with no new input, or null if time alone can never change them. `insights` must be the
 * customer's insights as of `now`. The instant is exact; the scheduler may act on it a bounded
 * time later (the service re-scores within its configured delay, ≤ 1 hour by default). It considers:
 * - window edges: the next UTC midnight at which a day with activity, SLA breaches, a closed deal or
 *   a cancellation leaves a 7/30/90/365-day window (or a future-dated day enters one);
 * - an open ticket leaving the retention horizon;
 * - silence: each day of silence while a churn feature (churnSilenceHorizonDays) or measure still moves with it, the days
 *   the engagement (30) and usage (365) trends count as stopped, and the NO_RECENT_ACTIVITY threshold;
 * - renewal: the renewal phase and RENEWAL_AT_RISK thresholds, each day of the renewal-proximity
 *   feature's horizon, and the renewal date passing (nextRenewalAt moves on);
 * - tenure: the end of onboarding and of the growth period.
 * Not scheduled: the raw day count of silence shown in a measure's explanation once neither its
 * score nor any churn feature nor an alert moves with it any more (it would tick daily forever).
 */
export function nextDueAt(
  state: CustomerState,
  insights: CustomerInsights,
  config: ScoringConfig,
  now: number,
  opts: InsightsOptions,
): number | null {
  const today = utcDay(now);
  const dayOf = (record: { occurredAt: number }): UtcDay => utcDay(record.occurredAt);
  const closedDeals = latestPerEntity(state.opportunities, (o) => o.opportunityId).filter((o) => !isOpenOpportunity(o));
  const cancellations = latestPerEntity(state.contracts, (c) => c.contractId).filter((c) => c.status === 'CANCELLED');
  const countedTickets = latestTickets(state.tickets).filter((t) =>
    isTicketCounted(t, today, opts.retentionDays),
  );

  const breakpoints = configBreakpoints(config);
  const since = silentSince(insights);
  const renewal = insights.nextRenewalAt;
  const firstStart = insights.firstContractStartAt;
  const candidates = [
    ...windowEdges(state.activityDays, today, WINDOWS_DAYS),
    ...windowEdges(state.slaBreachDays, today, [90]),
    ...windowEdges(
      [...closedDeals, ...cancellations].map((record) => ({ day: dayOf(record) })),
      today,
      [LONGEST_WINDOW_DAYS],
    ),
    ...countedTickets.map((ticket) => ticketAgesOutAt(ticket, opts.retentionDays)),
    since === null
      ? null
      : nextAfter(since, now, insights.activeContracts > 0 ? breakpoints.silence.underContract : breakpoints.silence.withoutContract, 1),
    renewal === null ? null : nextAfter(renewal, now, breakpoints.renewal, -1),
    // nextRenewalAt counts endDate ≥ now: one millisecond after it, the next contract's end takes over.
    renewal === null ? null : renewal + 1,
    firstStart === null
      ? null
      : nextAfter(firstStart, now, [config.lifecycle.onboardingDays, config.lifecycle.growthTenureDays], 1),
  ].filter((instant): instant is number => instant !== null && instant > now);
  return candidates.length === 0 ? null : Math.min(...candidates);
}
