import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createLogger } from '@churnscore/observability';
import { defaultScoringConfig } from '@churnscore/scoring';
import { startScorer } from '../../services/scorer/src/scorer';
import type { BenchContext } from '../context';
import { startCpuProfile, summariseProfile, type ProfileSummary } from '../cpu-profile';
import type { BenchInput } from '../input';
import type { SectionOutcome, TableRow } from '../report';
import type { Sandbox } from '../sandbox';
import { consumerStages, instrumentScorer, type StageShare, type StageTimes } from '../stage-timing';
import { millis, percent, perSecond } from '../stats';
import { timeScoring, type ScorerFleet, type ScoringRun } from './throughput';

export interface ProfileDetails {
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

/**
 * The single-process throughput run again, with the scorer inside the bench's process so that V8's
 * sampling profiler and the stage timers can see it. The numbers explain the throughput; the run's
 * own rate is a little lower than the child-process run's (profiler and timers cost a few percent).
 */
export async function profileScorer(
  context: BenchContext,
  input: BenchInput,
  options: { partitions: number; cpuProfileFile: string; signal: AbortSignal },
): Promise<SectionOutcome<ProfileDetails>> {
  const instrumentation = instrumentScorer();
  const profiler = await startCpuProfile();
  let run: ScoringRun;
  try {
    run = await timeScoring(context, input, {
      purpose: 'profile',
      partitions: options.partitions,
      instances: 1,
      startFleet: startInProcessFleet,
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
  context.reporter.step('profile', `${perSecond(run.rate)} instrumented; ${times.chunks} chunks, ${times.rescoredCustomers} customer re-scores, ${times.ackCalls} outbox acks`);
  for (const stage of stages) {
    context.reporter.step('profile', `${percent(stage.share).padStart(4)}  ${millis(stage.ms / times.chunks).padStart(8)}/chunk  ${stage.stage}`);
  }
  const busiest = stages[0]!;
  const rows: TableRow[] = [
    {
      metric: 'Profiled run (1 scorer in the bench process)',
      value: perSecond(run.rate),
      reference: `slowest stage: ${busiest.stage}`,
      verdict: `${percent(busiest.share)} of wall time`,
    },
  ];
  return { rows, details: { run, stages, raw: times, cpu, cpuProfileFile: options.cpuProfileFile } };
}
