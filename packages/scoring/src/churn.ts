import { featureLogitContribution, type ChurnFeatureValue, type CustomerInsights, type WindowDays, type WindowedCounts } from '@churnscore/domain';
import { LONGEST_WINDOW_DAYS } from './calendar';
import { roundTo } from './numeric';
import { engagementCounts, type Signals } from './signals';

/** Silence beyond this many days adds no further churn risk: by then the account is simply dark. */
export const SILENCE_CAP_DAYS = 180;
/** `renewalProximity` rises from 0 to 1 over the last this-many days before the renewal date. */
export const RENEWAL_PROXIMITY_HORIZON_DAYS = 90;
/** NPS passives (7–8) are neutral: `npsDeviation` is the answer minus this. */
const NPS_NEUTRAL = 7;
/** A perfect health score: `healthShortfall` is the share of it missing. */
const HEALTH_MAX = 100;

/**
 * Events added to both sides of an engagement drop: a customer with three events a month that has one this month
 * has lost about half its engagement (1 − 2/4), not two thirds, so a quiet account's chance lulls weigh less than a
 * busy account's real falls.
 */
export const DROP_PSEUDO_EVENTS = 1;
/**
 * Engagement events added to the denominator of a per-engagement rate: without them a nearly silent customer's one
 * ticket would rate as high as a busy customer's flood of them.
 */
const PER_ENGAGEMENT_PSEUDO_EVENTS = 10;

const windowKey = (days: WindowDays): keyof WindowedCounts => `d${days}`;

/** 1 − (recent + pseudo) ÷ (expected + pseudo), expected being the earlier count scaled from `earlierDays` to `recentDays`; negative when it rose. */
const shortfall = (recent: number, earlier: number, recentDays: number, earlierDays: number, pseudo: number): number =>
  1 - (recent + pseudo) / ((earlier * recentDays) / earlierDays + pseudo);

/**
 * How far the last `recentDays` fell below the same span's share of the `withinDays − recentDays` days before them,
 * as a share of that share (see `shortfall`): the plain trend, whatever silence there was.
 */
export const shortfallAgainstEarlier = (counts: WindowedCounts, recentDays: WindowDays, withinDays: WindowDays, pseudo: number): number =>
  shortfall(counts[windowKey(recentDays)], counts[windowKey(withinDays)] - counts[windowKey(recentDays)], recentDays, withinDays - recentDays, pseudo);

/** What a drop is measured from: counts per window, the smoothing, and the customer's silence. */
export interface DropInput {
  counts: WindowedCounts;
  pseudo: number;
  /** Whole days without any activity (dropSilence); null counts as 0. */
  silentDays: number | null;
}

/**
 * The silence a drop reads: that of a customer that showed a sign of life of its own at some time (Signals.silentDays),
 * none for one that never did (a contract and nothing else: an account whose activity the CRM does not record). Such a
 * customer has no engagement to have dropped; its silence, counted from its contract's start, read as a stop of
 * everything once a year old, every drop 1 and a risk near 1 right after it renewed (an outside tester, 2026-12-07).
 */
const dropSilence = ({ insights, signals }: ChurnFeatureContext): number | null => (insights.lastCustomerActivityAt === null ? null : signals.silentDays);

/**
 * The share of its own usual rate the customer lost in the last `recentDays`, against the `withinDays − recentDays`
 * days before them: `shortfall` floored at 0 (flat or rising is no sign of risk). The customer is its own baseline,
 * so the value means the same for an account of any size.
 *
 * Silence must not make a customer look better as it goes on, as windows that empty would: during a silence the
 * earlier rate is taken over the part of the earlier span before the silence began, and once less than
 * `recentDays` of it remain the customer has stopped: 1. With nothing counted in the year there is no rate to drop
 * from: 0, or 1 once the customer has been silent for the whole year.
 */
function dropAgainstEarlier({ counts, pseudo, silentDays }: DropInput, recentDays: WindowDays, withinDays: WindowDays): number {
  const silent = silentDays ?? 0;
  const stopped = silent >= LONGEST_WINDOW_DAYS ? 1 : 0;
  // Nothing counted in the year: no rate to have dropped from.
  if (counts.d365 === 0) return stopped;
  const activeEarlierDays = withinDays - Math.max(recentDays, silent);
  if (activeEarlierDays < recentDays) return 1;
  const recent = counts[windowKey(recentDays)];
  return Math.max(0, shortfall(recent, counts[windowKey(withinDays)] - recent, recentDays, activeEarlierDays, pseudo));
}

/**
 * The last whole day of silence at which a drop over these windows still changes with silence alone: the day less
 * than `recentDays` of the earlier span remain before the silence began, and the drop becomes a stop (1).
 */
const dropSilenceHorizon = (recentDays: WindowDays, withinDays: WindowDays): number => withinDays - recentDays + 1;

/** A drop, a share of its usual rate the customer lost, raising the risk; read as a percentage ("from 90 % to 100 %"). */
const dropFeature = (value: ChurnFeature['value'], recentDays: WindowDays, withinDays: WindowDays): ChurnFeature => ({
  ...raisesRisk(value, dropSilenceHorizon(recentDays, withinDays)),
  reading: (share) => share * 100,
  readingUnit: '%',
});

const engagementDrop = (recentDays: WindowDays, withinDays: WindowDays): ChurnFeature =>
  dropFeature(
    (context) => dropAgainstEarlier({ counts: engagementCounts(context.insights), pseudo: DROP_PSEUDO_EVENTS, silentDays: dropSilence(context) }, recentDays, withinDays),
    recentDays,
    withinDays,
  );

/** Usage quantity has no natural unit: its drop is smoothed by one typical reading of the customer (365-day quantity ÷ readings). */
const usageDropValue =
  (recentDays: WindowDays, withinDays: WindowDays) =>
  (context: ChurnFeatureContext): number => {
    const { insights } = context;
    const readings = insights.activity.PRODUCT_USAGE.d365;
    const typicalReading = readings === 0 ? 0 : insights.usageQuantity.d365 / readings;
    return dropAgainstEarlier({ counts: insights.usageQuantity, pseudo: typicalReading, silentDays: dropSilence(context) }, recentDays, withinDays);
  };
const usageDrop = (recentDays: WindowDays, withinDays: WindowDays): ChurnFeature =>
  dropFeature(usageDropValue(recentDays, withinDays), recentDays, withinDays);

/**
 * How far the quantity per usage reading of the last `recentDays` fell below that of the `withinDays − recentDays`
 * days before them, as a share of it, floored at 0. How much a customer uses the product each time it does (seats
 * active, calls made) falls with its engagement while the number of readings is still noisy, so the mean per reading
 * shows a decline sooner than the count. One reading at the earlier mean is added to the recent ones, so that a
 * single low reading is not a collapse.
 *
 * Without a recent reading there is no recent intensity: the customer stopped using the product over the recent span,
 * whatever else it did meanwhile, and the usage drop over the same windows applies (up to 1 for a stop, smoothed by a
 * typical reading, and keeping what a silence earned); so neither going dark nor stopping the product while mail
 * goes on makes a declining customer look better. (Until 2026-12-06 only a silence of every kind of activity did: a
 * customer whose usage stopped while its emails went on, or who had one meeting after a month of silence, read no
 * intensity drop at all, and an outside tester saw a 97 % risk fall to 7 % on one meeting.)
 */
const usageIntensityDrop = (recentDays: WindowDays, withinDays: WindowDays): ChurnFeature =>
  dropFeature((context) => {
    const readings = context.insights.activity.PRODUCT_USAGE;
    const quantity = context.insights.usageQuantity;
    const recentReadings = readings[windowKey(recentDays)];
    const stopped = recentReadings === 0 ? usageDropValue(recentDays, withinDays)(context) : 0;
    const earlierReadings = readings[windowKey(withinDays)] - recentReadings;
    const earlierQuantity = quantity[windowKey(withinDays)] - quantity[windowKey(recentDays)];
    if (earlierReadings === 0 || earlierQuantity <= 0) return stopped;
    const earlierPerReading = earlierQuantity / earlierReadings;
    const recentPerReading = (quantity[windowKey(recentDays)] + earlierPerReading) / (recentReadings + 1);
    return Math.max(stopped, 1 - recentPerReading / earlierPerReading);
  }, recentDays, withinDays);

/** A count per engagement event of the last 90 days, PER_ENGAGEMENT_PSEUDO_EVENTS added to the denominator. */
const perEngagement90 = (count: (insights: CustomerInsights) => number) => ({ insights }: ChurnFeatureContext): number =>
  count(insights) / (engagementCounts(insights).d90 + PER_ENGAGEMENT_PSEUDO_EVENTS);

interface ChurnFeatureContext {
  insights: CustomerInsights;
  signals: Signals;
  health: number;
}

/** A feature of the churn model: its value, and which way it pushes the risk by construction. */
interface ChurnFeature {
  value: (context: ChurnFeatureContext) => number;
  /**
   * A higher value raises the risk (a drop in engagement, a ticket) or lowers it (a happier NPS): the sign the
   * feature's coefficient must have for its logit contribution to say what it means. Training leaves out a feature
   * whose fitted coefficient comes out against it (docs/scoring.md §15).
   */
  direction: 1 | -1;
  /**
   * Up to how many whole days of silence the value can change from one day to the next with no new input (0: only
   * at window edges and the silence breakpoints nextDueAt always considers), so that the scorer re-scores a silent
   * customer daily while it does.
   */
  silenceHorizonDays: number;
  /**
   * The value as a reader knows the number it is made from, where the feature centres or scales it (an NPS answer, a
   * health score), so that the explanation's sentences say "the latest NPS answer fell from 9 to 3", not "fell from 2
   * to −4". Absent: the value is said as it is.
   */
  reading?: (value: number) => number;
  /** What the reading is counted in, said after each number ("%"); absent: a plain number. */
  readingUnit?: string;
}
const raisesRisk = (value: ChurnFeature['value'], silenceHorizonDays = 0): ChurnFeature => ({ value, direction: 1, silenceHorizonDays });
const lowersRisk = (value: ChurnFeature['value']): ChurnFeature => ({ value, direction: -1, silenceHorizonDays: 0 });

/**
 * The churn model's features, by the name its coefficients use. Each is centred so that 0 means
 * "no sign of risk" (a missing input reads as 0), which makes a feature's logit contribution its
 * own push away from the intercept. Counts are capped so one extreme value cannot dominate.
 */
export const CHURN_FEATURES = {
  /** Whole days silent (see Signals.silentDays), capped at SILENCE_CAP_DAYS. */
  daysSinceLastActivity: raisesRisk(({ signals }) => Math.min(signals.silentDays ?? 0, SILENCE_CAP_DAYS), SILENCE_CAP_DAYS),
  /** 1 − engagement trend ratio, floored at 0: 0 when flat, rising or unknown; 1 when engagement stopped. */
  activityTrendDrop: raisesRisk(({ signals }) => (signals.engagementTrend === null ? 0 : Math.max(0, 1 - signals.engagementTrend))),
  /** 0 when the next renewal is ≥ 90 days away (or none), rising linearly to 1 on the renewal date. */
  renewalProximity: raisesRisk(({ signals }) =>
    signals.daysToRenewal === null
      ? 0
      : (RENEWAL_PROXIMITY_HORIZON_DAYS - Math.min(signals.daysToRenewal, RENEWAL_PROXIMITY_HORIZON_DAYS)) /
        RENEWAL_PROXIMITY_HORIZON_DAYS),
  /** Contracts cancelled in the last 365 days, capped at 3. */
  cancellations365: raisesRisk(({ insights }) => Math.min(insights.cancelled365, 3)),
  /** Deals lost in the last 365 days, capped at 5. */
  lostDeals365: raisesRisk(({ insights }) => Math.min(insights.lost365, 5)),
  /** Open support tickets, capped at 10. */
  openTickets: raisesRisk(({ insights }) => Math.min(insights.openTickets, 10)),
  /** SLA breaches in the last 90 days, capped at 10. */
  slaBreaches90: raisesRisk(({ insights }) => Math.min(insights.slaBreaches90, 10)),
  /** Latest CSM sentiment −2…+2 (0 when none). */
  csmSentiment: lowersRisk(({ insights }) => insights.latestCsmSentiment ?? 0),
  /** Latest NPS − 7 (0 when none): detractors are negative, promoters positive. */
  npsDeviation: { ...lowersRisk(({ insights }) => (insights.latestNps === null ? 0 : insights.latestNps - NPS_NEUTRAL)), reading: (value) => value + NPS_NEUTRAL },
  /** 1 − health/100: 0 for a perfect health score, 1 for health 0. */
  healthShortfall: { ...raisesRisk(({ health }) => 1 - health / HEALTH_MAX), reading: (value) => HEALTH_MAX * (1 - value) },
  // Relative to the customer's own baseline (docs/scoring.md §4): the same value for a busy and a quiet account
  // whose behaviour changed alike.
  /** Engagement events of the last 7 days against the 23 days before (days 8–30): a sudden stop. */
  engagementDrop7d: engagementDrop(7, 30),
  /** Engagement events of the last 30 days against the 60 days before (days 31–90). */
  engagementDrop30d: engagementDrop(30, 90),
  /** Engagement events of the last 90 days against the 275 days before (days 91–365): a slow slide. */
  engagementDrop90d: engagementDrop(90, 365),
  /** Product-usage quantity of the last 30 days against the 60 days before. */
  usageDrop30d: usageDrop(30, 90),
  /** Product-usage quantity of the last 90 days against the 275 days before. */
  usageDrop90d: usageDrop(90, 365),
  /** Quantity per usage reading of the last 30 days against the 60 days before. */
  usageIntensityDrop30d: usageIntensityDrop(30, 90),
  /** Quantity per usage reading of the last 90 days against the 275 days before. */
  usageIntensityDrop90d: usageIntensityDrop(90, 365),
  /** Support tickets opened in the last 90 days per engagement event. */
  ticketsPerEngagement90: raisesRisk(perEngagement90((insights) => insights.activity.SUPPORT_TICKET_OPENED.d90)),
  /** SLA breaches in the last 90 days per engagement event. */
  slaBreachesPerEngagement90: raisesRisk(perEngagement90((insights) => insights.slaBreaches90)),
  /** Open support tickets per engagement event of the last 90 days. */
  openTicketsPerEngagement90: raisesRisk(perEngagement90((insights) => insights.openTickets)),
} satisfies Record<string, ChurnFeature>;

export type ChurnFeatureName = keyof typeof CHURN_FEATURES;
export const CHURN_FEATURE_NAMES = Object.keys(CHURN_FEATURES) as ChurnFeatureName[];
/** The sign the feature's coefficient must have: 1 when a higher value raises the risk, −1 when it lowers it. */
export const churnFeatureDirection = (feature: ChurnFeatureName): 1 | -1 => CHURN_FEATURES[feature].direction;

/** Up to how many whole days of silence some feature of the model changes daily with no new input (0: none does). */
export const churnSilenceHorizonDays = (model: ChurnModel): number =>
  Math.max(0, ...CHURN_FEATURE_NAMES.filter((feature) => (model.coefficients[feature] ?? 0) !== 0).map((feature) => CHURN_FEATURES[feature].silenceHorizonDays));

export interface ChurnModel {
  intercept: number;
  /** Features absent here are not part of the model. */
  coefficients: Partial<Record<ChurnFeatureName, number>>;
}

export interface ChurnEstimate {
  /** intercept + Σ coefficient × feature, unrounded. */
  logit: number;
  /** Logistic probability, rounded to 4 decimals. */
  churnRisk: number;
  /** In CHURN_FEATURES order; value rounded to 4 decimals, its logit contribution stated from it (`featureLogitContribution`). */
  features: ChurnFeatureValue[];
}

export const logistic = (logit: number): number => 1 / (1 + Math.exp(-logit));
/** The inverse of logistic: the log-odds of a probability. */
export const logOdds = (probability: number): number => Math.log(probability / (1 - probability));

/** churnRisk = logistic(intercept + Σ coefficient × feature). */
export function estimateChurnRisk(model: ChurnModel, context: ChurnFeatureContext): ChurnEstimate {
  let logit = model.intercept;
  const features: ChurnFeatureValue[] = [];
  for (const feature of CHURN_FEATURE_NAMES) {
    const coefficient = model.coefficients[feature];
    if (coefficient === undefined) continue;
    const value = CHURN_FEATURES[feature].value(context);
    logit += coefficient * value;
    const statedValue = roundTo(value, 4);
    features.push({ feature, value: statedValue, coefficient, logitContribution: featureLogitContribution(coefficient, statedValue) });
  }
  return { logit, churnRisk: roundTo(logistic(logit), 4), features };
}
