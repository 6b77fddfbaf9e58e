import { parseArgs } from 'node:util';
import { UsageError, integerOption } from '@churnscore/simulator';

export const SECTIONS = ['ceiling', 'throughput', 'latency', 'memory', 'rescore', 'busy', 'profile'] as const;
export type SectionName = (typeof SECTIONS)[number];

export const BENCH_USAGE = `Usage: npm run bench -- [options]

Measures the scorer against the local stack (or KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL),
prints a table and writes bench-results/<timestamp>.json and bench-results/latest.json.

  --events N             pre-produced input for the ceiling and throughput runs (default 200000)
  --profile-events N     the first N of those for the profiled run (default 50000)
  --profile-peers N      scorer processes sharing the profiled run with the profiled scorer (default 0)
  --customers N          customers that input is spread over; also the latency runs' customers (default 2000)
  --rates R[,R…]         offered events/s of the latency runs (default 1000,5000)
  --latency-seconds N    measured part of each latency run, after 10 s of warm-up (default 25)
  --memory-customers N   customers in Redis for the memory measurement (default 100000)
  --growth-customers N   customers given four years of history for the memory section's growth after the
                         first year (default 100)
  --rescore-customers N  customers due at once for the re-scoring measurement (default 20000)
  --templates N          customers whose year of history is applied event by event; the memory,
                         re-scoring and latency populations are copies of them (default 500)
  --partitions N         partitions of every input topic (default 6, as provisioned)
  --seed S               simulator seed (default bench)
  --scorer-env K=V[,…]   settings for every scorer under test, e.g. SCORER_CHUNK_SIZE=5000 or
                         NODE_OPTIONS=--max-semi-space-size=64 (child processes only); default none
  --scorer-node-flags=F[,…]  Node flags for every scorer process under test (throughput, latency, profile
                         peers), including those NODE_OPTIONS refuses, e.g.
                         --scorer-node-flags=--cpu-prof,--cpu-prof-dir=/tmp/scorer-profiles; default none
  --skip S[,S…]          leave out sections: ${SECTIONS.join(', ')}
  --help                 show this text`;

export interface BenchOptions {
  events: number;
  profileEvents: number;
  profilePeers: number;
  customers: number;
  rates: number[];
  latencySeconds: number;
  memoryCustomers: number;
  growthCustomers: number;
  rescoreCustomers: number;
  templates: number;
  partitions: number;
  seed: string;
  /** Environment overrides for the scorers under test (their configuration, or Node's options). */
  scorerEnv: Record<string, string>;
  /** Node flags for the scorer processes under test (`--scorer-node-flags`). */
  scorerNodeFlags: string[];
  sections: SectionName[];
}

const listOf = (values: readonly string[]): string[] =>
  values.flatMap((value) => value.split(',')).map((part) => part.trim()).filter((part) => part !== '');

const isSection = (name: string): name is SectionName => (SECTIONS as readonly string[]).includes(name);

/** The run's sizes; null when --help was asked for. Throws UsageError naming the bad option. */
export function parseBenchArgs(argv: string[]): BenchOptions | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        events: { type: 'string' },
        'profile-events': { type: 'string' },
        'profile-peers': { type: 'string' },
        customers: { type: 'string' },
        rates: { type: 'string' },
        'latency-seconds': { type: 'string' },
        'memory-customers': { type: 'string' },
        'growth-customers': { type: 'string' },
        'rescore-customers': { type: 'string' },
        templates: { type: 'string' },
        partitions: { type: 'string' },
        seed: { type: 'string' },
        'scorer-env': { type: 'string', multiple: true },
        'scorer-node-flags': { type: 'string', multiple: true },
        skip: { type: 'string', multiple: true },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${BENCH_USAGE}`);
  }
  if (values.help) return null;

  const skipped = listOf(values.skip ?? []);
  const unknown = skipped.filter((name) => !isSection(name));
  if (unknown.length > 0) throw new UsageError(`--skip: unknown section ${unknown.join(', ')} (expected ${SECTIONS.join(', ')})`);
  const rates = listOf(values.rates === undefined ? ['1000,5000'] : [values.rates]).map(Number);
  if (rates.length === 0 || rates.some((rate) => !Number.isInteger(rate) || rate < 1)) {
    throw new UsageError('--rates must be a comma-separated list of whole numbers of events per second, e.g. 1000,5000');
  }
  const scorerEnv = Object.fromEntries(
    listOf(values['scorer-env'] ?? []).map((setting) => {
      const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(setting);
      if (!match) throw new UsageError(`--scorer-env: expected NAME=value, got "${setting}"`);
      return [match[1]!, match[2]!];
    }),
  );
  const scorerNodeFlags = listOf(values['scorer-node-flags'] ?? []);
  const notFlags = scorerNodeFlags.filter((flag) => !flag.startsWith('--'));
  if (notFlags.length > 0) throw new UsageError(`--scorer-node-flags: expected Node flags (--name or --name=value), got ${notFlags.join(', ')}`);
  const customers = integerOption('customers', values.customers, 2_000, 1);
  const events = integerOption('events', values.events, 200_000, 1);
  if (events < customers) throw new UsageError('--events must be at least --customers (every customer gets a history)');
  return {
    events,
    profileEvents: Math.min(events, integerOption('profile-events', values['profile-events'], 50_000, 1)),
    profilePeers: integerOption('profile-peers', values['profile-peers'], 0, 0),
    customers,
    rates,
    latencySeconds: integerOption('latency-seconds', values['latency-seconds'], 25, 5),
    memoryCustomers: integerOption('memory-customers', values['memory-customers'], 100_000, 1),
    growthCustomers: integerOption('growth-customers', values['growth-customers'], 100, 1),
    rescoreCustomers: integerOption('rescore-customers', values['rescore-customers'], 20_000, 1),
    templates: integerOption('templates', values.templates, 500, 1),
    partitions: integerOption('partitions', values.partitions, 6, 1),
    seed: values.seed ?? 'bench',
    scorerEnv,
    scorerNodeFlags,
    sections: SECTIONS.filter((section) => !skipped.includes(section)),
  };
}
