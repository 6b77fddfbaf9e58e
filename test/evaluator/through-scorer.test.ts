// Issue 10: the evaluation "through the real scorer". A small simulated base's history, up to one instant, goes
// through Kafka into the real scorer (once per model); what Redis holds afterwards must be what the scorer's own pure
// code gives for the same events (the figures judge the product, not a model of it), the load must page nobody for
// nothing, and the report must judge every customer under contract at the instant.
import { MS_PER_DAY } from '@churnscore/domain';
import { defaultScoringConfig, evaluateCustomer } from '@churnscore/scoring';
import { loadProducerConfig } from '@churnscore/simulator';
import { asHistory, simulatePopulation } from '@churnscore/trainer';
import { customerSnapshots, planSnapshots } from '@churnscore/training';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReporter } from '../../infra/src/index';
import { closeSandboxSession, openSandboxSession, type SandboxSession } from '../../infra/src/sandbox';
import { EVALUATION_CLOCK, type PreparedSignal, type SingleSignalName } from '../../services/evaluator/src/evaluation';
import { evaluateThroughScorer, loadOrder, scoredInstant, type ThroughScorerResult } from '../../services/evaluator/src/through-scorer';

const POPULATION = { seed: 'through-scorer-test', customers: 60, days: 365 + 121, churnRate: 0.63, silentChurnShare: 0.2, activitySpread: 10 };
const config = defaultScoringConfig();
/** Both "models" are the default here: the test is about the path through the scorer, not about training. */
const configs = { trained: config, default: config };
/** Single signals left uncalibrated (a risk of 1/(1+e^-value)) and without alerts: the test does not judge them. */
const prepared = Object.fromEntries(
  (['healthAlone', 'engagementTrend', 'oracle'] as SingleSignalName[]).map((name) => [name, { calibration: { intercept: 0, slope: 1 }, alert: null } satisfies PreparedSignal]),
) as Record<SingleSignalName, PreparedSignal>;
const { retentionDays, dedupeWindowDays } = loadProducerConfig({}, { offline: true });
const fold = { retentionDays, dedupeWindowDays };

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
  });
}, 300_000);
afterAll(async () => {
  if (session) await closeSandboxSession(session);
});

describe('the evaluation through the real scorer', () => {
  const histories = simulatePopulation(POPULATION, EVALUATION_CLOCK);
  const instant = scoredInstant(POPULATION, EVALUATION_CLOCK);
  /** The instant's labels, as training gives them. */
  const plan = planSnapshots(histories.map(asHistory), { asOf: { dates: [instant] }, horizonDays: 90, observedUntil: EVALUATION_CLOCK });

  it('scores the instant whose labels the history settles, from what had occurred by then, contracts first', () => {
    expect(result.instant).toBe(instant);
    expect(EVALUATION_CLOCK - instant).toBeGreaterThanOrEqual(120 * MS_PER_DAY);
    const published = histories.flatMap((customer) => customer.events.filter((event) => event.occurredAt <= instant));
    expect(result.published).toBe(published.length);
    const order = loadOrder(published).map((event) => event.kind);
    expect(order.slice(0, order.findIndex((kind) => kind !== 'contract' && kind !== 'customer'))).not.toHaveLength(0);
  });

  it('judges every customer under contract at the instant, with the label the simulated future gives it', () => {
    const expected = histories.flatMap((customer) => [...customerSnapshots(asHistory(customer), plan, fold)]);
    expect(result.rows.map((row) => [row.customerId, row.label])).toEqual(expected.map((s) => [s.customerId, s.label]));
    expect(result.rows.some((row) => row.label)).toBe(true);
  });

  it('reads back from Redis what the scorer’s pure code gives for the same events', () => {
    const byCustomer = new Map(result.rows.map((row) => [row.customerId, row]));
    for (const customer of histories) {
      for (const snapshot of customerSnapshots(asHistory(customer), plan, fold)) {
        const pure = evaluateCustomer(
          { state: snapshot.state, published: null, alertBook: null, cause: { kind: 'time' }, newGeneration: false, inputsBehind: false },
          config,
          instant,
          { retentionDays, catchUp: { historyAgeMs: 0, settleMs: 0 } },
        );
        const row = byCustomer.get(customer.customerId)!;
        // The stored score is the last one published: it moves only by a significant change.
        expect(Math.abs(row.risk.default - pure.score.churnRisk)).toBeLessThanOrEqual(config.significance.churnRisk);
        expect(row.alertOpen.default).toBe(pure.alertBook.episodes.CHURN_RISK_HIGH?.status === 'OPEN');
      }
    }
  });

  it('loads the history without an alert that opens and resolves again', () => {
    for (const run of result.runs) expect(run.alerts.openedThenResolved).toBe(0);
    expect(result.runs.map((run) => run.model)).toEqual(['trained', 'default', 'adapted']);
  });

  it('reports every signal', () => {
    expect(result.reports.map((report) => report.signal)).toEqual(['trained', 'default', 'adapted', 'healthAlone', 'engagementTrend', 'oracle']);
    expect(result.reports[1]!.auc).not.toBeNull();
  });

  it('keeps the default where too few customers are under contract to adapt it to the base, as the command refuses to', () => {
    expect(result.adaptation).toEqual({ fittedAt: config.churn.baseRate, estimated: [], kept: { 'too few customers': 1 } });
    expect(result.rows.every((row) => row.risk.adapted === row.risk.default)).toBe(true);
  });
});
