import type { BenchContext } from '../context';
import { stageInput, type BenchInput } from '../input';
import type { SectionOutcome, TableRow } from '../report';
import { Sandbox } from '../../infra/src/sandbox';
import { fetchMetrics, scorerCounters, type ScorerCounters } from '../scorer-metrics';
import { startScorerProcess } from '../scorer-process';
import { count, percent, perSecond } from '../stats';
import { startAofMeter, startCpuMeter, startScriptTimeMeter, type CpuUse } from '../system';
import { waitForGroup, waitUntilScored } from '../waiting';

/** Scorer instances under test, however they run (child processes, or in the bench's own process). */
export interface ScorerFleet {
  /** Readers of each instance's CPU seconds, for the CPU meter. */
  cpu: Record<string, () => number | null>;
  /** Each instance's Prometheus exposition text. */
  metrics(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface ScoringRun {
  instances: number;
  events: number;
  /** From the input's commit (it becomes visible) to every customer's score reflecting all its events. */
  seconds: number;
  rate: number;
  cpu: CpuUse;
  /** Bytes Redis appended to its AOF during the run (null: AOF off). */
  aofBytes: number | null;
  /** Seconds Redis spent running scripts during the run. */
  redisScriptSeconds: number;
  counters: ScorerCounters;
}

/**
 * One timed run over the pre-produced input: stage it, start the fleet in a fresh consumer group and
 * key prefix, wait until every member has its partitions, commit the input, and stop the clock when
 * every customer's stored score was computed from all of its events.
 */
export async function timeScoring(
  context: BenchContext,
  input: BenchInput,
  options: {
    purpose: string;
    partitions: number;
    instances: number;
    startFleet(sandbox: Sandbox, group: string): Promise<ScorerFleet>;
    signal: AbortSignal;
  },
): Promise<ScoringRun> {
  const { reporter } = context;
  const scope = options.purpose;
  const sandbox = await Sandbox.open(context, options.purpose, options.partitions);
  try {
    const staged = await stageInput(context.kafka, sandbox.topics, input, `${sandbox.name}-input`);
    try {
      const group = sandbox.group('scorer');
      const fleet = await options.startFleet(sandbox, group);
      try {
        await waitForGroup(context.admin, group, options.instances, options.signal);
        const meter = await startCpuMeter(context, fleet.cpu);
        const aofMeter = await startAofMeter(context);
        const scriptMeter = await startScriptTimeMeter(context);
        reporter.step(scope, `${options.instances} scorer(s) joined; committing ${count(input.records.length)} events`);
        const startedAt = await staged.commit();
        const finishedAt = await waitUntilScored(context, sandbox.prefix, input.eventsByCustomer, {
          signal: options.signal,
          onProgress: (scored, total) =>
            reporter.step(scope, `scored ${count(scored)}/${count(total)} events (${perSecond(scored / ((Date.now() - startedAt) / 1000))})`),
        });
        const cpu = await meter.stop();
        const aofBytes = await aofMeter.stop();
        const redisScriptSeconds = await scriptMeter.stop();
        const seconds = (finishedAt - startedAt) / 1000;
        const rate = input.records.length / seconds;
        reporter.step(scope, `${perSecond(rate)} over ${seconds.toFixed(1)} s`);
        return {
          instances: options.instances,
          events: input.records.length,
          seconds,
          rate,
          cpu,
          aofBytes,
          redisScriptSeconds,
          counters: scorerCounters(await fleet.metrics()),
        };
      } finally {
        await fleet.stop();
      }
    } finally {
      await staged.discard();
    }
  } finally {
    await sandbox.cleanup();
  }
}

/** `npm run scorer` child processes: each has its own event loop, so two of them can use both cores. */
export async function startProcessFleet(sandbox: Sandbox, group: string, instances: number, label: string, nodeFlags: readonly string[]): Promise<ScorerFleet> {
  const scorers = await Promise.all(
    Array.from({ length: instances }, (_, i) => startScorerProcess(`${label} ${i + 1}/${instances}`, sandbox.scorerEnv(group), nodeFlags)),
  );
  return {
    cpu: Object.fromEntries(scorers.map((scorer, i) => [`${label}${i + 1}`, scorer.cpuSeconds])),
    metrics: () => Promise.all(scorers.map((scorer) => fetchMetrics(scorer.httpPort))),
    stop: async () => {
      await Promise.all(scorers.map((scorer) => scorer.stop()));
    },
  };
}

export interface ThroughputDetails {
  runs: ScoringRun[];
  ceilingRate: number | null;
}

/** Issue 11's target for one scorer process (issue 6 had asked 50%). */
const TARGET_SHARE_OF_CEILING = 0.25;
const TARGET_AOF_BYTES_PER_EVENT = 500;
/** The Kafka Streams peer of issue 11, on this machine: CPU seconds per 100k events. */
const PEER_CPU_SECONDS_PER_100K = '3.2–3.6 s';

/** CPU seconds the scorer processes and Redis spent per 100,000 events of a run (null: a process not measured). */
function cpuSecondsPer100k(run: ScoringRun): number | null {
  const cores = Object.entries(run.cpu).filter(([name]) => name !== 'kafka' && name !== 'bench').map(([, used]) => used);
  if (cores.some((used) => used === null)) return null;
  return (cores.reduce<number>((sum, used) => sum + used!, 0) * run.seconds * 100_000) / run.events;
}

/** Per-event cost rows of the one-process run: CPU (scorer + Redis), Redis's time in scripts and the AOF bytes Redis wrote. */
function costRows(run: ScoringRun): TableRow[] {
  const cpu = cpuSecondsPer100k(run);
  const scripts = (run.redisScriptSeconds * 100_000) / run.events;
  const aofPerEvent = run.aofBytes === null ? null : run.aofBytes / run.events;
  return [
    {
      metric: `CPU seconds per 100k events, scorer + Redis (${run.instances} process)`,
      value: cpu === null ? 'n/a' : `${cpu.toFixed(1)} s`,
      reference: `Kafka Streams peer: ${PEER_CPU_SECONDS_PER_100K}`,
      verdict: 'measured',
    },
    {
      metric: `Redis time in scripts per 100k events (${run.instances} process)`,
      value: `${scripts.toFixed(2)} s`,
      reference: cpu === null ? 'part of the CPU line' : `${percent(scripts / cpu)} of the CPU line`,
      verdict: 'measured',
    },
    {
      metric: `AOF bytes written per applied event (${run.instances} process)`,
      value: aofPerEvent === null ? 'n/a (AOF off)' : `${count(aofPerEvent)} B`,
      reference: `≤ ${TARGET_AOF_BYTES_PER_EVENT} B`,
      verdict: aofPerEvent === null ? 'n/a' : aofPerEvent <= TARGET_AOF_BYTES_PER_EVENT ? 'met' : 'MISSED',
    },
  ];
}

/**
 * The scorer end to end over the pre-produced input, as one and as two `npm run scorer` processes in
 * one consumer group. Child processes rather than two scorers in the bench's process: one process is
 * one event loop, so two in-process scorers would share a single core and could not show what a
 * second instance adds on a two-core machine.
 */
export async function measureThroughput(
  context: BenchContext,
  input: BenchInput,
  options: { partitions: number; ceilingRate: number | null; nodeFlags: readonly string[]; signal: AbortSignal },
): Promise<SectionOutcome<ThroughputDetails>> {
  const runs: ScoringRun[] = [];
  for (const instances of [1, 2]) {
    runs.push(
      await timeScoring(context, input, {
        purpose: `throughput-${instances}`,
        partitions: options.partitions,
        instances,
        startFleet: (sandbox, group) => startProcessFleet(sandbox, group, instances, 'scorer', options.nodeFlags),
        signal: options.signal,
      }),
    );
  }
  const { ceilingRate } = options;
  const rows: TableRow[] = runs.map((run) => ({
    metric: `Scorer throughput, ${run.instances} process${run.instances > 1 ? 'es' : ''} (event → score in Redis)`,
    value: perSecond(run.rate),
    reference: ceilingRate === null ? `≥ ${percent(TARGET_SHARE_OF_CEILING)} of ceiling (not measured)` : `≥ ${percent(TARGET_SHARE_OF_CEILING)} of ${perSecond(ceilingRate)}`,
    verdict:
      ceilingRate === null
        ? 'n/a'
        : `${percent(run.rate / ceilingRate)} of ceiling: ${run.rate / ceilingRate >= TARGET_SHARE_OF_CEILING ? 'met' : 'MISSED'}`,
  }));
  return { rows: [...rows, ...costRows(runs[0]!)], details: { runs, ceilingRate } };
}
