// The evaluation as the reporter ran it: a simulated customer base's history, up to one instant, published to
// Kafka and scored by the real scorer (its consumer, the Redis apply and commit scripts, its catch-up holds); then the
// scorer runs on for a few weeks, each day's events published and its clock moved with them (its time-driven
// re-scoring included). At each week's end the scores, alerts and aggregates are read back from Redis and judged
// against what the simulation says happens next. Where the pure evaluation (evaluation.ts) re-evaluates every customer
// weekly with the scorer's code, this one shows that the running product computes the same and loads a history
// without paging anyone for nothing.
import { loadConfig, registryClientConfig, type AppConfig } from '@churnscore/config';
import { ALERT_TYPES, MS_PER_DAY, utcDay, type AlertType, type InputEvent } from '@churnscore/domain';
import { createEventCodec, eventCodecOptions, type AlertEvent } from '@churnscore/events';
import { readToEnd } from '@churnscore/kafka';
import { createLogger } from '@churnscore/observability';
import { startScorer } from '@churnscore/scorer';
import { churnSnapshot, computeInsights, type FoldOptions, type ScoringConfig } from '@churnscore/scoring';
import { createEventPublisher, formatCount, latentState, startProgress, type ProgressStream } from '@churnscore/simulator';
import { createStateStore, keySchema, type CustomerSnapshot } from '@churnscore/state';
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
  trainingFeatures,
  type AdaptationSummary,
  type JudgedConfigs,
  type HeldOutRow,
  type ModelName,
  type PreparedSignal,
  type SignalReport,
  type SingleSignalName,
} from './evaluation';
import type { LoadOrder } from './load-order';

/**
 * Instants judged: the end of the load, then the end of each following week the scorer runs on. One instant of 600
 * customers leaves every figure about ±0.04 of noise (some 280 under contract, 60 churning); eight weekly instants
 * judge the scorer as a user sees it over two months, and the weeks' own events and re-scoring with it.
 */
export const JUDGED_WEEKS = 8;
const WEEK_DAYS = 7;
/** Days of simulated history the judged instants need: a year before the first, the weeks, and the labels' horizon and renewal grace after the last. */
export const daysForJudgedWeeks = (historyDays: number): number =>
  historyDays + (JUDGED_WEEKS - 1) * WEEK_DAYS + DEFAULT_HORIZON_DAYS + DEFAULT_RENEWAL_GRACE_DAYS + 1;

/**
 * The base the issue describes trying the product on, fixed from its text before any figure was seen: 600 customers,
 * about 28 % of them churning within 5–120 days of an instant scored (an annual churn rate of 0.63 gives that), some
 * leaving with no warning (the simulator's default share, 0.2), tenfold differences in activity level. A year of
 * history before the first instant; after the last, the horizon and the renewal grace the labels need.
 */
export const AS_REPORTED_POPULATION: SimulatedPopulation = {
  seed: 'evaluate-as-reported',
  customers: 600,
  days: daysForJudgedWeeks(365),
  churnRate: 0.63,
  silentChurnShare: 0.2,
  activitySpread: 10,
  usageSignal: 1,
  usageReporting: 1,
};

/** Partitions of every input topic: a customer's records straddle the scorer's units of work as in production. */
const PARTITIONS = 3;
/** How long each wait for the scorer may take before the evaluation gives up (the scorer scores about 10,000 events a second). */
const LOAD_TIMEOUT_MS = 15 * 60_000;
const POLL_MS = 200;
/** Customers read back from Redis per call while waiting. */
const READ_BATCH = 200;

/**
 * The instants judged, a week apart: the last is noon of the last day whose labels the simulated history settles (its
 * horizon and renewal grace after it); the first ends the load of the history before it.
 */
export function judgedInstants(simulatorClock: number): number[] {
  const lastLabelableDay = utcDay(simulatorClock) - DEFAULT_HORIZON_DAYS - DEFAULT_RENEWAL_GRACE_DAYS - 1;
  return Array.from({ length: JUDGED_WEEKS }, (_, week) => (lastLabelableDay - (JUDGED_WEEKS - 1 - week) * WEEK_DAYS) * MS_PER_DAY + MS_PER_DAY / 2);
}

/** What the alert topic received while the history loaded and settled. */
export interface AlertTraffic {
  opened: number;
  /** The episodes opened, by alert type. */
  openedByType: Record<AlertType, number>;
  resolved: number;
  /** Episodes that opened and resolved again during the load: alerts from a state the whole history does not support. */
  openedThenResolved: number;
  /** CHURN_RISK_HIGH episodes open at the end. */
  churnRiskHighOpen: number;
}

export interface ScorerRun {
  model: ModelName;
  loadSeconds: number;
  /** What the alert topic received while the history loaded and settled. */
  alerts: AlertTraffic;
  /** What it received over the weeks after the load, and the CHURN_RISK_HIGH episodes open at the last instant. */
  weeksAlerts: AlertTraffic;
  /** What Redis holds for every customer at each judged instant, by customerId. */
  customersAt: Array<Map<string, CustomerSnapshot>>;
}

export interface ThroughScorerResult {
  /** The judged instants, the first ending the load. */
  instants: number[];
  /** Events published in the load (those that had occurred by the first instant), and in the weeks after it. */
  loaded: number;
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
  /** The order the history up to the first instant is published in. */
  loadOrder: LoadOrder;
  /**
   * How long each wait for the scorer may take (default LOAD_TIMEOUT_MS). A test passes less than its own timeout, so
   * that a wait that does not end fails saying what it waited for, and for how many customers.
   */
  loadTimeoutMs?: number;
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

function alertTraffic(alerts: readonly AlertEvent[]): AlertTraffic {
  const openings = new Map(alerts.filter((alert) => alert.status === 'OPEN').map((alert) => [alert.alertId, alert.alertType] as const));
  const opened = new Set(openings.keys());
  const openedByType = Object.fromEntries(ALERT_TYPES.map((type) => [type, 0])) as Record<AlertType, number>;
  for (const type of openings.values()) openedByType[type] += 1;
  const resolved = alerts.filter((alert) => alert.status === 'RESOLVED');
  const latest = new Map<string, AlertEvent>();
  for (const alert of alerts) if (alert.version > (latest.get(alert.alertId)?.version ?? 0)) latest.set(alert.alertId, alert);
  return {
    opened: opened.size,
    openedByType,
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

/**
 * Polls until `done` holds for what Redis holds, or fails after `timeoutMs` naming what it waited for and, in
 * `left`'s words, what was still not done (counts: the customers' ids are not the message's business).
 */
async function waitFor<T>(read: () => Promise<T>, done: (all: T) => boolean, what: string, timeoutMs: number, left: (all: T) => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await read();
    if (done(all)) return all;
    if (Date.now() > deadline) throw new Error(`the scorer did not finish ${what} within ${timeoutMs / 1_000} s: ${left(all)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The alert traffic between two readings of the alert topic: what the second holds beyond the first. */
const trafficSince = (before: AlertTraffic, after: AlertTraffic): AlertTraffic => ({
  opened: after.opened - before.opened,
  openedByType: Object.fromEntries(ALERT_TYPES.map((type) => [type, after.openedByType[type] - before.openedByType[type]])) as Record<AlertType, number>,
  resolved: after.resolved - before.resolved,
  openedThenResolved: after.openedThenResolved - before.openedThenResolved,
  churnRiskHighOpen: after.churnRiskHighOpen,
});

/** Events that occurred in (from, to], oldest first: a day as it arrives once the scorer runs live. */
const occurredBetween = (events: readonly InputEvent[], from: number, to: number): InputEvent[] =>
  events.filter((event) => event.occurredAt > from && event.occurredAt <= to).sort((a, b) => a.occurredAt - b.occurredAt);

/** What is published: the history up to the first judged instant, in load order, and the events after it up to the last. */
interface PublishedEvents {
  load: readonly InputEvent[];
  later: readonly InputEvent[];
}

/**
 * One scorer, with one model, in a sandbox of its own: the history up to the first instant loaded, then each day's
 * events published with the scorer's clock at the day's end. What it published and what Redis holds at each instant.
 */
async function runScorer(
  scoring: ScoringConfig,
  options: ThroughScorerOptions,
  model: ModelName,
  { load, later }: PublishedEvents,
  instants: readonly number[],
): Promise<ScorerRun> {
  const { session, stderr } = options;
  const sandbox = await Sandbox.open(session, `through-scorer-${model}`, PARTITIONS);
  const config = loadConfig({ ...sandbox.scorerEnv(sandbox.group('scorer')), LOG_LEVEL: 'error', RESCORE_POLL_INTERVAL_MS: '200' });
  let now = instants[0]!;
  const scorer = await startScorer({ config, scoring, clock: () => now, httpPort: 0, logger: createLogger({ name: 'evaluator-scorer', level: 'error' }) });
  const store = createStateStore(session.redis, { prefix: sandbox.prefix });
  const keys = keySchema(sandbox.prefix);
  const publisher = createEventPublisher(config, 'evaluator');
  const expectedRevision = new Map<string, number>();
  // The customers with an event published so far.
  const read = () => readAll(store, [...expectedRevision.keys()], now);
  /** The clock's values since the last settled instant: a re-scoring lease taken at one of them ends exactly leaseMs after it. */
  let clockValues: number[] = [];
  const setClock = (instant: number) => {
    now = instant;
    clockValues.push(instant);
  };
  /** Customers due now, or claimed by a re-scoring lease not yet ended by the commit that sets their next due time. */
  const dueOrClaimed = async () => {
    const shards = Array.from({ length: keys.dueShards }, (_, shard) => keys.dueShard(shard));
    const leaseEnds = clockValues.map((value) => value + config.scorer.rescoreLeaseMs);
    const counts = await Promise.all(
      shards.flatMap((shard) => [session.redis.zcount(shard, '-inf', now), ...leaseEnds.map((end) => session.redis.zcount(shard, end, end))]),
    );
    return counts.reduce((a, b) => a + b, 0);
  };
  /** Every event published to the customer so far applied, and the customer scored after it. */
  const scored = (s: CustomerSnapshot) => s.state.revision === (expectedRevision.get(s.customerId) ?? 0) && s.score?.revision === s.state.revision;
  const timeoutMs = options.loadTimeoutMs ?? LOAD_TIMEOUT_MS;
  const unscored = (all: readonly CustomerSnapshot[]) => {
    const unapplied = all.filter((s) => s.state.revision !== (expectedRevision.get(s.customerId) ?? 0)).length;
    return `${unapplied} customers with events unapplied, ${all.filter((s) => !scored(s)).length - unapplied} more not scored since`;
  };
  /** Every customer scored, every output published, nothing due or being re-scored, no alert held. */
  const settled = async (what: string): Promise<CustomerSnapshot[]> =>
    waitFor(
      async () => ({ all: await read(), busy: await dueOrClaimed() }),
      ({ all, busy }) => busy === 0 && all.every((s) => scored(s) && s.outbox.length === 0 && s.alertBook?.held === undefined),
      what,
      timeoutMs,
      ({ all, busy }) =>
        `${busy} customers due or under a re-scoring lease, ${all.filter((s) => s.alertBook?.held !== undefined).length} with alerts held, ` +
        `${all.filter((s) => s.outbox.length > 0).length} with outputs unpublished, ${unscored(all)}`,
    ).then(({ all }) => all);
  let published = 0;
  let applied = 0;
  const progress = startProgress(
    () => `${model} model through the scorer: published ${formatCount(published)}/${formatCount(load.length + later.length)}  applied ${formatCount(applied)}`,
    { stream: stderr },
  );
  /** Publishes a batch of events with the clock at `instant`, then lets the catch-up holds settle; what Redis holds after. */
  const publishAndSettle = async (batch: readonly InputEvent[], instant: number, what: string): Promise<Map<string, CustomerSnapshot>> => {
    clockValues = [];
    setClock(instant);
    for (const event of batch) expectedRevision.set(event.customerId, (expectedRevision.get(event.customerId) ?? 0) + 1);
    const before = published;
    await publisher.publish({ events: batch, onProgress: (delivered) => (published = before + delivered) });
    await waitFor(
      read,
      (all) => {
        applied = all.reduce((sum, s) => sum + s.state.revision, 0);
        return all.every(scored);
      },
      `applying and scoring ${what}`,
      timeoutMs,
      unscored,
    );
    // Alerts held while a backlog loaded are released once it has drained and the holds have settled.
    setClock(instant + config.scorer.catchUpSettleMs + 1_000);
    return new Map((await settled(`settling ${what}`)).map((s) => [s.customerId, s]));
  };
  const started = Date.now();
  try {
    const [first, ...weekEnds] = instants as [number, ...number[]];
    const customersAt = [await publishAndSettle(load, first, 'the history')];
    const loadSeconds = (Date.now() - started) / 1000;
    const alerts = alertTraffic(await readAlerts(session, sandbox, config));
    // Live, a day at a time: each day's events published with the clock at its end, so that the scorer applies them and
    // re-scores by time as it would have (a week's events at once would leave its customers a week stale between).
    let dayEnd = first;
    for (const weekEnd of weekEnds) {
      let atWeekEnd: Map<string, CustomerSnapshot> | undefined;
      for (; dayEnd < weekEnd; dayEnd += MS_PER_DAY) {
        atWeekEnd = await publishAndSettle(occurredBetween(later, dayEnd, dayEnd + MS_PER_DAY), dayEnd + MS_PER_DAY, `the day to ${new Date(dayEnd + MS_PER_DAY).toISOString()}`);
      }
      customersAt.push(atWeekEnd!);
    }
    const weeksAlerts = trafficSince(alerts, alertTraffic(await readAlerts(session, sandbox, config)));
    return { model, loadSeconds, alerts, weeksAlerts, customersAt };
  } finally {
    progress.stop();
    await publisher.close();
    await scorer.stop();
    await sandbox.cleanup();
  }
}

/**
 * The held-out rows of the judged instants: every customer holding an active contract at one, with its label from the
 * simulated future, each model's published risk and CHURN_RISK_HIGH as Redis holds them then, and the single signals
 * from the aggregates Redis holds then.
 */
function rowsOf(
  runs: readonly ScorerRun[],
  histories: ReturnType<typeof simulatePopulation>,
  plan: SnapshotPlan,
  defaultConfig: ScoringConfig,
  fold: FoldOptions,
): HeldOutRow[] {
  const rows: HeldOutRow[] = [];
  for (const customer of histories) {
    for (const snapshot of customerSnapshots(asHistory(customer), plan, fold)) {
      const { asOf } = snapshot;
      const at = plan.asOfDates.indexOf(asOf);
      const stored = runs.map((run) => run.customersAt[at]!.get(customer.customerId));
      if (stored.some((s) => s?.score === undefined || s.score === null)) continue;
      const risk = Object.fromEntries(runs.map((run, i) => [run.model, stored[i]!.score!.churnRisk])) as Record<ModelName, number>;
      const alertOpen = Object.fromEntries(
        runs.map((run, i) => [run.model, stored[i]!.alertBook?.episodes.CHURN_RISK_HIGH?.status === 'OPEN']),
      ) as Record<ModelName, boolean>;
      const insights = computeInsights(stored[0]!.state, asOf, { retentionDays: fold.retentionDays });
      const churnAsOf = churnSnapshot(insights, defaultConfig, asOf);
      const latent = latentState(customer, asOf);
      rows.push({
        customerId: customer.customerId,
        asOf,
        label: snapshot.label,
        churnsAt: snapshot.churnsAt,
        activityLevel: customer.latent.activityLevel,
        risk,
        alertOpen,
        signals: singleSignals({ snapshot: churnAsOf, latent }),
        features: trainingFeatures(churnAsOf),
        condition: latentCondition(latent),
      });
    }
  }
  return rows;
}

/**
 * Publishes the population's history up to the first judged instant, then the days after it one at a time, scores
 * them with each model's scorer in turn, and judges the outcome at every judged instant.
 */
export async function evaluateThroughScorer(options: ThroughScorerOptions): Promise<ThroughScorerResult> {
  const { population, simulatorClock } = options;
  const instants = judgedInstants(simulatorClock);
  const [first] = instants as [number];
  const histories = simulatePopulation(population, simulatorClock);
  const events = histories.flatMap((customer) => customer.events.filter((event) => event.occurredAt <= instants.at(-1)!));
  const published = { load: options.loadOrder.order(events.filter((event) => event.occurredAt <= first)), later: events.filter((event) => event.occurredAt > first) };
  const asHistories = histories.map(asHistory);
  const plan = planSnapshots(asHistories, { asOf: { dates: instants }, horizonDays: DEFAULT_HORIZON_DAYS, observedUntil: simulatorClock });
  // Adapted once, from what the load published, as a user would run `npm run train -- --adapt-base-rate --from-topics
  // --observed-until <first instant>` before deploying the adapted config.
  const loadPlan = { ...plan, asOfDates: [first] };
  const adapted = adaptedAtEachInstant(asHistories, loadPlan, options.configs.default, options.fold);
  const configs = { ...options.configs, adapted: adapted.configAt(first) };
  const runs: ScorerRun[] = [];
  for (const model of MODELS) runs.push(await runScorer(configs[model], options, model, published, instants));
  const rows = rowsOf(runs, histories, plan, configs.default, options.fold);
  const reports = reportSignals(rows, options.prepared, modelAlertsOf({ trained: () => configs.trained, default: () => configs.default, adapted: () => configs.adapted }, first), plan.asOfDates);
  return {
    instants,
    loaded: published.load.length,
    published: events.length,
    runs,
    rows,
    adaptation: adapted.summary,
    reports,
  };
}
