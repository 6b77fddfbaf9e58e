// The typed API over the key contract: a composition of the script modules (scripts/*.ts, one per Lua script:
// its keys, arguments, reply and reply codes) and the global indexes that follow each commit (indexes.ts).
// Every per-customer change is one Lua call on the customer's slot. Calls for a whole batch are issued
// together, without waiting for each other's replies: they travel pipelined, each to its customer's node.
import type { RedisClient } from './connection';
import { masterEpochTagsOf, redisIdentity, replicationProgress, type RedisIdentity, type ReplicationProgress } from './connection';
import { ExplanationLegends } from './explanation-codec';
import { customerIndexes } from './indexes';
import { DEFAULT_DUE_SHARDS, DEFAULT_PREFIX, EVERY_CUSTOMER_RANKING, INDEX_RULES_REVISION, keySchema, type KeySchema } from './keys';
import { ACK_OUTBOX_SCRIPT, ackOutboxCall, parseAckOutboxReply } from './scripts/ack-outbox';
import { APPLY_EVENTS_SCRIPT, applyEvents, type ApplyItem, type ApplyOptions, type ApplyResult } from './scripts/apply-events';
import { CLAIM_DUE_SCRIPT, dueClaimer, type ClaimOptions, type DueClaim } from './scripts/claim-due';
import { COMMIT_SCORE_SCRIPT, commitScoreCall, parseCommitScoreReply, waitingEntriesInReply, type CommitOptions, type CommitResult, type ScoreCommit } from './scripts/commit-score';
import { ERASE_CUSTOMER_SCRIPT, eraseCustomerCall, parseEraseCustomerReply } from './scripts/erase-customer';
import { defineScript } from './scripts/lua-script';
import { MOVE_LEASED_DUES_SCRIPT } from './scripts/move-leased-dues';
import { RAISE_INPUT_OFFSETS_SCRIPT, parseRaiseInputOffsetsReply, raiseInputOffsetsCall } from './scripts/raise-input-offsets';
import { fieldOf, lastRecordValue, type InputOffset } from './input-offsets';
import { READ_CUSTOMER_SCRIPT, explanationsInReply, parseReadCustomerReply, readCustomerCall, type CustomerSnapshot } from './scripts/read-customer';

export const DEFAULT_RETENTION_DAYS = 400;
export const DEFAULT_DEDUPE_WINDOW_DAYS = 7;
/**
 * Tickets, opportunities and contracts one customer may hold, together: a hundred times what a large account has, and
 * few enough that an apply call of a customer at the bound holds Redis for milliseconds (docs/operations.md).
 */
export const DEFAULT_MAX_ENTITIES = 10_000;
/** Customers read from the ranking (ZSCAN's COUNT hint), and made due, per step of a model rollout. */
const MODEL_ROLLOUT_PAGE = 10_000;

/**
 * What `<p>:model` holds once every scored customer was made due for this model (a scoring config's identity: its version
 * and a digest of its contents) under these index rules (rankings and alert indexes).
 */
export const modelRolloutMark = (model: string): string => `${model}+indexes.${INDEX_RULES_REVISION}`;

/** The model the namespace's customers were last all made due for, and the one whose instances re-score for time. */
export interface ModelInService {
  /** The mark (modelRolloutMark) of the model the last scheduleModelRollout made every scored customer due for, or null. */
  rolledOut: string | null;
  /** The mark of the model an instance running it says it re-scores for time with (markModelServed, not expired), or null. */
  servedBy: string | null;
}

/**
 * Whether an instance of another model than `model` re-scores for time: of the model in service, or of one being rolled
 * out, whose instance says so before it makes the first customer due (scheduleModelRollout). Instances of `model` then
 * leave both the time-driven re-scoring and the scoring of the events they consume to it, so that no customer is scored
 * by two models in turn.
 */
export const anotherModelServes = (model: string, { servedBy }: ModelInService): boolean => servedBy !== null && servedBy !== modelRolloutMark(model);

export interface StateStoreOptions {
  /** Versioned key prefix; a replay into a fresh namespace uses another one. Default DEFAULT_PREFIX. */
  prefix?: string;
  /** Day buckets, tickets and closed opportunities older than this many days stop counting and are trimmed. Default 400. */
  retentionDays?: number;
  /** An eventId is recognised as a duplicate for at least this many days after it arrived. Default 7. */
  dedupeWindowDays?: number;
  /** Tickets, opportunities and contracts a customer may hold; an event adding one past it is `refused`. Default 10,000. */
  maxEntities?: number;
  /** Number of due-set shards; fixed for the life of a prefix (it decides where each customer lives). Default 16. */
  dueShards?: number;
}

export interface StateStore {
  readonly keys: KeySchema;
  readonly retentionDays: number;
  readonly dedupeWindowDays: number;
  readonly maxEntities: number;
  applyEvents(items: readonly ApplyItem[], now: number, options?: ApplyOptions): Promise<ApplyResult[]>;
  readCustomers(customerIds: readonly string[], asOf: number): Promise<CustomerSnapshot[]>;
  commitScores(commits: readonly ScoreCommit[], options?: CommitOptions): Promise<CommitResult[]>;
  ackOutbox(customerId: string, upToSeq: number): Promise<number>;
  scheduleDue(customerId: string, dueAt: number | null): Promise<void>;
  /**
   * The outputs of these commits, whose due time waited for them (CommitOptions.leases), are published: each customer
   * is moved from its lease to its commit's next due time, unless this process decided its due entry since from a later
   * commit or read (docs/redis-contract.md, "Due sets and leases").
   */
  followDeliveries(commits: readonly ScoreCommit[]): Promise<void>;
  /**
   * Customers re-scored for time whose commit was refused, with the end of their claim's lease: each is moved from it
   * to when its stored score, read now, says, unless outputs of that score are still unpublished (their writer's lease
   * or input offsets bring them back, and its due entry stays as it is).
   */
  followStoredScores(leases: ReadonlyMap<string, number>, asOf: number): Promise<void>;
  /** Makes each customer due at `dueAt` at the latest: one due earlier stays so. */
  scheduleDueBy(customerIds: readonly string[], dueAt: number): Promise<void>;
  claimDue(now: number, options: ClaimOptions): Promise<DueClaim[]>;
  /**
   * Makes every scored customer due by `now` unless the namespace's customers were already made due for this scoring
   * config (`model`: its identity, scoringConfigIdentity of @churnscore/scoring, version and contents) under these index rules: a scorer started with a new model re-scores the whole base with it, so
   * that no stored score goes on saying another model's risk, and one bringing new index rules re-ranks and re-indexes everyone.
   * Returns how many were made due, or null when none needed to be. Says first, and again at every page, that an
   * instance running `model` re-scores for time, for the next `servedForMs` (markModelServed): instances of the model
   * before must see it before the first customer is due, or they claim the roll-out's customers and re-score them with
   * their own model, which nothing makes due again (an outside tester's rolling restart, 2026-12-07).
   */
  scheduleModelRollout(model: string, now: number, servedForMs: number): Promise<number | null>;
  /** What `<p>:model` and `<p>:model:served` say as of `now` (an expired word is none). */
  modelInService(now: number): Promise<ModelInService>;
  /** An instance running `model` (a scoring config's identity) re-scores for time, for the next `forMs`. */
  markModelServed(model: string, now: number, forMs: number): Promise<void>;
  /**
   * Deletes everything the store holds of the customer but when its latest erasure request occurred (`erasedAt`): its
   * events from before then are never applied again (ApplyOutcome `predatesErasure`). Returns how many of its keys
   * existed, and whether the request was superseded: no later than the latest erasure carried out while the state holds
   * events applied since (the customer came back after it), when nothing is done.
   */
  eraseCustomer(customerId: string, erasedAt: number): Promise<{ deleted: number; superseded: boolean }>;
  /**
   * Records how far a unit of work handled each input partition (`<p>:inputs`, input-offsets.ts), each offset only
   * raised, and the last record below each one raised (`<p>:inputs:last`). A scorer that lost its partitions while it
   * stalled finishes its unit late: its offsets, below those the new owner recorded, are left out. On a cluster each
   * master's record too (`<p>:inputs:{<tag>}`, the tags of `fence`). `fence`: the identity the unit's writes were meant
   * for; a server whose run id it does not name may have lost them, and records nothing ('fenced': the caller
   * re-consumes from its committed offsets).
   */
  recordInputsHandled(handled: readonly InputOffset[], fence: RedisIdentity): Promise<'recorded' | 'fenced'>;
  identity(): Promise<RedisIdentity>;
  /** How far each master's replicas have confirmed its writes: the scorer commits offsets only for confirmed ones. */
  replication(): Promise<ReplicationProgress[]>;
}

const positiveInteger = (name: string, value: number): number => {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
};

export function createStateStore(redis: RedisClient, options: StateStoreOptions = {}): StateStore {
  const keys = keySchema(options.prefix ?? DEFAULT_PREFIX, options.dueShards ?? DEFAULT_DUE_SHARDS);
  const settings = {
    retentionDays: positiveInteger('retentionDays', options.retentionDays ?? DEFAULT_RETENTION_DAYS),
    dedupeWindowDays: positiveInteger('dedupeWindowDays', options.dedupeWindowDays ?? DEFAULT_DEDUPE_WINDOW_DAYS),
    maxEntities: positiveInteger('maxEntities', options.maxEntities ?? DEFAULT_MAX_ENTITIES),
  };
  const run = {
    applyEvents: defineScript(redis, APPLY_EVENTS_SCRIPT),
    readCustomer: defineScript(redis, READ_CUSTOMER_SCRIPT),
    commitScore: defineScript(redis, COMMIT_SCORE_SCRIPT),
    ackOutbox: defineScript(redis, ACK_OUTBOX_SCRIPT),
    claimDue: defineScript(redis, CLAIM_DUE_SCRIPT),
    eraseCustomer: defineScript(redis, ERASE_CUSTOMER_SCRIPT),
    moveLeasedDues: defineScript(redis, MOVE_LEASED_DUES_SCRIPT),
    raiseInputOffsets: defineScript(redis, RAISE_INPUT_OFFSETS_SCRIPT),
  };
  const indexes = customerIndexes(redis, keys, run.moveLeasedDues);
  const markServed = async (rolloutMark: string, forMs: number): Promise<void> => {
    await redis.set(keys.servedModel, rolloutMark, 'PX', forMs);
  };
  const claimDue = dueClaimer(run.claimDue, keys);
  const legends = new ExplanationLegends(redis, keys.legends);
  // Each reply is decoded as it comes, while Redis still answers the others.
  const readCustomers = (customerIds: readonly string[], asOf: number): Promise<CustomerSnapshot[]> =>
    Promise.all(
      customerIds.map(async (customerId) => {
        const reply = await run.readCustomer(readCustomerCall(keys.customer(customerId)));
        await legends.learn(explanationsInReply(reply));
        return parseReadCustomerReply(reply, customerId, asOf, settings.retentionDays, legends);
      }),
    );

  return {
    keys,
    ...settings,

    applyEvents: (items, now, applyOptions) => applyEvents(run.applyEvents, keys.customer, settings, items, now, applyOptions),

    readCustomers,

    async commitScores(commits, { fence, leases } = {}) {
      // Every commit is encoded before the first call, so a malformed batch writes nothing; the legends its
      // explanations name are written before any call that names them.
      const calls = commits.map((commit) => commitScoreCall(keys.customer(commit.score.customerId), commit, fence, legends));
      await legends.persist(fence?.generation ?? '');
      // Taken as the calls are sent, with nothing awaited in between.
      const sequence = indexes.sequence();
      const results = await Promise.all(
        calls.map(async (call, i) => {
          const reply = await run.commitScore(call);
          await legends.learn(waitingEntriesInReply(reply));
          return parseCommitScoreReply(reply, commits[i]!, legends);
        }),
      );
      await indexes.followCommits(
        results.map((result, i) => ({ commit: commits[i]!, result })),
        fence?.generation ?? '',
        sequence,
        leases,
      );
      return results;
    },

    ackOutbox: async (customerId, upToSeq) => parseAckOutboxReply(await run.ackOutbox(ackOutboxCall(keys.customer(customerId), upToSeq))),

    scheduleDue: indexes.scheduleDue,
    followDeliveries: indexes.followDeliveries,

    async followStoredScores(leases, asOf) {
      const sequence = indexes.sequence();
      const stored = await readCustomers([...leases.keys()], asOf);
      await indexes.followStoredDues(
        stored.flatMap((s) => (s.outbox.length === 0 ? [{ customerId: s.customerId, dueAt: s.score?.nextDueAt ?? null, leasedUntil: leases.get(s.customerId)! }] : [])),
        sequence,
      );
    },
    scheduleDueBy: indexes.scheduleDueBy,

    async claimDue(now, claimOptions) {
      const claims = await claimDue(now, { ...claimOptions, leaseMs: positiveInteger('leaseMs', claimOptions.leaseMs) });
      for (const { customerId } of claims) indexes.dueMoved(customerId);
      return claims;
    },

    async scheduleModelRollout(model, now, servedForMs) {
      const rollout = modelRolloutMark(model);
      await markServed(rollout, servedForMs);
      if ((await redis.get(keys.rolledOutModel)) === rollout) return null;
      // ZSCAN returns every customer that stays in the ranking throughout, however others move meanwhile (paging by
      // rank could skip one), a page at a time so that no command holds Redis for long. A customer it returns twice
      // is made due twice, which changes nothing.
      const ranking = keys.ranking(EVERY_CUSTOMER_RANKING);
      let scheduled = 0;
      let cursor = '0';
      do {
        const [next, membersAndScores] = await redis.zscan(ranking, cursor, 'COUNT', MODEL_ROLLOUT_PAGE);
        const customerIds = membersAndScores.filter((_, i) => i % 2 === 0);
        // A base of millions takes minutes: the word is renewed, lest it expire before the roll-out is marked.
        await markServed(rollout, servedForMs);
        await indexes.scheduleDueBy(customerIds, now);
        scheduled += customerIds.length;
        cursor = next;
      } while (cursor !== '0');
      await redis.set(keys.rolledOutModel, rollout);
      return scheduled;
    },

    // Redis expires the served mark by its own clock, whatever `now` says.
    async modelInService() {
      const [rolledOut, servedBy] = await Promise.all([redis.get(keys.rolledOutModel), redis.get(keys.servedModel)]);
      return { rolledOut, servedBy };
    },

    markModelServed: (model, _now, forMs) => markServed(modelRolloutMark(model), forMs),

    async eraseCustomer(customerId, erasedAt) {
      const { deleted, rankedSegment, superseded } = parseEraseCustomerReply(await run.eraseCustomer(eraseCustomerCall(keys.customer(customerId), erasedAt)));
      if (!superseded) await indexes.followErasure(customerId, rankedSegment);
      return { deleted, superseded };
    },

    async recordInputsHandled(handled, fence) {
      if (handled.length === 0) return 'recorded';
      const inputs = handled.map((input) => ({ ...input, field: fieldOf(input.topic, input.partition) }));
      const raised = parseRaiseInputOffsetsReply(await run.raiseInputOffsets(raiseInputOffsetsCall(keys.inputOffsets, inputs, fence.runId)));
      if (raised === 'fenced') return 'fenced';
      const lastRecords = inputs.flatMap(({ field, lastRecord }) => (lastRecord !== undefined && raised.includes(field) ? [[field, lastRecordValue(lastRecord)] as const] : []));
      if (lastRecords.length > 0) await redis.hset(keys.inputLastRecords, Object.fromEntries(lastRecords));
      // On a cluster each master keeps the record too, written after the unit's writes to it: a master that comes back
      // without its last writes shows it, whichever master holds the namespace's record (readInputsHeldOnEveryMaster).
      const tags = masterEpochTagsOf(fence);
      const replies = await Promise.all(tags.map(async (tag) => parseRaiseInputOffsetsReply(await run.raiseInputOffsets(raiseInputOffsetsCall(keys.masterInputOffsets(tag), inputs, fence.runId)))));
      return replies.includes('fenced') ? 'fenced' : 'recorded';
    },

    identity: () => redisIdentity(redis, keys.prefix),
    replication: () => replicationProgress(redis),
  };
}
