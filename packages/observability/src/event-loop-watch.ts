// A process whose main thread never returns to its event loop (a loop in a library that does not end: avsc reading a
// record that claimed 2^52 items, kafkajs copying 20,000 headers per header) answers no probe, logs nothing and ignores
// SIGTERM, whose handler is JavaScript too; the stall watch, a timer on that same thread, never runs. A worker thread
// watches the main thread's turns instead: when none has come for the limit, it writes the reason as the services'
// log lines are written and kills the process (SIGKILL: nothing else ends a thread that never yields), so that the
// supervisor restarts it and an operator sees why.
import { Worker } from 'node:worker_threads';

export interface EventLoopWatchOptions {
  /** The service's name, as its log lines carry it. */
  service: string;
  /** How long the main thread may go without a turn of its event loop. */
  limitMs: number;
}

export interface EventLoopWatch {
  stop(): Promise<void>;
}

// Plain JavaScript, run as is in the worker (no loader): it counts the main thread's turns from a shared counter.
const WATCHER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const turns = new Int32Array(workerData.turns);
const { limitMs, service, lookEveryMs } = workerData;
let seen = Atomics.load(turns, 0);
let lastTurnAt = Date.now();
setInterval(() => {
  const now = Atomics.load(turns, 0);
  if (now !== seen) {
    seen = now;
    lastTurnAt = Date.now();
    return;
  }
  const blockedMs = Date.now() - lastTurnAt;
  if (blockedMs < limitMs) return;
  const line = { level: 'fatal', time: new Date().toISOString(), service, name: service, blockedMs,
    msg: 'the main thread has not returned to its event loop for ' + blockedMs + ' ms: killing the process so that its supervisor restarts it' };
  writeSync(1, JSON.stringify(line) + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, lookEveryMs);
`;

/** Starts watching this process's main thread; `stop` ends the watch (a service stopping on purpose). */
export function watchEventLoop({ service, limitMs }: EventLoopWatchOptions): EventLoopWatch {
  const turns = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  // Several turns per limit, so that one late turn is not taken for a blocked thread.
  const turnEveryMs = Math.max(10, Math.min(1_000, Math.floor(limitMs / 10)));
  const counting = setInterval(() => Atomics.add(turns, 0, 1), turnEveryMs);
  counting.unref();
  // No execArgv: the watcher needs none of the process's loaders (tsx) and starts in milliseconds without them.
  const worker = new Worker(WATCHER, { eval: true, execArgv: [], workerData: { turns: turns.buffer, limitMs, service, lookEveryMs: turnEveryMs } });
  // The watch never keeps a process alive that would otherwise exit.
  worker.unref();
  return {
    stop: async () => {
      clearInterval(counting);
      await worker.terminate();
    },
  };
}
