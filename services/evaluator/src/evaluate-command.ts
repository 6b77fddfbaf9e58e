// `npm run evaluate`: trains the churn model on one simulated customer base, scores another with the scorer's own
// code, and prints every signal side by side with the targets (docs/evaluation.md).
import { stateSettings } from '@churnscore/config';
import { ScoringConfigError, churnSnapshot, defaultScoringConfig, loadScoringConfigFile, type ScoringConfig } from '@churnscore/scoring';
import { UsageError, formatCount, formatPercent, integerOption, latentState, loadProducerConfig, parseOptions, pathFromShell, startProgress } from '@churnscore/simulator';
import {
  asHistory,
  describePopulation,
  parsePopulationSpec,
  planPopulation,
  simulatePopulation,
  simulatedDataset,
  simulatedSnapshotPlan,
  yieldToEventLoop,
  type CommandIo,
  type SimulatedPopulation,
} from '@churnscore/trainer';
import {
  DEFAULT_HORIZON_DAYS,
  DEFAULT_RENEWAL_GRACE_DAYS,
  DEFAULT_WARM_UP_DAYS,
  DEFAULT_TARGET_PRECISION,
  DEFAULT_VALIDATION_SHARE,
  sampleCounts,
  splitByTime,
  trainChurnModel,
  TrainingRefusedError,
  type Dataset,
} from '@churnscore/training';
import {
  EVALUATION_CLOCK,
  EVALUATION_POPULATIONS,
  SINGLE_SIGNAL_NAMES,
  adaptedAtEachInstant,
  modelAlertsOf,
  prepareSignal,
  reportSignals,
  scoreHeldOutCustomer,
  singleSignals,
  type HeldOutRow,
  type PreparedSignal,
  type SingleSignalName,
} from './evaluation';
import { DEFAULT_LOAD_ORDER, LOAD_ORDER_NAMES, LOAD_ORDERS, type LoadOrderName } from './load-order';
import { renderEvaluation, renderThroughScorer } from './render';
import { AS_REPORTED_POPULATION, JUDGED_WEEKS, daysForJudgedWeeks, evaluateThroughScorer } from './through-scorer';
import { closeSandboxSession, openSandboxSession } from '../../../infra/src/sandbox';
import { createReporter } from '../../../infra/src/index';

/** Snapshots once a week, as training takes them: the alert sees the week-to-week wobble a live alert would. */
const DEFAULT_EVERY_DAYS = 7;
/** How often scoring yields to the event loop, in customers, so that the progress line can redraw. */
const YIELD_EVERY_CUSTOMERS = 10;

export const EVALUATE_USAGE = `Usage: npm run evaluate [-- --every-days N] [--without-scorer] [--load-order NAME] [--held-out-base SPEC …]

Trains the churn model on one simulated customer base and scores another (other seed, churn rate,
share of silent churners and activity spread) with the scorer's own code, then prints the trained
model, the shipped default, health alone, the engagement trend and an oracle that knows the simulated
decline side by side: AUC, PR-AUC, AUC in the quietest and busiest thirds, calibration error, and
CHURN_RISK_HIGH's precision and recall; then whether each target is met. Then it publishes a third
base's history, up to one instant, to Kafka, scores it with the real scorer (once per model, the local
stack brought up if it is not running), runs the scorer on for ${JUDGED_WEEKS - 1} more weeks of that base's events,
and judges what Redis holds at the end of the load and of each week the same way, with the alert
traffic of the load and of the weeks. docs/evaluation.md explains it.

  --every-days N          score each held-out customer every N days (default ${DEFAULT_EVERY_DAYS})
  --without-scorer        only the evaluation with the scorer's code, no Kafka or Redis
  --default-config PATH   the scoring config to judge as the default model, and to train from
                          (default: the shipped one)
  --train-base SPEC       the base trained on
  --held-out-base SPEC    the base scored weekly with the scorer's code
  --scorer-base SPEC      the base scored through the real scorer
                          SPEC: key=value pairs, comma-separated, the keys being npm run simulate's
                          options (seed, customers, days, churn-rate, silent-churn-share,
                          activity-spread, usage-signal, usage-reporting); what is not given stays the
                          reported base's, e.g.
                          --held-out-base seed=mine,churn-rate=0.5. A judged base's seed must differ
                          from the training base's (customer ids start with the seed)
  --load-order NAME       how the scorer base's history is published (default ${DEFAULT_LOAD_ORDER}):
${LOAD_ORDER_NAMES.map((name) => `                            ${name.padEnd(14)} ${LOAD_ORDERS[name].description}`).join('\n')}
  --help                  show this text`;

/** The bases an evaluation simulates: trained on, scored weekly, and scored through the real scorer. */
export interface EvaluationPopulations {
  train: SimulatedPopulation;
  heldOut: SimulatedPopulation;
  throughScorer: SimulatedPopulation;
}

/** The bases the reported figures come from (docs/evaluation.md). */
export const REPORTED_POPULATIONS: EvaluationPopulations = { ...EVALUATION_POPULATIONS, throughScorer: AS_REPORTED_POPULATION };

export interface EvaluateIo extends CommandIo {
  /** The bases before the command line's specs; default REPORTED_POPULATIONS. Tests use smaller ones. */
  populations?: EvaluationPopulations;
}

export interface EvaluateArgs {
  everyDays: number;
  defaultConfigPath: string | null;
  throughScorer: boolean;
  loadOrder: LoadOrderName;
  populations: EvaluationPopulations;
}

/** Fewest days of a weekly base: the snapshots' warm-up, then an as-of date whose horizon and renewal grace the history settles. */
const MIN_WEEKLY_DAYS = DEFAULT_WARM_UP_DAYS + DEFAULT_HORIZON_DAYS + DEFAULT_RENEWAL_GRACE_DAYS + 2;

export function parseEvaluateArgs(argv: string[], bases: EvaluationPopulations = REPORTED_POPULATIONS): EvaluateArgs | null {
  const parsed = parseOptions(
    argv,
    {
      'every-days': { type: 'string' },
      'default-config': { type: 'string' },
      'without-scorer': { type: 'boolean', default: false },
      'train-base': { type: 'string' },
      'held-out-base': { type: 'string' },
      'scorer-base': { type: 'string' },
      'load-order': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    EVALUATE_USAGE,
  );
  if (parsed.help) return null;
  const base = (option: 'train-base' | 'held-out-base' | 'scorer-base', given: SimulatedPopulation, minDays: number) => {
    const spec = parsed[option];
    return spec === undefined ? given : parsePopulationSpec(spec, given, `--${option}`, minDays);
  };
  const populations = {
    train: base('train-base', bases.train, MIN_WEEKLY_DAYS),
    heldOut: base('held-out-base', bases.heldOut, MIN_WEEKLY_DAYS),
    // A day of history before the first instant judged at least.
    throughScorer: base('scorer-base', bases.throughScorer, daysForJudgedWeeks(1)),
  };
  // Customer ids start with the seed: a judged base with the training base's seed would be judged on customers trained on.
  for (const [option, judged] of [['--held-out-base', populations.heldOut], ['--scorer-base', populations.throughScorer]] as const) {
    if (judged.seed === populations.train.seed) throw new UsageError(`${option}: seed ${judged.seed} is the training base's; a judged base needs a seed of its own`);
  }
  return {
    everyDays: integerOption('every-days', parsed['every-days'], DEFAULT_EVERY_DAYS, 1),
    defaultConfigPath: parsed['default-config'] === undefined ? null : pathFromShell(parsed['default-config']),
    throughScorer: !parsed['without-scorer'],
    loadOrder: loadOrderOf(parsed['load-order']),
    populations,
  };
}

const isLoadOrder = (name: string): name is LoadOrderName => Object.hasOwn(LOAD_ORDERS, name);

function loadOrderOf(name: string | undefined): LoadOrderName {
  if (name === undefined) return DEFAULT_LOAD_ORDER;
  if (!isLoadOrder(name)) throw new UsageError(`--load-order must be one of ${LOAD_ORDER_NAMES.join(', ')}`);
  return name;
}

/** The config judged as the default model: the shipped one, or one the user names (refused, as bad usage, when the scorer would refuse it). */
function defaultConfigOf(path: string | null): ScoringConfig {
  if (path === null) return defaultScoringConfig();
  try {
    return loadScoringConfigFile(path);
  } catch (error) {
    if (error instanceof ScoringConfigError) throw new UsageError(`the scoring config ${path} is refused: ${error.message}`);
    throw error;
  }
}

/** Every single signal calibrated on the training base, and its alert thresholds chosen there, split as training splits. */
function prepareSignals(dataset: Dataset, population: SimulatedPopulation, baseConfig: ScoringConfig): Record<SingleSignalName, PreparedSignal> {
  const plans = new Map(planPopulation(population, EVALUATION_CLOCK).map((plan) => [plan.customerId, plan]));
  const split = splitByTime(dataset, { validationShare: DEFAULT_VALIDATION_SHARE });
  const valued = (rows: Dataset['rows']) =>
    rows.map((row) => ({ row, signals: singleSignals({ snapshot: churnSnapshot(row.insights, baseConfig, row.asOf), latent: latentState(plans.get(row.customerId)!, row.asOf) }) }));
  const train = valued(split.train);
  const validation = valued(split.validation);
  const pick = (name: SingleSignalName) => (items: typeof train) => items.map(({ row, signals }) => ({ row, value: signals[name] }));
  return Object.fromEntries(
    SINGLE_SIGNAL_NAMES.map((name) => [name, prepareSignal({ train: pick(name)(train), validation: pick(name)(validation) }, dataset.asOfDates, DEFAULT_TARGET_PRECISION)]),
  ) as Record<SingleSignalName, PreparedSignal>;
}

/** The model trained on the training base; a base too small to learn from (--train-base) is bad usage, said as `npm run train` says it. */
function trainedOn(dataset: Dataset, population: SimulatedPopulation, options: Parameters<typeof trainChurnModel>[1]): ReturnType<typeof trainChurnModel> {
  try {
    return trainChurnModel(dataset, options);
  } catch (error) {
    if (error instanceof TrainingRefusedError) throw new UsageError(`the training base (${describePopulation(population)}) cannot be learnt from: ${error.message}`);
    throw error;
  }
}

/** `npm run evaluate`. */
export async function runEvaluateCommand(argv: string[], io: EvaluateIo): Promise<number> {
  const args = parseEvaluateArgs(argv, io.populations);
  if (args === null) {
    io.stderr.write(`${EVALUATE_USAGE}\n`);
    return 0;
  }
  const { populations } = args;
  // The scorer's defaults, whatever this shell's environment says, so that every run reports the same figures.
  const fold = stateSettings(loadProducerConfig({}, { offline: true }));
  const defaultConfig = defaultConfigOf(args.defaultConfigPath);
  const stage = (text: string) => io.stderr.write(`${text}\n`);

  let progress = { customers: 0, rows: 0 };
  const snapshotting = startProgress(
    () => `training base: ${formatCount(progress.customers)}/${formatCount(populations.train.customers)} customers  ${formatCount(progress.rows)} snapshots`,
    { stream: io.stderr },
  );
  const dataset = await simulatedDataset([populations.train], {
    now: EVALUATION_CLOCK,
    everyDays: args.everyDays,
    horizonDays: DEFAULT_HORIZON_DAYS,
    ...fold,
    onProgress: (done) => (progress = done),
  }).finally(() => snapshotting.stop());
  const { config: trained, card } = trainedOn(dataset, populations.train, {
    baseConfig: defaultConfig,
    trainedAt: (io.clock ?? Date.now)(),
    sources: [describePopulation(populations.train)],
    onStage: stage,
  });
  stage('calibrating health alone, the engagement trend and the oracle on the training base');
  const prepared = prepareSignals(dataset, populations.train, defaultConfig);

  stage('simulating the held-out base');
  const heldOut = simulatePopulation(populations.heldOut, EVALUATION_CLOCK);
  const plan = simulatedSnapshotPlan(
    heldOut.map(asHistory),
    populations.heldOut,
    { now: EVALUATION_CLOCK, everyDays: args.everyDays, horizonDays: DEFAULT_HORIZON_DAYS },
  );
  stage('adapting the default to the held-out base at each as-of instant (from the history known then)');
  const adapted = adaptedAtEachInstant(heldOut.map(asHistory), plan, defaultConfig, fold);
  const configs = { trained: () => trained, default: () => defaultConfig, adapted: adapted.configAt };
  const rows: HeldOutRow[] = [];
  let scored = 0;
  const scoring = startProgress(
    () => `held-out base: scored ${formatCount(scored)}/${formatCount(heldOut.length)} customers  ${formatPercent(scored, heldOut.length)}  ${formatCount(rows.length)} snapshots`,
    { stream: io.stderr },
  );
  try {
    for (const customer of heldOut) {
      rows.push(...scoreHeldOutCustomer(customer, plan, configs, fold));
      scored += 1;
      if (scored % YIELD_EVERY_CUSTOMERS === 0) await yieldToEventLoop();
    }
  } finally {
    scoring.stop();
  }

  const reports = reportSignals(rows, prepared, modelAlertsOf(configs, plan.asOfDates.at(-1)!), plan.asOfDates);
  io.stdout.write(
    renderEvaluation({
      trainedOn: describePopulation(populations.train),
      heldOut: describePopulation(populations.heldOut),
      trainedVersion: trained.version,
      trainedValidationAuc: card.validation.auc,
      defaultVersion: defaultConfig.version,
      heldOutCounts: sampleCounts(rows),
      asOfDates: plan.asOfDates.length,
      everyDays: args.everyDays,
      adaptation: adapted.summary,
      reports,
    }),
  );
  if (!args.throughScorer) return 0;

  const population = populations.throughScorer;
  const loadOrder = LOAD_ORDERS[args.loadOrder];
  const session = await openSandboxSession('evaluate', createReporter((line) => io.stderr.write(`${line}\n`)));
  try {
    const result = await evaluateThroughScorer({
      session,
      population,
      simulatorClock: EVALUATION_CLOCK,
      configs: { trained, default: defaultConfig },
      prepared,
      fold,
      stderr: io.stderr,
      loadOrder,
    });
    io.stdout.write(
      `\n${renderThroughScorer({
        population: describePopulation(population),
        loadOrder: loadOrder.description,
        instants: result.instants,
        loaded: result.loaded,
        published: result.published,
        counts: sampleCounts(result.rows),
        runs: result.runs,
        adaptation: result.adaptation,
        reports: result.reports,
      })}`,
    );
  } finally {
    await closeSandboxSession(session);
  }
  return 0;
}
