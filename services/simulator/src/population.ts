import { UsageError } from './cli-support';

/**
 * What makes one simulated customer base unlike another. A model trained on one population and
 * scored on another (a different seed, churn rate, share of silent churners, spread of account
 * activity) shows whether it learnt behaviour or the quirks of a single population.
 */
export interface PopulationParameters {
  /** Annual churn rate: the chance that a customer active on a given day has churned within the following 365 days. */
  churnRate: number;
  /** Share of churners who leave with no warning at all: no decline in activity, surveys or support beforehand. */
  silentChurnShare: number;
  /** How far customers' own activity levels spread: the 95th percentile over the 5th, within a segment. */
  activitySpread: number;
  /**
   * How much of a product-usage reading's quantity (seats active, actions) follows the customer's engagement: 1 all
   * of it, 0 none, when only how often the product reports shows engagement. Products differ in what their telemetry
   * measures, so a model must not count on one kind.
   */
  usageSignal: number;
  /**
   * The share of customers whose product reports usage at all. A CRM that holds no product telemetry has none: its
   * customers' engagement shows only in conversations, tickets and surveys.
   */
  usageReporting: number;
}

export const DEFAULT_POPULATION: PopulationParameters = { churnRate: 0.3, silentChurnShare: 0.2, activitySpread: 10, usageSignal: 1, usageReporting: 1 };

/** The accepted range of each parameter, with what a value outside it would mean. */
const POPULATION_LIMITS: Record<keyof PopulationParameters, { min: number; max: number; why: string }> = {
  churnRate: { min: 0, max: 0.95, why: 'a share of customers per year; 1 would mean every customer leaves at once' },
  silentChurnShare: { min: 0, max: 1, why: 'a share of the churners' },
  activitySpread: { min: 1, max: 1000, why: '1 gives every customer of a segment the same activity level' },
  usageSignal: { min: 0, max: 1, why: "the share of a usage reading's quantity that follows engagement" },
  usageReporting: { min: 0, max: 1, why: 'a share of the customers' },
};

/** The command-line option of each parameter: \`npm run simulate\`'s, and the keys of \`npm run evaluate\`'s population specs. */
export const POPULATION_OPTIONS: Record<keyof PopulationParameters, string> = {
  churnRate: 'churn-rate',
  silentChurnShare: 'silent-churn-share',
  activitySpread: 'activity-spread',
  usageSignal: 'usage-signal',
  usageReporting: 'usage-reporting',
};

/**
 * The parameters given on a command line as text under their options' names (POPULATION_OPTIONS; a missing one takes
 * `defaults`'s, other options are passed over), checked as resolvePopulation checks them: text that is not a number is
 * out of range. Out of range is bad usage (UsageError), named as `nameOf` names the option.
 */
export function populationFromOptions(
  texts: Readonly<Record<string, unknown>>,
  nameOf: (option: string) => string = (option) => `--${option}`,
  defaults: PopulationParameters = DEFAULT_POPULATION,
): PopulationParameters {
  const given: Partial<PopulationParameters> = {};
  for (const parameter of Object.keys(POPULATION_OPTIONS) as Array<keyof PopulationParameters>) {
    const text = texts[POPULATION_OPTIONS[parameter]];
    if (typeof text === 'string') given[parameter] = text.trim() === '' ? NaN : Number(text);
  }
  try {
    return resolvePopulation(given, (parameter) => nameOf(POPULATION_OPTIONS[parameter]), defaults);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * The parameters, `defaults` filled in (an undefined value takes its default). A value out of range
 * throws a RangeError naming it as `nameOf` says (a command line names its options differently).
 */
export function resolvePopulation(
  parameters: Partial<PopulationParameters> = {},
  nameOf: (parameter: keyof PopulationParameters) => string = (parameter) => parameter,
  defaults: PopulationParameters = DEFAULT_POPULATION,
): PopulationParameters {
  // Built from the limits' keys alone: `defaults` may be a whole population (seed, size) beside its parameters.
  const resolved = {} as PopulationParameters;
  for (const parameter of Object.keys(POPULATION_LIMITS) as Array<keyof PopulationParameters>) {
    const { min, max, why } = POPULATION_LIMITS[parameter];
    const value = parameters[parameter] ?? defaults[parameter];
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new RangeError(`${nameOf(parameter)} must be a number from ${min} to ${max} (${why}), got ${value}`);
    }
    resolved[parameter] = value;
  }
  return resolved;
}
