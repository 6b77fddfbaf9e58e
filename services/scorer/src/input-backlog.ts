import type { ScorerSettings } from '@churnscore/config';
import { keyPartition, partitionKey, partitionOfKey, type MessageChunk, type PartitionFetch } from '@churnscore/kafka';
import type { Logger } from '@churnscore/observability';
import type { CatchUpPolicy } from '@churnscore/scoring';
import type { PartitionBehind } from '@churnscore/state';

/** What the backlog asks the brokers. */
export interface BrokerOffsets {
  /** How many partitions each topic has. */
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>;
  /** The high watermark of each partition of `topic`, now. */
  highWatermarks(topic: string): Promise<Map<number, number>>;
  /**
   * Where the consumer group stands in each partition of `topics` (its committed offset, or the partition's start when
   * it has none) and the partition's high watermark, now, by partitionKey.
   */
  groupPositions(topics: readonly string[]): Promise<Map<string, { position: number; end: number }>>;
}

/**
 * Where the instances of a namespace tell each other which of their partitions they are catching up with
 * (`<p>:inputs:behind`, @churnscore/state partitions-behind.ts): any instance's time-driven loop claims any customer due.
 */
export interface SharedBacklog {
  record(partitions: readonly PartitionBehind[]): Promise<void>;
  read(): Promise<Array<{ topic: string; partition: number }>>;
}

export interface InputBacklogOptions {
  /** The input topics, all keyed by customerId: a customer's records are in one partition of each. */
  topics: readonly string[];
  /**
   * Records ahead of the consumer in a partition from which it is far behind: more than one unit of work
   * takes (SCORER_CHUNK_SIZE), so a customer's records there may be split between units and scored in parts.
   */
  farBehind: number;
  brokers: BrokerOffsets;
  shared: SharedBacklog;
  logger: Logger;
  /**
   * Where the group stands in each partition of a new assignment, as learnt from the brokers before any fetch (records
   * behind the high watermark): what the consumer's lag is until the partition's first fetch says.
   */
  onLagLearnt?(lags: ReadonlyArray<{ topic: string; partition: number; lag: number }>): void;
}

/**
 * What a customer waits for a partition to catch up for: its scoring (deferred: the events applied were never scored)
 * or its alerts (held: scored, its alert transitions held).
 */
export type WaitingFor = 'scoring' | 'alerts';

/** A customer a partition that caught up hands back. */
export interface Released {
  customerId: string;
  waitingFor: WaitingFor;
}

interface PartitionProgress {
  /** The next offset this instance handles. */
  position: number;
  /** While catching up: the high watermark when the partition was last seen far behind; null when caught up. */
  catchUpUntil: number | null;
}

/** What the pipeline asks of the backlog (see InputBacklog). */
export type BacklogView = Pick<InputBacklog, 'confirmCatchUp' | 'partitionsBehind' | 'awaitCatchUp' | 'handled' | 'catchingUp' | 'shareProgress'>;

/** What the time-driven re-scoring asks of the backlog (see InputBacklog.assignmentKnown and learnOthers). */
export type AssignmentView = Pick<InputBacklog, 'assignmentKnown' | 'learnOthers'>;

/** The backlog of a scoring pass that consumes nothing (the bench's templates, unit tests): never behind. */
export const NOTHING_BEHIND: BacklogView = {
  confirmCatchUp: () => Promise.resolve(),
  partitionsBehind: () => [],
  awaitCatchUp: () => undefined,
  handled: () => [],
  catchingUp: () => 0,
  shareProgress: () => Promise.resolve(),
};

/** A scorer's catch-up policy from its settings. */
export const catchUpPolicy = (settings: Pick<ScorerSettings, 'catchUpHistoryAgeMs' | 'catchUpSettleMs'>): CatchUpPolicy => ({
  historyAgeMs: settings.catchUpHistoryAgeMs,
  settleMs: settings.catchUpSettleMs,
});

/** Where a unit of work leaves each of its partitions: past its last record, handed out or not. */
function positionsAfter(chunks: readonly MessageChunk[]): Map<string, number> {
  return new Map(chunks.map((chunk) => [partitionKey(chunk.topic, chunk.partition), Number(chunk.nextOffset)]));
}

/** Customers whose input partitions are kept at hand (~200 bytes each): more than a unit of work evaluates. */
const PARTITIONS_OF_CUSTOMERS_REMEMBERED = 10_000;

/** positionsAfter of a unit of work, computed once for all the customers it evaluates. */
const positionsAfterUnit = new WeakMap<readonly MessageChunk[], Map<string, number>>();
function positionsAfterOnce(chunks: readonly MessageChunk[]): Map<string, number> {
  let positions = positionsAfterUnit.get(chunks);
  if (positions === undefined) {
    positions = positionsAfter(chunks);
    positionsAfterUnit.set(chunks, positions);
  }
  return positions;
}

/**
 * This scorer instance's view of the backlog in its input partitions, from its consumer's fetches: the
 * imperative half of docs/time-and-alerts.md "Loading history without alert storms" (the hold itself is
 * decided in @churnscore/scoring). A partition fetched far behind its high watermark is catching up until the consumer
 * has handled everything the broker held the last time it was seen far behind; a customer is behind while
 * any partition its records go to is. Customers whose alerts were held for a partition are handed back when
 * it catches up, to be evaluated again. It knows the partitions this instance consumes (the group gives each instance
 * the same partition numbers of every input topic, coPartitionedAssigner, so all of a customer's partitions are one
 * instance's); of the others, which their owners record as behind (SharedBacklog): the time-driven loop re-scores
 * customers of any instance.
 */
export class InputBacklog {
  private readonly progress = new Map<string, PartitionProgress>();
  private partitionCounts = new Map<string, number>();
  /** Customers whose scoring or alerts wait for a partition to catch up, by partition. */
  private readonly waiting = new Map<string, Map<string, WaitingFor>>();
  /** partitionsOf of recent customers: the partitioner hashes with 64-bit arithmetic emulated in objects. */
  private readonly recentPartitions = new Map<string, string[]>();
  /** Counts the assignments: the positions learnt for one that a rebalance replaced are not its successor's. */
  private assignments = 0;
  private positionsLearnt = false;
  /** The partitions this instance consumes, by partitionKey. */
  private owned = new Set<string>();
  /** Partitions of other instances their owners record as behind (learnOthers). */
  private behindElsewhere = new Set<string>();
  /** This instance's partitions whose catching up started or ended since it last told the others (shareProgress). */
  private readonly unshared = new Map<string, boolean>();
  /**
   * A fetch found a partition far behind that was not: a load began while this instance ran. Before the next unit, the
   * brokers are asked about every partition it consumes (confirmCatchUp), as at an assignment.
   */
  private loadBegan = false;

  constructor(private readonly options: InputBacklogOptions) {}

  /** Learns how many partitions each input topic has: at start, and after each rebalance (partitions may have been added). */
  async refreshPartitionCounts(): Promise<void> {
    this.partitionCounts = await this.options.brokers.partitionCounts(this.options.topics);
    this.recentPartitions.clear();
  }

  /**
   * Whether the backlog of this instance's assigned partitions is known (learnAssignment has asked the brokers where
   * the group stands): false from a rebalance until then, and before the first. The time-driven re-scoring waits for
   * it: a scorer restarted with a backlog in its partitions would otherwise re-score customers due in Redis, with
   * only part of their history applied, as settled before its first fetch showed the backlog (an outside tester's
   * crash test: 322 alert episodes opened, 301 of them resolved within 70 s, on 200 customers).
   */
  get assignmentKnown(): boolean {
    return this.positionsLearnt;
  }

  /**
   * After a rebalance assigned these partitions (see assigned): asks the brokers where the group stands in each, and
   * counts a partition far behind as catching up before any fetch, and with it every partition with records ahead.
   * Brokers that cannot say leave it to the fetches, as before, with a warning, rather than hold the time-driven
   * re-scoring for good.
   */
  async learnAssignment(assignment: Readonly<Record<string, readonly number[]>>): Promise<void> {
    const round = this.assignments;
    try {
      if (await this.survey(assignment, round)) {
        // Whatever its last owner recorded, each partition is now as this instance found it.
        for (const key of this.owned) this.unshared.set(key, this.progress.get(key)?.catchUpUntil != null);
        await this.shareProgress();
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, "could not learn where the consumer group stands in its input partitions: their backlog is seen at their first fetch");
    }
    if (round === this.assignments) this.positionsLearnt = true;
  }

  /**
   * Asks the brokers where the group stands in each partition of `assignment` and counts those far behind as catching
   * up, with every partition with records ahead when one is; false, having counted nothing, when a rebalance replaced
   * the assignment meanwhile (`round`).
   */
  private async survey(assignment: Readonly<Record<string, readonly number[]>>, round: number): Promise<boolean> {
    const positions = await this.options.brokers.groupPositions(Object.keys(assignment));
    if (round !== this.assignments) return false;
    const standing = Object.entries(assignment).flatMap(([topic, partitions]) =>
      partitions.flatMap((partition) => {
        const known = positions.get(partitionKey(topic, partition));
        if (known === undefined) return [];
        // The group's committed offset trails what this instance has handled since.
        const position = Math.max(known.position, this.progress.get(partitionKey(topic, partition))?.position ?? 0);
        return [{ topic, partition, position, end: known.end }];
      }),
    );
    this.options.onLagLearnt?.(standing.map(({ topic, partition, position, end }) => ({ topic, partition, lag: Math.max(0, end - position) })));
    const ahead = standing.filter(({ position, end }) => end > position);
    // A history being loaded (a partition far behind) lies in every input topic, a customer's records in one
    // partition of each: a partition with less than a unit ahead, fetched after the far one caught up (its leader
    // on a slower broker), would leave its customers scored as settled without those records. So every record
    // ahead counts then.
    const loading = ahead.some(({ position, end }) => end - position >= this.options.farBehind);
    for (const { topic, partition, position, end } of ahead) this.lookAhead(topic, partition, position, end, loading ? 1 : this.options.farBehind);
    return true;
  }

  /** A rebalance assigned these partitions: what is known of the others no longer holds. */
  assigned(assignment: Readonly<Record<string, readonly number[]>>): void {
    this.assignments += 1;
    this.positionsLearnt = false;
    const kept = new Set(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((partition) => partitionKey(topic, partition))));
    this.owned = kept;
    // Their new owners record them.
    for (const key of this.unshared.keys()) if (!kept.has(key)) this.unshared.delete(key);
    for (const key of [...this.progress.keys(), ...this.waiting.keys()]) {
      if (kept.has(key)) continue;
      this.progress.delete(key);
      // Their customers are evaluated again when their recheck comes due (see holdRecheckAt).
      this.waiting.delete(key);
    }
  }

  /**
   * The consumer fetched a batch: the records from its first offset up to the high watermark lie ahead. One that finds
   * its partition far behind where it was not has the brokers asked about the others before the next unit: the
   * customers of a partition not fetched yet, whose records lie far behind there too, would otherwise be scored for the
   * records of their partitions fetched first (a history loaded while the scorer runs), and again for the rest.
   */
  fetched({ topic, partition, firstOffset, highWatermark }: PartitionFetch): void {
    if (this.lookAhead(topic, partition, Number(firstOffset), Number(highWatermark), this.options.farBehind)) this.loadBegan = true;
  }

  /** The consumer re-reads from its committed offsets: where it stands is learnt again from its fetches. */
  rewound(): void {
    for (const [key, progress] of this.progress) if (progress.catchUpUntil !== null) this.unshared.set(key, false);
    this.progress.clear();
  }

  /** Tells the other instances which of this instance's partitions started or ended catching up since it last did. */
  async shareProgress(): Promise<void> {
    if (this.unshared.size === 0) return;
    const changes = [...this.unshared];
    this.unshared.clear();
    try {
      await this.options.shared.record(changes.map(([key, behind]) => ({ ...partitionOfKey(key), behind })));
    } catch (error) {
      for (const [key, behind] of changes) if (!this.unshared.has(key)) this.unshared.set(key, behind);
      throw error;
    }
  }

  /** Learns which partitions of other instances their owners are catching up with: before each claim of customers due. */
  async learnOthers(): Promise<void> {
    const recorded = await this.options.shared.read();
    this.behindElsewhere = new Set(recorded.map(({ topic, partition }) => partitionKey(topic, partition)).filter((key) => !this.owned.has(key)));
  }

  /** How many partitions are catching up: a gauge for operators, and asked for every customer evaluated (so a loop, no array). */
  catchingUp(): number {
    let count = 0;
    for (const progress of this.progress.values()) if (progress.catchUpUntil !== null) count += 1;
    return count;
  }

  /**
   * The partitions holding the customer's records that are still catching up once `handling` (the unit of
   * work being evaluated, whose records are applied) is counted as handled; none when the customer is caught up.
   */
  partitionsBehind(customerId: string, handling: readonly MessageChunk[] = []): string[] {
    if (this.catchingUp() === 0 && this.behindElsewhere.size === 0) return [];
    const after = positionsAfterOnce(handling);
    return this.partitionsOf(customerId).filter((key) => {
      const progress = this.progress.get(key);
      if (progress === undefined && !this.owned.has(key)) return this.behindElsewhere.has(key);
      return progress?.catchUpUntil != null && Math.max(progress.position, after.get(key) ?? 0) < progress.catchUpUntil;
    });
  }

  /** Records that the customer's scoring or alerts wait for these partitions to catch up (none: it waits for nothing). */
  awaitCatchUp(customerId: string, partitions: readonly string[], waitingFor: WaitingFor): void {
    for (const key of this.partitionsOf(customerId)) this.waiting.get(key)?.delete(customerId);
    for (const key of partitions) {
      const customers = this.waiting.get(key) ?? new Map<string, WaitingFor>();
      customers.set(customerId, waitingFor);
      this.waiting.set(key, customers);
    }
  }

  /**
   * Before a unit is evaluated: a partition the unit brings to the end of its backlog may have received more
   * since it was fetched (a load still being published). The brokers are asked, and a partition still far
   * behind keeps catching up to the new end, so the unit's customers are not taken for caught up with part of
   * their history. One question per partition reaching the end of a backlog.
   */
  async confirmCatchUp(handling: readonly MessageChunk[]): Promise<void> {
    if (this.loadBegan) await this.surveyLoad();
    const after = positionsAfter(handling);
    const reaching = handling.filter((chunk) => {
      const progress = this.progress.get(partitionKey(chunk.topic, chunk.partition));
      return progress?.catchUpUntil != null && after.get(partitionKey(chunk.topic, chunk.partition))! >= progress.catchUpUntil;
    });
    const topics = [...new Set(reaching.map((chunk) => chunk.topic))];
    const latest = new Map(await Promise.all(topics.map(async (topic) => [topic, await this.options.brokers.highWatermarks(topic)] as const)));
    for (const { topic, partition } of reaching) {
      const key = partitionKey(topic, partition);
      const end = latest.get(topic)?.get(partition) ?? 0;
      if (end - after.get(key)! >= this.options.farBehind) this.progress.get(key)!.catchUpUntil = end;
    }
  }

  /** After a fetch found a load beginning (see fetched): every partition this instance consumes, as at an assignment. */
  private async surveyLoad(): Promise<void> {
    this.loadBegan = false;
    if (this.owned.size === 0) return;
    const assignment: Record<string, number[]> = {};
    for (const key of this.owned) {
      const { topic, partition } = partitionOfKey(key);
      (assignment[topic] ??= []).push(partition);
    }
    try {
      await this.survey(assignment, this.assignments);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not learn where the consumer group stands in its input partitions: their backlog is seen at their first fetch');
    }
  }

  /**
   * A unit of work was handled: its partitions advance, and those that caught up hand back the customers
   * whose alerts waited for them.
   */
  handled(chunks: readonly MessageChunk[]): Released[] {
    const released = new Map<string, WaitingFor>();
    for (const [key, position] of positionsAfter(chunks)) {
      const progress = this.progress.get(key) ?? { position, catchUpUntil: null };
      progress.position = Math.max(progress.position, position);
      this.progress.set(key, progress);
      if (progress.catchUpUntil === null || progress.position < progress.catchUpUntil) continue;
      progress.catchUpUntil = null;
      this.unshared.set(key, false);
      const customers = this.waiting.get(key) ?? new Map<string, WaitingFor>();
      this.waiting.delete(key);
      this.options.logger.info({ ...partitionOfKey(key), released: customers.size }, 'input partition caught up: the customers that waited for it are due');
      for (const [customerId, waitingFor] of customers) released.set(customerId, waitingFor);
    }
    // One that still waits for another of this instance's partitions is handed back by that one: evaluated now, it
    // would be evaluated again then, with the rest of its records. (A partition of another instance hands back nothing
    // here; the customer's due time, set when it began to wait, comes anyway.)
    return [...released].flatMap(([customerId, waitingFor]) =>
      this.partitionsOf(customerId).some((key) => this.owned.has(key) && this.waiting.get(key)?.has(customerId)) ? [] : [{ customerId, waitingFor }],
    );
  }

  /**
   * The records from `first` up to `end` lie ahead in a partition: at least `behind` of them make it catch up to `end`.
   * Whether that started its catching up.
   */
  private lookAhead(topic: string, partition: number, first: number, end: number, behind: number): boolean {
    const key = partitionKey(topic, partition);
    const progress = this.progress.get(key) ?? { position: first, catchUpUntil: null };
    progress.position = Math.max(progress.position, first);
    const started = end - progress.position >= behind && progress.catchUpUntil === null;
    if (started) {
      this.options.logger.info({ topic, partition, behind: end - progress.position }, 'input partition behind: its customers are scored, and their alerts released, once it catches up');
      this.unshared.set(key, true);
    }
    if (end - progress.position >= behind) progress.catchUpUntil = Math.max(progress.catchUpUntil ?? 0, end);
    this.progress.set(key, progress);
    return started;
  }

  /** The partitions the customer's records go to, one per input topic whose partition count is known. */
  private partitionsOf(customerId: string): string[] {
    let partitions = this.recentPartitions.get(customerId);
    if (partitions === undefined) {
      partitions = this.options.topics.flatMap((topic) => {
        const count = this.partitionCounts.get(topic);
        return count === undefined ? [] : [partitionKey(topic, keyPartition(customerId, count))];
      });
      if (this.recentPartitions.size >= PARTITIONS_OF_CUSTOMERS_REMEMBERED) this.recentPartitions.clear();
      this.recentPartitions.set(customerId, partitions);
    }
    return partitions;
  }
}
