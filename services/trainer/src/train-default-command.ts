// `npm run train:default`: the shipped default scoring config's churn model, learnt from simulated customer bases
// for a customer base with no history of its own yet (docs/scoring.md §16). Everything but the churn model,
// CHURN_RISK_HIGH's thresholds and the version stays as the default config has it.
import { stateSettings } from '@churnscore/config';
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODEL_CARDS_DIR, DEFAULT_SCORING_CONFIG_PATH, loadScoringConfigFile, type ChurnFeatureName } from '@churnscore/scoring';
import { UsageError, formatCount, loadProducerConfig, parseOptions, startProgress } from '@churnscore/simulator';
import { DEFAULT_HORIZON_DAYS, DEFAULT_TRAINING_FEATURES, TrainingRefusedError, renderModelCard, trainChurnModel } from '@churnscore/training';
import { modelVersionOption, type CommandIo } from './command-line';
import { describePopulation, simulatedDataset, type SimulatedPopulation } from './simulated-populations';
import { TRAIN_EXIT_CODES } from './train-command';

/**
 * The customer bases the default is learnt from: annual churn from 15 % to 45 % (30 % on average, so that the risk
 * is calibrated for a typical B2B base), 10 % to 30 % of churners leaving without warning, and activity levels
 * spread from threefold to thirtyfold, and product telemetry whose quantity per reading follows engagement fully,
 * partly or not at all (usage signals 1, 0.67, 0.33 and 0, spread evenly and not in the order of the churn rates), so
 * that the model learns what holds across them rather than one base's quirks: a default learnt only where every
 * reading's quantity tracks engagement leans on that and loses most of its early warnings where it does not
 * (docs/scoring.md §16). `npm run evaluate` reports on other populations (services/evaluator).
 */
export const DEFAULT_MODEL_POPULATIONS: readonly SimulatedPopulation[] = [
  { seed: 'default-model-1', customers: 700, days: 730, churnRate: 0.15, silentChurnShare: 0.1, activitySpread: 3, usageSignal: 1, usageReporting: 1 },
  { seed: 'default-model-2', customers: 700, days: 730, churnRate: 0.25, silentChurnShare: 0.25, activitySpread: 10, usageSignal: 0, usageReporting: 1 },
  { seed: 'default-model-3', customers: 700, days: 730, churnRate: 0.35, silentChurnShare: 0.15, activitySpread: 30, usageSignal: 0.67, usageReporting: 1 },
  { seed: 'default-model-4', customers: 700, days: 730, churnRate: 0.45, silentChurnShare: 0.3, activitySpread: 5, usageSignal: 0.33, usageReporting: 1 },
];
/**
 * The default training features but the contract ones: the simulator's churn is learnable from behaviour only (its
 * contract dates and terms say nothing about who leaves, by design), so a coefficient learnt there for renewal
 * proximity or cancellations would be the simulation's noise, not knowledge a real customer base could use.
 */
const CONTRACT_FEATURES: readonly ChurnFeatureName[] = ['renewalProximity', 'cancellations365'];
export const DEFAULT_MODEL_FEATURES = DEFAULT_TRAINING_FEATURES.filter((feature) => !CONTRACT_FEATURES.includes(feature));
/** The simulator's clock for those populations: fixed, so that the same command learns the same model. */
export const DEFAULT_MODEL_CLOCK = Date.parse('2025-06-15T12:00:00Z');
/** A snapshot of every customer once a week, as `npm run train` takes them. */
const EVERY_DAYS = 7;

export const TRAIN_DEFAULT_USAGE = `Usage: npm run train:default -- --version NAME

Learns the default scoring config's churn model from simulated customer bases (churn within
${DEFAULT_HORIZON_DAYS} days) and writes it into ${DEFAULT_SCORING_CONFIG_PATH}, with its
model card in ${DEFAULT_MODEL_CARDS_DIR}<version>.md and .json. docs/scoring.md §16 explains it.

  --version NAME   the new default's version, stamped on every score (e.g. default-2025.2)
  --help           show this text`;

export interface TrainDefaultIo extends CommandIo {
  /** Where to write; default the shipped config and model-card directory. */
  paths?: { config: string; modelCards: string };
  /** Default DEFAULT_MODEL_POPULATIONS; tests learn from smaller ones. */
  populations?: readonly SimulatedPopulation[];
}

const LINE_WIDTH = 100;

function compactJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(compactJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length === 0 ? '{}' : `{ ${entries.map(([key, inner]) => `${JSON.stringify(key)}: ${compactJson(inner)}`).join(', ')} }`;
  }
  return JSON.stringify(value);
}

const isObject = (value: unknown): value is object => value !== null && typeof value === 'object';
const holdsListOfObjects = (value: unknown): boolean =>
  isObject(value) && ((Array.isArray(value) && value.some(isObject)) || Object.values(value).some(holdsListOfObjects));

/**
 * JSON in the layout the default config is kept in: an object or array on one line when it fits in 100 columns,
 * except lists of objects (measure points, scorecard entries) and what holds one, one item per line; so a regenerated default differs
 * from the last one only where its values do.
 */
export function formatConfigJson(value: unknown, indent = '', prefix = ''): string {
  const oneLine = compactJson(value);
  if (!isObject(value)) return oneLine;
  if (!holdsListOfObjects(value) && indent.length + prefix.length + oneLine.length + 1 <= LINE_WIDTH) return oneLine;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((item) => inner + formatConfigJson(item, inner)).join(',\n')}\n${indent}]`;
  const lines = Object.entries(value).map(([key, item]) => `${inner}${JSON.stringify(key)}: ${formatConfigJson(item, inner, `${JSON.stringify(key)}: `)}`);
  return `{\n${lines.join(',\n')}\n${indent}}`;
}

/** Parses the command line: the version, or null when --help was asked for. */
export function parseTrainDefaultArgs(argv: string[]): { version: string } | null {
  const parsed = parseOptions(argv, { version: { type: 'string' }, help: { type: 'boolean', default: false } }, TRAIN_DEFAULT_USAGE);
  if (parsed.help) return null;
  if (parsed.version === undefined || parsed.version.trim() === '') throw new UsageError(`--version is required\n\n${TRAIN_DEFAULT_USAGE}`);
  return { version: modelVersionOption(parsed.version) };
}

/** `npm run train:default`: simulate, snapshot, train, and write the default config and its model card. */
export async function runTrainDefaultCommand(argv: string[], io: TrainDefaultIo): Promise<number> {
  const args = parseTrainDefaultArgs(argv);
  if (args === null) {
    io.stderr.write(`${TRAIN_DEFAULT_USAGE}\n`);
    return TRAIN_EXIT_CODES.ok;
  }
  const paths = io.paths ?? { config: DEFAULT_SCORING_CONFIG_PATH, modelCards: DEFAULT_MODEL_CARDS_DIR };
  const populations = io.populations ?? DEFAULT_MODEL_POPULATIONS;
  // The scorer's default retention and de-duplication window, whatever this shell's environment says: the shipped
  // default must not depend on who regenerated it.
  const fold = stateSettings(loadProducerConfig({}, { offline: true }));
  const baseConfig = loadScoringConfigFile(paths.config);
  // Scores already carry the version named: the default's own, or an earlier default's with its card. Written over, two
  // models would answer to one name, and the earlier default's card would describe another model (an outside tester,
  // 2026-12-07, with --version default-2025.4).
  if (args.version === baseConfig.version || existsSync(join(paths.modelCards, `${args.version}.json`))) {
    throw new UsageError(`--version ${args.version} is ${args.version === baseConfig.version ? 'the version of the default being replaced' : 'an earlier default\'s, with its model card'}: a new model needs a new version`);
  }

  const total = populations.reduce((sum, population) => sum + population.customers, 0);
  let progress = { customers: 0, rows: 0 };
  const display = startProgress(() => `snapshots  ${formatCount(progress.customers)}/${formatCount(total)} simulated customers  ${formatCount(progress.rows)} snapshots`, {
    stream: io.stderr,
  });
  const dataset = await simulatedDataset(populations, {
    now: DEFAULT_MODEL_CLOCK,
    everyDays: EVERY_DAYS,
    horizonDays: DEFAULT_HORIZON_DAYS,
    ...fold,
    onProgress: (done) => (progress = done),
  }).finally(() => display.stop());

  let result;
  try {
    result = trainChurnModel(dataset, {
      baseConfig,
      trainedAt: (io.clock ?? Date.now)(),
      sources: populations.map(describePopulation),
      features: DEFAULT_MODEL_FEATURES,
      version: args.version,
      onStage: (stage) => io.stderr.write(`${stage}\n`),
    });
  } catch (error) {
    if (!(error instanceof TrainingRefusedError)) throw error;
    io.stderr.write(`training refused: ${error.message}\n`);
    return TRAIN_EXIT_CODES.refused;
  }
  const { config, card } = result;
  await mkdir(paths.modelCards, { recursive: true });
  const cardPaths = { markdown: join(paths.modelCards, `${config.version}.md`), json: join(paths.modelCards, `${config.version}.json`) };
  await writeFile(paths.config, `${formatConfigJson(config)}\n`);
  await writeFile(cardPaths.markdown, renderModelCard(card));
  await writeFile(cardPaths.json, `${JSON.stringify(card, null, 2)}\n`);
  io.stdout.write(
    `trained ${config.version}: validation AUC ${card.validation.auc?.toFixed(3)}, calibration error ${card.validation.calibration.error.toFixed(3)}; ` +
      `CHURN_RISK_HIGH opens at ≥ ${card.alert.openAt}, resolves below ${card.alert.resolveBelow}\n` +
      `wrote ${paths.config}, ${cardPaths.markdown} and ${cardPaths.json}\n`,
  );
  return TRAIN_EXIT_CODES.ok;
}
