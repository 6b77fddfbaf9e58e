import { capturingLogger } from '@churnscore/observability/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { partitionKey } from './offsets';
import { AtLeastOnceConsumer, RewindRequiredError, type DurabilityGate, type LagReport, type MessageChunk, type PartitionFetch, type PassedUnread } from './at-least-once-consumer';
import { FakeAdmin, FakeConsumer, kafkaMessage, type FetchedBatch } from './testing';

const TOPIC = 'crm.activity.v1';
/** The earliest retained offset: where a partition without a committed offset is rewound to. */
const EARLIEST = '5';
const CHUNK_SIZE = 5;

interface Mark {
  fence: number;
  /** Marks are numbered from 1 in the order they are made. */
  n: number;
}

/**
 * A gate the test steers: the marks made so far up to `durableThrough` are durable, and `loseWrites()`
 * makes the store lose the writes of its current incarnation. The fence is the incarnation synchronised with.
 */
class FakeGate implements DurabilityGate<number, Mark> {
  durableThrough = Infinity;
  incarnation = 0;
  /** How many marks each durability question was about. */
  readonly asked: number[] = [];
  private marks = 0;
  private readonly lost = new Set<number>();

  synchronise(): Promise<void> {
    this.incarnation += 1;
    return Promise.resolve();
  }

  fence(): number {
    return this.incarnation;
  }

  mark(fence: number): Mark {
    return { fence, n: ++this.marks };
  }

  /** The store does not answer: every check fails, as while a Redis master fails over. */
  unreachable = false;

  loseWrites(): void {
    this.lost.add(this.incarnation);
  }

  durableCount(marks: readonly Mark[]): Promise<number | 'lost'> {
    this.asked.push(marks.length);
    if (this.unreachable) return Promise.reject(new Error('Connection is closed.'));
    if (marks.some((mark) => this.lost.has(mark.fence))) return Promise.resolve('lost');
    const notYet = marks.findIndex((mark) => mark.n > this.durableThrough);
    return Promise.resolve(notYet === -1 ? marks.length : notYet);
  }
}

const deferred = () => {
  let resolve = () => {};
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
};

const batch = (partition: number, count: number, from = 0): FetchedBatch => ({
  topic: TOPIC,
  partition,
  messages: Array.from({ length: count }, (_, i) => kafkaMessage(from + i)),
});

/** A unit as `partition:messages` per chunk, e.g. ['0:3', '1:2']. */
const shape = (unit: readonly MessageChunk[]): string[] => unit.map((chunk) => `${chunk.partition}:${chunk.messages.length}`);

let stopLoop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stopLoop?.();
  stopLoop = undefined;
});

/** A running loop on the fakes, assigned partitions 0 and 1 of a topic with three; the most a chunk holds as given. */
async function runningLoop(
  handle: (chunks: readonly MessageChunk[], fence: number) => Promise<void> = () => Promise.resolve(),
  maxChunkSize = CHUNK_SIZE,
  refuseFetch: (fetched: PartitionFetch) => boolean = () => false,
  storeHandledTo?: () => Promise<ReadonlyMap<string, bigint>>,
) {
  const consumer = new FakeConsumer();
  const admin = new FakeAdmin(consumer, { [TOPIC]: 3 }, { [TOPIC]: EARLIEST });
  const gate = new FakeGate();
  const units: Array<{ chunks: readonly MessageChunk[]; fence: number }> = [];
  const fetches: PartitionFetch[] = [];
  const passedUnread: PassedUnread[] = [];
  const lags: LagReport[] = [];
  let rewinds = 0;
  const { logger, lines: logLines } = capturingLogger('consumer-test', 'warn');
  const failures: unknown[] = [];
  const loop = new AtLeastOnceConsumer({
    consumer,
    admin,
    groupId: 'scorer',
    topics: [TOPIC],
    chunkSize: CHUNK_SIZE,
    maxChunkSize,
    concurrentPartitions: 3,
    handleChunks: (chunks, fence) => {
      units.push({ chunks, fence });
      return handle(chunks, fence);
    },
    gate,
    commitIntervalMs: 5,
    heartbeatIntervalMs: 5,
    logger,
    onFetch: (fetched) => {
      if (refuseFetch(fetched)) throw new Error('refused');
      fetches.push(fetched);
    },
    onLag: (report) => lags.push(report),
    onRewind: () => (rewinds += 1),
    ...(storeHandledTo ? { storeHandledTo } : {}),
    onPassedUnread: (passed) => passedUnread.push(passed),
    onFailure: (error) => failures.push(error),
  });
  await loop.start();
  consumer.assign({ [TOPIC]: [0, 1] });
  stopLoop = () => {
    gate.durableThrough = Infinity;
    return loop.stop();
  };
  return { loop, consumer, gate, units, fetches, passedUnread, lags, logLines, failures, rewinds: () => rewinds };
}

describe('AtLeastOnceConsumer', () => {
  it('subscribes from the beginning with auto-commit and auto-resolve off, after synchronising the gate', async () => {
    const { consumer, gate } = await runningLoop();
    expect(gate.incarnation).toBe(1);
    expect(consumer.subscription).toEqual({ topics: [TOPIC], fromBeginning: true });
    expect(consumer.runConfig).toMatchObject({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 3 });
  });

  it("resolves a chunk's offset only once its unit is handled, and commits it only once the gate says it is durable", async () => {
    const release = deferred();
    const { consumer, gate, units } = await runningLoop(() => release.promise);
    gate.durableThrough = 0;
    const delivered = consumer.deliver(batch(0, 3));
    await vi.waitFor(() => expect(units).toHaveLength(1));
    expect(delivered.resolved).toEqual([]);

    release.resolve();
    await delivered.done;
    expect(delivered.resolved).toEqual(['2']);
    await vi.waitFor(() => expect(gate.asked.length).toBeGreaterThanOrEqual(2));
    expect(consumer.commits).toEqual([]);

    gate.durableThrough = Infinity;
    await vi.waitFor(() => expect(consumer.commits).toHaveLength(1));
    expect(consumer.commits[0]).toEqual([{ topic: TOPIC, partition: 0, offset: '3' }]);
  });

  it('commits the durable prefix of the handled chunks, the latest offset per partition', async () => {
    const { consumer, gate } = await runningLoop();
    // Nothing durable while the units run: a commit tick (every 5 ms) between two units would commit the first alone.
    gate.durableThrough = 0;
    const delivered = consumer.deliver(batch(0, 12)); // chunks 0–4, 5–9, 10–11
    await delivered.done;
    expect(delivered.resolved).toEqual(['4', '9', '11']);
    expect(consumer.commits).toEqual([]);
    gate.durableThrough = 2;
    await vi.waitFor(() => expect(consumer.commits).toHaveLength(1));
    expect(consumer.commits[0]).toEqual([{ topic: TOPIC, partition: 0, offset: '10' }]);

    await consumer.deliver(batch(1, 3)).done;
    gate.durableThrough = Infinity;
    await vi.waitFor(() => expect(consumer.commits).toHaveLength(2));
    expect(consumer.commits[1]).toEqual([
      { topic: TOPIC, partition: 0, offset: '12' },
      { topic: TOPIC, partition: 1, offset: '3' },
    ]);
  });

  it('tries a commit that failed again at the next tick, with whatever is durable by then', async () => {
    const { consumer, gate, failures } = await runningLoop();
    consumer.refuseCommits = true;
    gate.durableThrough = Infinity;
    await consumer.deliver(batch(0, 7)).done;
    await vi.waitFor(() => expect(failures.length).toBeGreaterThan(1));
    consumer.refuseCommits = false;
    await vi.waitFor(() => expect(consumer.commits).toHaveLength(1));
    expect(consumer.commits[0]).toEqual([{ topic: TOPIC, partition: 0, offset: '7' }]);
  });

  it('moves past the records a batch held without handing them out (transaction markers, aborted records): resolved, committed, and the end its chunk names', async () => {
    const { consumer, units } = await runningLoop();
    // Records 0–11 handed out, then a commit marker at 12: chunks 0–4, 5–9, 10–11, the last one ending past the marker.
    const delivered = consumer.deliver({ ...batch(0, 12), lastOffset: '12', highWatermark: '13' });
    await delivered.done;
    expect(units.map(({ chunks }) => chunks.map((chunk) => chunk.nextOffset))).toEqual([['5'], ['10'], ['13']]);
    expect(delivered.resolved).toEqual(['4', '9', '12']);
    await vi.waitFor(() => expect(consumer.committed(TOPIC, 0)).toBe('13'));
  });

  it('hands a batch of nothing but skipped records, which kafkajs keeps from eachBatch, to a unit as an empty chunk, and commits past it in turn', async () => {
    const release = deferred();
    const { consumer, gate, units } = await runningLoop(() => release.promise);
    gate.durableThrough = Infinity;
    const delivered = consumer.deliver(batch(0, 3));
    await vi.waitFor(() => expect(units).toHaveLength(1));
    // An aborted transaction's records 3–8 and its marker at 9, while the unit before them is still being handled.
    consumer.skip(TOPIC, 0, '3', '9');
    // A partition no longer assigned: nothing to do.
    consumer.skip(TOPIC, 2, '0', '4');
    const next = consumer.deliver(batch(0, 2, 10));
    release.resolve();
    await Promise.all([delivered.done, next.done]);
    // One chunk of a partition per unit: the records after the skipped ones wait for the empty chunk's unit.
    expect(units.map(({ chunks }) => chunks.map((chunk) => `${chunk.partition}:${chunk.messages.length}→${chunk.nextOffset}`))).toEqual([['0:3→3'], ['0:0→10'], ['0:2→12']]);
    await vi.waitFor(() => expect(consumer.committed(TOPIC, 0)).toBe('12'));
    expect(consumer.commits.flat().map(({ offset }) => Number(offset))).toEqual([...consumer.commits.flat().map(({ offset }) => Number(offset))].sort((a, b) => a - b));
  });

  it('tells of a batch of nothing but skipped records as of any fetch, and leaves it where it is when the handler refuses it', async () => {
    const { consumer, units, fetches } = await runningLoop(undefined, undefined, (fetched) => fetched.partition === 1);
    consumer.skip(TOPIC, 0, '3', '9', '10');
    consumer.skip(TOPIC, 1, '0', '4');
    await vi.waitFor(() => expect(units).toHaveLength(1));
    expect(fetches).toEqual([{ topic: TOPIC, partition: 0, firstOffset: '3', highWatermark: '10' }]);
    await vi.waitFor(() => expect(consumer.committed(TOPIC, 0)).toBe('10'));
    expect(units.flatMap(({ chunks }) => chunks.map((chunk) => chunk.partition))).toEqual([0]);
    expect(consumer.committed(TOPIC, 1)).toBeUndefined();
  });

  it('merges the chunks of the partitions in hand into units of at most the chunk size, one unit at a time', async () => {
    let inUnit = 0;
    let overlapped = false;
    const { consumer, units } = await runningLoop(async () => {
      overlapped ||= inUnit > 0;
      inUnit += 1;
      await new Promise((resolve) => setTimeout(resolve, 1));
      inUnit -= 1;
    });
    await Promise.all([consumer.deliver(batch(0, 3)).done, consumer.deliver(batch(1, 2)).done, consumer.deliver(batch(2, 4)).done]);
    expect(units.map(({ chunks }) => shape(chunks))).toEqual([['0:3', '1:2'], ['2:4']]);
    expect(overlapped).toBe(false);
  });

  it('sends heartbeats while a unit runs, twenty at most: a long unit keeps its membership, a stuck one lets it go', async () => {
    const handling = deferred();
    const { consumer } = await runningLoop(() => handling.promise);
    const delivered = consumer.deliver(batch(0, 3));
    await vi.waitFor(() => expect(delivered.heartbeats).toBeGreaterThanOrEqual(3));
    // At the test's 5 ms interval, twenty are sent within some 100 ms; then none while the unit still runs.
    await vi.waitFor(() => expect(delivered.heartbeats).toBe(20), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(delivered.heartbeats).toBe(20);
    handling.resolve();
    await delivered.done;
    // The loop's own heartbeat after the chunk.
    expect(delivered.heartbeats).toBe(21);
  });

  it('shows the unit in hand as work in flight while it runs, and none once it is done (what the stall watch reads)', async () => {
    const handling = deferred();
    const { loop, consumer } = await runningLoop(() => handling.promise);
    expect(loop.unitsInFlight.oldestRunningMs()).toBeNull();
    const delivered = consumer.deliver(batch(0, 3));
    await vi.waitFor(() => expect(loop.unitsInFlight.oldestRunningMs()).not.toBeNull());
    handling.resolve();
    await delivered.done;
    expect(loop.unitsInFlight.oldestRunningMs()).toBeNull();
  });

  it("handles a fetched batch as one chunk up to the most a chunk holds, and merges no other partition's into its unit", async () => {
    const { consumer, units } = await runningLoop(() => new Promise((resolve) => setTimeout(resolve, 1)), 12);
    // Seven records of partition 0 and two of partition 1: nine, over the chunk size of five.
    await Promise.all([consumer.deliver(batch(0, 7)).done, consumer.deliver(batch(1, 2)).done]);
    // Twenty records fetched at once: chunks of twelve, then the eight left.
    await consumer.deliver(batch(0, 20, 7)).done;
    expect(units.map(({ chunks }) => shape(chunks))).toEqual([['0:7'], ['1:2'], ['0:12'], ['0:8']]);
  });

  it('tells of every fetched batch on arrival, before its unit is handled: where it starts and what lies ahead', async () => {
    const release = deferred();
    const { consumer, units, fetches } = await runningLoop(() => release.promise);
    const first = consumer.deliver(batch(0, 3, 10));
    await vi.waitFor(() => expect(units).toHaveLength(1));
    // Handled in the next unit, but already known to be there, with 3,000 records more ahead of it.
    const second = consumer.deliver({ ...batch(1, 2, 40), highWatermark: '3042' });
    await vi.waitFor(() => expect(fetches).toHaveLength(2));
    expect(units).toHaveLength(1);
    expect(fetches).toEqual([
      { topic: TOPIC, partition: 0, firstOffset: '10', highWatermark: '13' },
      { topic: TOPIC, partition: 1, firstOffset: '40', highWatermark: '3042' },
    ]);
    release.resolve();
    await Promise.all([first.done, second.done]);
  });

  it("tells a partition's lag as its batch arrives and after each of its chunks, not only once the batch is done", async () => {
    const releases = [deferred(), deferred(), deferred()];
    let unit = 0;
    const { consumer, lags } = await runningLoop(() => releases[unit++]!.promise, 12);
    // Thirty records fetched at once, 1,000 more behind them: three chunks, each its own unit.
    const fetched = consumer.deliver({ ...batch(0, 30, 100), highWatermark: '1130' });
    // The whole lag is told before the first unit is done (a flood arriving at a partition that was caught up) ...
    await vi.waitFor(() => expect(lags).toEqual([{ topic: TOPIC, partition: 0, lag: 1030 }]));
    // ... and it falls as each chunk is handled, while the batch's other units wait.
    releases[0]!.resolve();
    await vi.waitFor(() => expect(lags.at(-1)).toEqual({ topic: TOPIC, partition: 0, lag: 1018 }));
    releases[1]!.resolve();
    await vi.waitFor(() => expect(lags.at(-1)).toEqual({ topic: TOPIC, partition: 0, lag: 1006 }));
    releases[2]!.resolve();
    await fetched.done;
    expect(lags.map(({ lag }) => lag)).toEqual([1030, 1018, 1006, 1000]);
  });

  it('rewinds every assigned partition to its committed offset when a handler finds the store replaced, dropping what was pending', async () => {
    let replaced = false;
    const { consumer, gate, units, rewinds } = await runningLoop((_chunks, fence) =>
      replaced && fence === 1 ? Promise.reject(new RewindRequiredError('the store restarted')) : Promise.resolve(),
    );
    await consumer.deliver(batch(0, 3)).done;
    await vi.waitFor(() => expect(consumer.committed(TOPIC, 0)).toBe('3'));
    gate.durableThrough = 1;
    await consumer.deliver(batch(1, 2)).done; // handled, not yet durable

    replaced = true;
    const delivered = consumer.deliver(batch(0, 7, 3));
    await delivered.done;
    expect(delivered.resolved).toEqual([]);
    // Partition 0 back to its commit, partition 1 (nothing committed) to the earliest offset; partition 2 is not ours.
    expect(consumer.seeks).toEqual([
      { topic: TOPIC, partition: 0, offset: '3' },
      { topic: TOPIC, partition: 1, offset: EARLIEST },
    ]);
    expect(rewinds()).toBe(1);
    expect(gate.incarnation).toBe(2);
    // The rest of the batch is re-read after the seek, not handled now.
    expect(units.map(({ chunks }) => shape(chunks))).toEqual([['0:3'], ['1:2'], ['0:5']]);

    gate.durableThrough = Infinity;
    const asked = gate.asked.length;
    await vi.waitFor(() => expect(gate.asked.length).toBeGreaterThan(asked + 1));
    expect(consumer.commits).toHaveLength(1); // partition 1's offsets went with the rewind
  });

  it('rewinds, committing nothing, when the gate reports that the store lost writes', async () => {
    const { consumer, gate, rewinds } = await runningLoop();
    gate.durableThrough = 0;
    await consumer.deliver(batch(0, 3)).done;
    gate.loseWrites();
    await vi.waitFor(() => expect(rewinds()).toBe(1));
    expect(consumer.seeks).toEqual([
      { topic: TOPIC, partition: 0, offset: EARLIEST },
      { topic: TOPIC, partition: 1, offset: EARLIEST },
    ]);
    await vi.waitFor(() => expect(gate.incarnation).toBe(2));
    gate.durableThrough = Infinity;
    const asked = gate.asked.length;
    await vi.waitFor(() => expect(gate.asked.length).toBeGreaterThan(asked));
    expect(consumer.commits).toEqual([]);
  });

  it('rewinds a partition below its committed offset to where the store holds it, when the store lost more than the gate allowed for', async () => {
    // Redis's fsync held back past the gate's grace by a slow disk: offsets 7-9 of partition 0 were committed, but the
    // store as it came back holds partition 0 handled to 7 only (partition 1 to 1, below its earliest records: from there).
    const handledTo = new Map([[partitionKey(TOPIC, 0), 7n], [partitionKey(TOPIC, 1), 1n]]);
    const { consumer, gate, rewinds, logLines } = await runningLoop(undefined, CHUNK_SIZE, () => false, () => Promise.resolve(handledTo));
    await consumer.deliver(batch(0, 5, 5)).done;
    await vi.waitFor(() => expect(consumer.committed(TOPIC, 0)).toBe('10'));
    gate.loseWrites();
    await consumer.deliver(batch(0, 1, 10)).done;
    await vi.waitFor(() => expect(rewinds()).toBe(1));
    expect(consumer.seeks).toEqual([
      { topic: TOPIC, partition: 0, offset: '7' },
      { topic: TOPIC, partition: 1, offset: EARLIEST },
    ]);
    expect(logLines.find((line) => line.msg?.startsWith('the state store lost writes of offsets already committed'))).toMatchObject({
      topic: TOPIC,
      partition: 0,
      committed: '10',
      storeHandledTo: '7',
    });
  });

  it('starts a partition assigned anew from where the store holds it, when that is below its committed offset (the store and the service down together)', async () => {
    const handledTo = new Map([[partitionKey(TOPIC, 0), 10n]]);
    let storeReads = 0;
    const readStore = () => {
      storeReads += 1;
      return Promise.resolve(handledTo);
    };
    const { consumer, units, logLines } = await runningLoop(undefined, CHUNK_SIZE, () => false, readStore);
    await consumer.deliver(batch(0, 5, 5)).done;
    await vi.waitFor(() => expect(consumer.committed(TOPIC, 0)).toBe('10'));
    // The store came back holding partition 0 handled to 7; the group joins again, and Kafka fetches from 10.
    handledTo.set(partitionKey(TOPIC, 0), 7n);
    storeReads = 0;
    consumer.assign({ [TOPIC]: [0, 1] });
    // At once, idle or not; a batch fetched from the committed offset before the seek took hold is sought back again.
    await vi.waitFor(() => expect(consumer.seeks).toEqual([{ topic: TOPIC, partition: 0, offset: '7' }]));
    const refetched = consumer.deliver(batch(0, 3, 10));
    await refetched.done;
    expect(refetched.resolved).toEqual([]);
    expect(consumer.seeks).toEqual([1, 2].map(() => ({ topic: TOPIC, partition: 0, offset: '7' })));
    // The store's record read once for the assignment, the partition found behind said once for its two seeks.
    expect(storeReads).toBe(1);
    expect(logLines.filter((line) => line.msg?.startsWith('the state store lost writes of offsets already committed'))).toHaveLength(1);
    // Read again from 7, the partition is handled from there, once.
    await consumer.deliver(batch(0, 6, 7)).done;
    expect(units.map(({ chunks }) => shape(chunks))).toEqual([['0:5'], ['0:5'], ['0:1']]); // a unit holds CHUNK_SIZE (5) at most
    await vi.waitFor(() => expect(consumer.committed(TOPIC, 0)).toBe('13'));
  });

  it('keeps trying to commit while the store does not answer, saying so once rather than at every tick', async () => {
    const { consumer, gate, logLines, failures } = await runningLoop();
    gate.unreachable = true;
    await consumer.deliver(batch(0, 3)).done;
    const asked = gate.asked.length;
    await vi.waitFor(() => expect(gate.asked.length).toBeGreaterThan(asked + 10)); // ticks every 5 ms
    expect(logLines.filter((line) => line.msg === 'offset commit failed; retrying on the next tick')).toHaveLength(1);
    // Each failed tick is told, so that the caller can stop for one that waiting will not end.
    expect(failures.length).toBeGreaterThan(10);
    gate.unreachable = false;
    await vi.waitFor(() => expect(consumer.commits).toEqual([[{ topic: TOPIC, partition: 0, offset: '3' }]]));
  });

  it('fails the batches of a unit whose handler fails, resolving nothing (kafkajs retries them), and tells of the failure', async () => {
    const refused = new Error('NOPERM');
    const { consumer, failures } = await runningLoop(() => Promise.reject(refused));
    const delivered = consumer.deliver(batch(0, 3));
    await expect(delivered.done).rejects.toBe(refused);
    expect(delivered.resolved).toEqual([]);
    // Told before kafkajs retries it: a caller stops for a failure that retrying will not end.
    expect(failures).toEqual([refused]);
  });

  it('tells how long its units of work have failed with none done since (what readiness reads), and nothing once one is done', async () => {
    let refuse = true;
    const { loop, consumer } = await runningLoop(() => (refuse ? Promise.reject(new Error('TRYAGAIN Multiple keys request during rehashing of slot')) : Promise.resolve()));
    expect(loop.unitsFailingFor()).toBe(0);
    const start = Date.now();
    await expect(consumer.deliver(batch(0, 3)).done).rejects.toThrow('TRYAGAIN');
    await expect(consumer.deliver(batch(0, 3)).done).rejects.toThrow('TRYAGAIN');
    // Counted from the first of the failures in a row, not the last.
    expect(loop.unitsFailingFor(start + 60_000)).toBeGreaterThanOrEqual(60_000 - (Date.now() - start));
    refuse = false;
    await consumer.deliver(batch(0, 3)).done;
    expect(loop.unitsFailingFor(start + 60_000)).toBe(0);
  });

  it('forgets failing units whose partitions a rebalance took away (an instance left with idle partitions is not failing), not those it keeps', async () => {
    const { loop, consumer } = await runningLoop(() => Promise.reject(new Error('TRYAGAIN Multiple keys request during rehashing of slot')));
    await expect(consumer.deliver(batch(0, 3)).done).rejects.toThrow('TRYAGAIN');
    expect(loop.unitsFailingFor(Date.now() + 60_000)).toBeGreaterThan(0);
    // kafkajs restarts a consumer whose batches keep failing: the rebalance gives the failing partition back.
    consumer.assign({ [TOPIC]: [0, 1] });
    expect(loop.unitsFailingFor(Date.now() + 60_000)).toBeGreaterThan(0);
    consumer.assign({ [TOPIC]: [1] });
    expect(loop.unitsFailingFor(Date.now() + 60_000)).toBe(0);
  });

  it('stops at a batch made stale by a rebalance, resolving nothing more of it', async () => {
    const { consumer, units } = await runningLoop(() => {
      consumer.stale = true;
      return Promise.resolve();
    });
    const delivered = consumer.deliver(batch(0, 12));
    await delivered.done;
    expect(delivered.resolved).toEqual([]);
    expect(units).toHaveLength(1);
  });

  it('tells of records kafkajs moved past without fetching them (deleted before they were read), and of no other jump', async () => {
    const { consumer, gate, passedUnread } = await runningLoop();
    gate.durableThrough = 0;
    // A partition's first fetch since its assignment: nothing to compare it with.
    await consumer.deliver(batch(0, 3, 20)).done;
    // Fetches that follow on (a skipped transaction marker's among them), and one that re-reads after a unit broke off.
    await consumer.deliver({ ...batch(0, 2, 23), lastOffset: '25', highWatermark: '26' }).done;
    consumer.skip(TOPIC, 0, '26', '27');
    await consumer.deliver(batch(0, 2, 28)).done;
    await consumer.deliver(batch(0, 2, 28)).done;
    expect(passedUnread).toEqual([]);

    // Records 30–39 deleted while unread: kafkajs's fetch at 30 was out of range, and it reset to the earliest left.
    await consumer.deliver(batch(0, 2, 40)).done;
    // The same after records a consumer never hands out: a batch of skipped records that begins past the last fetch's end.
    consumer.skip(TOPIC, 0, '50', '51');
    expect(passedUnread).toEqual([
      { topic: TOPIC, partition: 0, from: '30', to: '40' },
      { topic: TOPIC, partition: 0, from: '42', to: '50' },
    ]);

    // Taken away and given back: its next fetch begins where another member left it.
    consumer.assign({ [TOPIC]: [1] });
    consumer.assign({ [TOPIC]: [0, 1] });
    await consumer.deliver(batch(0, 2, 70)).done;
    expect(passedUnread).toHaveLength(2);
  });

  it('drops the pending offsets of partitions a rebalance took away', async () => {
    const { consumer, gate } = await runningLoop();
    gate.durableThrough = 0;
    await Promise.all([consumer.deliver(batch(0, 3)).done, consumer.deliver(batch(1, 2)).done]);
    consumer.assign({ [TOPIC]: [1] });
    gate.durableThrough = Infinity;
    await vi.waitFor(() => expect(consumer.commits).toHaveLength(1));
    expect(consumer.commits[0]).toEqual([{ topic: TOPIC, partition: 1, offset: '2' }]);
  });

  it('stops after the batch in flight: commits what became durable, then stops the consumer and leaves the group', async () => {
    const release = deferred();
    const { loop, consumer, gate, units } = await runningLoop(() => release.promise);
    gate.durableThrough = 0;
    const inFlight = consumer.deliver(batch(0, 3));
    await vi.waitFor(() => expect(units).toHaveLength(1));
    const stopped = loop.stop();
    stopLoop = undefined;
    await consumer.deliver(batch(1, 2)).done; // fetched while stopping: left for the next owner
    gate.durableThrough = Infinity;
    release.resolve();
    await Promise.all([inFlight.done, stopped]);
    expect(units).toHaveLength(1);
    expect(consumer.journal).toEqual([`commit ${TOPIC}/0@3`, 'stop', 'disconnect']);
  });
});
