// The time-driven loop on the in-memory store, with a pipeline that only records what it was asked to re-score.
import { createLogger } from '@churnscore/observability';
import { writeFence } from '@churnscore/state';
import { InMemoryStateStore } from '@churnscore/state/testing';
import { describe, expect, it, vi } from 'vitest';
import { createScorerMetrics } from './metrics';
import type { RescoreTarget } from './pipeline';
import { TimeDrivenRescorer } from './time-driven';

const NOW = Date.UTC(2025, 5, 1);
const FENCE = writeFence({ runId: 'run-1', epoch: 'epoch-1', addedMasterEpochs: {}, serverTimeMs: NOW }, NOW);
const CLAIM_LIMIT = 10;
const MODEL = 'model-2025.1';

/** Records each round's customers and how many rounds were in flight at once; fails the rounds a test names. */
class RecordingPipeline {
  readonly rounds: string[][] = [];
  readonly failingRounds = new Set<number>();
  inFlight = 0;
  mostInFlight = 0;

  async rescore(targets: readonly RescoreTarget[]): Promise<void> {
    this.rounds.push(targets.map((target) => target.customerId));
    const round = this.rounds.length;
    expect(targets.every((target) => target.cause.kind === 'time')).toBe(true);
    this.inFlight += 1;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    // A round takes a few turns of the event loop, as Redis and the broker's round trips do.
    for (let turn = 0; turn < 3; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    this.inFlight -= 1;
    if (this.failingRounds.has(round)) throw new Error('Redis went away');
  }

  rescored(): string[] {
    return this.rounds.filter((_, i) => !this.failingRounds.has(i + 1)).flat();
  }
}

function rescorerWith(
  store: InMemoryStateStore,
  pipeline: RecordingPipeline,
  concurrentClaims = 1,
  inputs = { assignmentKnown: true, learnOthers: () => Promise.resolve() },
  clock = () => NOW,
) {
  const metrics = createScorerMetrics();
  const failedRounds: unknown[] = [];
  const rescorer = new TimeDrivenRescorer(
    store,
    pipeline,
    () => FENCE,
    clock,
    { pollIntervalMs: 60_000, claimLimit: CLAIM_LIMIT, concurrentClaims, leaseMs: 60_000, model: MODEL },
    metrics,
    createLogger({ name: 'time-driven-test', level: 'silent' }),
    (error) => failedRounds.push(error),
    inputs,
  );
  return { rescorer, metrics, failedRounds };
}

function storeWithDue(customers: number, dueAt = NOW): InMemoryStateStore {
  const store = new InMemoryStateStore();
  for (let i = 0; i < customers; i += 1) void store.scheduleDue(`c${i}`, dueAt);
  return store;
}

const allDue = (customers: number) => Array.from({ length: customers }, (_, i) => `c${i}`).sort();

describe('TimeDrivenRescorer', () => {
  it('once started, re-scores every due customer once, in rounds of the claim limit, and counts them', async () => {
    const store = storeWithDue(45);
    void store.scheduleDue('later', NOW + 1);
    const pipeline = new RecordingPipeline();
    const { rescorer, metrics } = rescorerWith(store, pipeline);
    rescorer.start();
    await vi.waitFor(() => expect(pipeline.rescored()).toHaveLength(45));
    await rescorer.stop();
    expect(pipeline.rescored().sort()).toEqual(allDue(45));
    expect(pipeline.rounds.map((round) => round.length)).toEqual([10, 10, 10, 10, 5]);
    expect((await metrics.rescored.get()).values[0]?.value).toBe(45);
  });

  it("claims no one while the backlog of the instance's input partitions is unknown (at start, after a rebalance)", async () => {
    const store = storeWithDue(5);
    const pipeline = new RecordingPipeline();
    const inputs = { assignmentKnown: false, learnOthers: () => Promise.resolve() };
    const { rescorer } = rescorerWith(store, pipeline, 1, inputs);
    expect(await rescorer.runOnce()).toBe(0);
    expect(pipeline.rounds).toEqual([]);
    expect([...store.due.values()].every((dueAt) => dueAt === NOW)).toBe(true);
    inputs.assignmentKnown = true;
    expect(await rescorer.runOnce()).toBe(5);
  });

  it("claims no one while another model is in service and re-scored by its instances: it leaves the new model's roll-out to them", async () => {
    const store = storeWithDue(5);
    const pipeline = new RecordingPipeline();
    const { rescorer } = rescorerWith(store, pipeline);
    const dueAgain = () => Array.from({ length: 5 }, (_, i) => store.scheduleDue(`c${i}`, NOW));
    // No model marked (a namespace scored before the mark existed): it claims.
    expect(await rescorer.runOnce()).toBe(5);
    await Promise.all(dueAgain());
    // An instance with a newer model started beside it (a rolling restart), made every scored customer due for it, and
    // re-scores for time: this one leaves them to it.
    await store.scheduleModelRollout('model-2025.2', NOW, 1);
    expect(await rescorer.runOnce()).toBe(0);
    expect(pipeline.rescored()).toHaveLength(5);
    // The newer instances gone (a canary stopped): their word lapsed, and this one claims rather than leave the work to nobody.
    await store.markModelServed('model-2025.2', NOW - 1, 1);
    expect(await rescorer.runOnce()).toBe(5);
    // Its own model in service again (rolled out anew): it claims, and says it re-scores for time.
    await Promise.all(dueAgain());
    await store.scheduleModelRollout(MODEL, NOW, 1);
    expect(await rescorer.runOnce()).toBe(5);
    expect(await store.modelInService(NOW)).toEqual({ rolledOut: expect.stringContaining(MODEL), servedBy: expect.stringContaining(MODEL) });
  });

  it("claims no one while an instance of another model rolls it out, its word said before its first customer is due and the model before still marked", async () => {
    const store = storeWithDue(5);
    const pipeline = new RecordingPipeline();
    const { rescorer } = rescorerWith(store, pipeline);
    await store.scheduleModelRollout(MODEL, NOW, 60_000);
    expect(await rescorer.runOnce()).toBe(5);
    await Promise.all(Array.from({ length: 5 }, (_, i) => store.scheduleDue(`c${i}`, NOW)));
    await store.markModelServed('model-2025.2', NOW, 60_000);
    expect(await store.modelInService(NOW)).toEqual({ rolledOut: expect.stringContaining(MODEL), servedBy: expect.stringContaining('model-2025.2') });
    expect(await rescorer.runOnce()).toBe(0);
  });

  it("rolls its own model out again once no instance of the model in service has re-scored for three poll intervals more (a canary withdrawn)", async () => {
    const store = storeWithDue(0);
    const pipeline = new RecordingPipeline();
    let now = NOW;
    // Two lanes, as by default: they share one roll-out.
    const { rescorer } = rescorerWith(store, pipeline, 2, undefined, () => now);
    await store.scheduleModelRollout('canary-1', NOW, 1_000);
    const rollOut = vi.spyOn(store, 'scheduleModelRollout');
    await rescorer.runOnce();
    expect(rollOut).not.toHaveBeenCalled();
    // The canary stopped: its word lapses. Seen once, not yet (its instances may be starting, rolled out but not yet served).
    now = NOW + 2_000;
    await rescorer.runOnce();
    expect(rollOut).not.toHaveBeenCalled();
    now += 179_999;
    await rescorer.runOnce();
    expect(rollOut).not.toHaveBeenCalled();
    // Three poll intervals (60 s here) more with no instance of the canary: this one's model is rolled out again, every scored customer due.
    now += 1;
    await rescorer.runOnce();
    expect(rollOut).toHaveBeenCalledTimes(1);
    expect(rollOut).toHaveBeenCalledWith(MODEL, now, 180_000);
    expect(await store.modelInService(now)).toEqual({ rolledOut: expect.stringContaining(MODEL), servedBy: expect.stringContaining(MODEL) });
  });

  it('stops once the round in flight ends, not a poll interval (60 s here) after it', async () => {
    let endRound!: () => void;
    const roundEnds = new Promise<void>((resolve) => (endRound = resolve));
    const pipeline = { rescore: vi.fn(() => roundEnds) };
    const { rescorer } = rescorerWith(storeWithDue(5), pipeline as unknown as RecordingPipeline);
    rescorer.start();
    await vi.waitFor(() => expect(pipeline.rescore).toHaveBeenCalled());
    const stopped = rescorer.stop();
    endRound();
    await stopped;
    expect(pipeline.rescore).toHaveBeenCalledTimes(1);
  });

  it('finds nothing to do when nothing is due yet', async () => {
    const pipeline = new RecordingPipeline();
    expect(await rescorerWith(storeWithDue(3, NOW + 1), pipeline).rescorer.runOnce()).toBe(0);
    expect(pipeline.rounds).toEqual([]);
  });

  it('throws for a failed round, whose customers wait for their lease to end while the next round takes others', async () => {
    const store = storeWithDue(25);
    const pipeline = new RecordingPipeline();
    pipeline.failingRounds.add(1);
    const { rescorer } = rescorerWith(store, pipeline);
    await expect(rescorer.runOnce()).rejects.toThrow('Redis went away');
    // The failed round's customers are leased, not due now: the next round takes the others.
    expect(await rescorer.runOnce()).toBe(CLAIM_LIMIT);
    expect(new Set([...pipeline.rounds[0]!, ...pipeline.rescored()]).size).toBe(2 * CLAIM_LIMIT);
    expect([...store.due.values()].filter((dueAt) => dueAt === NOW + 60_000)).toHaveLength(2 * CLAIM_LIMIT);
  });

  it('tells of each failed round of its loop before the next poll, so that the scorer can stop for a refusal', async () => {
    const pipeline = new RecordingPipeline();
    pipeline.failingRounds.add(1);
    const { rescorer, failedRounds } = rescorerWith(storeWithDue(5), pipeline);
    rescorer.start();
    await vi.waitFor(() => expect(failedRounds).toHaveLength(1));
    await rescorer.stop();
    expect(failedRounds).toEqual([new Error('Redis went away')]);
  });

  /** A started rescorer (its first round finding nothing) asked for a round of `customers` due now. */
  async function roundOnStarted(customers: number, pipeline: RecordingPipeline) {
    const store = new InMemoryStateStore();
    const { rescorer } = rescorerWith(store, pipeline, 2);
    rescorer.start();
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < customers; i += 1) await store.scheduleDue(`c${i}`, NOW);
    const round = rescorer.runOnce();
    round.finally(() => rescorer.stop()).catch(() => {});
    return { store, round, rescorer };
  }

  it('with two claims at once, works on two rounds at a time and still re-scores every due customer exactly once', async () => {
    const pipeline = new RecordingPipeline();
    const { store, round } = await roundOnStarted(45, pipeline);
    expect(await round).toBe(45);
    expect(pipeline.rescored().sort()).toEqual(allDue(45));
    expect(pipeline.mostInFlight).toBe(2);
    expect([...store.due.values()].every((dueAt) => dueAt === NOW + 60_000)).toBe(true);
  });

  it('shows each claim in hand as work in flight, not the round: a round may drain millions, a claim is seconds', async () => {
    const pipeline = new RecordingPipeline();
    const inFlightAtRescore: Array<number | null> = [];
    const rescore = pipeline.rescore.bind(pipeline);
    const { round, rescorer } = await roundOnStarted(45, pipeline);
    pipeline.rescore = (targets) => {
      inFlightAtRescore.push(rescorer.claimsInFlight.oldestRunningMs());
      return rescore(targets);
    };
    expect(await round).toBe(45);
    expect(inFlightAtRescore.length).toBeGreaterThan(0);
    expect(inFlightAtRescore.every((ms) => ms !== null && ms >= 0)).toBe(true);
    expect(rescorer.claimsInFlight.oldestRunningMs()).toBeNull();
  });

  it('with two claims at once, throws for a failed round only once the other lane has finished, so rounds never overlap', async () => {
    const pipeline = new RecordingPipeline();
    pipeline.failingRounds.add(1);
    const { round } = await roundOnStarted(45, pipeline);
    await expect(round).rejects.toThrow('Redis went away');
    expect(pipeline.inFlight).toBe(0);
    // The other lane went on to drain what was due; the failed round's customers wait for their lease.
    expect(pipeline.rescored()).toHaveLength(45 - CLAIM_LIMIT);
    expect(new Set(pipeline.rounds.flat()).size).toBe(45);
  });
});
