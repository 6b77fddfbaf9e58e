import type { StateStore } from '@churnscore/state';
import type { Producer } from 'kafkajs';
import { ScoringPipeline, type PipelineDeps } from '../services/scorer/src/pipeline';
import { TimeDrivenRescorer } from '../services/scorer/src/time-driven';

/**
 * Wall time spent in each stage of the scorer, taken by wrapping its pipeline's and time-driven
 * loop's methods and those of the store and producer they were given, for the duration of one
 * measurement (the service is not edited; `restore` puts everything back). The pipeline awaits its
 * stages one after another, so they add up per chunk or per claim round.
 */
export interface StageTimes {
  chunk: number;
  deadLetter: number;
  claim: number;
  apply: number;
  read: number;
  score: number;
  commit: number;
  publish: number;
  produce: number;
  ackOutbox: number;
  /** Chunks handled, customers read back for re-scoring, outbox acknowledgements (one awaited Redis call each). */
  chunks: number;
  rescoredCustomers: number;
  ackCalls: number;
}

type TimedStage = Exclude<keyof StageTimes, 'chunks' | 'rescoredCustomers' | 'ackCalls'>;
type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Replaces `target[name]` by a version that reports each call's duration (sync or async); returns the undo. */
function timeMethod(target: object, name: string, onDone: (ms: number, args: unknown[]) => void): () => void {
  const original = Reflect.get(target, name) as Method;
  const timed: Method = function (this: unknown, ...args: unknown[]) {
    const started = performance.now();
    const result = original.apply(this, args);
    if (result instanceof Promise) return result.finally(() => onDone(performance.now() - started, args));
    onDone(performance.now() - started, args);
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

export function instrumentScorer(): { times: StageTimes; restore(): void } {
  const times: StageTimes = {
    chunk: 0,
    deadLetter: 0,
    claim: 0,
    apply: 0,
    read: 0,
    score: 0,
    commit: 0,
    publish: 0,
    produce: 0,
    ackOutbox: 0,
    chunks: 0,
    rescoredCustomers: 0,
    ackCalls: 0,
  };
  const undo: Array<() => void> = [];
  const instrumented = new WeakSet<object>();
  const add = (stage: TimedStage) => (ms: number) => {
    times[stage] += ms;
  };

  // The store and producer are the scorer's own objects, reachable only through private fields.
  function instrumentStore(store: StateStore): void {
    if (instrumented.has(store)) return;
    instrumented.add(store);
    undo.push(
      timeMethod(store, 'claimDue', add('claim')),
      timeMethod(store, 'applyEvents', add('apply')),
      timeMethod(store, 'readCustomers', (ms, [ids]) => {
        times.read += ms;
        times.rescoredCustomers += (ids as unknown[]).length;
      }),
      timeMethod(store, 'commitScores', add('commit')),
      timeMethod(store, 'ackOutbox', (ms) => {
        times.ackOutbox += ms;
        times.ackCalls += 1;
      }),
    );
  }
  function instrumentPipeline(pipeline: ScoringPipeline): void {
    const deps = Reflect.get(pipeline, 'deps') as PipelineDeps;
    instrumentStore(deps.store);
    const producer: Producer = deps.producer;
    if (instrumented.has(producer)) return;
    instrumented.add(producer);
    undo.push(timeMethod(producer, 'sendBatch', add('produce')));
  }

  const pipeline = ScoringPipeline.prototype;
  undo.push(
    beforeMethod(pipeline, 'handleChunk', instrumentPipeline),
    beforeMethod(pipeline, 'rescore', instrumentPipeline),
    beforeMethod(TimeDrivenRescorer.prototype, 'runOnce', (loop: TimeDrivenRescorer) => instrumentStore(Reflect.get(loop, 'store') as StateStore)),
    timeMethod(pipeline, 'handleChunk', (ms) => {
      times.chunk += ms;
      times.chunks += 1;
    }),
    timeMethod(pipeline, 'deadLetter', add('deadLetter')),
    timeMethod(pipeline, 'recompute', add('score')),
    timeMethod(pipeline, 'publishOutboxes', add('publish')),
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
  /** Share of the measurement's wall time. */
  share: number;
}

const shares = (stages: Array<[string, number]>, wallMs: number): StageShare[] =>
  stages.map(([stage, ms]) => ({ stage, ms, share: ms / wallMs })).sort((a, b) => b.ms - a.ms);

const publishStages = (times: StageTimes): Array<[string, number]> => [
  ['publish: encode outputs (Avro)', times.publish - times.produce - times.ackOutbox],
  ['publish: produce, acks=all', times.produce],
  ['publish: ack outbox (one awaited call per customer)', times.ackOutbox],
];

/** Event-driven: decode is what a chunk spends outside the stages the wrappers see. */
export function consumerStages(times: StageTimes, wallMs: number): StageShare[] {
  const seen = times.deadLetter + times.apply + times.read + times.score + times.commit + times.publish;
  return shares(
    [
      ['decode (Avro + validation, per chunk)', times.chunk - seen],
      ['dead-letter', times.deadLetter],
      ['apply (one Lua call per event)', times.apply],
      ['read (one Lua call per customer)', times.read],
      ['score (pure CPU)', times.score],
      ['commit (one Lua call per customer, then rankings + due)', times.commit],
      ...publishStages(times),
      ['consumer loop outside chunks (fetch, durability mark, heartbeat)', wallMs - times.chunk],
    ],
    wallMs,
  );
}

/** Time-driven: claim rounds, each followed by a re-score of the claimed customers. */
export function timeDrivenStages(times: StageTimes, wallMs: number): StageShare[] {
  const seen = times.claim + times.read + times.score + times.commit + times.publish;
  return shares(
    [
      ['claim (one Lua call per due shard)', times.claim],
      ['read (one Lua call per customer)', times.read],
      ['score (pure CPU)', times.score],
      ['commit (one Lua call per customer, then rankings + due)', times.commit],
      ...publishStages(times),
      ['other', wallMs - seen],
    ],
    wallMs,
  );
}
