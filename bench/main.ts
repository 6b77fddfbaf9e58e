// `npm run bench`: the scorer's throughput, latency, memory and re-scoring rate, each against a
// ceiling measured on the same stack or a target. See docs/performance.md.
import { join } from 'node:path';
import { registryClientConfig } from '@churnscore/config';
import { createEventCodec, eventCodecOptions } from '@churnscore/events';
import { CLI_EXIT_CODES, UsageError, interruptSignal } from '@churnscore/simulator';
import { closeContext, createBenchReporter, openContext, type BenchContext } from './context';
import { encodeInput, firstEvents, generateInput, type BenchInput } from './input';
import { BENCH_USAGE, parseBenchArgs, type BenchOptions, type SectionName } from './options';
import { seedTemplates, type Templates } from './population';
import { RESULTS_DIR, renderTable, writeResults, type SectionOutcome, type TableRow } from './report';
import { Sandbox } from '../infra/src/sandbox';
import { measureBusyCustomer } from './sections/busy-customer';
import { measureCeiling } from './sections/ceiling';
import { measureLatency } from './sections/latency';
import { measureMemory } from './sections/memory';
import { profileScorer } from './sections/profile';
import { measureRescoring } from './sections/rescore';
import { measureThroughput } from './sections/throughput';
import { count, perSecond } from './stats';
import { machineInfo, packagesOfAnotherCheckout } from './system';
import { Interrupted } from './waiting';

/** Inputs shared by sections, made on first use and removed at the end of the run. */
class SharedInputs {
  private input: Promise<{ input: BenchInput; sandbox: Sandbox }> | undefined;
  private templates: Promise<Templates> | undefined;

  constructor(
    private readonly context: BenchContext,
    private readonly options: BenchOptions,
    private readonly now: number,
  ) {}

  /** The pre-produced input of the ceiling, throughput and profile runs: generated and Avro-encoded once. */
  async preProduced(): Promise<BenchInput> {
    this.input ??= (async () => {
      const { reporter } = this.context;
      const { customers, events, seed } = this.options;
      // Encoding needs the schemas registered under some topic's subjects; this sandbox's, kept until the end.
      const sandbox = await Sandbox.open(this.context, 'input', 1);
      const config = sandbox.config();
      const codec = createEventCodec(eventCodecOptions(config, registryClientConfig(config)));
      try {
        const generated = generateInput({ customers, events, seed, now: this.now });
        const input = await encodeInput(codec, sandbox.topics, generated);
        reporter.step('input', `${count(input.records.length)} events over ${count(input.eventsByCustomer.size)} customers and ${input.days} days, Avro-encoded`);
        return { input, sandbox };
      } finally {
        codec.close();
      }
    })();
    return (await this.input).input;
  }

  /** Customers with a real year of history in Redis, which the memory, re-scoring and latency populations copy. */
  templatesReady(): Promise<Templates> {
    this.templates ??= (async () => {
      const { reporter } = this.context;
      const customers = this.options.templates;
      reporter.step('templates', `applying a year of history for ${count(customers)} customers through the state store`);
      const templates = await seedTemplates(this.context, {
        count: customers,
        seed: this.options.seed,
        now: this.now,
        onProgress: (message) => reporter.step('templates', message),
      });
      reporter.step(
        'templates',
        `${count(templates.events)} events applied at ${perSecond(templates.applyRate)}, scored at ${perSecond(templates.scoreRate, 'customers/s')}`,
      );
      return templates;
    })();
    return this.templates;
  }

  async release(): Promise<void> {
    const settled = await Promise.allSettled([this.input, this.templates]);
    for (const result of settled) if (result.status === 'fulfilled' && result.value) await result.value.sandbox.cleanup();
  }
}

async function main(): Promise<number> {
  const options = parseBenchArgs(process.argv.slice(2));
  if (options === null) {
    console.log(BENCH_USAGE);
    return CLI_EXIT_CODES.ok;
  }
  const elsewhere = packagesOfAnotherCheckout();
  if (elsewhere.length > 0) {
    throw new UsageError(
      `bench: this tree's workspace packages resolve to another checkout (${elsewhere.join(', ')}): the figures would be of ` +
        "that checkout's code under this tree's commit. Give this tree node_modules of its own (npm ci), or link " +
        'node_modules/@churnscore/* to its own packages/ and services/.',
    );
  }
  const signal = interruptSignal();
  const startedAt = new Date();
  const reporter = createBenchReporter();
  const context = await openContext(reporter, options.scorerEnv);
  const machine = await machineInfo(context);
  reporter.step('machine', `${machine.cpus} × ${machine.cpuModel}; ${machine.memory.replace(/\s+/g, ' ')}; Node ${machine.node}; source ${machine.sourceRevision ?? '?'}`);
  reporter.step('stack', Object.entries(machine.stack).map(([name, version]) => `${name} ${version ?? '?'}`).join(', '));
  const overrides = Object.entries(options.scorerEnv).map(([name, value]) => `${name}=${value}`);
  if (overrides.length > 0) reporter.step('scorer', `settings on top of the defaults: ${overrides.join(' ')}`);

  const shared = new SharedInputs(context, options, startedAt.getTime());
  const outcomes = new Map<SectionName, SectionOutcome<object>>();
  const failures = new Map<SectionName, string>();
  const { partitions } = options;
  // Throughput is judged against the ceiling measured just before it (none when that section is skipped).
  let ceilingRate: number | null = null;
  const sections: Record<SectionName, () => Promise<SectionOutcome<object>>> = {
    ceiling: async () => {
      const outcome = await measureCeiling(context, await shared.preProduced(), { partitions, signal });
      ceilingRate = outcome.details.consumeAndDecodeRate;
      return outcome;
    },
    throughput: async () => measureThroughput(context, await shared.preProduced(), { partitions, ceilingRate, nodeFlags: options.scorerNodeFlags, signal }),
    latency: async () =>
      measureLatency(context, await shared.templatesReady(), {
        rates: options.rates,
        seconds: options.latencySeconds,
        customers: options.customers,
        partitions,
        seed: options.seed,
        nodeFlags: options.scorerNodeFlags,
        signal,
      }),
    memory: async () =>
      measureMemory(context, await shared.templatesReady(), { customers: options.memoryCustomers, growthCustomers: options.growthCustomers, seed: options.seed, signal }),
    rescore: async () => measureRescoring(context, await shared.templatesReady(), { customers: options.rescoreCustomers }),
    busy: async () => measureBusyCustomer(context, { now: startedAt.getTime() }),
    profile: async () =>
      profileScorer(context, firstEvents(await shared.preProduced(), options.profileEvents), {
        partitions,
        peers: options.profilePeers,
        peerNodeFlags: options.scorerNodeFlags,
        cpuProfileFile: join(RESULTS_DIR, `scorer-${startedAt.toISOString().replace(/[:.]/g, '-')}.cpuprofile`),
        signal,
      }),
  };

  try {
    for (const name of options.sections) {
      if (signal.aborted) break;
      reporter.step(name, 'starting');
      try {
        outcomes.set(name, await sections[name]());
      } catch (error) {
        if (error instanceof Interrupted) break;
        failures.set(name, (error as Error).message);
        reporter.step(name, `FAILED: ${(error as Error).stack ?? String(error)}`);
      }
    }
  } finally {
    await shared.release();
    await closeContext(context);
  }

  const rows: TableRow[] = options.sections.flatMap((name) => {
    const failure = failures.get(name);
    if (failure) return [{ metric: name, value: 'failed', reference: '', verdict: failure.split('\n')[0]! }];
    return outcomes.get(name)?.rows ?? [];
  });
  const file = writeResults(startedAt, {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    interrupted: signal.aborted,
    options: { ...options },
    machine,
    table: rows,
    sections: Object.fromEntries([...outcomes].map(([name, outcome]) => [name, outcome.details])),
    failures: Object.fromEntries(failures),
  });
  const settingsNote = overrides.length > 0 ? `\nScorers ran with ${overrides.join(' ')} on top of their defaults.` : '';
  console.log(`\n${renderTable(rows)}\n${settingsNote}\nResults: ${file} (and bench-results/latest.json)`);
  if (signal.aborted) return CLI_EXIT_CODES.interrupted;
  return failures.size > 0 ? 1 : CLI_EXIT_CODES.ok;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof UsageError ? error.message : error);
    process.exit(error instanceof UsageError ? CLI_EXIT_CODES.usage : 1);
  },
);
