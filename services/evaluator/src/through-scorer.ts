// The evaluation as the reporter ran it: a simulated customer base's history, up to one instant, published to
// Kafka and scored by the real scorer (its consumer, the Redis apply and commit scripts, its catch-up holds), then the
// scores, alerts and aggregates read back from Redis and judged against what the simulation says happens next. Where
// the pure evaluation (evaluation.ts) re-evaluates every customer weekly with the scorer's code, this one shows that
// the running product computes the same and loads a history without paging anyone for nothing.
import { loadConfig, registryClientConfig, type AppConfig } from '@churnscore/config';
import { MS_PER_DAY, utcDay, type InputEvent } from '@churnscore/domain';
import { createEventCodec, eventCodecOptions, type AlertEvent } from '@churnscore/events';
import { readToEnd } from '@churnscore/kafka';
import { createLogger } from '@churnscore/observability';
import { startScorer } from '@churnscore/scorer';
import { churnSnapshot, computeInsights, type FoldOptions, type ScoringConfig } from '@churnscore/scoring';
import { createEventPublisher, formatCount, latentState, startProgress, type ProgressStream } from '@churnscore/simulator';
import { createStateStore, type CustomerSnapshot } from '@churnscore/state';
import { asHistory, simulatePopulation, type SimulatedPopulation } from '@churnscore/trainer';
import { DEFAULT_HORIZON_DAYS, DEFAULT_RENEWAL_GRACE_DAYS, customerSnapshots, planSnapshots, type SnapshotPlan } from '@churnscore/training';
import { withAdmin } from '../../../infra/src/clients';
import { Sandbox, type SandboxSession } from '../../../infra/src/sandbox';
import {
  MODELS,
  adaptedAtEachInstant,
  latentCondition,
  modelAlertsOf,
  reportSignals,
  singleSignals,
  type AdaptationSummary,
  type JudgedConfigs,
  type HeldOutRow,
  type ModelName,
  type PreparedSignal,
  type SignalReport,
  type SingleSignalName,
} from './evaluation';

/**
 * The base the issue describes trying the product on, fixed from its text before any figure was seen: 600 customers,
 * about 28 % of them churning within 5–120 days of the instant scored (an annual churn rate of 0.63 gives that), some
 * leaving with no warning (the simulator's default share, 0.2), tenfold differences in activity level. A year of
 * history before the instant; after it, the horizon and the renewal grace the labels need.
 */
export const AS_REPORTED_POPULATION: SimulatedPopulation = {
  seed: 'evaluate-as-reported',
  customers: 600,
  days: 365 + DEFAULT_HORIZON_DAYS + DEFAULT_RENEWAL_GRACE_DAYS + 1,
  churnRate: 0.63,
  silentChurnShare: 0.2,
  activitySpread: 10,
};

/** Partitions of every input topic: a customer's records straddle the scorer's units of work as in production. */
const PARTITIONS = 3;
/** How long the whole load may take before the evaluation gives up (the scorer scores about 10,000 events a second). */
const LOAD_TIMEOUT_MS = 15 * 60_000;
const POLL_MS = 500;
/** Customers read back from Redis per call while waiting. */
const READ_BATCH = 200;

/** The instant scored: noon of the last day whose labels the simulated history settles (its horizon and renewal grace after it). */
export function scoredInstant(population: SimulatedPopulation, simulatorClock: number): number {
  const lastLabelableDay = utcDay(simulatorClock) - DEFAULT_HORIZON_DAYS - DEFAULT_RENEWAL_GRACE_DAYS - 1;
  return lastLabelableDay * MS_PER_DAY + MS_PER_DAY / 2;
}

/**
 * The order that used to page people for nothing while a history loaded: the small contract and profile topics
 * first (each customer looks "signed, no activity" until its activity arrives), then everything else oldest first.
 */
export function loadOrder(events: readonly InputEvent[]): InputEvent[] {
  const background = (event: InputEvent) => event.kind === 'contract' || event.kind === 'customer';
  const byTime = (a: InputEvent, b: InputEvent) => a.occurredAt - b.occurredAt;
  return [...events.filter(background).sort(byTime), ...events.filter((event) => !background(event)).sort(byTime)];
}

/** What the alert topic received while the history loaded and settled. */
export interface AlertTraffic {
  opened: number;
  resolved: number;
  /** Episodes that opened and resolved again during the load: alerts from a state the whole history does not support. */
  openedThenResolved: number;
  /** CHURN_RISK_HIGH episodes open at the end. */
  churnRiskHighOpen: number;
}

export interface ScorerRun {
  model: ModelName;
  published: number;
  loadSeconds: number;
  alerts: AlertTraffic;
  /** What Redis holds for every customer, by customerId. */
  customers: Map<string, CustomerSnapshot>;
}

export interface ThroughScorerResult {
  instant: number;
  /** Events published (those that had occurred by the instant). */
  published: number;
  runs: ScorerRun[];
  rows: HeldOutRow[];
  adaptation: AdaptationSummary;
  reports: SignalReport[];
}

export interface ThroughScorerOptions {
  session: SandboxSession;
  population: SimulatedPopulation;
  simulatorClock: number;
  configs: JudgedConfigs;
  /** The single signals as calibrated, and alerted, on the training base. */
  prepared: Record<SingleSignalName, PreparedSignal>;
  /** The scorer's retention and dedupe window, which the labels' snapshots fold with. */
  fold: FoldOptions;
  stderr: ProgressStream;
}

/** Every record of an output topic from the beginning up to its end now, decoded; a throw-away group that commits nothing. */
async function readAlerts(session: SandboxSession, sandbox: Sandbox, config: AppConfig): Promise<AlertEvent[]> {
  const topic = sandbox.topics.alerts;
  const codec = createEventCodec(eventCodecOptions(config, registryClientConfig(config)));
  const alerts: AlertEvent[] = [];
  try {
    // An admin of its own: the session's remembers the topics of sandboxes already deleted and fails on them.
    await withAdmin(session.stack.kafkaBrokers, (admin) =>
      readToEnd({
        kafka: session.kafka,
        admin,
        topics: [topic],
        groupId: sandbox.group('alert-reader'),
        async onRecords(_, records) {
          for (const record of records) {
            const decoded = await codec.decodeOutput(topic, record.key, record.value);
            if (decoded.ok) alerts.push(decoded.event as AlertEvent);
          }
        },
      }),
    );
  } finally {
    codec.close();
  }
  return alerts;
}

export function alertTraffic(alerts: readonly AlertEvent[]): AlertTraffic {
  const opened = new Set(alerts.filter((alert) => alert.status === 'OPEN').map((alert) => alert.alertId));
  const resolved = alerts.filter((alert) => alert.status === 'RESOLVED');
  const latest = new Map<string, AlertEvent>();
  for (const alert of alerts) if (alert.version > (latest.get(alert.alertId)?.version ?? 0)) latest.set(alert.alertId, alert);
  return {
    opened: opened.size,
    resolved: resolved.length,
    openedThenResolved: new Set(resolved.filter((alert) => opened.has(alert.alertId)).map((alert) => alert.alertId)).size,
    churnRiskHighOpen: [...latest.values()].filter((alert) => alert.alertType === 'CHURN_RISK_HIGH' && alert.status === 'OPEN').length,
  };
}

async function readAll(store: ReturnType<typeof createStateStore>, customerIds: readonly string[], now: number): Promise<CustomerSnapshot[]> {
  const snapshots: CustomerSnapshot[] = [];
  for (let start = 0; start < customerIds.length; start += READ_BATCH) {
    snapshots.push(...(await store.readCustomers(customerIds.slice(start, start + READ_BATCH), now)));
  }
  return snapshots;
}

/** Polls until `done` holds for what Redis holds, or fails after LOAD_TIMEOUT_MS naming what it waited for. */
async function waitFor(read: () => Promise<CustomerSnapshot[]>, done: (all: CustomerSnapshot[]) => boolean, what: string): Promise<CustomerSnapshot[]> {
  const deadline = Date.now() + LOAD_TIMEOUT_MS;
  for (;;) {
    const all = await read();
    if (done(all)) return all;
    if (Date.now() > deadline) throw new Error(`the scorer did not finish ${what} within ${LOAD_TIMEOUT_MS / 60_000} minutes`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** One scorer, with one model, loading the history into a sandbox of its own; what it published and what Redis holds after. */
async function runScorer(
  scoring: ScoringConfig,
  options: ThroughScorerOptions,
  model: ModelName,
  events: readonly InputEvent[],
  instant: number,
): Promise<ScorerRun> {
  const { session, stderr } = options;
  const sandbox = await Sandbox.open(session, `through-scorer-${model}`, PARTITIONS);
  const config = loadConfig({ ...sandbox.scorerEnv(sandbox.group('scorer')), LOG_LEVEL: 'error', RESCORE_POLL_INTERVAL_MS: '200' });
  let now = instant;
  const scorer = await startScorer({ config, scoring, clock: () => now, httpPort: 0, logger: createLogger({ name: 'evaluator-scorer', level: 'error' }) });
  const store = createStateStore(session.redis, { prefix: sandbox.prefix });
  const publisher = createEventPublisher(config, 'evaluator');
  const expectedRevision = new Map<string, Set<string>>();
  for (const event of events) expectedRevision.set(event.customerId, (expectedRevision.get(event.customerId) ?? new Set()).add(event.eventId));
  const customerIds = [...expectedRevision.keys()];
  const read = () => readAll(store, customerIds, now);
  let published = 0;
  let applied = 0;
  const progress = startProgress(
    () => `${model} model through the scorer: published ${formatCount(published)}/${formatCount(events.length)}  applied ${formatCount(applied)}`,
    { stream: stderr },
  );
  const started = Date.now();
  try {
    await publisher.publish({ events, onProgress: (delivered) => (published = delivered) });
    await waitFor(
      read,
      (all) => {
        applied = all.reduce((sum, s) => sum + s.state.revision, 0);
        return all.every((s) => s.state.revision === expectedRevision.get(s.customerId)!.size && s.score?.revision === s.state.revision && s.outbox.length === 0);
      },
      'applying and scoring every event',
    );
    const loadSeconds = (Date.now() - started) / 1000;
    // Alerts held while the history loaded are released once the backlog has drained and the holds have settled.
    now = instant + config.scorer.catchUpSettleMs + 1_000;
    const settled = await waitFor(read, (all) => all.every((s) => s.alertBook?.held === undefined && s.outbox.length === 0), 'releasing the held alerts');
    const alerts = alertTraffic(await readAlerts(session, sandbox, config));
    return { model, published: events.length, loadSeconds, alerts, customers: new Map(settled.map((s) => [s.customerId, s])) };
  } finally {
    progress.stop();
    await publisher.close();
    await scorer.stop();
    await sandbox.cleanup();
  }
}

/**
 * The held-out rows of the scored instant: every customer holding an active contract then, with its label from the
 * simulated future, each model's published risk and CHURN_RISK_HIGH as Redis holds them, and the single signals
 * from the aggregates Redis holds.
 */
function rowsOf(
  runs: readonly ScorerRun[],
  histories: ReturnType<typeof simulatePopulation>,
  plan: SnapshotPlan,
  defaultConfig: ScoringConfig,
  fold: FoldOptions,
): HeldOutRow[] {
  const rows: HeldOutRow[] = [];
  const [instant] = plan.asOfDates as [number];
  for (const customer of histories) {
    for (const snapshot of customerSnapshots(asHistory(customer), plan, fold)) {
      const stored = runs.map((run) => run.customers.get(customer.customerId));
      if (stored.some((s) => s?.score === undefined || s.score === null)) continue;
      const risk = Object.fromEntries(runs.map((run, i) => [run.model, stored[i]!.score!.churnRisk])) as Record<ModelName, number>;
      const alertOpen = Object.fromEntries(
        runs.map((run, i) => [run.model, stored[i]!.alertBook?.episodes.CHURN_RISK_HIGH?.status === 'OPEN']),
      ) as Record<ModelName, boolean>;
      const insights = computeInsights(stored[0]!.state, instant, { retentionDays: fold.retentionDays });
      const latent = latentState(customer, instant);
      rows.push({
        customerId: customer.customerId,
        asOf: instant,
        label: snapshot.label,
        churnsAt: snapshot.churnsAt,
        activityLevel: customer.latent.activityLevel,
        risk,
        alertOpen,
        signals: singleSignals({ snapshot: churnSnapshot(insights, defaultConfig, instant), latent }),
        condition: latentCondition(latent),
      });
    }
  }
  return rows;
}

/** Publishes the population's history up to the scored instant, scores it with each model's scorer in turn, and judges the outcome. */
export async function evaluateThroughScorer(options: ThroughScorerOptions): Promise<ThroughScorerResult> {
  const { population, simulatorClock } = options;
  const instant = scoredInstant(population, simulatorClock);
  const histories = simulatePopulation(population, simulatorClock);
  const events = loadOrder(histories.flatMap((customer) => customer.events.filter((event) => event.occurredAt <= instant)));
  const plan = planSnapshots(histories.map(asHistory), { asOf: { dates: [instant] }, horizonDays: DEFAULT_HORIZON_DAYS, observedUntil: simulatorClock });
  // From what was published, as `npm run train -- --adapt-base-rate --from-topics --observed-until <instant>` reads it.
  const adapted = adaptedAtEachInstant(histories.map(asHistory), plan, options.configs.default, options.fold);
  const configs = { ...options.configs, adapted: adapted.configAt(instant) };
  const runs: ScorerRun[] = [];
  for (const model of MODELS) runs.push(await runScorer(configs[model], options, model, events, instant));
  const rows = rowsOf(runs, histories, plan, configs.default, options.fold);
  const reports = reportSignals(rows, options.prepared, modelAlertsOf(options.configs), plan.asOfDates);
  return { instant, published: events.length, runs, rows, adaptation: adapted.summary, reports };
}
