import type { ScoreDriver } from '@churnscore/domain';
import { CHURN_FEATURES, type ChurnFeatureName } from './churn';
import type { ScoringConfig } from './config-schema';
import type { MeasureInputName } from './measure-inputs';
import { roundTo } from './numeric';

/** What a measure reads, by its input, as the subject of a sentence. */
const MEASURE_INPUT_SUBJECTS: Record<MeasureInputName, string> = {
  daysSinceLastActivity: 'Days since the customer’s last own activity',
  engagementActivities30: 'Engagement events in the last 30 days',
  activityTrend: 'The engagement trend (last 30 days against the 60 before)',
  usageTrend: 'The product-usage trend (last 30 days against the 60 before)',
  meetings90: 'Meetings and calls in the last 90 days',
  emailsReceived90: 'Emails from the customer in the last 90 days',
  winRate365: 'The win rate over the last 365 days',
  pipelineToContractValue: 'Weighted pipeline per unit of contract value',
  cancelled365: 'Contracts cancelled in the last 365 days',
  activeContracts: 'Active contracts',
  openTickets: 'Open support tickets',
  slaBreaches90: 'SLA breaches in the last 90 days',
  latestNps: 'The latest NPS answer',
  latestCsmSentiment: 'The CSM’s latest sentiment',
};

/** What a churn feature measures, as the subject of a sentence (docs/scoring.md §4 defines each). */
const CHURN_FEATURE_SUBJECTS: Record<ChurnFeatureName, string> = {
  daysSinceLastActivity: 'Days since the customer’s last own activity',
  activityTrendDrop: 'The fall in the engagement trend',
  renewalProximity: 'The nearness of the renewal (0 to 1)',
  cancellations365: 'Contracts cancelled in the last 365 days',
  lostDeals365: 'Deals lost in the last 365 days',
  openTickets: 'Open support tickets',
  slaBreaches90: 'SLA breaches in the last 90 days',
  csmSentiment: 'The CSM’s latest sentiment (0 when none)',
  npsDeviation: 'The latest NPS answer (7 when none)',
  healthShortfall: 'The health score',
  engagementDrop7d: 'The share of its usual engagement the customer lost over the last 7 days',
  engagementDrop30d: 'The share of its usual engagement the customer lost over the last 30 days',
  engagementDrop90d: 'The share of its usual engagement the customer lost over the last 90 days',
  usageDrop30d: 'The share of its usual product usage the customer lost over the last 30 days',
  usageDrop90d: 'The share of its usual product usage the customer lost over the last 90 days',
  usageIntensityDrop30d: 'The share of its usual usage per product-usage reading the customer lost over the last 30 days',
  usageIntensityDrop90d: 'The share of its usual usage per product-usage reading the customer lost over the last 90 days',
  ticketsPerEngagement90: 'Support tickets per engagement event over 90 days',
  slaBreachesPerEngagement90: 'SLA breaches per engagement event over 90 days',
  openTicketsPerEngagement90: 'Open support tickets per engagement event over 90 days',
};

const hasKey = <T extends object>(record: T, key: string): key is Extract<keyof T, string> => Object.hasOwn(record, key);

function subjectOf(driver: ScoreDriver, config: Pick<ScoringConfig, 'measures'>): string {
  if (driver.kind === 'churnFeature') return hasKey(CHURN_FEATURE_SUBJECTS, driver.id) ? CHURN_FEATURE_SUBJECTS[driver.id] : driver.id;
  const input = config.measures.find((measure) => measure.id === driver.id)?.input;
  return input === undefined ? driver.id : MEASURE_INPUT_SUBJECTS[input];
}

/** A number as a reader writes it: at most `decimals` (2) decimals, a true minus sign. */
const plain = (value: number, decimals = 2): string => `${value < 0 ? '−' : ''}${roundTo(Math.abs(value), decimals)}`;
const signed = (value: number): string => (value > 0 ? `+${plain(value)}` : plain(value));
/** "1 health point", "2.5 health points". */
const points = (value: number, unit: string): string => `${signed(value)} ${unit}${plain(Math.abs(value)) === '1' ? '' : 's'}`;

/** The impact in its own unit: health points for a measure, percentage points of churn risk for a feature. */
const impactText = (driver: ScoreDriver): string =>
  driver.kind === 'measure' ? points(driver.impact, 'health point') : `${points(driver.impact * 100, 'percentage point')} of churn risk`;

/** The fewest decimals (2 to 6) that tell two different values apart: "fell from 0.01 to 0.01" says nothing. */
function decimalsApart(previous: number, current: number): number {
  let decimals = 2;
  while (decimals < 6 && plain(previous, decimals) === plain(current, decimals)) decimals += 1;
  return decimals;
}

/**
 * A churn feature's values as a reader knows them (CHURN_FEATURES' `reading`), with the unit they are said in
 * (`readingUnit`, "" when none); a measure's as they are.
 */
function readerValues(driver: ScoreDriver): Pick<ScoreDriver, 'previous' | 'current'> & { unit: string } {
  const feature = driver.kind === 'churnFeature' && hasKey(CHURN_FEATURES, driver.id) ? CHURN_FEATURES[driver.id] : undefined;
  const reading = feature !== undefined && 'reading' in feature ? feature.reading : undefined;
  const unit = feature !== undefined && 'readingUnit' in feature ? ` ${feature.readingUnit}` : '';
  if (reading === undefined) return { ...driver, unit };
  return { previous: driver.previous === null ? null : reading(driver.previous), current: driver.current === null ? null : reading(driver.current), unit };
}

/**
 * How the value moved, after the subject. A measure whose value is new or gone to the health score was either without
 * data or not on the other side's scorecard (a renewal ending changes the scorecard): the sentence says it is now
 * counted, or no longer, which is true of both. An unchanged value with an impact is one whose weight changed: for a
 * measure that is the scorecard in use, named when known.
 */
function changeText(driver: ScoreDriver, config: Pick<ScoringConfig, 'scorecards'>, scorecardId: string | undefined): string {
  const { kind } = driver;
  const { previous, current, unit } = readerValues(driver);
  const said = (value: number, decimals?: number): string => `${plain(value, decimals)}${unit}`;
  const model = kind === 'measure' ? 'the health score' : 'the churn model';
  if (previous === null) return current === null ? `: no longer counted in ${model}` : `: ${said(current)}, now counted in ${model}, where it was not before`;
  if (current === null) {
    // A measure the scorecard now in use does not weigh (a renewal approaching): said so, rather than as if its data
    // were lost, which is how a customer-success manager read "no longer counted" (an outside tester).
    const scorecard = kind === 'measure' && scorecardId !== undefined ? config.scorecards.find((card) => card.id === scorecardId) : undefined;
    if (scorecard !== undefined && !scorecard.measures.some((weighed) => weighed.measure === driver.id)) {
      return `: not weighed by the ${scorecardId} scorecard, now in use (it was ${said(previous)})`;
    }
    return `: no longer counted in ${model} (it was ${said(previous)})`;
  }
  if (previous === current) {
    const weigher = kind === 'measure' ? (scorecardId === undefined ? 'the scorecard now in use' : `the ${scorecardId} scorecard, now in use,`) : model;
    return ` stayed at ${said(current)}, but ${weigher} weighs it differently`;
  }
  const decimals = decimalsApart(previous, current);
  return ` ${current > previous ? 'rose' : 'fell'} from ${said(previous, decimals)} to ${said(current, decimals)}`;
}

/**
 * One plain sentence for a driver, from its structured fields only (the measure or feature, its values, its
 * impact in its own unit), e.g. "Meetings and calls in the last 90 days fell from 6 to 1 (−4.2 health points)."
 * Measures are named by the input the configuration gives them; an id the configuration does not know is named
 * as it is. `scorecardId`: the scorecard of the score the driver explains (its explanation's), named where it weighs a
 * measure differently.
 */
export const describeDriver = (driver: ScoreDriver, config: Pick<ScoringConfig, 'measures' | 'scorecards'>, scorecardId?: string): string =>
  `${subjectOf(driver, config)}${changeText(driver, config, scorecardId)} (${impactText(driver)}).`;
