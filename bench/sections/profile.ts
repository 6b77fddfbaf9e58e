import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createLogger } from '@churnscore/observability';
import { defaultScoringConfig } from '@churnscore/scoring';
import { startScorer } from '../../services/scorer/src/scorer';
import type { BenchContext } from '../context';
import { startCpuProfile, summariseProfile, type ProfileSummary } from '../cpu-profile';
import type { BenchInput } from '../input';
import type { SectionOutcome, TableRow } from '../report';
import type { Sandbox } from '../../infra/src/sandbox';
import { consumerStages, instrumentScorer, type StageShare, type StageTimes } from '../stage-timing';
import { count, millis, percent, perSecond } from '../stats';
import { startProcessFleet, timeScoring, type ScorerFleet, type ScoringRun } from './throughput';

export interface ProfileDetails {
  /** `npm run scorer` processes in the same group beside the profiled one, sharing Redis and the partitions with it. */
  peers: number;
  run: ScoringRun;
  stages: StageShare[];
  raw: StageTimes;
  cpu: ProfileSummary;
  cpuProfileFile: string;
}

/** One scorer inside the bench's process, so its stages can be timed and its CPU sampled. */
async function startInProcessFleet(sandbox: Sandbox, group: string): Promise<ScorerFleet> {
  const scorer = await startScorer({
    config: sandbox.config(group),
    scoring: defaultScoringConfig(),
    httpPort: 0,
    logger: createLogger({ name: 'bench-scorer', level: 'warn' }),
  });
  return {
    cpu: {
      'scorer (in the bench process)': () => {
        const usage = process.cpuUsage();
        return (usage.user + usage.system) / 1e6;
      },
    },
    metrics: async () => [await scorer.metrics.registry.metrics()],
    stop: () => scorer.stop(),
  };
}

/** The profiled scorer, plus `peers` scorer processes in its group. */
async function startProfiledFleet(sandbox: Sandbox, group: string, peers: number, peerNodeFlags: readonly string[]): Promise<ScorerFleet> {
  const profiled = await startInProcessFleet(sandbox, group);
  if (peers === 0) return profiled;
  const others = await startProcessFleet(sandbox, group, peers, 'peer', peerNodeFlags);
  return {
    cpu: { ...profiled.cpu, ...others.cpu },
    metrics: async () => [...(await profiled.metrics()), ...(await others.metrics())],
    stop: async () => {
      await Promise.all([profiled.stop(), others.stop()]);
    },
  };
}

/**
 * The single-process throughput run again (over the first `--profile-events` of the input), with the
 * scorer inside the bench's process so that V8's sampling profiler and the stage timers can see it.
 * The numbers explain the throughput runs; the profiler and the timers cost a few percent, and the
 * shorter input starts with more distinct customers per chunk, so its rate is not theirs.
 * With `peers`, the profiled scorer shares the work and Redis with that many scorer processes, which
 * shows what a second instance does to the first one's stages.
 */
export async function profileScorer(
  context: BenchContext,
  input: BenchInput,
  options: { partitions: number; peers: number; peerNodeFlags: readonly string[]; cpuProfileFile: string; signal: AbortSignal },
): Promise<SectionOutcome<ProfileDetails>> {
  const instrumentation = instrumentScorer();
  const profiler = await startCpuProfile();
  let run: ScoringRun;
  try {
    run = await timeScoring(context, input, {
      purpose: 'profile',
      partitions: options.partitions,
      instances: 1 + options.peers,
      startFleet: (sandbox, group) => startProfiledFleet(sandbox, group, options.peers, options.peerNodeFlags),
      signal: options.signal,
    });
  } finally {
    instrumentation.restore();
  }
  const profile = await profiler.stop();
  mkdirSync(dirname(options.cpuProfileFile), { recursive: true });
  writeFileSync(options.cpuProfileFile, JSON.stringify(profile));
  const cpu = summariseProfile(profile);
  const { times } = instrumentation;
  const stages = consumerStages(times, run.seconds * 1000);
  const chunks = times.calls.chunk;
  context.reporter.step('profile', `${perSecond(run.rate)} instrumented; ${count(chunks)} chunks, ${count(times.rescoredCustomers)} customer re-scores`);
  for (const stage of stages) {
    context.reporter.step('profile', `${percent(stage.share).padStart(4)}  ${millis(stage.ms / chunks).padStart(8)}/chunk  ${stage.stage}`);
  }
  const busiest = stages[0]!;
  const rows: TableRow[] = [
    {
      metric: `Profiled run (1 scorer in the bench process${options.peers > 0 ? ` + ${options.peers} scorer process(es)` : ''})`,
      value: perSecond(run.rate),
      reference: `slowest stage: ${busiest.stage}`,
      verdict: `${percent(busiest.share)} of wall time`,
    },
  ];
  return { rows, details: { peers: options.peers, run, stages, raw: times, cpu, cpuProfileFile: options.cpuProfileFile } };
}
