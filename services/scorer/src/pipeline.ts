import type { TopicNames } from '@churnscore/config';
import { withVersion, type InputEvent, type OutputEvent, type ScoreCause } from '@churnscore/domain';
import { dlqRecord, EventEncodeError, TOPIC_ROLE_OF_KIND, type EventCodec, type Rejection } from '@churnscore/events';
import { RewindRequiredError, decodeFetched, type BatchSender, type MessageChunk, type RecordBatchLimit } from '@churnscore/kafka';
import { customerRef, rateLimitedLog, type Logger } from '@churnscore/observability';
import { evaluateCustomer, type CatchUpPolicy, type ScoringConfig } from '@churnscore/scoring';
import { dueAwaitsDelivery, refusedAsNotNewer, scoreValuesReadable, type ApplyItem, type ApplyOutcome, type ApplyResult, type CustomerSnapshot, type OutboxEntry, type ScoreCommit, type StateStore, type WriteFence } from '@churnscore/state';
import type { KafkaMessage, Message } from 'kafkajs';
import type { HistoryLoadView } from './history-load';
import type { BacklogView, Released } from './input-backlog';
import type { ScorerMetrics } from './metrics';

/** What a write fenced off by Redis's identity throws: the unit is re-consumed from the committed offsets. */
export const redisReplaced = (): RewindRequiredError =>
  new RewindRequiredError('Redis restarted or failed over since the last check: its last writes may be lost');

export interface PipelineDeps {
  store: StateStore;
  codec: EventCodec;
  producer: BatchSender;
  topics: TopicNames;
  scoring: ScoringConfig;
  clock: () => number;
  metrics: ScorerMetrics;
  logger: Logger;
  /** The most bytes one send may carry (of the output topics, the DLQ's included): bounds DLQ copies and sends. */
  batchLimit: Pick<RecordBatchLimit, 'bytes' | 'send'>;
  /** The backlog in this instance's input partitions: while a customer's is behind, its scoring is deferred and its alert transitions held. */
  backlog: BacklogView;
  catchUp: CatchUpPolicy;
  /**
   * Whether a load of history is arriving on this instance's inputs (HistoryLoad): the events applied are told to it,
   * and a customer held for its history arriving stays held while one is. None: never.
   */
  historyLoad?: HistoryLoadView;
  /**
   * A customer whose input partition is still far behind once a unit's records are counted is scored once the
   * partition catches up, or this long after its events were applied, whichever comes first (0: after every unit).
   */
  catchUpScoreDelayMs: number;
  /** Customers whose scoring or alerts waited for their backlog were made due, as it caught up: score them without waiting for the next poll. */
  onReleased?(): void;
  /**
   * Whether an instance of another scoring model re-scores for time, of the model in service or of one being rolled out
   * (anotherModelServes of @churnscore/state; a rolling restart, this instance one of the model before): the customers
   * of this instance's events are then left to it. None: never.
   */
  scoringLeftToModelInService?(): Promise<boolean>;
}

/** A customer to recompute and why. */
export interface RescoreTarget {
  customerId: string;
  cause: ScoreCause;
  /**
   * For a re-scoring for time: the end of the lease its claim put in the customer's due entry. The due time is moved
   * from it only while the entry still holds it (CommitOptions.leases).
   */
  leasedUntil?: number;
  /** For an evaluation caused by events: when the newest of the customer's events just applied occurred (none: all were redeliveries; see CatchUpInput). */
  newestEventAt?: number;
  /** The same for the newest of its activity events among them (none: no activity was applied). */
  newestActivityAt?: number;
}

/** A commit, and the input partitions the customer's held alerts wait for (none when they are not held). */
interface Recomputed {
  commit: ScoreCommit;
  awaiting: string[];
}

/** How many customers one Redis pipeline makes due at once when a backlog catches up. */
const RELEASE_BATCH = 1_000;

/** Customers held during a load of history that are remembered (~100 bytes each), to be made due when it stops; the rest wait for their recheck. */
const HELD_DURING_LOAD_REMEMBERED = 100_000;

/**
 * The most customers one step of a unit applies, scores, commits and publishes before the next step is built. Each
 * stage of a step runs on the thread without a break, and evaluating a customer and building its commit (~0.1 ms) is
 * most of it, so a unit of 20,000 records of as many customers held the thread for seconds at a time, /healthz and
 * /readyz unanswered; in steps, a few tenths at most. Steps are not bounded by events too: a step's end waits for Redis
 * to finish its apply calls, which the thread would otherwise overlap with building more, and steps of 5,000 or
 * 10,000 events cost a backlog of 20,000-record units ~7% of its rate, for the ~0.3 s that building the apply calls of
 * a whole unit (at most SCORER_MAX_CHUNK_SIZE events) takes. A customer's events are never split.
 */
export const STEP_MAX_CUSTOMERS = 2_000;

/** The unit's items in steps of at most STEP_MAX_CUSTOMERS customers, each customer's together and in order; within the bound, one step as they came. */
function stepsOf<T extends { event: { customerId: string } }>(items: readonly T[]): T[][] {
  if (items.length <= STEP_MAX_CUSTOMERS) return [[...items]];
  const byCustomer = new Map<string, T[]>();
  for (const item of items) {
    const ofCustomer = byCustomer.get(item.event.customerId);
    if (ofCustomer === undefined) byCustomer.set(item.event.customerId, [item]);
    else ofCustomer.push(item);
  }
  if (byCustomer.size <= STEP_MAX_CUSTOMERS) return [[...items]];
  const customers = [...byCustomer.values()];
  const steps: T[][] = [];
  for (let start = 0; start < customers.length; start += STEP_MAX_CUSTOMERS) steps.push(customers.slice(start, start + STEP_MAX_CUSTOMERS).flat());
  return steps;
}

/** A customer contended by this many computations in a row points at a bug, not at bad luck. */
const MAX_COMMIT_ATTEMPTS = 5;

/**
 * A rejection reason is logged at most once in this long, with the number of its records not logged since: a producer
 * sending a flood of bad records must not flood the log. The DLQ topic holds every record, with its reason and source
 * offset, and churnscore_dlq_total counts them.
 */
const REJECTION_LOG_INTERVAL_MS = 10_000;

type Decoded = { message: KafkaMessage; event: InputEvent } | { message: KafkaMessage; rejection: Rejection };
/** An event to apply, with the record it came in (to dead-letter it if the store refuses it). */
type InputItem = ApplyItem & { message: KafkaMessage };
/** A record for the DLQ, and where it was read. */
interface DeadLetter {
  message: KafkaMessage;
  rejection: Rejection;
  topic: string;
  partition: number;
}

/** The field naming the entity an event would add: what a refusal by the store's bound points at. */
const ENTITY_ID_FIELD: { readonly [K in InputEvent['kind']]: string | undefined } = {
  activity: 'ticketId',
  opportunity: 'opportunityId',
  contract: 'contractId',
  customer: undefined,
};

function entityLimitRejection(event: InputEvent, maxEntities: number): Rejection {
  const message = `the customer holds ${maxEntities} tickets, opportunities and contracts, the most MAX_ENTITIES_PER_CUSTOMER allows, and this event would add another`;
  const field = ENTITY_ID_FIELD[event.kind];
  return field === undefined ? { reason: 'ENTITY_LIMIT', message } : { reason: 'ENTITY_LIMIT', message, field };
}

/**
 * The snapshots read right behind the apply calls that show exactly the state those calls left (the revision of the
 * customer's last applied item). Any other write in between, a call re-sent after the read (ioredis re-sends a
 * script Redis had flushed), or a customer whose events took several calls (each waits for the one before, so the
 * read ran after the first) makes the snapshot a stale one, and the customer is read again.
 */
function snapshotsOfApplied(items: readonly ApplyItem[], results: readonly ApplyResult[], snapshots: readonly CustomerSnapshot[]): Map<string, CustomerSnapshot> {
  const revisionAfter = new Map<string, number>();
  items.forEach(({ event }, i) => revisionAfter.set(event.customerId, results[i]!.revision));
  return new Map(snapshots.filter((snapshot) => snapshot.state.revision === revisionAfter.get(snapshot.customerId)).map((snapshot) => [snapshot.customerId, snapshot]));
}

/** Counted once per cause and round, not per customer: each labelled increment hashes its labels. */
function countByCause(metrics: ScorerMetrics, causes: ReadonlyArray<ScoreCause['kind']>): void {
  const byCause = new Map<ScoreCause['kind'], number>();
  for (const cause of causes) byCause.set(cause, (byCause.get(cause) ?? 0) + 1);
  for (const [cause, count] of byCause) metrics.customersScored.inc({ cause }, count);
}

/**
 * One event's path through the scorer (docs/architecture.md): decode and validate, dead-letter the
 * bad, apply the good to Redis idempotently, recompute every touched customer once, commit the score
 * with its outputs in the customer's outbox, publish the outbox, acknowledge it. Every step is safe to
 * repeat, which is what makes redelivery after a crash harmless.
 */
export class ScoringPipeline {
  /** The rate-limited log line of each rejection reason met. */
  private readonly rejectionLogs = new Map<string, (fields: Record<string, unknown>) => void>();
  /** Whether the last step left its customers to the model in service (reportLeavingScoring). */
  private leavingScoring = false;
  /** Customers evaluated as held while a load of history arrived (up to HELD_DURING_LOAD_REMEMBERED): see loadStopped. */
  private readonly heldDuringLoad = new Set<string>();

  constructor(private readonly deps: PipelineDeps) {}

  /**
   * One unit of work: chunks of distinct partitions, handled as if one after another, but with one Redis
   * pipeline per step, each touched customer scored once and one produce. `fence`: the Redis incarnation
   * the events may be applied to (see RedisDurabilityGate).
   */
  async handleChunks(chunks: readonly MessageChunk[], fence: WriteFence): Promise<void> {
    const { clock, metrics, backlog } = this.deps;
    const now = clock();
    await backlog.confirmCatchUp(chunks);
    // The other instances' time-driven loops learn of a partition this one started catching up with before it scores.
    await backlog.shareProgress();
    const decoded = await Promise.all(chunks.map((chunk) => this.decodeChunk(chunk, now)));

    // An erasure splits the unit: what came before it is applied (and erased), what follows starts afresh.
    let run: InputItem[] = [];
    for (const [i, chunk] of chunks.entries()) {
      // Units run one after another, each dead-lettering its refusals before it ends: what precedes the chunk is settled.
      const settledBelow = chunk.messages[0]?.offset;
      for (const entry of decoded[i]!) {
        if (!('event' in entry)) continue;
        if (entry.event.kind === 'customer' && entry.event.erase) {
          await this.applyAndRescore(run, fence, now, chunks);
          run = [];
          await this.erase(entry.event.customerId, entry.event.occurredAt, fence);
          metrics.events.inc({ topic: chunk.topic, outcome: 'erased' });
        } else {
          run.push({
            event: entry.event,
            topic: chunk.topic,
            partition: chunk.partition,
            offset: entry.message.offset,
            // A replay sees the record's original timestamp and so takes the dedupe and retention decisions the
            // live run took; a clock set back (tests, backfills) is never overtaken by the broker's time.
            receivedAt: Math.min(Number(entry.message.timestamp), now),
            settledBelow,
            message: entry.message,
          });
        }
      }
    }
    await this.applyAndRescore(run, fence, now, chunks);
    const released = backlog.handled(chunks);
    // Before the released customers are due: an instance that claims one must not find its partition still recorded behind.
    await backlog.shareProgress();
    await this.release(released, now);
    metrics.partitionsCatchingUp.set(backlog.catchingUp());
  }

  /**
   * Customers whose scoring or alerts waited for a backlog that caught up are made due, so the time-driven loop
   * evaluates them. One whose scoring was deferred at `now`: its events applied make a newer revision than its stored
   * score's. One whose alerts were held just after `now`: a recomputation of the same revision as of the instant of its
   * held commit would be refused as not newer (docs/architecture.md "Write only if newer").
   */
  private async release(released: readonly Released[], now: number): Promise<void> {
    if (released.length === 0) return;
    for (let start = 0; start < released.length; start += RELEASE_BATCH) {
      await Promise.all(
        released
          .slice(start, start + RELEASE_BATCH)
          .map(({ customerId, waitingFor }) => this.deps.store.scheduleDue(customerId, waitingFor === 'scoring' ? now : now + 1)),
      );
    }
    this.deps.onReleased?.();
  }

  /**
   * The load of history this instance saw stopped (HistoryLoad): the customers it held meanwhile are due just after `now`,
   * to be released, or held on while their own history settles. Their recheck, as long again as each had been held,
   * came up to 271 s after an outside tester's three-and-a-half-minute load stopped (adv52 F3).
   */
  async loadStopped(now: number): Promise<void> {
    if (this.heldDuringLoad.size === 0) return;
    const held = [...this.heldDuringLoad];
    this.heldDuringLoad.clear();
    // By then at the latest (one due sooner stays so): just after `now`, as release makes customers whose alerts were held.
    for (let start = 0; start < held.length; start += RELEASE_BATCH) await this.deps.store.scheduleDueBy(held.slice(start, start + RELEASE_BATCH), now + 1);
    this.deps.onReleased?.();
  }

  /** Decodes and validates a chunk's records; the rejected ones go to the DLQ. */
  private async decodeChunk(chunk: MessageChunk, now: number): Promise<Decoded[]> {
    const results = await decodeFetched(this.deps.codec, chunk.topic, chunk.messages, now);
    const decoded: Decoded[] = chunk.messages.map((message, i) => {
      const result = results[i]!;
      return result.ok ? { message, event: result.event } : { message, rejection: result.rejection };
    });
    const rejected = decoded.flatMap((d) => ('rejection' in d ? [{ ...d, topic: chunk.topic, partition: chunk.partition }] : []));
    await this.deadLetter(rejected, now);
    if (rejected.length > 0) this.deps.metrics.events.inc({ topic: chunk.topic, outcome: 'rejected' }, rejected.length);
    return decoded;
  }

  /**
   * Recomputes customers whose due time came (cause `time`), or any given customers. Another computation
   * of the same customer may commit in between (the time-driven loop of any instance, or the instance a rebalance
   * gave its partitions to): the commit is then refused as a conflict, and the customer recomputed from a fresh
   * read, so no alert transition or score is ever derived from a stale alert book. `fence`: the Redis
   * incarnation the commits are for; off it they are refused and RewindRequiredError is thrown. `handling`:
   * the unit of work whose events were just applied, counted as consumed when judging the backlog.
   */
  async rescore(
    targets: readonly RescoreTarget[],
    now: number,
    fence: WriteFence,
    handling: readonly MessageChunk[] = [],
    readAlready: ReadonlyMap<string, CustomerSnapshot> = new Map(),
  ): Promise<void> {
    let pending = targets;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > MAX_COMMIT_ATTEMPTS) throw new Error(`${pending.length} customers still contended after ${MAX_COMMIT_ATTEMPTS} attempts`);
      // A retry reads afresh: the customer's commit lost a race with another computation.
      pending = await this.rescoreOnce(pending, now, fence, handling, attempt === 1 ? readAlready : new Map());
    }
  }

  /** One read-compute-commit-publish round; returns the targets whose commit lost a race. */
  private async rescoreOnce(
    targets: readonly RescoreTarget[],
    now: number,
    fence: WriteFence,
    handling: readonly MessageChunk[],
    readAlready: ReadonlyMap<string, CustomerSnapshot>,
  ): Promise<RescoreTarget[]> {
    if (targets.length === 0) return [];
    const { store, scoring } = this.deps;
    const unread = targets.filter((t) => !readAlready.has(t.customerId)).map((t) => t.customerId);
    const read = new Map(unread.length === 0 ? [] : (await store.readCustomers(unread, now)).map((snapshot) => [snapshot.customerId, snapshot]));
    const snapshots = targets.map((t) => readAlready.get(t.customerId) ?? read.get(t.customerId)!);
    const known = snapshots.flatMap((snapshot, i) => (snapshot.state.revision > 0 ? [{ snapshot, target: targets[i]! }] : []));
    // A customer with no state (erased, or never seen) has nothing to score: drop any due entry left behind.
    await Promise.all(
      snapshots.filter((s) => s.state.revision === 0).map((s) => store.scheduleDue(s.customerId, null)),
    );
    const recomputed = known.map(({ snapshot, target }) => this.recompute(snapshot, target, scoring, now, fence, handling));
    countByCause(this.deps.metrics, known.map(({ target }) => target.cause.kind));
    // No input offset brings back a customer re-scored for time: its claim's lease does, should its outputs not be
    // published (a crash, a registry outage), so its due time moves only once they are.
    const leases = new Map(known.flatMap(({ snapshot, target }) => (target.leasedUntil === undefined ? [] : [[snapshot.customerId, target.leasedUntil] as const])));
    const results = await store.commitScores(
      recomputed.map(({ commit }) => commit),
      { fence, leases },
    );
    const conflicted: RescoreTarget[] = [];
    const toPublish = results.flatMap((result, i) => {
      const { snapshot, target } = known[i]!;
      if (result.conflict) conflicted.push(target);
      else if (!result.written) this.deps.metrics.staleWrites.inc();
      // A unit that applied events after the read (the time-driven loop races the consumer) may have deferred their
      // scoring until a partition catches up: that wait is not this older computation's to replace.
      else if (!result.eventsAppliedSince) this.deps.backlog.awaitCatchUp(snapshot.customerId, recomputed[i]!.awaiting, 'alerts');
      // A refused write means a newer score exists; its writer publishes the outbox.
      return result.written ? [{ customerId: snapshot.customerId, entries: result.outbox }] : [];
    });
    await this.publishOutboxes(toPublish, fence);
    await store.followDeliveries(
      results.flatMap((result, i) => (dueAwaitsDelivery(result, known[i]!.snapshot.customerId, leases) ? [recomputed[i]!.commit] : [])),
    );
    await this.followNewerScores(
      fence,
      new Map(results.flatMap((result, i) => (refusedAsNotNewer(result) && leases.has(known[i]!.snapshot.customerId) ? [[known[i]!.snapshot.customerId, leases.get(known[i]!.snapshot.customerId)!] as const] : []))),
      now,
    );
    if (results.some((result) => result.fenced)) {
      throw redisReplaced();
    }
    return conflicted;
  }

  /**
   * Customers re-scored for time whose commit found a score as new or newer stored (the consumer scored them at the same
   * instant): their claim's lease would bring them back for nothing, or never under a clock that stands still (the
   * evaluation's). Each is moved from its lease to when the stored score says, read after this round's publication.
   * Outputs of that score still unpublished are published first, again should their writer be publishing them too
   * (subscribers de-duplicate by version and alertId): a writer that died, or an earlier round of this loop whose
   * publication failed, would otherwise leave them to the lease, which a standing clock never ends (the consumer's unit
   * commits before it publishes, so its outputs are often still there: `npm run evaluate` waited for good when the lease
   * was kept for them, 2026-12-06).
   */
  private async followNewerScores(fence: WriteFence, leases: ReadonlyMap<string, number>, now: number): Promise<void> {
    if (leases.size === 0) return;
    const stored = await this.deps.store.readCustomers([...leases.keys()], now);
    await this.publishOutboxes(
      stored.map(({ customerId, outbox }) => ({ customerId, entries: outbox })),
      fence,
    );
    await this.deps.store.followStoredScores(leases, now);
  }

  private recompute(
    snapshot: CustomerSnapshot,
    { cause, newestEventAt, newestActivityAt }: RescoreTarget,
    scoring: ScoringConfig,
    now: number,
    fence: WriteFence,
    handling: readonly MessageChunk[],
  ): Recomputed {
    // Redis may have come back without writes whose outputs were published: the first commit of a customer
    // in a new generation publishes everything again, under versions above any published before.
    const stored = snapshot.score;
    const newGeneration = fence.generation !== (stored?.generation ?? '');
    const published = stored !== null && !scoreValuesReadable(stored) ? this.unreadableScore(snapshot.customerId, fence) : stored;
    const behind = this.deps.backlog.partitionsBehind(snapshot.customerId, handling);
    const historyLoading = this.deps.historyLoad?.loading(now) ?? false;
    const { asOf, score, insights, alertBook, outbox, nextDueAt, hasOpenAlerts, lastResolvedAt, catchingUp } = evaluateCustomer(
      {
        state: snapshot.state,
        published,
        publishedCatchingUp: published?.catchingUp ?? false,
        alertBook: snapshot.alertBook,
        cause,
        newGeneration,
        inputsBehind: behind.length > 0,
        newestEventAt,
        newestActivityAt,
        // A customer whose scoring was deferred is first evaluated by time, once its partition caught up.
        unjudgedEvents: snapshot.state.revision > (stored?.revision ?? 0),
        historyLoading,
        lastEvaluatedAt: stored?.asOf,
      },
      scoring,
      now,
      { retentionDays: this.deps.store.retentionDays, catchUp: this.deps.catchUp },
    );
    if (catchingUp && historyLoading && this.heldDuringLoad.size < HELD_DURING_LOAD_REMEMBERED) this.heldDuringLoad.add(snapshot.customerId);
    return {
      commit: { score, insights, alertBook, outbox, nextDueAt, hasOpenAlerts, lastResolvedAt, revision: snapshot.state.revision, incarnation: snapshot.incarnation, asOf, basedOn: stored },
      awaiting: catchingUp ? behind : [],
    };
  }

  /**
   * A stored score whose values no score can hold (a health of NaN, a band outside its list: a hand edit, a corrupt
   * restore) is not compared with: the new score is published as a first one is, with no previous values and no
   * drivers, under the next version, and replaces it. Compared with, its values went into a score-changed event that
   * no schema takes, whose publication failed at every start (an outside tester's crash loop, every customer's
   * scoring stopped). None: treat it as the customer's first score.
   */
  private unreadableScore(customerId: string, fence: WriteFence): null {
    this.deps.metrics.unreadableScores.inc();
    this.deps.logger.warn({ customer: customerRef(customerId, fence.epoch) }, 'a stored score holds values no score can: published afresh, with no previous values');
    return null;
  }

  /** Applies and scores a run of the unit's events step by step (stepsOf), so that the thread answers probes in between. */
  private async applyAndRescore(items: readonly InputItem[], fence: WriteFence, now: number, handling: readonly MessageChunk[]): Promise<void> {
    if (items.length === 0) return;
    for (const step of stepsOf(items)) await this.applyAndRescoreStep(step, fence, now, handling);
  }

  private async applyAndRescoreStep(items: readonly InputItem[], fence: WriteFence, now: number, handling: readonly MessageChunk[]): Promise<void> {
    const { store, metrics } = this.deps;
    const customerIds = [...new Set(items.map(({ event }) => event.customerId))];
    const deferred = this.deferredWhileBehind(customerIds, handling);
    const applying = store.applyEvents(items, now, { fence: fence.runId });
    // Read in the same round trip as the apply: sent right behind the apply calls, the reads run right after them.
    const scoredNow = customerIds.filter((customerId) => !deferred.has(customerId));
    const reading = scoredNow.length === 0 ? Promise.resolve([]) : store.readCustomers(scoredNow, now);
    const [results, readAfter, leftToModelInService] = await Promise.all([applying, reading, this.leavesScoringToModelInService()]);
    if (results.some((result) => result.outcome === 'fenced')) {
      throw redisReplaced();
    }
    const readAlready = snapshotsOfApplied(items, results, readAfter);
    // Counted per unit, not per event: each labelled increment hashes its labels.
    const outcomes = new Map<string, Map<ApplyOutcome, number>>();
    const targets = new Map<string, RescoreTarget>();
    const appliedOccurredAt: number[] = [];
    results.forEach(({ outcome }, i) => {
      const { topic, event } = items[i]!;
      const ofTopic = outcomes.get(topic) ?? new Map<ApplyOutcome, number>();
      outcomes.set(topic, ofTopic.set(outcome, (ofTopic.get(outcome) ?? 0) + 1));
      // Deferred customers' events too: what a load brings, scored or not.
      if (outcome === 'applied') appliedOccurredAt.push(event.occurredAt);
      // A refusal changed nothing a score reads (a customer at the bound is the costliest to read).
      if (deferred.has(event.customerId) || outcome === 'refused') return;
      // Redelivered-only customers are still recomputed: their outbox may hold outputs a crash left unpublished.
      // The cause is the last event applied; only what was applied says whether history is arriving (a
      // redelivery brings nothing new).
      const cause: ScoreCause = { kind: 'event', eventId: event.eventId };
      const target = targets.get(event.customerId) ?? { customerId: event.customerId, cause };
      targets.set(event.customerId, target);
      if (outcome === 'applied') {
        target.cause = cause;
        target.newestEventAt = Math.max(target.newestEventAt ?? -Infinity, event.occurredAt);
        if (event.kind === 'activity') target.newestActivityAt = Math.max(target.newestActivityAt ?? -Infinity, event.occurredAt);
      }
    });
    for (const [topic, counts] of outcomes) for (const [outcome, count] of counts) metrics.events.inc({ topic, outcome }, count);
    this.deps.historyLoad?.applied(appliedOccurredAt, now);
    await this.deps.historyLoad?.share(now);
    // Before the unit ends, like any rejection: a crash before the send leaves the records to be consumed again, and the
    // store, which keeps the refused offsets until a later unit says they are settled, refuses them again.
    const refused = items.flatMap((item, i) =>
      results[i]!.outcome === 'refused'
        ? [{ message: item.message, rejection: entityLimitRejection(item.event, store.maxEntities), topic: item.topic, partition: item.partition }]
        : [],
    );
    await this.deadLetter(refused, now);
    await this.defer(deferred, now);
    this.reportLeavingScoring(leftToModelInService);
    if (leftToModelInService) {
      await store.scheduleDueBy([...targets.keys()], now);
      return;
    }
    await this.rescore([...targets.values()], now, fence, handling, readAlready);
    // A roll-out begun while the step was scored made its customers due before this step's commits moved them on (a
    // rebalance's redeliveries, scored as the new instance joined): they are handed over after all. Its instance says
    // it serves before it makes anyone due, so a roll-out not seen here makes them due after these commits.
    if (await this.leavesScoringToModelInService()) await store.scheduleDueBy([...targets.keys()], now);
  }

  private leavesScoringToModelInService(): Promise<boolean> {
    return this.deps.scoringLeftToModelInService?.() ?? Promise.resolve(false);
  }

  /**
   * While a rolling restart puts another model into service, this instance, one of the model before, applies the
   * events it consumes and leaves their customers, due now, to the time-driven re-scoring of the new model's instances,
   * rather than score them itself: two models taking turns on a customer published a score of each in turn and opened an
   * alert under one that the other resolved seconds later (174 of 452 customers in an outside tester's two-minute
   * roll-out), and the old model's due times replaced the roll-out's, leaving a fifth of the base on the old model once
   * every instance ran the new one. Said once when it starts and once when it ends.
   */
  private reportLeavingScoring(leaving: boolean): void {
    if (leaving === this.leavingScoring) return;
    this.leavingScoring = leaving;
    this.deps.logger.warn(
      leaving
        ? 'another scoring model is in service: this instance applies the events it consumes and leaves their scoring to the time-driven re-scoring of that model\'s instances'
        : 'this instance scores the events it consumes again',
    );
  }

  /**
   * The customers of a unit whose records lie in a partition still far behind once the unit is counted as handled,
   * with those partitions: more of their records follow, and scoring them now would score part of their history
   * (published with `catchingUp`, alerts held) only to score it again with the next unit that holds their records.
   * Kafka Streams' record cache spares a backlog the same work, forwarding each key's latest result once per commit
   * interval. None when scores are not deferred (catchUpScoreDelayMs 0) or nothing is far behind.
   */
  private deferredWhileBehind(customerIds: readonly string[], handling: readonly MessageChunk[]): Map<string, string[]> {
    const deferred = new Map<string, string[]>();
    if (this.deps.catchUpScoreDelayMs === 0 || this.deps.backlog.catchingUp() === 0) return deferred;
    for (const customerId of customerIds) {
      const behind = this.deps.backlog.partitionsBehind(customerId, handling);
      if (behind.length > 0) deferred.set(customerId, behind);
    }
    return deferred;
  }

  /**
   * Deferred customers are scored when their partitions catch up (release) or when the due time set here comes,
   * whichever is first. The due time is in Redis before the unit's offsets are committed: a crash or a rebalance,
   * which forgets what waits for a partition, leaves it to the time-driven loop of whichever instance claims it.
   */
  private async defer(deferred: ReadonlyMap<string, string[]>, now: number): Promise<void> {
    if (deferred.size === 0) return;
    await this.deps.store.scheduleDueBy([...deferred.keys()], now + this.deps.catchUpScoreDelayMs);
    for (const [customerId, behind] of deferred) this.deps.backlog.awaitCatchUp(customerId, behind, 'scoring');
    this.deps.metrics.scoresDeferred.inc(deferred.size);
  }

  private async deadLetter(rejected: readonly DeadLetter[], now: number): Promise<void> {
    const { producer, topics, metrics, logger } = this.deps;
    if (rejected.length === 0) return;
    const messages: Message[] = rejected.map(({ message, rejection, topic, partition }) =>
      dlqRecord(message, rejection, { topic, partition, offset: message.offset }, now, this.deps.batchLimit.bytes),
    );
    await this.deps.batchLimit.send(producer, [{ topic: topics.dlq, messages }]);
    for (const { message, rejection, topic, partition } of rejected) {
      metrics.dlq.inc({ reason: rejection.reason });
      let log = this.rejectionLogs.get(rejection.reason);
      if (log === undefined) {
        log = rateLimitedLog(logger, 'warn', 'input rejected to the DLQ', REJECTION_LOG_INTERVAL_MS);
        this.rejectionLogs.set(rejection.reason, log);
      }
      log({ topic, partition, offset: message.offset, reason: rejection.reason, field: rejection.field, detail: rejection.message });
    }
  }

  private async publishOutboxes(outboxes: ReadonlyArray<{ customerId: string; entries: readonly OutboxEntry[] }>, fence: WriteFence): Promise<void> {
    const { codec, producer, logger } = this.deps;
    const pending = outboxes.filter((o) => o.entries.length > 0);
    if (pending.length === 0) return;
    const events = pending.flatMap((outbox) => outbox.entries.map((entry) => withVersion(entry.value, entry.version)));
    // Encoded together and acknowledged together: awaiting one customer at a time would cost a round trip per
    // customer.
    const values = await Promise.all(
      events.map((event) =>
        codec.encode(this.topicOf(event), event).catch((error: unknown) => {
          // The scorer stops on it (lasting-refusal.ts), and meets it again at every start until the entry is mended: the
          // line says whose outbox holds it.
          if (error instanceof EventEncodeError) logger.error({ customer: customerRef(event.customerId, fence.epoch), kind: event.kind, version: event.version }, 'an output message waiting in a customer\'s outbox does not fit its schema');
          throw error;
        }),
      ),
    );
    const byTopic = new Map<string, Message[]>();
    events.forEach((event, i) => {
      const topic = this.topicOf(event);
      const messages = byTopic.get(topic) ?? [];
      messages.push({ key: event.customerId, value: values[i]! });
      byTopic.set(topic, messages);
    });
    await this.deps.batchLimit.send(
      producer,
      [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    );
    await Promise.all(pending.map((outbox) => this.deps.store.ackOutbox(outbox.customerId, Math.max(...outbox.entries.map((e) => e.seq)))));
    for (const event of events) this.countPublished(event);
  }

  private topicOf(event: OutputEvent): string {
    return this.deps.topics[TOPIC_ROLE_OF_KIND[event.kind]];
  }

  private countPublished(event: OutputEvent): void {
    if (event.kind === 'score-changed') this.deps.metrics.scoreChanges.inc({ cause: event.cause.kind });
    else this.deps.metrics.alerts.inc({ type: event.alertType, status: event.status });
  }

  private async erase(customerId: string, erasedAt: number, fence: WriteFence): Promise<void> {
    const { store, producer, topics, metrics, logger } = this.deps;
    const { deleted: removed, superseded } = await store.eraseCustomer(customerId, erasedAt);
    if (superseded) {
      // A repeat of a request carried out already, the customer having come back since: its scores stay published.
      logger.info({ customer: customerRef(customerId, fence.epoch) }, 'an erasure request no later than one carried out, the customer active since: nothing erased');
      return;
    }
    // Tombstones let compacted output topics and their subscribers forget the customer too.
    await producer.sendBatch({
      acks: -1,
      topicMessages: [topics.scoreChanged, topics.alerts].map((topic) => ({ topic, messages: [{ key: customerId, value: null }] })),
    });
    metrics.erasures.inc();
    // Keyed with the namespace's epoch, which the logs do not hold: no guess of the id can be checked against them.
    logger.info({ customer: customerRef(customerId, fence.epoch), keysRemoved: removed }, 'customer erased');
  }
}
