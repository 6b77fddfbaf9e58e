import { existsSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseIsoInstant } from '@churnscore/domain';
import { stateSettings, type AppConfig, type Env } from '@churnscore/config';
import { INPUT_EVENT_KINDS } from '@churnscore/events';
import { EXPORT_FORMATS, describeRejection, fileSummary, parseExportSelection, type ExportFormat } from '@churnscore/ingest';
import { CHURN_FEATURE_NAMES, MODEL_VERSION, compareUtf8, type ChurnFeatureName, type FoldOptions, type ScoringConfig } from '@churnscore/scoring';
import {
  CLI_EXIT_CODES,
  UsageError,
  exitOnInterrupt,
  formatCount,
  formatPercent,
  integerOption,
  loadProducerConfig,
  makeWritableDirectory,
  parseOptions,
  pathFromShell,
  startProgress,
} from '@churnscore/simulator';
import {
  DEFAULT_HORIZON_DAYS,
  DEFAULT_L2,
  DEFAULT_TARGET_PRECISION,
  DEFAULT_TRAINING_FEATURES,
  DEFAULT_VALIDATION_SHARE,
  EARLY_WARNING_DAYS,
  LONGEST_ADAPTED_SUFFIX,
  MIN_CHURNING_CUSTOMERS,
  MIN_SETTLED_CHURNERS,
  TRAINED_MODEL_FILES,
  TooLittleHistoryError,
  TrainingRefusedError,
  adaptToBase,
  adaptedModelCard,
  churningCustomers,
  findModelCard,
  formatRate,
  groupByCustomer,
  isModelCard,
  knownSpan,
  planSnapshots,
  renderModelCard,
  settledPlan,
  trainChurnModel,
  unadaptedVersion,
  type AlertOutcome,
  type BaseRateAdaptation,
  type DatasetRow,
  type CustomerHistory,
  type HistoryEvent,
  type ModelCard,
} from '@churnscore/training';
import { loadCommandScoringConfig, modelVersionOption, type CommandIo } from './command-line';
import { readExportHistory, type ExportFile } from './read-history';
import { recordsLeftOut, replayInputTopics } from './read-topics';
import { collectRows } from './snapshots';

/** A snapshot of every customer once a week: the alert replay sees the week-to-week wobble a live alert would. */
const DEFAULT_EVERY_DAYS = 7;

/** The ingest's exit codes, and one for a training the data cannot support. */
export const TRAIN_EXIT_CODES = {
  ok: CLI_EXIT_CODES.ok,
  linesRejected: CLI_EXIT_CODES.linesRejected,
  usage: CLI_EXIT_CODES.usage,
  /** --from-topics: the broker or the schema registry failed while replaying. */
  replayFailed: CLI_EXIT_CODES.publishFailed,
  /** Too few churners or customers, or no CHURN_RISK_HIGH thresholds reach the target precision. */
  refused: 4,
} as const;

export const TRAIN_USAGE = `Usage: npm run train -- --history EXPORT [--history EXPORT …] [options]
       npm run train -- --from-topics [--record-timestamps] [options]
       npm run train -- --adapt-base-rate (--history EXPORT … | --from-topics) [options]

Learns the churn model from a customer base's history (CRM exports in the ingest formats: NDJSON, or
CSV with a header row; or a replay of the retained input topics), validating on the latest as-of dates,
and writes a scoring config the scorer loads (SCORING_CONFIG_PATH) and a model card (Markdown and
JSON). docs/scoring.md §15 explains it.

  --history PATH          an export (.ndjson, .jsonl, .json or .csv); repeat for several files
  --from-topics           replay the input topics (TOPIC_ACTIVITY, TOPIC_OPPORTUNITY, TOPIC_CONTRACT,
                          TOPIC_CUSTOMER) from their earliest retained record to their end at the start,
                          with the scorer's KAFKA_*, SCHEMA_REGISTRY_* settings; records the scorer would
                          dead-letter are counted by reason and left out; nothing is committed
  --record-timestamps     with --from-topics: each event is known from its record's timestamp (topics fed
                          live); by default from when it occurred, as in an export (a history loaded in
                          bulk carries its load time)
  --kind KIND             ${INPUT_EVENT_KINDS.join(' | ')}: the kind of every record, for files without a kind field;
                          once for every file, or once per --history, in the same order (one export per kind)
  --format FORMAT         ${EXPORT_FORMATS.join(' | ')}, when the extension does not tell
  --partial               learn from the valid lines even when some are rejected
  --out DIR               where to write ${TRAINED_MODEL_FILES.config}, ${TRAINED_MODEL_FILES.cardMarkdown} and ${TRAINED_MODEL_FILES.cardJson}
                          (default models/<version>)
  --base-config PATH      the scoring config to copy (default SCORING_CONFIG_PATH, else the shipped default)
  --horizon-days N        the risk is the probability of churning within N days (default ${DEFAULT_HORIZON_DAYS})
  --every-days N          a snapshot of every customer every N days (default ${DEFAULT_EVERY_DAYS})
  --validation-share X    the share of as-of dates, the latest, to validate on (default ${DEFAULT_VALIDATION_SHARE})
  --target-precision X    CHURN_RISK_HIGH's precision on the validation snapshots, or, adapting, on the
                          settled ones (default ${DEFAULT_TARGET_PRECISION})
  --l2 X                  the L2 penalty on standardised features (default ${DEFAULT_L2})
  --features A,B,…        the churn features to fit, or "all" (default: ${DEFAULT_TRAINING_FEATURES.join(', ')})
  --observed-until TIME   when the export or the replay was taken, ISO 8601 (default: its latest event)
  --adapt-base-rate       fit no coefficient: move the base config's churn model to this base's churn rate,
                          measured on the settled outcomes of the year before --observed-until when they
                          hold ${MIN_SETTLED_CHURNERS} churning customers (from ${MIN_CHURNING_CUSTOMERS}, CHURN_RISK_HIGH's thresholds
                          chosen on them too, for --target-precision), else estimated without labels from
                          the model's risks of the customers under contract then (docs/scoring.md §17); a
                          base with too little churn history to train on gets calibrated risks. Not with
                          the fitting options (--horizon-days, --every-days, --validation-share, --l2,
                          --features)
  --version NAME          the trained config's version (default churn-h<N>-<date>-<hash>)
  --help                  show this text

Exit codes: 0 trained, 1 lines rejected (nothing trained; --partial to learn from the rest),
2 bad usage or configuration (a broker refusing the login, an unreadable export or an unwritable --out
included), 3 the broker or the schema registry failed during the replay, 4 refused (too few churners or
customers, or no alert thresholds reach the target precision; adapting: too few churners settled and
too few customers under contract, a base config that does not state the rate it was fitted at, or a base
no churn rate fits): the message says which; 130 interrupted (Ctrl-C): nothing trained.`;

export interface TrainArgs {
  /** The exports to read, each with the kind --kind gives its records; empty with fromTopics. */
  histories: ExportFile[];
  fromTopics: boolean;
  recordTimestamps: boolean;
  format: ExportFormat | undefined;
  partial: boolean;
  outDir: string | null;
  baseConfigPath: string | null;
  horizonDays: number;
  everyDays: number;
  validationShare: number;
  targetPrecision: number;
  l2: number;
  features: readonly ChurnFeatureName[];
  observedUntil: number | null;
  version: string | null;
  adaptBaseRate: boolean;
}

/** The options that shape a fit, which adapting a fitted model has none of (its alert thresholds are chosen alike). */
const FITTING_OPTIONS = ['horizon-days', 'every-days', 'validation-share', 'l2', 'features'] as const;

function fraction(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!(parsed > 0 && parsed < 1)) throw new UsageError(`--${name} must be a number between 0 and 1 (exclusive)`);
  return parsed;
}

/** `--features`: a comma-separated list of churn features, or "all". */
function featureList(value: string | undefined): readonly ChurnFeatureName[] {
  if (value === undefined) return DEFAULT_TRAINING_FEATURES;
  if (value === 'all') return CHURN_FEATURE_NAMES;
  const names = value.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(CHURN_FEATURE_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new UsageError(`--features: unknown churn feature ${unknown.map((name) => `"${name}"`).join(', ')} (known: ${CHURN_FEATURE_NAMES.join(', ')}, or all)`);
  }
  return [...new Set(names)] as ChurnFeatureName[];
}

/** Parses the command line; null when --help was asked for. */
export function parseTrainArgs(argv: string[]): TrainArgs | null {
  const parsed = parseOptions(
    argv,
    {
      history: { type: 'string', multiple: true },
      'from-topics': { type: 'boolean', default: false },
      'record-timestamps': { type: 'boolean', default: false },
      kind: { type: 'string', multiple: true },
      format: { type: 'string' },
      partial: { type: 'boolean', default: false },
      out: { type: 'string' },
      'base-config': { type: 'string' },
      'horizon-days': { type: 'string' },
      'every-days': { type: 'string' },
      'validation-share': { type: 'string' },
      'target-precision': { type: 'string' },
      l2: { type: 'string' },
      features: { type: 'string' },
      'observed-until': { type: 'string' },
      version: { type: 'string' },
      'adapt-base-rate': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    TRAIN_USAGE,
  );
  if (parsed.help) return null;
  const fromTopics = parsed['from-topics'];
  if ((parsed.history === undefined) === !fromTopics) throw new UsageError(`either --history or --from-topics is required, not both\n\n${TRAIN_USAGE}`);
  if (parsed['record-timestamps'] && !fromTopics) throw new UsageError('--record-timestamps goes with --from-topics: an export carries no arrival times');
  if (fromTopics && (parsed.kind !== undefined || parsed.format !== undefined || parsed.partial)) {
    throw new UsageError('--kind, --format and --partial are for exports; a replay reads what the scorer reads');
  }
  const adaptBaseRate = parsed['adapt-base-rate'];
  const fitting = FITTING_OPTIONS.filter((name) => parsed[name] !== undefined);
  if (adaptBaseRate && fitting.length > 0) {
    throw new UsageError(`--adapt-base-rate fits nothing: ${fitting.map((name) => `--${name}`).join(', ')} do not apply (the base config's model keeps its own)`);
  }
  const paths = (parsed.history ?? []).map((path) => pathFromShell(path));
  const kinds = (parsed.kind ?? []).map((kind) => parseExportSelection({ kind }).kind);
  if (kinds.length > 1 && kinds.length !== paths.length) {
    throw new UsageError(`--kind is given ${kinds.length} times for ${paths.length} --history files: give it once for every file, or once per file in the same order`);
  }
  const { format } = parseExportSelection({ format: parsed.format });
  const l2 = parsed.l2 === undefined ? DEFAULT_L2 : Number(parsed.l2);
  if (!(l2 > 0 && Number.isFinite(l2))) throw new UsageError('--l2 must be a number > 0');
  // Read as ingest reads times: a time without a zone is refused, not taken as this machine's local time.
  const observedUntil = parsed['observed-until'] === undefined ? null : parseIsoInstant(parsed['observed-until']);
  if (parsed['observed-until'] !== undefined && observedUntil === null) {
    throw new UsageError('--observed-until must be an ISO 8601 date, or time with a zone, e.g. 2025-06-30T00:00:00Z');
  }
  return {
    histories: paths.map((path, i) => ({ path, kind: kinds.length === 1 ? kinds[0] : kinds[i] })),
    fromTopics,
    recordTimestamps: parsed['record-timestamps'],
    format,
    partial: parsed.partial,
    outDir: parsed.out === undefined ? null : pathFromShell(parsed.out),
    baseConfigPath: parsed['base-config'] === undefined ? null : pathFromShell(parsed['base-config']),
    horizonDays: integerOption('horizon-days', parsed['horizon-days'], DEFAULT_HORIZON_DAYS, 1),
    everyDays: integerOption('every-days', parsed['every-days'], DEFAULT_EVERY_DAYS, 1),
    validationShare: fraction('validation-share', parsed['validation-share'], DEFAULT_VALIDATION_SHARE),
    targetPrecision: fraction('target-precision', parsed['target-precision'], DEFAULT_TARGET_PRECISION),
    l2,
    features: featureList(parsed.features),
    observedUntil,
    version: parsed.version === undefined ? null : modelVersionOption(parsed.version),
    adaptBaseRate,
  };
}

/** Rejected lines, the summary and where the outputs went on stdout; progress, and why training was refused, on stderr. */
export interface TrainIo extends CommandIo {
  env: Env;
}

const fixed = (value: number | null): string => (value === null ? '–' : value.toFixed(3));

function summary(card: ModelCard): string[] {
  const { validation, alert } = card;
  const baselines = card.baselines.map((b) => `${b.name} ${fixed(b.auc)}`).join(', ');
  return [
    `trained ${card.version}: ${card.samples.train.churners} churners of ${card.samples.train.customers} customers in training, ` +
      `${card.samples.validation.churners} of ${card.samples.validation.customers} in validation`,
    `validation AUC ${fixed(validation.auc)} (${baselines}), PR-AUC ${fixed(validation.prAuc)}, calibration error ${fixed(validation.calibration.error)}`,
    `CHURN_RISK_HIGH opens at ≥ ${alert.openAt} and resolves below ${alert.resolveBelow}: precision ${fixed(alert.precision)}, ` +
      `recall ${fixed(alert.recall)} on validation (${fixed(alert.earlyRecall)} at least ${alert.earlyWarningDays} days ahead)`,
  ];
}

/** What training learns from, where it came from (the model card's sources), and how many records it left out as rejected. */
interface History {
  events: HistoryEvent[];
  sources: string[];
  leftOut: number;
}

/** The exports as `npm run ingest` would publish them; an exit code when a rejected line leaves nothing to train on. */
async function readExports(args: TrainArgs, settings: AppConfig, io: TrainIo, clock: () => number): Promise<History | number> {
  let eventsRead = 0;
  const reading = startProgress(() => `reading ${args.histories.length} export(s)  ${formatCount(eventsRead)} events`, { stream: io.stderr });
  const history = await readExportHistory(args.histories, {
    ...(args.format ? { format: args.format } : {}),
    partial: args.partial,
    reportingCurrency: settings.reportingCurrency,
    maxFutureSkewMs: settings.maxFutureSkewMs,
    clock,
    onRejection: (file, rejection) => io.stdout.write(`${file} ${describeRejection(rejection)}\n`),
    onEvents: (events) => (eventsRead = events),
  }).finally(() => reading.stop());
  for (const report of history.reports) io.stdout.write(`${fileSummary(report)}\n`);
  if (!history.usable) {
    // With --partial, what is left is a file that cannot be taken at all (not UTF-8, no header): --partial cannot help.
    io.stdout.write(
      args.partial ? 'nothing trained: a file cannot be taken at all, even in part: fix it\n' : 'nothing trained: fix the rejected lines, or pass --partial to learn from the valid ones\n',
    );
    return TRAIN_EXIT_CODES.linesRejected;
  }
  const leftOut = history.reports.reduce((sum, report) => sum + report.rejected.length, 0);
  return { events: history.events.map((event) => ({ event })), sources: args.histories.map(({ path }) => path), leftOut };
}

/**
 * The input topics replayed as the scorer reads them. Records the scorer would dead-letter are reported by reason
 * and left out, as the scorer leaves them out of every score: the rest is what the product learnt from.
 */
async function replayTopics(args: TrainArgs, settings: AppConfig, io: TrainIo, clock: () => number): Promise<History> {
  const replay = await replayInputTopics(settings, io, { clock, recordTimestamps: args.recordTimestamps });
  return { events: replay.events, sources: replay.topics.map(({ topic }) => `kafka:${topic}`), leftOut: recordsLeftOut(replay.rejected) };
}

/** `npm run train`: read the exports, build the point-in-time dataset, train, write the config and the model card. */
export async function runTrainCommand(argv: string[], io: TrainIo): Promise<number> {
  const args = parseTrainArgs(argv);
  if (args === null) {
    io.stderr.write(`${TRAIN_USAGE}\n`);
    return TRAIN_EXIT_CODES.ok;
  }
  const clock = io.clock ?? Date.now;
  if (args.observedUntil !== null && args.observedUntil > clock()) {
    // Labels after it would read customers who churn later as staying: nothing is known of what has not happened yet.
    throw new UsageError(`--observed-until ${new Date(args.observedUntil).toISOString()} is later than now: a history cannot have been observed until a time still to come`);
  }
  const settings = loadProducerConfig(io.env, { offline: !args.fromTopics });
  const baseConfigPath = args.baseConfigPath ?? settings.scoringConfigPath;
  if (args.outDir !== null && resolve(args.outDir, TRAINED_MODEL_FILES.config) === resolve(baseConfigPath)) {
    throw new UsageError(`--out ${args.outDir} holds the base config: writing there would replace it (and its model card); choose another directory`);
  }
  const baseConfig = loadCommandScoringConfig(baseConfigPath, 'the base scoring config');
  if (args.adaptBaseRate && args.version === null && !MODEL_VERSION.pattern.test(`${unadaptedVersion(baseConfig.version)}${LONGEST_ADAPTED_SUFFIX}`)) {
    throw new UsageError(
      `the base config's version (${baseConfig.version}) leaves no room for what an adaptation appends to it (e.g. ${LONGEST_ADAPTED_SUFFIX}): a version ${MODEL_VERSION.rule}; name the adapted model with --version`,
    );
  }
  // Known before the history is read when --out or --version says it; else refused when the version is known (writeModel).
  const knownOutDir = args.outDir ?? (args.version === null ? null : defaultOutputDir(args.version));
  if (knownOutDir !== null) refuseModelDirectoryInUse(knownOutDir, args);
  // Before the history is read and learnt from: an --out that cannot be written would waste all of it.
  const outDir = args.outDir;
  let created: string | undefined;
  // A run that wrote no model (refused, failed, interrupted) leaves no directory of its own making behind.
  const stopExitingOnInterrupt = exitOnInterrupt(io.stderr, () => {
    if (created !== undefined) rmSync(created, { recursive: true, force: true });
    return `nothing trained, no model written${created === undefined ? '' : ` (${created}, made for it, removed)`}; running again is safe`;
  });
  let code: number | undefined;
  try {
    created = outDir === null ? undefined : await writingTo(outDir, () => makeWritableDirectory(outDir));
    code = await learn(args, settings, { config: baseConfig, path: baseConfigPath }, io, clock);
    return code;
  } finally {
    // The handler stays until the directory is gone: a Ctrl-C in between would otherwise end the command without a word
    // and leave it (an outside tester, once in 24 tries, 2026-12-07).
    if (created !== undefined && code !== TRAIN_EXIT_CODES.ok) await rm(created, { recursive: true, force: true });
    stopExitingOnInterrupt();
  }
}

/** Reads the history, then trains (or adapts) and writes the model; resolves to the exit code. */
async function learn(args: TrainArgs, settings: AppConfig, base: { config: ScoringConfig; path: string }, io: TrainIo, clock: () => number): Promise<number> {
  const { config: baseConfig, path: baseConfigPath } = base;
  const history = args.fromTopics ? await replayTopics(args, settings, io, clock) : await readExports(args, settings, io, clock);
  if (typeof history === 'number') return history;
  if (history.events.length === 0) {
    io.stderr.write(`${args.adaptBaseRate ? 'adapting' : 'training'} refused: ${args.fromTopics ? 'the input topics hold' : 'the exports hold'} no events to learn from\n`);
    return TRAIN_EXIT_CODES.refused;
  }
  if (args.observedUntil !== null) {
    const firstKnown = history.events.reduce((first, { event, receivedAt }) => Math.min(first, receivedAt ?? event.occurredAt), Infinity);
    if (args.observedUntil < firstKnown) {
      throw new UsageError(`--observed-until ${new Date(args.observedUntil).toISOString()} is before the history's first event (${new Date(firstKnown).toISOString()}): none of it was known by then`);
    }
  }
  // By customer id: the same events give the same model (to the bit) whatever order the exports or partitions hold the customers in.
  const histories = groupByCustomer(history.events).sort((a, b) => compareUtf8(a.customerId, b.customerId));
  const fold = stateSettings(settings);
  if (args.adaptBaseRate) return adaptCommand(args, histories, { config: baseConfig, path: baseConfigPath }, fold, io);
  let progress = { customers: 0, rows: 0 };
  const snapshotting = startProgress(
    () => `snapshots  ${formatCount(progress.customers)}/${formatCount(histories.length)} customers  ${formatPercent(progress.customers, histories.length)}  ${formatCount(progress.rows)} snapshots`,
    { stream: io.stderr },
  );
  let dataset;
  try {
    const plan = planSnapshots(histories, {
      asOf: { everyDays: args.everyDays },
      horizonDays: args.horizonDays,
      ...(args.observedUntil === null ? {} : { observedUntil: args.observedUntil }),
    });
    dataset = { rows: await collectRows(histories, plan, { ...fold, onProgress: (done) => (progress = done) }), ...plan };
  } finally {
    snapshotting.stop();
  }

  let result;
  try {
    result = trainChurnModel(dataset, {
      baseConfig,
      trainedAt: clock(),
      sources: history.sources,
      leftOut: history.leftOut,
      validationShare: args.validationShare,
      targetPrecision: args.targetPrecision,
      l2: args.l2,
      features: args.features,
      ...(args.version === null ? {} : { version: args.version }),
      onStage: (stage) => io.stderr.write(`${stage}\n`),
    });
  } catch (error) {
    if (!(error instanceof TrainingRefusedError)) throw error;
    const bulkLoaded =
      args.recordTimestamps && dataset.asOfDates.length === 0
        ? ' (with --record-timestamps each event counts as known from its record\'s timestamp, and a history published in bulk carries its load time: leave it out to learn from when the events occurred)'
        : '';
    // Whether the defaults could label any snapshot of this history: advice to try them is no advice otherwise.
    const defaultsLabel = () => planSnapshots(histories, { asOf: { everyDays: DEFAULT_EVERY_DAYS }, horizonDays: DEFAULT_HORIZON_DAYS }).asOfDates.length > 0;
    const shapingOptions = error instanceof TooLittleHistoryError ? snapshotOptionsGiven(args, defaultsLabel) : null;
    io.stderr.write(`training refused: ${error.message}${bulkLoaded}\n${shapingOptions === null ? '' : `${shapingOptions}\n`}`);
    return TRAIN_EXIT_CODES.refused;
  }

  const paths = await writeModel(args, result.config, result.card);
  io.stdout.write(
    [
      ...summary(result.card),
      `wrote ${paths.config}, ${paths.card} and ${paths.cardJson}`,
      `score with it: SCORING_CONFIG_PATH=${paths.config} npm run scorer`,
      '',
    ].join('\n'),
  );
  return TRAIN_EXIT_CODES.ok;
}

/**
 * The options of this run, away from their defaults, that decide which snapshots are labelled and how they are split:
 * an outside tester's `--validation-share 0.95` left no churner in training, and the refusal only advised more
 * history. Null when all are at their defaults; the advice to try the defaults only where they label some snapshot.
 */
function snapshotOptionsGiven(args: TrainArgs, defaultsLabel: () => boolean): string | null {
  const given = [
    args.horizonDays === DEFAULT_HORIZON_DAYS ? null : `--horizon-days ${args.horizonDays} (default ${DEFAULT_HORIZON_DAYS})`,
    args.everyDays === DEFAULT_EVERY_DAYS ? null : `--every-days ${args.everyDays} (default ${DEFAULT_EVERY_DAYS})`,
    args.validationShare === DEFAULT_VALIDATION_SHARE ? null : `--validation-share ${args.validationShare} (default ${DEFAULT_VALIDATION_SHARE})`,
    args.observedUntil === null ? null : `--observed-until ${new Date(args.observedUntil).toISOString()} (default: the history's latest event)`,
  ].filter((option) => option !== null);
  if (given.length === 0) return null;
  // An outside tester's --horizon-days 30 was refused for too few churners, and the default 90 for too short a history.
  if (!defaultsLabel()) return `this run's ${given.join(', ')} differ from the defaults, but this history is too short for the defaults to label any snapshot: a longer history is what may do`;
  return `this run's ${given.join(', ')} may be the cause: try ${given.length === 1 ? 'its default' : 'their defaults'}`;
}

/** models/<version> of the repository, where the API looks for cards (absolute, so that the paths printed say where). */
const defaultOutputDir = (version: string): string => resolve('models', version);
/** `--out`, or the default directory of the model's version. */
const outputDir = (args: TrainArgs, config: ScoringConfig): string => args.outDir ?? defaultOutputDir(config.version);

/**
 * Refuses (exit 2) to write a model where one is already, whether the directory was given (--out) or is the version's
 * default: a scorer may load it (SCORING_CONFIG_PATH), and replaced, its next restart would score with another model
 * than its peers under the same version, without a word (outside testers, 2026-12-07: first with --out, then without).
 */
function refuseModelDirectoryInUse(dir: string, args: TrainArgs): void {
  if (!existsSync(join(dir, TRAINED_MODEL_FILES.config))) return;
  const named = args.outDir === null ? `${dir}, the directory of the model's version,` : `--out ${dir}`;
  const remedy = args.outDir === null ? 'give another --version or an --out, or remove it first' : 'choose another directory, or remove it first';
  throw new UsageError(`${named} holds a model already (${TRAINED_MODEL_FILES.config}), which a scorer may be loading: ${remedy}`);
}

interface WrittenModel {
  config: string;
  card: string;
  cardJson: string;
}

/**
 * Writes the config where the scorer is to load it from, and its card beside it (Markdown and JSON) when it has one,
 * where the API looks for it; returns the paths written.
 */
async function writeModel(args: TrainArgs, config: ScoringConfig, card: ModelCard): Promise<WrittenModel>;
async function writeModel(args: TrainArgs, config: ScoringConfig, card: ModelCard | null): Promise<WrittenModel | { config: string }>;
async function writeModel(args: TrainArgs, config: ScoringConfig, card: ModelCard | null): Promise<WrittenModel | { config: string }> {
  const dir = outputDir(args, config);
  // Its version known only now (a hash of what was learnt): a directory made for this run (--out) holds no model yet.
  refuseModelDirectoryInUse(dir, args);
  return writingTo(dir, async () => {
    await mkdir(dir, { recursive: true });
    const configPath = join(dir, TRAINED_MODEL_FILES.config);
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    if (card === null) return { config: configPath };
    const paths = { config: configPath, card: join(dir, TRAINED_MODEL_FILES.cardMarkdown), cardJson: join(dir, TRAINED_MODEL_FILES.cardJson) };
    await writeFile(paths.card, renderModelCard(card));
    await writeFile(paths.cardJson, `${JSON.stringify(card, null, 2)}\n`);
    return paths;
  });
}

/** A directory the model cannot be written to (a file in its path, no permission) is bad usage (exit 2), not a broker failure. */
async function writingTo<Result>(dir: string, write: () => Promise<Result>): Promise<Result> {
  try {
    return await write();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new UsageError(`cannot write the model to ${dir}: ${code}`);
    throw error;
  }
}

/**
 * The share of the settled snapshots that churned, beside a rate estimated without labels, and a warning when the two
 * are more than this many times apart: too few churners to measure the rate by, they can still say the estimate is far
 * off (an outside tester's base: 6.3 % estimated, 1.1 % of the settled snapshots churning).
 */
const ESTIMATE_DISAGREES_BY = 2;

function describeAdaptation(baseConfig: ScoringConfig, config: ScoringConfig, adaptation: BaseRateAdaptation, asOf: number, settledRows: readonly DatasetRow[]): string {
  const { outcomes } = adaptation;
  const settledChurners = churningCustomers(settledRows);
  const settledShare = settledRows.length === 0 ? null : settledRows.filter((row) => row.label).length / settledRows.length;
  const disagreement =
    outcomes !== undefined || settledShare === null
      ? null
      : settledShare === 0
        ? Infinity
        : Math.max(adaptation.to / settledShare, settledShare / adaptation.to);
  const how =
    outcomes === undefined
      ? `${formatCount(adaptation.customers)} customers under contract at ${new Date(asOf).toISOString()}, churn within ${config.churn.horizonDays} days ` +
        `estimated without labels at ${formatRate(adaptation.to)} (the settled history holds ${formatCount(settledChurners)} churning customers` +
        (settledShare === null ? '' : `, ${formatRate(settledShare)} of its ${formatCount(settledRows.length)} snapshots churning within the horizon`) +
        `: ${MIN_SETTLED_CHURNERS} are needed to measure it)`
      : `${formatCount(outcomes.snapshots)} settled snapshots of ${formatCount(adaptation.customers)} customers (${formatCount(outcomes.churningCustomers)} churning) ` +
        `as of ${outcomes.firstAsOf} to ${outcomes.lastAsOf}, churn within ${config.churn.horizonDays} days measured at ${formatRate(adaptation.to)}`;
  const { alert } = adaptation;
  const thresholds = (a: { openAt: number; resolveBelow: number }) => `opens at ≥ ${a.openAt}, resolves below ${a.resolveBelow}`;
  const outcome = (a: AlertOutcome) => `precision ${fixed(a.precision)}, recall ${fixed(a.recall)} (${fixed(a.earlyRecall)} at least ${EARLY_WARNING_DAYS} days ahead)`;
  const alertLine =
    alert !== undefined
      ? `CHURN_RISK_HIGH chosen on the settled snapshots for precision ${alert.targetPrecision}: ${thresholds(alert)} (there: ${outcome(alert)}; ` +
        `${baseConfig.version}'s ${thresholds(alert.base)}: ${outcome(alert.base)})`
      : `CHURN_RISK_HIGH kept as ${baseConfig.version}'s: ${thresholds(baseConfig.alerts.churnRiskHigh)} (` +
        (outcomes === undefined
          ? 'no settled outcomes to choose on'
          : outcomes.churningCustomers < MIN_CHURNING_CUSTOMERS
            ? `the settled snapshots hold ${formatCount(outcomes.churningCustomers)} churning customers: thresholds are chosen from ${MIN_CHURNING_CUSTOMERS}`
            : 'no thresholds reach the target precision on the settled snapshots') +
        ')';
  return (
    `adapted ${baseConfig.version} to this base as ${config.version}: ${how} ` +
    `(the model was fitted at ${formatRate(adaptation.from)}): ` +
    (adaptation.slope === undefined ? '' : `log-odds' slope ${adaptation.slope} (every coefficient multiplied by it), `) +
    `intercept ${baseConfig.churn.intercept} → ${config.churn.intercept}\n${alertLine}` +
    (disagreement !== null && disagreement > ESTIMATE_DISAGREES_BY
      ? `\nwarning: the estimate is more than ${ESTIMATE_DISAGREES_BY} times off the share of the settled snapshots that churned; too few churners have ` +
        `settled to measure the rate by, but the risks may be far from this base's: adapt again once ${MIN_SETTLED_CHURNERS} have (docs/scoring.md §17)`
      : '')
  );
}

/**
 * `--adapt-base-rate`: the base config's churn model moved to this base's churn rate: measured on the settled
 * outcomes of the year before --observed-until when they hold enough churners, else estimated without labels from the
 * model's risks of the customers under contract at --observed-until (a base too young to train on has them).
 * The coefficients and thresholds stay the base config's, and so does its model card's every figure: the adapted
 * card is the base's, with the moved intercept and what moved it (none when the base config has no card).
 */
async function adaptCommand(
  args: TrainArgs,
  histories: readonly CustomerHistory[],
  base: { config: ScoringConfig; path: string },
  fold: FoldOptions,
  io: TrainIo,
): Promise<number> {
  const baseConfig = base.config;
  const { activityFrom, lastKnown } = knownSpan(histories);
  const asOf = args.observedUntil ?? lastKnown;
  const settled = settledPlan(activityFrom, asOf, baseConfig.churn.horizonDays);
  // One pass: the settled instants, all before the horizon and the grace, and the instant itself (its labels unread).
  const plan = { ...settled, asOfDates: [...settled.asOfDates, asOf] };
  let progress = { customers: 0, rows: 0 };
  const scoring = startProgress(
    () => `customers  ${formatCount(progress.customers)}/${formatCount(histories.length)}  ${formatPercent(progress.customers, histories.length)}  ${formatCount(progress.rows)} snapshots`,
    { stream: io.stderr },
  );
  const rows = await collectRows(histories, plan, { ...fold, onProgress: (done) => (progress = done) }).finally(() => scoring.stop());
  const settledRows = rows.filter((row) => row.asOf !== asOf);
  let adapted;
  try {
    adapted = adaptToBase(
      baseConfig,
      { settled: settledRows, underContract: rows.filter((row) => row.asOf === asOf), asOf, historyFrom: activityFrom },
      args.version ?? undefined,
      args.targetPrecision,
    );
  } catch (error) {
    if (!(error instanceof TrainingRefusedError)) throw error;
    io.stderr.write(`adapting refused at ${new Date(asOf).toISOString()}: ${error.message}\n`);
    return TRAIN_EXIT_CODES.refused;
  }
  const { config, adaptation } = adapted;
  const baseCard = await findModelCard(base.path, baseConfig.version, isModelCard, (why) => io.stderr.write(`${why.path}: passed over (${why.problem})\n`));
  const observedUntil = new Date(asOf).toISOString();
  const card = baseCard && adaptedModelCard(baseCard, { version: config.version, intercept: config.churn.intercept }, { ...adaptation, observedUntil });
  const paths = await writeModel(args, config, card);
  const cardLine = 'card' in paths ? `wrote ${paths.card} and ${paths.cardJson}: ${baseConfig.version}'s card, adapted` : `no model card: none found for ${baseConfig.version}`;
  io.stdout.write(
    [describeAdaptation(baseConfig, config, adaptation, asOf, settledRows), `wrote ${paths.config}`, cardLine, `score with it: SCORING_CONFIG_PATH=${paths.config} npm run scorer`, ''].join('\n'),
  );
  return TRAIN_EXIT_CODES.ok;
}
