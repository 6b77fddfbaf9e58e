import { MS_PER_DAY, utcDay } from '@churnscore/domain';
import { createLogger } from '@churnscore/observability';
import { defaultScoringConfig } from '@churnscore/scoring';
import { createStateStore, keySchema } from '@churnscore/state';
import { startScorer, type RunningScorer } from '../../services/scorer/src/scorer';
import type { BenchContext } from '../context';
import { clonePopulation, populationCustomerId, type Templates } from '../population';
import type { SectionOutcome, TableRow } from '../report';
import { Sandbox } from '../../infra/src/sandbox';
import { count, percent, perSecond } from '../stats';
import { instrumentScorer, timeDrivenStages, type StageShare } from '../stage-timing';
import { startCpuMeter, type CpuUse } from '../system';

export interface RescoreRun {
  instances: number;
  customers: number;
  /** Customers whose due time had come once the clock passed midnight. */
  due: number;
  rescored: number;
  /** Due customers left once the instances' loops returned: 0 when the round covered everyone. */
  leftDue: number;
  seconds: number;
  rate: number;
  cpu: CpuUse;
  /** Where the first run's time went (the second run is not instrumented). */
  stages: StageShare[] | null;
}

export interface RescoreDetails {
  claimLimit: number;
  /** Customers/s the store reads back (the reads a re-score cannot avoid), in claim-sized batches, one after another. */
  readCeiling: number;
  runs: RescoreRun[];
  /** SPEC §7 bounds the delay at one hour by default: how many due customers one instance re-scores within it. */
  customersPerBoundPerInstance: number;
}

/** A re-scoring loop that never runs on its own: the measurement calls runOnce itself. */
const DORMANT_POLL_MS = 3_600_000;
/** Past midnight by a minute, as a poll of the time-driven loop would find it. */
const AFTER_MIDNIGHT_MS = 60_000;

async function dueCount(context: BenchContext, prefix: string, at: number): Promise<number> {
  const keys = keySchema(prefix);
  const counts = await Promise.all(Array.from({ length: keys.dueShards }, (_, shard) => context.redis.zcount(keys.dueShard(shard), '-inf', at)));
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * `instances` scorers in the bench's process, with a clock injected at the templates' scoring time
 * (day D); then the clock moves past midnight and every instance's `timeDriven.runOnce()` claims and
 * re-scores until nothing is due. In one process the instances share one event loop: what a second
 * one adds is overlap of its Redis and Kafka waits with the first one's work, not another core.
 */
async function rescoreRun(
  context: BenchContext,
  templates: Templates,
  customers: number,
  instances: number,
  timeStages: boolean,
): Promise<{ run: RescoreRun; readCeiling: number; claimLimit: number }> {
  const sandbox = await Sandbox.open(context, `rescore-${instances}`, 1);
  const scorers: RunningScorer[] = [];
  try {
    await clonePopulation(context, templates, sandbox.prefix, customers);
    let now = templates.asOf;
    const group = sandbox.group('scorer');
    const config = sandbox.config(group);
    // Started together, so the group forms in one rebalance.
    scorers.push(
      ...(await Promise.all(
        Array.from({ length: instances }, () =>
          startScorer({
            config: { ...config, scorer: { ...config.scorer, rescorePollIntervalMs: DORMANT_POLL_MS } },
            scoring: defaultScoringConfig(),
            clock: () => now,
            httpPort: 0,
            logger: createLogger({ name: 'bench-rescore', level: 'warn' }),
          }),
        ),
      )),
    );
    const readCeiling = await readRate(context, sandbox.prefix, customers, config.scorer.rescoreClaimLimit, now);

    now = (utcDay(templates.asOf) + 1) * MS_PER_DAY + AFTER_MIDNIGHT_MS;
    const due = await dueCount(context, sandbox.prefix, now);
    context.reporter.step('rescore', `${instances} instance(s): clock moved past midnight, ${count(due)} of ${count(customers)} customers due`);
    const meter = await startCpuMeter(context, {});
    const instrumentation = timeStages ? instrumentScorer() : null;
    const started = performance.now();
    let rescored: number;
    try {
      rescored = (await Promise.all(scorers.map((scorer) => scorer.timeDriven.runOnce()))).reduce((a, b) => a + b, 0);
    } finally {
      instrumentation?.restore();
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = await meter.stop();
    const stages = instrumentation && timeDrivenStages(instrumentation.times, seconds * 1000, config.scorer.rescoreConcurrentClaims);
    const leftDue = await dueCount(context, sandbox.prefix, now);
    const rate = rescored / seconds;
    context.reporter.step('rescore', `${instances} instance(s): ${count(rescored)} re-scored in ${seconds.toFixed(1)} s (${perSecond(rate, 'customers/s')})`);
    if (stages !== null) context.reporter.step('rescore', `where the time of its ${config.scorer.rescoreConcurrentClaims} claims at once went:`);
    for (const stage of stages ?? []) context.reporter.step('rescore', `${percent(stage.share).padStart(4)}  ${stage.stage}`);
    return {
      run: { instances, customers, due, rescored, leftDue, seconds, rate, cpu, stages },
      readCeiling,
      claimLimit: config.scorer.rescoreClaimLimit,
    };
  } finally {
    await Promise.all(scorers.map((scorer) => scorer.stop()));
    await sandbox.cleanup();
  }
}

/** How fast the store reads customers back: the first step of every re-score, and the part Redis does for it. */
async function readRate(context: BenchContext, prefix: string, customers: number, batch: number, asOf: number): Promise<number> {
  const store = createStateStore(context.redis, { prefix });
  const ids = Array.from({ length: customers }, (_, i) => populationCustomerId(i));
  const started = performance.now();
  for (let start = 0; start < customers; start += batch) await store.readCustomers(ids.slice(start, start + batch), asOf);
  return customers / ((performance.now() - started) / 1000);
}

export async function measureRescoring(
  context: BenchContext,
  templates: Templates,
  options: { customers: number },
): Promise<SectionOutcome<RescoreDetails>> {
  const results = [];
  for (const instances of [1, 2]) results.push(await rescoreRun(context, templates, options.customers, instances, instances === 1));
  // Measured before the first run, on the population that run then re-scores.
  const { readCeiling, claimLimit } = results[0]!;
  const runs = results.map((result) => result.run);
  const rows: TableRow[] = runs.map((run) => ({
    metric: `Re-scoring at a day boundary, ${run.instances} instance${run.instances > 1 ? 's in one process' : ''} (${count(run.rescored)} due)`,
    value: perSecond(run.rate, 'customers/s'),
    reference: `store read-back ${perSecond(readCeiling, 'customers/s')}`,
    verdict: `${percent(run.rate / readCeiling)} of ceiling${run.leftDue > 0 ? `; ${count(run.leftDue)} LEFT DUE` : ''}`,
  }));
  return { rows, details: { claimLimit, readCeiling, runs, customersPerBoundPerInstance: runs[0]!.rate * 3600 } };
}
