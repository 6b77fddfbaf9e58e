// Training data from simulated customer bases: the shipped default model is learnt from them, and `npm run
// evaluate` trains on one and scores another. Each population is generated in memory by the simulator (the events
// `npm run simulate` publishes) and snapshotted by the training package as any history is.
import { MS_PER_DAY, utcDay, type InputEvent } from '@churnscore/domain';
import type { FoldOptions } from '@churnscore/scoring';
import {
  POPULATION_OPTIONS,
  UsageError,
  generateCustomerHistories,
  planCustomers,
  populationFromOptions,
  type CustomerPlan,
  type CustomerHistory as SimulatedCustomer,
  type GeneratorOptions,
  type PopulationParameters,
} from '@churnscore/simulator';
import { collectRows } from './snapshots';
import {
  DEFAULT_WARM_UP_DAYS,
  planSnapshots,
  type CustomerHistory,
  type Dataset,
  type DatasetRow,
  type SnapshotPlan,
} from '@churnscore/training';

/** A simulated customer base: the simulator's options for one run. */
export interface SimulatedPopulation extends PopulationParameters {
  seed: string;
  customers: number;
  /** Days of history up to the clock. */
  days: number;
}

export interface SimulatedDatasetOptions extends FoldOptions {
  /** The simulator's clock: every population's history ends here. */
  now: number;
  everyDays: number;
  horizonDays: number;
  /** After every few customers, with the totals so far. */
  onProgress?: (progress: { customers: number; rows: number }) => void;
}


/** The simulate command's options for this population, as a person would type them. */
export const describePopulation = (p: SimulatedPopulation): string =>
  [
    `simulated --seed ${p.seed} --customers ${p.customers} --days ${p.days}`,
    ...(Object.entries(POPULATION_OPTIONS) as Array<[keyof PopulationParameters, string]>).map(([parameter, option]) => `--${option} ${p[parameter]}`),
  ].join(' ');

/** The keys of a population spec: the simulate command's options of the same names. */
const SPEC_KEYS: readonly string[] = ['seed', 'customers', 'days', ...Object.values(POPULATION_OPTIONS)];

/**
 * A population given on a command line as `key=value` pairs, comma-separated (`seed=mine,churn-rate=0.5`), the keys
 * being the simulate command's options; what is not given is `base`'s. `option` names the command-line option in
 * messages. Refused as bad usage: an unknown or repeated key, a value out of the simulator's range, fewer than
 * `minDays` days.
 */
export function parsePopulationSpec(spec: string, base: SimulatedPopulation, option: string, minDays = 1): SimulatedPopulation {
  const given: Record<string, string> = {};
  for (const pair of spec.split(',')) {
    const at = pair.indexOf('=');
    const key = pair.slice(0, at).trim();
    if (at < 0 || !SPEC_KEYS.includes(key)) {
      throw new UsageError(`${option}: "${pair}" is not one of ${SPEC_KEYS.map((k) => `${k}=…`).join(', ')}`);
    }
    if (key in given) throw new UsageError(`${option}: ${key} is given twice`);
    given[key] = pair.slice(at + 1).trim();
  }
  const whole = (key: 'customers' | 'days', min: number): number => {
    const value = given[key] === undefined ? base[key] : Number(given[key]);
    if (!Number.isInteger(value) || value < min) throw new UsageError(`${option}: ${key} must be a whole number of at least ${min}`);
    return value;
  };
  const seed = given.seed ?? base.seed;
  if (seed === '') throw new UsageError(`${option}: seed must not be empty`);
  return { seed, customers: whole('customers', 1), days: whole('days', minDays), ...populationFromOptions(given, (key) => `${option} ${key}`, base) };
}

/** The simulator's options for the population; customer ids start with its seed, so populations never share one. */
const generatorOptions = (population: SimulatedPopulation, now: number): GeneratorOptions => ({ ...population, now, idPrefix: population.seed });

/** The population's customers with their events and hidden trajectories. */
export const simulatePopulation = (population: SimulatedPopulation, now: number): SimulatedCustomer[] =>
  generateCustomerHistories(generatorOptions(population, now));

/** The population's customers and hidden trajectories, without their events (cheap). */
export const planPopulation = (population: SimulatedPopulation, now: number): CustomerPlan[] => planCustomers(generatorOptions(population, now));

/** A simulated customer's events as the history training reads: each known when it occurred. */
export const asHistory = ({ customerId, events }: { customerId: string; events: readonly InputEvent[] }): CustomerHistory => ({
  customerId,
  events: events.map((event) => ({ event })),
});

/** Every `everyDays`-th day from the warm-up's end of the population's span, to the last labelable before the clock. */
export const simulatedSnapshotPlan = (
  histories: readonly CustomerHistory[],
  population: SimulatedPopulation,
  options: Pick<SimulatedDatasetOptions, 'now' | 'everyDays' | 'horizonDays'>,
): SnapshotPlan =>
  planSnapshots(histories, {
    asOf: { everyDays: options.everyDays, from: (utcDay(options.now) - population.days + 1 + DEFAULT_WARM_UP_DAYS) * MS_PER_DAY },
    horizonDays: options.horizonDays,
    observedUntil: options.now,
  });

/**
 * Snapshots as of every `everyDays`-th day from the warm-up's end, for customers of populations that all span the
 * same days up to the same clock (so they share their as-of dates and the data splits by time), labelled with churn
 * within `horizonDays`. One population is held in memory at a time.
 */
export async function simulatedDataset(populations: readonly SimulatedPopulation[], options: SimulatedDatasetOptions): Promise<Dataset> {
  const days = new Set(populations.map((population) => population.days));
  if (days.size !== 1) throw new RangeError('a dataset needs populations that all span the same number of days, so that they share their as-of dates');
  let plan: SnapshotPlan | undefined;
  const rows: DatasetRow[] = [];
  let earlier = 0;
  for (const population of populations) {
    const histories = simulatePopulation(population, options.now).map(asHistory);
    plan ??= simulatedSnapshotPlan(histories, population, options);
    await collectRows(histories, plan, { ...options, onProgress: ({ customers }) => options.onProgress?.({ customers: earlier + customers, rows: rows.length }) }, rows);
    earlier += histories.length;
  }
  return { rows, ...plan! };
}
