import { AsyncLocalStorage } from 'node:async_hooks';
import type { StateStore } from '@churnscore/state';
import { ScoringPipeline, type PipelineDeps } from '../services/scorer/src/pipeline';
import { TimeDrivenRescorer } from '../services/scorer/src/time-driven';

/**
 * Wall time spent in each stage of the scorer, taken by wrapping its pipeline's and time-driven
 * loop's methods and those of the store and producer they were given, for the duration of one
 * measurement (the service is not edited; `restore` puts everything back). A stage's time is the
 * wall time during which at least one of its calls was in flight, so calls issued together
 * (Promise.all) count once; the pipeline awaits its stages one after another, so per chunk or per
 * claim round they add up. The time-driven loop works on several claims at once, each in a lane of its
 * own that awaits its stages in turn: there a stage's time is taken per lane and added up over the lanes.
 */
const STAGES = ['chunk', 'deadLetter', 'claim', 'apply', 'read', 'applyOrRead', 'score', 'commit', 'publish', 'produce', 'ackOutbox'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageTimes {
  ms: Record<Stage, number>;
  calls: Record<Stage, number>;
  /** Customers read back for re-scoring (a conflict's re-read counts again). */
  rescoredCustomers: number;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Each stage's clock: it runs while any call of the stage, of any method, is in flight. */
type StageClocks = Record<Stage, { inFlight: number; since: number }>;

/**
 * Replaces `target[name]` by a version that keeps the clocks of `stages` running while any call is in flight; returns
 * the undo. A method may count towards two stages: the apply and the read sent right behind it are in flight together,
 * and `applyOrRead` is the time either one is, so that the two are not counted twice.
 */
function timeMethod(target: object, name: string, times: StageTimes, clocksNow: () => StageClocks, stages: readonly Stage[], onCall?: (args: unknown[]) => void): () => void {
  const original = Reflect.get(target, name) as Method;
  const enter = () => {
    const clocks = clocksNow();
    for (const stage of stages) {
      const clock = clocks[stage];
      if (clock.inFlight === 0) clock.since = performance.now();
      clock.inFlight += 1;
      times.calls[stage] += 1;
    }
    return clocks;
  };
  const leave = (clocks: StageClocks) => {
    for (const stage of stages) {
      const clock = clocks[stage];
      clock.inFlight -= 1;
      if (clock.inFlight === 0) times.ms[stage] += performance.now() - clock.since;
    }
  };
  const timed: Method = function (this: unknown, ...args: unknown[]) {
    const clocks = enter();
    onCall?.(args);
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (error) {
      leave(clocks);
      throw error;
    }
    if (result instanceof Promise) return result.finally(() => leave(clocks));
    leave(clocks);
    return result;
  };
  Reflect.set(target, name, timed);
  return () => Reflect.set(target, name, original);
}

/** Calls `before(this)` ahead of every call of `target[name]`; returns the undo. */
function beforeMethod<T>(target: object, name: string, before: (self: T) => void): () => void {
  const original = Reflect.get(target, name) as Method;
  Reflect.set(target, name, function (this: T, ...args: unknown[]) {
    before(this);
    return original.apply(this, args);
  });
  return () => Reflect.set(target, name, original);
}

/** Runs every call of `target[name]` through `around` (an async context, say); returns the undo. */
function inContext(target: object, name: string, around: (run: () => unknown) => unknown): () => void {
  const original = Reflect.get(target, name) as Method;
  Reflect.set(target, name, function (this: unknown, ...args: unknown[]) {
    return around(() => original.apply(this, args));
  });
  return () => Reflect.set(target, name, original);
}

const perStage = (): Record<Stage, number> => Object.fromEntries(STAGES.map((stage) => [stage, 0])) as Record<Stage, number>;

export function instrumentScorer(): { times: StageTimes; restore(): void } {
  const times: StageTimes = { ms: perStage(), calls: perStage(), rescoredCustomers: 0 };
  const newClocks = () => Object.fromEntries(STAGES.map((stage) => [stage, { inFlight: 0, since: 0 }])) as StageClocks;
  const shared = newClocks();
  // A time-driven lane's calls run in its own async context, with clocks of their own.
  const lane = new AsyncLocalStorage<StageClocks>();
  const clocksNow = () => lane.getStore() ?? shared;
  const time = (target: object, name: string, stages: readonly Stage[], onCall?: (args: unknown[]) => void) => timeMethod(target, name, times, clocksNow, stages, onCall);
  const undo: Array<() => void> = [];
  const instrumented = new WeakSet<object>();

  // The store and producer are the scorer's own objects, reachable only through private fields.
  function instrumentStore(store: StateStore): void {
    if (instrumented.has(store)) return;
    instrumented.add(store);
    undo.push(
      time(store, 'claimDue', ['claim']),
      time(store, 'applyEvents', ['apply', 'applyOrRead']),
      time(store, 'readCustomers', ['read', 'applyOrRead'], ([ids]) => {
        times.rescoredCustomers += (ids as unknown[]).length;
      }),
      time(store, 'commitScores', ['commit']),
      time(store, 'ackOutbox', ['ackOutbox']),
    );
  }
  function instrumentPipeline(pipeline: ScoringPipeline): void {
    const deps = Reflect.get(pipeline, 'deps') as PipelineDeps;
    instrumentStore(deps.store);
    const producer = deps.producer;
    if (instrumented.has(producer)) return;
    instrumented.add(producer);
    undo.push(time(producer, 'sendBatch', ['produce']));
  }

  const pipeline = ScoringPipeline.prototype;
  undo.push(
    beforeMethod(pipeline, 'handleChunks', instrumentPipeline),
    beforeMethod(pipeline, 'rescore', instrumentPipeline),
    beforeMethod(TimeDrivenRescorer.prototype, 'runOnce', (loop: TimeDrivenRescorer) => instrumentStore(Reflect.get(loop, 'store') as StateStore)),
    inContext(TimeDrivenRescorer.prototype, 'claimUntilDrained', (run) => lane.run(newClocks(), run)),
    time(pipeline, 'handleChunks', ['chunk']),
    time(pipeline, 'deadLetter', ['deadLetter']),
    time(pipeline, 'recompute', ['score']),
    time(pipeline, 'publishOutboxes', ['publish']),
  );
  return {
    times,
    restore() {
      for (const step of undo.reverse()) step();
    },
  };
}

export interface StageShare {
  stage: string;
  ms: number;
  /** Share of the measurement's wall time (of its lanes' time, for the time-driven loop's claims at once). */
  share: number;
}

const shares = (stages: Array<[string, number]>, wallMs: number): StageShare[] =>
  stages.map(([stage, ms]) => ({ stage, ms, share: ms / wallMs })).sort((a, b) => b.ms - a.ms);

const publishStages = ({ ms }: StageTimes): Array<[string, number]> => [
  ['publish: encode outputs (Avro)', ms.publish - ms.produce - ms.ackOutbox],
  ['publish: produce, acks=all', ms.produce],
  ['publish: acknowledge outboxes', ms.ackOutbox],
];

/**
 * Event-driven: decode is what a chunk spends outside the stages the wrappers see. The read is sent right behind the
 * apply: its share is the time it is in flight alone.
 */
export function consumerStages(times: StageTimes, wallMs: number): StageShare[] {
  const { ms } = times;
  const seen = ms.deadLetter + ms.applyOrRead + ms.score + ms.commit + ms.publish;
  return shares(
    [
      ['decode (Avro + validation)', ms.chunk - seen],
      ['dead-letter', ms.deadLetter],
      ['apply (a Lua call per customer)', ms.apply],
      ['read (a Lua call per customer), after the apply it was sent behind', ms.applyOrRead - ms.apply],
      ['score (pure CPU)', ms.score],
      ['commit (a Lua call per customer, then the indexes)', ms.commit],
      ...publishStages(times),
      ['consumer loop outside chunks (fetch, durability mark, heartbeat)', wallMs - ms.chunk],
    ],
    wallMs,
  );
}

/**
 * Time-driven: claim rounds, each followed by a re-score of the claimed customers, `lanes` claims at once: shares of
 * the lanes' time (lanes × wall time), each lane being in one stage at a time.
 */
export function timeDrivenStages(times: StageTimes, wallMs: number, lanes: number): StageShare[] {
  const { ms } = times;
  const laneMs = wallMs * lanes;
  const seen = ms.claim + ms.read + ms.score + ms.commit + ms.publish;
  return shares(
    [
      ['claim (a Lua call per due shard)', ms.claim],
      ['read (a Lua call per customer)', ms.read],
      ['score (pure CPU)', ms.score],
      ['commit (a Lua call per customer, then the indexes)', ms.commit],
      ...publishStages(times),
      ['other', laneMs - seen],
    ],
    laneMs,
  );
}
