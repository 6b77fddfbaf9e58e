// Issue 10: the evaluation "through the real scorer". A small simulated base's history, up to one instant, goes
// through Kafka into the real scorer (once per model), then its following weeks one at a time with the scorer's clock;
// what Redis holds at each judged instant must be what the scorer's own pure code gives for the same events (the
// figures judge the product, not a model of it), the load must page nobody for nothing, and the report must judge
// every customer under contract at each instant.
import { stateSettings } from '@churnscore/config';
import { MS_PER_DAY } from '@churnscore/domain';
import { defaultScoringConfig, evaluateCustomer } from '@churnscore/scoring';
import { loadProducerConfig } from '@churnscore/simulator';
import { asHistory, simulatePopulation } from '@churnscore/trainer';
import { customerSnapshots, planSnapshots } from '@churnscore/training';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReporter } from '../../infra/src/index';
import { closeSandboxSession, openSandboxSession, type SandboxSession } from '../../infra/src/sandbox';
import { EVALUATION_CLOCK, type PreparedSignal, type SingleSignalName } from '../../services/evaluator/src/evaluation';
import { LOAD_ORDERS } from '../../services/evaluator/src/load-order';
import { JUDGED_WEEKS, daysForJudgedWeeks, evaluateThroughScorer, judgedInstants, type ThroughScorerResult } from '../../services/evaluator/src/through-scorer';

const POPULATION = { seed: 'through-scorer-test', customers: 60, days: daysForJudgedWeeks(365), churnRate: 0.63, silentChurnShare: 0.2, activitySpread: 10, usageSignal: 1, usageReporting: 1 };
const config = defaultScoringConfig();
/** Both "models" are the default here: the test is about the path through the scorer, not about training. */
const configs = { trained: config, default: config };
/** Single signals left uncalibrated (a risk of 1/(1+e^-value)) and without alerts: the test does not judge them. */
const prepared = Object.fromEntries(
  (['healthAlone', 'engagementTrend', 'oracle'] as SingleSignalName[]).map((name) => [name, { calibration: { intercept: 0, slope: 1 }, alert: null } satisfies PreparedSignal]),
) as Record<SingleSignalName, PreparedSignal>;
const fold = stateSettings(loadProducerConfig({}, { offline: true }));

let session: SandboxSession;
let result: ThroughScorerResult;

beforeAll(async () => {
  session = await openSandboxSession('evaluate-test', createReporter(() => {}));
  result = await evaluateThroughScorer({
    session,
    population: POPULATION,
    simulatorClock: EVALUATION_CLOCK,
    configs,
    prepared,
    fold,
    stderr: { write: () => true },
    loadOrder: LOAD_ORDERS.topics,
    // Under the set-up's own timeout (it takes about a minute): a wait that does not end says what it waited for.
    loadTimeoutMs: 200_000,
  });
}, 300_000);
afterAll(async () => {
  if (session) await closeSandboxSession(session);
});

describe('the evaluation through the real scorer', () => {
  const histories = simulatePopulation(POPULATION, EVALUATION_CLOCK);
  const instants = judgedInstants(EVALUATION_CLOCK);
  const [first, last] = [instants[0]!, instants.at(-1)!];
  /** The instants' labels, as training gives them. */
  const plan = planSnapshots(histories.map(asHistory), { asOf: { dates: instants }, horizonDays: 90, observedUntil: EVALUATION_CLOCK });
  const snapshots = histories.flatMap((customer) => [...customerSnapshots(asHistory(customer), plan, fold)]);
  const rowOf = (customerId: string, asOf: number) => result.rows.find((row) => row.customerId === customerId && row.asOf === asOf)!;

  it('judges a week apart from the end of a year’s load to the last instant whose labels the history settles', () => {
    expect(result.instants).toEqual(instants);
    expect(instants).toHaveLength(JUDGED_WEEKS);
    expect(instants.slice(1).map((instant, week) => instant - instants[week]!)).toEqual(Array(JUDGED_WEEKS - 1).fill(7 * MS_PER_DAY));
    expect(EVALUATION_CLOCK - last).toBeGreaterThanOrEqual(120 * MS_PER_DAY);
    expect(first - (EVALUATION_CLOCK - (POPULATION.days - 1) * MS_PER_DAY)).toBeGreaterThanOrEqual(364 * MS_PER_DAY);
  });

  it('loads what had occurred by the first instant, contracts first, then publishes the weeks after it', () => {
    const loaded = histories.flatMap((customer) => customer.events.filter((event) => event.occurredAt <= first));
    expect(result.loaded).toBe(loaded.length);
    expect(result.published).toBe(histories.flatMap((customer) => customer.events.filter((event) => event.occurredAt <= last)).length);
    expect(result.published).toBeGreaterThan(result.loaded);
    const order = LOAD_ORDERS.topics.order(loaded).map((event) => event.kind);
    expect(order.slice(0, order.findIndex((kind) => kind !== 'contract' && kind !== 'customer'))).not.toHaveLength(0);
  });

  it('judges every customer under contract at each instant, with the label the simulated future gives it', () => {
    const key = (customerId: string, asOf: number) => `${customerId}@${asOf}`;
    expect(result.rows.map((row) => [key(row.customerId, row.asOf), row.label]).sort()).toEqual(snapshots.map((s) => [key(s.customerId, s.asOf), s.label]).sort());
    expect(new Set(result.rows.map((row) => row.asOf))).toEqual(new Set(instants));
    expect(result.rows.some((row) => row.label)).toBe(true);
  });

  it('reads back from Redis, at every instant, what the scorer’s pure code gives for the same events', () => {
    const { openAt, resolveBelow } = config.alerts.churnRiskHigh;
    for (const snapshot of snapshots) {
      const pure = evaluateCustomer(
        { state: snapshot.state, published: null, alertBook: null, cause: { kind: 'time' }, newGeneration: false, inputsBehind: false },
        config,
        snapshot.asOf,
        { retentionDays: fold.retentionDays, catchUp: { historyAgeMs: 0, settleMs: 0 } },
      );
      const row = rowOf(snapshot.customerId, snapshot.asOf);
      // The stored score is the last one published: it moves only by a significant change.
      expect(Math.abs(row.risk.default - pure.score.churnRisk)).toBeLessThanOrEqual(config.significance.churnRisk);
      if (snapshot.asOf === first) {
        expect(row.alertOpen.default).toBe(pure.alertBook.episodes.CHURN_RISK_HIGH?.status === 'OPEN');
      } else {
        // Weeks on, an episode may have opened on a risk that has since fallen, not yet below its resolve threshold.
        if (pure.score.churnRisk >= openAt) expect(row.alertOpen.default).toBe(true);
        if (row.alertOpen.default) expect(pure.score.churnRisk).toBeGreaterThanOrEqual(resolveBelow);
      }
    }
  });

  it('loads the history without an alert that opens and resolves again', () => {
    for (const run of result.runs) expect(run.alerts.openedThenResolved).toBe(0);
    expect(result.runs.map((run) => run.model)).toEqual(['trained', 'default', 'adapted']);
  });

  it('reports every signal', () => {
    expect(result.reports.map((report) => report.signal)).toEqual(['trained', 'default', 'adapted', 'learntOnTheBase', 'healthAlone', 'engagementTrend', 'oracle']);
    expect(result.reports[1]!.auc).not.toBeNull();
  });

  it('keeps the default where too few churners have settled and too few customers are under contract to adapt it to the base, as the command refuses to', () => {
    expect(result.adaptation).toEqual({ fittedAt: config.churn.baseRate, estimated: [], settledChurners: [], kept: { 'too few customers': 1 }, thresholdsChosen: 0, slopes: [] });
    // The adapted run scored with the default itself: every score it stored names the default's version.
    const adaptedRun = result.runs.find((run) => run.model === 'adapted')!;
    const versions = new Set(adaptedRun.customersAt.flatMap((customers) => [...customers.values()].flatMap((customer) => (customer.score ? [customer.score.modelVersion] : []))));
    expect([...versions]).toEqual([config.version]);
    // Its stored risks are the default run's up to what each run left unpublished: a stored score moves only by a
    // significant change, and whether a day's re-scoring by time reached a customer before or after that day's events
    // differs from run to run (the first test holds each run within the threshold of the pure value).
    for (const row of result.rows) expect(Math.abs(row.risk.adapted - row.risk.default)).toBeLessThanOrEqual(2 * config.significance.churnRisk);
  });
});
