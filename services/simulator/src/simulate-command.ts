import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { AppConfig, Env } from '@churnscore/config';
import { EARLIEST_OCCURRED_AT, MS_PER_DAY, TEXT_FIELD_MAX_LENGTH, parseIsoInstant, textFieldProblem, type InputEvent } from '@churnscore/domain';
import { CLI_EXIT_CODES, UsageError, integerOption, interruptSignal, loadProducerConfig, parseOptions, pathFromShell, requireWritableFile } from './cli-support';
import { COHORTS } from './cohorts';
import { writeNdjson } from './export-format';
import { generateCustomerHistory, planCustomers, simulatedCustomerId, type CustomerPlan } from './generator';
import { generateLiveEvents } from './live';
import { DEFAULT_POPULATION, populationFromOptions, type PopulationParameters } from './population';
import { formatCount, startProgress, startRateMeter, type ProgressStream } from './progress';
import { createEventPublisher } from './publish';
import type { PumpOptions } from './pump';

export const SIMULATE_USAGE = `Usage: npm run simulate -- [options]

Generates a history of CRM traffic for synthetic customers and publishes it to the input topics
(or writes it as NDJSON), then optionally keeps producing live events.

  --customers N     customers to simulate (default 200)
  --days N          days of history up to now (default 400)
  --seed S          same seed, same options, same clock: same events (default 1)
  --churn-rate R    annual churn rate, 0 to 0.95 (default ${DEFAULT_POPULATION.churnRate})
  --silent-churn-share S
                    share of churners who leave with no warning, 0 to 1 (default ${DEFAULT_POPULATION.silentChurnShare})
  --activity-spread X
                    customers' activity levels within a segment, 95th percentile over 5th
                    (default ${DEFAULT_POPULATION.activitySpread}; 1 makes them all alike)
  --usage-signal S  how much of a product-usage reading's quantity follows the customer's
                    engagement, 0 to 1 (default ${DEFAULT_POPULATION.usageSignal}; 0: only how often it reports does)
  --usage-reporting R  the share of customers whose product reports usage at all, 0 to 1
                    (default ${DEFAULT_POPULATION.usageReporting}; 0: a CRM without product telemetry)
  --now ISO-8601    the simulator's clock (default: the current time)
  --rate N          events per second, 0 for no limit (default 5000 to Kafka, none writing NDJSON)
  --follow          after the history, keep producing live events at --rate until Ctrl-C
  --no-history      with --follow: only the live events (the history was published by an earlier run
                    with the same --customers, --seed and --id-prefix)
  --emit MODE       kafka (default) or ndjson
  --out FILE        with --emit ndjson: write to FILE instead of stdout
  --id-prefix P     customer ids are P-000001, ... (default sim)
  --source NAME     the events' source field (default simulator)
  --help            show this text

Kafka, registry and currency settings come from the environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
REDIS_URL, REPORTING_CURRENCY, TOPIC_*), as for the scorer.`;

export interface SimulateArgs {
  customers: number;
  days: number;
  seed: string;
  population: PopulationParameters;
  /** The clock at start, epoch ms. */
  now: number;
  ratePerSecond: number;
  follow: boolean;
  /** Skip the history and go straight to live events. */
  history: boolean;
  emit: 'kafka' | 'ndjson';
  out: string | null;
  idPrefix: string;
  source: string;
}

/** Parses the command line; null when --help was asked for. */
export function parseSimulateArgs(argv: string[], clock: () => number = Date.now): SimulateArgs | null {
  const parsed = parseOptions(
    argv,
    {
      customers: { type: 'string' },
      days: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'churn-rate': { type: 'string' },
      'silent-churn-share': { type: 'string' },
      'activity-spread': { type: 'string' },
      'usage-signal': { type: 'string' },
      'usage-reporting': { type: 'string' },
      now: { type: 'string' },
      rate: { type: 'string' },
      follow: { type: 'boolean', default: false },
      'no-history': { type: 'boolean', default: false },
      emit: { type: 'string', default: 'kafka' },
      out: { type: 'string' },
      'id-prefix': { type: 'string', default: 'sim' },
      source: { type: 'string', default: 'simulator' },
      help: { type: 'boolean', default: false },
    },
    SIMULATE_USAGE,
  );
  if (parsed.help) return null;
  const { emit, out } = parsed;
  if (emit !== 'kafka' && emit !== 'ndjson') throw new UsageError('--emit must be kafka or ndjson');
  if (out !== undefined && emit !== 'ndjson') throw new UsageError('--out only applies with --emit ndjson');
  if (parsed['no-history'] && !parsed.follow) throw new UsageError('--no-history only applies with --follow');
  const now = parsed.now === undefined ? clock() : parseIsoInstant(parsed.now);
  if (now === null) throw new UsageError('--now must be an ISO 8601 date, or time with a zone, e.g. 2025-06-15T12:00:00Z');
  const population = populationFromOptions(parsed);
  const customers = integerOption('customers', parsed.customers, 200, 1);
  refuseUnacceptedIds(parsed['id-prefix'], customers, parsed.source);
  return {
    customers,
    days: integerOption('days', parsed.days, 400, 1),
    seed: parsed.seed,
    population,
    now,
    // A file takes events as fast as they come; the brokers are spared a burst unless asked for one.
    ratePerSecond: integerOption('rate', parsed.rate, emit === 'ndjson' ? 0 : 5000, 0),
    follow: parsed.follow,
    history: !parsed['no-history'],
    emit,
    out: out === undefined ? null : pathFromShell(out),
    idPrefix: parsed['id-prefix'],
    source: parsed.source,
  };
}

export interface SimulateIo {
  env: Env;
  /** Where --emit ndjson writes without --out. */
  stdout: Writable;
  /** Progress and the closing summary. */
  stderr: ProgressStream;
  /** Real time; the simulated clock runs from --now at this pace. */
  clock?: () => number;
  signal?: AbortSignal;
}

/** `npm run simulate`: generate, then publish or write; resolves to the exit code. */
export async function runSimulateCommand(argv: string[], io: SimulateIo): Promise<number> {
  const realClock = io.clock ?? Date.now;
  const args = parseSimulateArgs(argv, realClock);
  if (args === null) {
    io.stderr.write(`${SIMULATE_USAGE}\n`);
    return CLI_EXIT_CODES.ok;
  }
  const config = loadProducerConfig(io.env, { offline: args.emit === 'ndjson' });
  refuseUnacceptedHistory(args, realClock(), config.maxFutureSkewMs);
  // Found before anything is generated: not a failure at the end.
  if (args.out !== null) await requireWritableFile(args.out, '--out');
  const generatorOptions = {
    customers: args.customers,
    days: args.days,
    seed: args.seed,
    now: args.now,
    ...args.population,
    idPrefix: args.idPrefix,
    source: args.source,
    currency: config.reportingCurrency,
  };
  const plans = planCustomers(generatorOptions);
  const signal = io.signal ?? interruptSignal();

  // One customer's history at a time (memory stays flat), then, with --follow, live events stamped
  // by a clock that runs on from --now at real-time pace.
  const { follow, history, seed, source, now } = args;
  let customersDone = 0;
  let live = false;
  function* events(): Generator<InputEvent> {
    for (const plan of history ? plans : []) {
      yield* generateCustomerHistory(plan, generatorOptions).events;
      customersDone += 1;
    }
    if (!follow) return;
    live = true;
    const startedAt = realClock();
    yield* generateLiveEvents(plans, { seed, source, clock: () => now + (realClock() - startedAt) });
  }

  let delivered = 0;
  const rate = startRateMeter();
  const describeProgress = (): string => {
    const throughput = `${formatCount(delivered)} events  ${formatCount(rate.perSecond(delivered))} events/s`;
    return live ? `live  ${throughput}  (Ctrl-C to stop)` : `history  ${formatCount(customersDone)}/${formatCount(plans.length)} customers  ${throughput}`;
  };
  const progress = startProgress(describeProgress, { stream: io.stderr });
  const pump: PumpOptions = { events: events(), ratePerSecond: args.ratePerSecond, signal, onProgress: (total) => (delivered = total) };
  try {
    delivered = args.emit === 'ndjson' ? await writeToNdjson(args.out, io.stdout, pump) : await publishToKafka(config, pump);
  } finally {
    progress.stop();
  }
  const { activity, opportunity, contract, customer } = config.topics;
  const destination = args.emit === 'kafka' ? `topics ${[activity, opportunity, contract, customer].join(', ')}` : (args.out ?? 'stdout');
  io.stderr.write(`${summary(args, plans, delivered, destination)}\n`);
  return signal.aborted && !follow ? CLI_EXIT_CODES.interrupted : CLI_EXIT_CODES.ok;
}

/**
 * A history the scorer and ingest would refuse whole is bad usage (exit 2), not a publication: an outside tester's
 * `--now` a year ahead published events every one of which the scorer dead-lettered as FUTURE_OCCURRED_AT, exit 0.
 */
function refuseUnacceptedHistory({ now, days }: Pick<SimulateArgs, 'now' | 'days'>, realNow: number, maxFutureSkewMs: number): void {
  if (now > realNow + maxFutureSkewMs) {
    throw new UsageError(`--now is more than MAX_FUTURE_SKEW_MS (${maxFutureSkewMs} ms) ahead of this machine's clock: the scorer and ingest would refuse its events as FUTURE_OCCURRED_AT`);
  }
  if (now - days * MS_PER_DAY < EARLIEST_OCCURRED_AT) {
    throw new UsageError(`--now minus --days begins before ${new Date(EARLIEST_OCCURRED_AT).toISOString()}: the scorer and ingest refuse events before it`);
  }
}

/**
 * Ids and a source the scorer and ingest would refuse in every event are bad usage (exit 2): an outside tester's
 * `--id-prefix` of 130 characters, or an empty `--source`, made files ingest refused line by line. The last customer's
 * id is the longest.
 */
function refuseUnacceptedIds(idPrefix: string, customers: number, source: string): void {
  const idProblem = textFieldProblem(simulatedCustomerId(idPrefix, customers - 1), TEXT_FIELD_MAX_LENGTH.customerId);
  if (idProblem !== null) throw new UsageError(`--id-prefix makes customer ids that the scorer and ingest refuse: a customerId ${idProblem}`);
  const sourceProblem = textFieldProblem(source, TEXT_FIELD_MAX_LENGTH.source);
  if (sourceProblem !== null) throw new UsageError(`--source is refused by the scorer and ingest: a source ${sourceProblem}`);
}

async function writeToNdjson(path: string | null, stdout: Writable, pump: PumpOptions): Promise<number> {
  if (path === null) return writeNdjson(stdout, pump);
  const file = createWriteStream(path);
  const written = await writeNdjson(file, pump);
  file.end();
  await finished(file);
  return written;
}

async function publishToKafka(config: AppConfig, pump: PumpOptions): Promise<number> {
  const publisher = createEventPublisher(config, 'simulator');
  try {
    return await publisher.publish(pump);
  } finally {
    await publisher.close();
  }
}

function summary(args: SimulateArgs, plans: CustomerPlan[], delivered: number, destination: string): string {
  const cohorts = COHORTS.map((cohort) => `${cohort} ${plans.filter((plan) => plan.cohort === cohort).length}`).join(', ');
  const what = `${formatCount(delivered)} events for ${plans.length} customers (${cohorts})`;
  return `${what} over ${args.days} days, seed ${args.seed} → ${destination}`;
}
