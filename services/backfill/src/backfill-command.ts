// `npm run backfill`: every customer's score as of the end of each UTC week of the past year, computed from event
// time by the scorer's pure code from a replay of the input topics, written to Redis as the customer's back-filled
// score history, which the read API serves before the live points (docs/time-and-alerts.md, "A year of history
// from the first day").
import { stateSettings, type Env } from '@churnscore/config';
import { connectionErrorLogger, createLogger } from '@churnscore/observability';
import { compareUtf8 } from '@churnscore/scoring';
import { CLI_EXIT_CODES, UsageError, exitOnInterrupt, formatCount, formatPercent, loadProducerConfig, parseOptions, startProgress } from '@churnscore/simulator';
import { RedisLoginRefusedError, createBackfilledHistoryWriter, createRedis, requireRedisAnswer, serverMicroseconds, type BackfilledHistoryWriter } from '@churnscore/state';
import { loadCommandScoringConfig, replayInputTopics, type CommandIo } from '@churnscore/trainer';
import { groupByCustomer, type CustomerHistory } from '@churnscore/training';
import { BACKFILL_DAYS, backfilledPoints, weekEnds } from './score-points';

export const BACKFILL_EXIT_CODES = {
  ok: CLI_EXIT_CODES.ok,
  usage: CLI_EXIT_CODES.usage,
  /** The broker, the schema registry or Redis failed. */
  failed: CLI_EXIT_CODES.publishFailed,
} as const;

export const BACKFILL_USAGE = `Usage: npm run backfill -- [--record-timestamps]

Computes every customer's score as of the end of each UTC week (Sunday) of the past ${BACKFILL_DAYS} days from
event time, with the scorer's own code and the live scoring config (SCORING_CONFIG_PATH), from a replay of
the retained input topics (as npm run train -- --from-topics reads them), and writes it to Redis as the
customer's back-filled score history: the read API's history serves it before the live points, marked
"backfilled": true. A re-run replaces the previous back-fill. Customers the scorer has not scored (or
erased) get none: run it once the scorer has caught up; nor do customers erased and created again while
it ran (their erasure may be missing from the replay): a re-run back-fills them. docs/time-and-alerts.md
explains it.

  --record-timestamps   each event is known from its record's timestamp (topics fed live); by default
                        from when it occurred (a history loaded in bulk carries its load time)
  --help                show this text

Exit codes: 0 done, 2 bad usage or configuration (a broker or Redis refusing the login included),
3 the broker, the schema registry or Redis failed, 130 interrupted (Ctrl-C; it says how many customers'
back-fills were replaced by then: running again replaces them all).`;

export interface BackfillArgs {
  recordTimestamps: boolean;
}

/** Parses the command line; null when --help was asked for. */
export function parseBackfillArgs(argv: string[]): BackfillArgs | null {
  const parsed = parseOptions(argv, { 'record-timestamps': { type: 'boolean', default: false }, help: { type: 'boolean', default: false } }, BACKFILL_USAGE);
  return parsed.help ? null : { recordTimestamps: parsed['record-timestamps'] };
}

export interface BackfillIo extends CommandIo {
  env: Env;
}

/** Customers written at once: their scripts pipeline on one connection while the next ones are computed. */
const WRITE_BATCH = 50;

export interface BackfillCounts {
  customers: number;
  written: number;
  /** Customers whose state was created after the replay began: not written, a re-run back-fills them. */
  createdSinceReplay: number;
  points: number;
}

/** Each customer's points, computed and written batch by batch, telling `onProgress` after each batch. */
export async function backfillCustomers(
  histories: readonly CustomerHistory[],
  writer: BackfilledHistoryWriter,
  compute: (history: CustomerHistory) => ReturnType<typeof backfilledPoints>,
  onProgress: (counts: BackfillCounts) => void,
): Promise<BackfillCounts> {
  const counts: BackfillCounts = { customers: 0, written: 0, createdSinceReplay: 0, points: 0 };
  for (let from = 0; from < histories.length; from += WRITE_BATCH) {
    const batch = histories.slice(from, from + WRITE_BATCH).map((history) => ({ history, points: compute(history) }));
    const written = await Promise.all(batch.map(({ history, points }) => writer.replace(history.customerId, points)));
    batch.forEach(({ points }, index) => {
      counts.customers += 1;
      if (written[index] === 'written') {
        counts.written += 1;
        counts.points += points.length;
      } else if (written[index] === 'created-since-replay') counts.createdSinceReplay += 1;
    });
    onProgress({ ...counts });
  }
  return counts;
}

/**
 * With --record-timestamps, a replay of which no record was published by the last week end would replace every
 * customer's back-filled year with nothing: an outside tester's bulk-loaded history, each record stamped with its load
 * time, erased the charts' past and reported success. Refused, nothing written, as train refuses to learn from it.
 */
function refuseUnknownAtEveryWeekEnd(args: BackfillArgs, events: ReadonlyArray<{ receivedAt?: number }>, asOf: readonly number[]): void {
  const lastWeekEnd = asOf.at(-1);
  if (!args.recordTimestamps || events.length === 0) return;
  if (lastWeekEnd !== undefined && events.some(({ receivedAt }) => receivedAt !== undefined && receivedAt <= lastWeekEnd)) return;
  throw new UsageError(
    '--record-timestamps: no record was published by the last week end, so nothing would be known at any of them and every ' +
      "back-filled history would be replaced by none. A history published in bulk carries its load time: leave the option out to compute from when the events occurred. Nothing was written",
  );
}

/**
 * What a Ctrl-C leaves: during the replay, the previous back-fill whole; while writing, a mix of this run's and the
 * previous run's, which a re-run makes whole again.
 */
export function describeInterruptedBackfill(progress: BackfillCounts | null, customers: number): string {
  if (progress === null) return 'nothing written, the previous back-fill stands; running again is safe';
  return (
    `the back-fills of ${formatCount(progress.written)} of ${formatCount(customers)} customers were replaced (and maybe those of the batch in flight), ` +
    "the others keep the previous run's; running again replaces them all"
  );
}

export async function runBackfillCommand(argv: string[], io: BackfillIo): Promise<number> {
  const args = parseBackfillArgs(argv);
  if (args === null) {
    io.stderr.write(`${BACKFILL_USAGE}\n`);
    return BACKFILL_EXIT_CODES.ok;
  }
  const clock = io.clock ?? Date.now;
  const settings = loadProducerConfig(io.env, { offline: false });
  const scoring = loadCommandScoringConfig(settings.scoringConfigPath, 'the scoring config');
  // Its connection errors as JSON lines with the progress, on stderr (ioredis would print each with its stack).
  const logger = createLogger({ name: 'backfill', level: settings.logLevel, destination: io.stderr });
  const redis = createRedis({ ...settings.redis, connectionName: 'churnscore-backfill', onError: connectionErrorLogger(logger, 'redis') });
  // Null until the writing begins.
  let progress: BackfillCounts | null = null;
  let customers = 0;
  const stopExitingOnInterrupt = exitOnInterrupt(io.stderr, () => describeInterruptedBackfill(progress, customers));
  try {
    try {
      await requireRedisAnswer(redis);
    } catch (error) {
      if (error instanceof RedisLoginRefusedError) throw new UsageError(error.message);
      throw error;
    }
    // Taken before the replay reads anything: a state created after it may have an erasure the replay lacks.
    const replayBegan = await serverMicroseconds(redis);
    const replay = await replayInputTopics(settings, io, { clock, recordTimestamps: args.recordTimestamps });
    const until = clock();
    const asOf = weekEnds(until);
    refuseUnknownAtEveryWeekEnd(args, replay.events, asOf);
    const fold = stateSettings(settings);
    const histories = groupByCustomer(replay.events).sort((a, b) => compareUtf8(a.customerId, b.customerId));
    customers = histories.length;
    progress = { customers: 0, written: 0, createdSinceReplay: 0, points: 0 };
    const display = startProgress(
      () => `back-filling  ${formatCount(progress?.customers ?? 0)}/${formatCount(customers)} customers  ${formatPercent(progress?.customers ?? 0, customers)}`,
      { stream: io.stderr },
    );
    const writer = createBackfilledHistoryWriter(redis, { prefix: settings.redis.keyPrefix, replayBegan });
    const counts = await backfillCustomers(histories, writer, (history) => backfilledPoints(history, asOf, scoring, fold), (done) => (progress = done)).finally(
      () => display.stop(),
    );
    const weeks = asOf.length === 0 ? 'no week' : `${asOf.length} week ends, ${new Date(asOf[0]!).toISOString()} to ${new Date(asOf.at(-1)!).toISOString()}`;
    const notScored = counts.customers - counts.written - counts.createdSinceReplay;
    const recreated = counts.createdSinceReplay === 0 ? '' : `; ${counts.createdSinceReplay} created again while it ran (erased since?): none written, run it again for them`;
    io.stdout.write(
      `back-filled ${counts.written} of ${counts.customers} customers (${formatCount(counts.points)} points; ${weeks}) with ${scoring.version}; ` +
        `${notScored} not scored (or erased): none written${recreated}\n`,
    );
    return BACKFILL_EXIT_CODES.ok;
  } finally {
    stopExitingOnInterrupt();
    redis.disconnect();
  }
}
