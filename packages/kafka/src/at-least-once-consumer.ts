import type { Admin, Consumer, ConsumerGroupJoinEvent, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { CONNECTION_ERROR_LOG_INTERVAL_MS, InFlightWork, rateLimitedLog, type Logger } from '@churnscore/observability';
import { groupPartitionOffsets, partitionKey } from './offsets';
import { onRecordsSkipped, type BatchEvents, type SkippedRecords } from './skipped-records';

/** What the loop uses of a kafkajs consumer: the seam a test drives with a fake (`@churnscore/kafka/testing`). */
export interface ConsumerSeam extends Pick<Consumer, 'subscribe' | 'run' | 'commitOffsets' | 'seek' | 'stop' | 'disconnect'>, BatchEvents {
  readonly events: Pick<Consumer['events'], 'GROUP_JOIN' | 'END_BATCH_PROCESS'>;
  on(eventName: Consumer['events']['GROUP_JOIN'], listener: (event: ConsumerGroupJoinEvent) => void): unknown;
  on(eventName: Consumer['events']['END_BATCH_PROCESS'], listener: Parameters<BatchEvents['on']>[1]): unknown;
}

/** What the loop uses of a kafkajs admin client: the committed and the earliest offsets, to rewind to. */
export type AdminSeam = Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>;

/** Consecutive messages of one partition, handled together (one Redis pipeline, one produce). */
export interface MessageChunk {
  topic: string;
  partition: number;
  /** None when the fetched batch held only records a consumer never hands out (see nextOffset). */
  messages: KafkaMessage[];
  /**
   * Where the partition resumes after the chunk: past its last message, and for a fetched batch's last chunk past
   * every record the batch held without handing it out (transaction markers, the records of aborted transactions;
   * a read-committed consumer skips them), so that a partition ending in such records is consumed, and committed,
   * to its end.
   */
  nextOffset: string;
}

/**
 * Decides when the effects of handled messages can no longer be lost, so that their offsets may be
 * committed. A store that acknowledges writes before they are on disk (Redis with an fsync every
 * second) must not have its offsets committed on acknowledgement alone. A store that may come back
 * without its last writes (a restart, a failover) is also fenced: the handler writes only to the
 * incarnation of the store the gate names, so nothing lands on top of a gap before the rewind.
 */
export interface DurabilityGate<Fence, Mark> {
  /** Reads the store's current incarnation: writes from now on are fenced to it. At start and after a rewind. */
  synchronise(): Promise<void>;
  /** The incarnation a chunk's writes are fenced to; the handler must refuse to write anywhere else. */
  fence(): Fence;
  /** Taken right after a chunk's effects were written under `fence`. */
  mark(fence: Fence): Mark;
  /** How many of `marks` (oldest first) are durable, or 'lost' if the store dropped writes since the first. */
  durableCount(marks: readonly Mark[]): Promise<number | 'lost'>;
}

/**
 * Thrown by a chunk handler that found the store is not the incarnation its writes were fenced to:
 * earlier writes may be lost, so consumption restarts from the committed offsets.
 */
export class RewindRequiredError extends Error {
  override readonly name = 'RewindRequiredError';
}

/** A fetched batch as the loop receives it, before any of it is handled. */
export interface PartitionFetch {
  topic: string;
  partition: number;
  /** Offset of the batch's first record: where the consumer is in the partition. */
  firstOffset: string;
  /** The partition's high watermark when fetched: every offset below it is ahead of the consumer or in hand. */
  highWatermark: string;
}

export interface BatchReport {
  topic: string;
  partition: number;
  messages: number;
  durationMs: number;
}

export interface LagReport {
  topic: string;
  partition: number;
  /** Messages behind the partition's high watermark as last fetched that the consumer has not handled yet. */
  lag: number;
}

export interface AtLeastOnceConsumerOptions<Fence, Mark> {
  consumer: ConsumerSeam;
  admin: AdminSeam;
  groupId: string;
  topics: string[];
  /**
   * Upper bound on messages per unit of work when it merges the chunks of several partitions: bounds the work
   * between heartbeats, and so each message's wait.
   */
  chunkSize: number;
  /**
   * A partition's fetched batch is one chunk up to this many messages: split at `chunkSize`, a batch a little larger
   * (a backlog's, whose size the fetch's byte limit sets) would have many keys' messages in two units, each key
   * handled twice. A unit holds one such chunk alone. At least `chunkSize`.
   */
  maxChunkSize: number;
  /**
   * Partitions whose fetched batches may be in hand at the same time. Their chunks are merged into one
   * unit of work, so a handler never sees two units at once, and the round trips of a unit are paid
   * once for all of those partitions instead of once per partition.
   */
  concurrentPartitions: number;
  /**
   * Handles one unit of work: chunks of distinct partitions, in the order given. Must have written (not
   * necessarily made durable) every effect when it resolves, all of them to the store incarnation `fence`
   * names; throws RewindRequiredError if the store is another one.
   */
  handleChunks(chunks: readonly MessageChunk[], fence: Fence): Promise<void>;
  gate: DurabilityGate<Fence, Mark>;
  /** How often durable offsets are committed. */
  commitIntervalMs: number;
  /**
   * Where the store, as it is now, says it handled each partition to (the next offset; `partitionKey` keys), read at a
   * rewind and once per assignment: a partition is re-consumed from there when that is below its committed offset. The gate commits offsets
   * only for writes it judged durable, but a store can lose more than it allows for (Redis's fsync held back by a slow
   * disk past its grace): re-consuming from the committed offsets alone would then leave out what was lost below them.
   */
  storeHandledTo?(): Promise<ReadonlyMap<string, bigint>>;
  /** Kept by Kafka beside every offset committed (its commit metadata): who committed it. None by default. */
  commitMetadata?: string;
  /**
   * The consumer's heartbeat interval: while a unit of work runs, its batches' heartbeats are sent at this pace
   * (kafkajs sends one at most per interval), not only between chunks.
   */
  heartbeatIntervalMs: number;
  logger: Logger;
  /**
   * Told of every fetched batch as it arrives, before its chunks join a unit of work: a handler can then know
   * of the records in hand and ahead in every partition, not only in the ones of its unit.
   */
  onFetch?(fetched: PartitionFetch): void;
  onBatch?(report: BatchReport): void;
  /**
   * Told of a partition's lag as each fetch arrives and after each of its chunks is handled, not only once its batch
   * is done: a batch of a backlog takes many units of work (minutes behind one flooded customer), and a lag told only
   * at its end read as the lag before the backlog arrived, then as a line that did not move while it drained.
   */
  onLag?(report: LagReport): void;
  /**
   * kafkajs moved a partition past records it never fetched: a batch began after where the batch before it ended (the
   * offset there was out of range: the records were deleted, by retention or a deletion of records, before they were
   * read, and kafkajs reset the partition to the earliest left, saying no more than that; or a compacted topic's gap).
   * `from` is where the batch before ended, `to` the batch's first offset. Seen only where this member fetched the
   * partition before (since its assignment or a rewind).
   */
  onPassedUnread?(passed: PassedUnread): void;
  /** The store lost writes: consumption restarts from the committed offsets. */
  onRewind?(): void;
  /**
   * Told of each failure of a unit of work or of a commit as it happens, before it is retried (the unit's batches by
   * kafkajs, the commit at the next tick): the caller tells a failure that waiting ends (an outage) from one it
   * does not (a refused permission) and stops for the latter.
   */
  onFailure?(error: unknown): void;
}

/** Records of a partition a consumer moved past without handing them out: offsets `from` (included) to `to` (excluded). */
export interface PassedUnread {
  topic: string;
  partition: number;
  from: string;
  to: string;
}

/** The most heartbeats a unit of work sends while it runs: a minute at the default 3 s interval. */
const UNIT_HEARTBEATS = 20;

/** A partition's next offset to consume, as Kafka commits it. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

interface PendingCommit<Mark> extends PartitionOffset {
  mark: Mark;
}

/** Records behind the high watermark from `position` on. */
const lagAt = (highWatermark: string, position: string): number => Math.max(0, Number(BigInt(highWatermark) - BigInt(position)));

/** What a chunk's unit of work came to: written under this fence, or discarded by a rewind. */
type UnitOutcome<Fence> = { fence: Fence } | 'rewound';

interface QueuedChunk<Fence> {
  chunk: MessageChunk;
  resolve(outcome: UnitOutcome<Fence>): void;
  reject(error: unknown): void;
}

/**
 * The at-least-once `eachBatch` loop of kafkajs (no auto-resolve, heartbeats between chunks, stops
 * on a stale batch), with the chunks of the partitions in hand merged into one unit of work, and
 * commits decoupled from processing: an offset is committed only once the
 * durability gate says the effects before it can no longer be lost, so waiting for durability never
 * slows the hot path. If the gate reports lost writes, or a handler finds the store fenced off, every
 * assigned partition is rewound to its committed offset and the idempotent handlers simply redo the work.
 */
export class AtLeastOnceConsumer<Fence, Mark> {
  private pending: PendingCommit<Mark>[] = [];
  private assigned = new Set<string>();
  /** Where each partition's next fetch should begin while assigned here: after the last batch fetched, or where it was sought to. */
  private readonly positions = new Map<string, bigint>();
  private commitTimer: NodeJS.Timeout | undefined;
  /** Commits and rewinds, one at a time: a rewind must not interleave with a commit of what it discards. */
  private serial: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly batchesInFlight = new Set<Promise<void>>();
  private readonly queued: QueuedChunk<Fence>[] = [];
  private working = false;
  /** The unit of work in hand, if any, and since when: what a stall watch looks at. */
  readonly unitsInFlight = new InFlightWork();
  /** When the first of the units of work that failed since the last one done began failing; null after one done. */
  private unitsFailingSince: number | null = null;
  /** The partitions of those failed units: a rebalance that takes all of them away ends the failing. */
  private readonly failingPartitions = new Set<string>();

  /** A commit fails at every tick while a dependency is away (a Redis master failing over): one line per 30 s says so. */
  private readonly commitFailedLog: (fields: Record<string, unknown>) => void;

  constructor(private readonly options: AtLeastOnceConsumerOptions<Fence, Mark>) {
    this.commitFailedLog = rateLimitedLog(options.logger, 'warn', 'offset commit failed; retrying on the next tick', CONNECTION_ERROR_LOG_INTERVAL_MS);
  }

  async start(): Promise<void> {
    const { consumer, topics, gate } = this.options;
    await gate.synchronise();
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => this.onAssignment(payload.memberAssignment));
    onRecordsSkipped(consumer, (skipped) => {
      if (!this.stopping) this.skipped(skipped);
    });
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.concurrentPartitions,
      eachBatch: (payload) => {
        // Once stopping, batches are left unresolved: they are re-read from the committed offset later.
        if (this.stopping) return Promise.resolve();
        const batch = this.eachBatch(payload);
        this.batchesInFlight.add(batch);
        return batch.finally(() => this.batchesInFlight.delete(batch));
      },
    });
    this.commitTimer = setInterval(() => void this.commitDurable(), this.options.commitIntervalMs);
  }

  /**
   * How long every unit of work has failed, none done since the first failure (0 while the last one was done): a
   * dependency that answers its checks but refuses the work (a Redis Cluster slot left half moved answers a multi-key
   * script with TRYAGAIN) stops every partition of the units it fails, while kafkajs retries them for ever.
   */
  unitsFailingFor(now: number = Date.now()): number {
    return this.unitsFailingSince === null ? 0 : now - this.unitsFailingSince;
  }

  /** Finishes the batch in flight, commits what became durable, and leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.commitTimer);
    await Promise.allSettled([...this.batchesInFlight]);
    // kafkajs accepts commits only while the consumer runs, so drain before stopping it.
    await this.drainPending();
    await this.options.consumer.stop();
    await this.options.consumer.disconnect();
  }

  private onAssignment(memberAssignment: Record<string, number[]>): void {
    this.assigned = new Set(
      Object.entries(memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => partitionKey(topic, p))),
    );
    // Partitions we lost are re-read by their new owner from its last commit; idempotent handlers make that safe.
    this.pending = this.pending.filter((p) => this.assigned.has(partitionKey(p.topic, p.partition)));
    // Failing units whose partitions all went elsewhere are not this instance's failing any more (an outside tester's
    // instance, left with idle partitions, read not ready for minutes after the failing ones had left it). One that
    // keeps any of them keeps counting: kafkajs restarts a consumer whose batches keep failing, a rebalance each time.
    for (const partition of this.failingPartitions) if (!this.assigned.has(partition)) this.failingPartitions.delete(partition);
    if (this.failingPartitions.size === 0) this.unitsFailingSince = null;
    for (const partition of this.positions.keys()) if (!this.assigned.has(partition)) this.positions.delete(partition);
    // Kafka starts each partition at its committed offset: where the store lost writes of offsets committed (Redis and
    // the service down together), the partition is read again from where the store holds it. Its first batch is not
    // handled but sought back there; an idle partition, which fetches none, is sought back at once if the brokers and
    // the store answer (best effort: the first batch's check does not wait on the brokers' admin answers).
    this.storeAtAssignment = null;
    this.firstBatchChecked.clear();
    this.reportedBehind.clear();
    if (this.options.storeHandledTo !== undefined) {
      this.storeHandledAtAssignment().then((handledTo) => this.startOffsets(handledTo)).then(
        (starts) => {
          for (const { topic, partition, from, committedAt } of starts) {
            if (from < committedAt) this.options.consumer.seek({ topic, partition, offset: String(from) });
          }
        },
        () => undefined,
      );
    }
  }

  /** Where the store held each partition handled to when this assignment began: read once (again after a failure). */
  private storeAtAssignment: Promise<ReadonlyMap<string, bigint>> | null = null;
  /** Partitions of the assignment whose first batch was compared with the store. */
  private readonly firstBatchChecked = new Set<string>();
  /** Partitions of the assignment found behind in the store, said once however many seeks send them back. */
  private readonly reportedBehind = new Set<string>();

  private reportStoreBehind(topic: string, partition: number, committed: bigint, storeHandledTo: bigint): void {
    const key = partitionKey(topic, partition);
    if (this.reportedBehind.has(key)) return;
    this.reportedBehind.add(key);
    this.options.logger.warn(
      { topic, partition, committed: String(committed), storeHandledTo: String(storeHandledTo) },
      'the state store lost writes of offsets already committed: re-consuming the partition from where it holds them',
    );
  }

  private storeHandledAtAssignment(): Promise<ReadonlyMap<string, bigint>> {
    this.storeAtAssignment ??= (this.options.storeHandledTo?.() ?? Promise.resolve(new Map<string, bigint>())).catch((error: unknown) => {
      this.storeAtAssignment = null;
      throw error;
    });
    return this.storeAtAssignment;
  }

  /**
   * Where each assigned partition is to be consumed from: its committed offset (the earliest retained one without),
   * or, when the store says it handled the partition only to below that (`handledTo`, from storeHandledTo), from there.
   */
  private async startOffsets(
    handledTo: ReadonlyMap<string, bigint>,
  ): Promise<Array<{ key: string; topic: string; partition: number; from: bigint; committedAt: bigint }>> {
    const { admin, groupId, topics } = this.options;
    const starts = [];
    for (const { topic, partition, committed, low } of await groupPartitionOffsets(admin, groupId, topics)) {
      const key = partitionKey(topic, partition);
      if (!this.assigned.has(key)) continue;
      const committedAt = BigInt(committed ?? low);
      const storeAt = handledTo.get(key);
      // Never below the earliest record retained: what retention deleted is not there to read again.
      const from = storeAt !== undefined && storeAt < committedAt ? (storeAt > BigInt(low) ? storeAt : BigInt(low)) : committedAt;
      if (storeAt !== undefined && from < committedAt) this.reportStoreBehind(topic, partition, committedAt, storeAt);
      starts.push({ key, topic, partition, from, committedAt });
    }
    return starts;
  }

  /**
   * A batch of the partition was fetched, from `firstOffset` up to `end`: one beginning past where the last batch ended
   * leaves the records between unread. (One beginning before it re-reads: kafkajs after a unit failed or was broken off.)
   */
  private fetched(topic: string, partition: number, firstOffset: string, end: string): void {
    const key = partitionKey(topic, partition);
    const expected = this.positions.get(key);
    if (expected !== undefined && BigInt(firstOffset) > expected) {
      this.options.onPassedUnread?.({ topic, partition, from: expected.toString(), to: firstOffset });
    }
    this.positions.set(key, BigInt(end));
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const started = performance.now();
    const { maxChunkSize } = this.options;
    const [first] = batch.messages;
    const key = partitionKey(batch.topic, batch.partition);
    if (this.options.storeHandledTo !== undefined && !this.firstBatchChecked.has(key)) {
      // The first batch of an assignment begins where Kafka started the partition, its committed offset.
      const storeAt = (await this.storeHandledAtAssignment()).get(key);
      this.firstBatchChecked.add(key);
      const fetchedFrom = BigInt(batch.firstOffset() ?? first?.offset ?? batch.lastOffset());
      if (storeAt !== undefined && storeAt < fetchedFrom) {
        this.reportStoreBehind(batch.topic, batch.partition, fetchedFrom, storeAt);
        // No position is set: where records below the batch were deleted (retention), the seek lands before the earliest
        // one left and Kafka starts the partition there again, and the gap was counted at start, not to be again.
        this.options.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(storeAt) });
        return;
      }
    }
    // The batch's last record may be one it does not hand out (a transaction's marker): the batch ends after it.
    const batchEnd = (BigInt(batch.lastOffset()) + 1n).toString();
    // Its first record, handed out or not (a transaction's marker, an aborted record): where the fetch began.
    this.fetched(batch.topic, batch.partition, batch.firstOffset() ?? first?.offset ?? batchEnd, batchEnd);
    if (first !== undefined) {
      this.options.onFetch?.({ topic: batch.topic, partition: batch.partition, firstOffset: first.offset, highWatermark: batch.highWatermark });
      this.options.onLag?.({ topic: batch.topic, partition: batch.partition, lag: lagAt(batch.highWatermark, first.offset) });
    }
    let handled = 0;
    for (let start = 0; start < batch.messages.length; start += maxChunkSize) {
      if (!isRunning() || isStale() || this.stopping) break;
      const messages = batch.messages.slice(start, start + maxChunkSize);
      const ending = start + maxChunkSize >= batch.messages.length;
      const chunk = { topic: batch.topic, partition: batch.partition, messages, nextOffset: ending ? batchEnd : (BigInt(messages.at(-1)!.offset) + 1n).toString() };
      if (!(await this.heartbeating(heartbeat, () => this.handleInTurn(chunk, resolveOffset, isStale)))) break;
      handled += messages.length;
      this.options.onLag?.({ topic: batch.topic, partition: batch.partition, lag: lagAt(batch.highWatermark, chunk.nextOffset) });
      await heartbeat();
    }
    this.options.onBatch?.({ topic: batch.topic, partition: batch.partition, messages: handled, durationMs: performance.now() - started });
  }

  /**
   * Runs `work` while sending the batch's heartbeats, UNIT_HEARTBEATS at most. A unit of many customers can take
   * longer than the session timeout; without them the group expelled the consumer meanwhile, its commit was refused,
   * and the same unit was handled again after the rejoin (a black-box test: 100,000 events of one customer and 50,000
   * customers in one batch, three expulsions). Bounded, so that a unit waiting on a store only this instance cannot
   * reach still lets its partitions go to another instance, a minute later rather than a session timeout. A heartbeat
   * refused meanwhile (a rebalance) is left to the one after the chunk, which kafkajs acts on.
   */
  private async heartbeating<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
    let sent = 0;
    const beating = setInterval(() => {
      sent += 1;
      if (sent >= UNIT_HEARTBEATS) clearInterval(beating);
      heartbeat().catch(() => undefined);
    }, this.options.heartbeatIntervalMs);
    try {
      return await work();
    } finally {
      clearInterval(beating);
    }
  }

  /**
   * Handles a chunk in its unit of work, then resolves and queues the commit of its nextOffset; false, resolving
   * nothing, when a rewind while it waited or ran discarded what came before (it is re-read too) or a rebalance
   * made it stale.
   */
  private async handleInTurn(chunk: MessageChunk, resolveOffset: (offset: string) => void, isStale: () => boolean): Promise<boolean> {
    const outcome = await this.handleTogether(chunk);
    if (outcome === 'rewound' || isStale()) return false;
    resolveOffset((BigInt(chunk.nextOffset) - 1n).toString());
    this.pending.push({ topic: chunk.topic, partition: chunk.partition, offset: chunk.nextOffset, mark: this.options.gate.mark(outcome.fence) });
    return true;
  }

  /**
   * A fetched batch held only records a consumer never hands out (transaction markers, an aborted transaction's
   * records), and kafkajs moved past them without a call of eachBatch. An empty chunk goes through a unit of work so
   * that the handler learns the partition's new position (a backlog ending in such records is caught up with) and
   * the offset past them is committed in turn.
   */
  private skipped({ topic, partition, firstOffset, nextOffset, highWatermark }: SkippedRecords): void {
    const revoked = () => !this.assigned.has(partitionKey(topic, partition));
    if (revoked()) return;
    this.fetched(topic, partition, firstOffset, nextOffset);
    try {
      // A fetch like any other: the handler may refuse the partition (its offsets went back) before it moves on.
      this.options.onFetch?.({ topic, partition, firstOffset, highWatermark });
    } catch (error) {
      this.options.logger.warn({ err: error, topic, partition }, 'records not handed out left where they are: the fetch was refused');
      return;
    }
    const started = performance.now();
    const chunk: MessageChunk = { topic, partition, messages: [], nextOffset };
    // kafkajs has resolved the offset already: resolving it again changes nothing.
    this.handleInTurn(chunk, () => undefined, revoked).then(
      (handled) => {
        if (!handled) return;
        this.options.onBatch?.({ topic, partition, messages: 0, durationMs: performance.now() - started });
        this.options.onLag?.({ topic, partition, lag: lagAt(highWatermark, chunk.nextOffset) });
      },
      // The unit failed: its other batches are retried, and these records are met again when they are re-read.
      (error: unknown) => this.options.logger.warn({ err: error, topic, partition }, 'a unit of work failed while moving past records not handed out'),
    );
  }

  /** Queues a chunk for the next unit of work, which takes in the chunks other partitions queue meanwhile. */
  private handleTogether(chunk: MessageChunk): Promise<UnitOutcome<Fence>> {
    return new Promise((resolve, reject) => {
      this.queued.push({ chunk, resolve, reject });
      if (!this.working) void this.work();
    });
  }

  private async work(): Promise<void> {
    this.working = true;
    // kafkajs hands out the batches of one fetch together: let the other partitions' chunks join.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queued.length > 0) {
      const unit = this.takeUnit();
      const fence = this.options.gate.fence();
      try {
        const outcome = await this.unitsInFlight.track(() => this.handleUnit(unit, fence));
        this.unitsFailingSince = null;
        this.failingPartitions.clear();
        for (const queued of unit) queued.resolve(outcome);
      } catch (error) {
        this.unitsFailingSince ??= Date.now();
        for (const { chunk } of unit) this.failingPartitions.add(partitionKey(chunk.topic, chunk.partition));
        this.options.onFailure?.(error);
        // kafkajs retries the batches of a failed unit from their last resolved offsets.
        for (const queued of unit) queued.reject(error);
      }
    }
    this.working = false;
  }

  /** Resolves with the fence the unit was written under, or 'rewound' if the store was found replaced. */
  private async handleUnit(unit: readonly QueuedChunk<Fence>[], fence: Fence): Promise<UnitOutcome<Fence>> {
    try {
      await this.options.handleChunks(
        unit.map((queued) => queued.chunk),
        fence,
      );
      return { fence };
    } catch (error) {
      if (!(error instanceof RewindRequiredError)) throw error;
      await this.rewindToCommitted(error.message);
      return 'rewound';
    }
  }

  /**
   * The queued chunks up to `chunkSize` messages in all (always at least one chunk), of distinct partitions: a
   * partition's next chunk, queued while its empty chunk of skipped records waits (see skipped), waits for the next unit.
   */
  private takeUnit(): QueuedChunk<Fence>[] {
    let count = 1;
    let messages = this.queued[0]!.chunk.messages.length;
    const partitions = new Set([partitionKey(this.queued[0]!.chunk.topic, this.queued[0]!.chunk.partition)]);
    while (count < this.queued.length) {
      const { chunk } = this.queued[count]!;
      const partition = partitionKey(chunk.topic, chunk.partition);
      if (messages + chunk.messages.length > this.options.chunkSize || partitions.has(partition)) break;
      partitions.add(partition);
      messages += chunk.messages.length;
      count += 1;
    }
    return this.queued.splice(0, count);
  }

  private inSerial(task: () => Promise<void>): Promise<void> {
    const run = this.serial.then(task);
    this.serial = run.catch(() => undefined);
    return run;
  }

  /** A slow commit never overlaps the next tick. */
  private commitDurable(): Promise<void> {
    return this.inSerial(() => this.commitDurableNow()).catch((error: unknown) => {
      this.options.onFailure?.(error);
      this.commitFailedLog({ err: error });
    });
  }

  private async commitDurableNow(): Promise<void> {
    const candidates = this.pending;
    const durable = await this.options.gate.durableCount(candidates.map((entry) => entry.mark));
    if (durable === 'lost') return this.rewindNow('the state store lost writes since they were made');
    if (durable === 0) return;
    const committing = new Set(candidates.slice(0, durable));
    const latestByPartition = new Map<string, PendingCommit<Mark>>();
    for (const entry of committing) latestByPartition.set(partitionKey(entry.topic, entry.partition), entry);
    const { commitMetadata } = this.options;
    const offsets = [...latestByPartition.values()].map(({ topic, partition, offset }) =>
      commitMetadata === undefined ? { topic, partition, offset } : { topic, partition, offset, metadata: commitMetadata },
    );
    await this.options.consumer.commitOffsets(offsets);
    // Once committed, so that a failed commit is tried again. Not a slice: a rebalance may have dropped entries meanwhile.
    this.pending = this.pending.filter((entry) => !committing.has(entry));
  }

  private rewindToCommitted(reason: string): Promise<void> {
    return this.inSerial(() => this.rewindNow(reason));
  }

  private async rewindNow(reason: string): Promise<void> {
    const { consumer, gate, logger } = this.options;
    logger.warn({ pending: this.pending.length, reason }, 're-consuming from the committed offsets');
    this.pending = [];
    this.options.onRewind?.();
    // Seeks first: once the gate lets writes through to the store as it now is, nothing may still be
    // fetched from beyond the committed offsets.
    // The store as it is now, not as the assignment found it: it lost writes since.
    this.reportedBehind.clear();
    const handledTo = (await this.options.storeHandledTo?.()) ?? new Map<string, bigint>();
    for (const { key, topic, partition, from } of await this.startOffsets(handledTo)) {
      consumer.seek({ topic, partition, offset: String(from) });
      this.positions.set(key, from);
    }
    await gate.synchronise();
  }

  private async drainPending(): Promise<void> {
    await this.serial;
    const deadline = Date.now() + 10_000;
    while (this.pending.length > 0 && Date.now() < deadline) {
      await this.commitDurable();
      if (this.pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (this.pending.length > 0) {
      this.options.logger.warn({ pending: this.pending.length }, 'stopping with uncommitted offsets; they will be re-consumed');
    }
  }
}
