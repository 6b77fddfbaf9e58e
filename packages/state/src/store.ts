// The typed API over the key contract. Every per-customer change is one Lua call on the customer's slot;
// the global sorted sets (rankings, due shards) are then brought in line with plain, idempotent
// ZADD / ZREM carrying values from that per-customer truth. Calls for a whole batch are issued together
// and travel pipelined (ioredis auto-pipelining groups them per node on a cluster).
import { createHash } from 'node:crypto';
import type { AlertBook, CustomerInsights, CustomerState, InputEvent, OutputMessage, Score } from '@churnscore/domain';
import { opsForEvent, opsToArgv } from './apply-ops';
import type { RedisClient } from './connection';
import { redisIdentity, type RedisIdentity, type WriteFence } from './connection';
import { DEFAULT_DUE_SHARDS, DEFAULT_PREFIX, RANKING_METRICS, keySchema, type KeySchema } from './keys';
import { watermarkField } from './layout';
import { decodeCustomerState, pairsToRecord } from './read-state';
import {
  decodeAlertBook,
  decodeScoreSummary,
  decodeStoredScore,
  historyEntry,
  insightsFieldArgs,
  scoreFieldArgs,
  type ScoreSummary,
  type StoredScore,
} from './score-codec';
import { loadScripts, type ScriptArg } from './scripts';

export const DEFAULT_RETENTION_DAYS = 400;
/** Published scores kept per customer for a chart of the score over time (each entry ~70 bytes). */
export const SCORE_HISTORY_LENGTH = 30;

export const DEFAULT_DEDUPE_WINDOW_DAYS = 7;
/**
 * The most events of one customer one apply call carries. A call runs alone on its Redis server, so this
 * bounds how long a customer's backlog can hold Redis (a few milliseconds), and the call's argument list.
 */
export const APPLY_EVENTS_PER_CALL = 200;

export interface StateStoreOptions {
  /** Versioned key prefix; a replay into a fresh namespace uses another one. Default `chs:v1`. */
  prefix?: string;
  /** Day buckets, tickets and closed opportunities older than this many days stop counting and are trimmed. Default 400. */
  retentionDays?: number;
  /** An eventId is recognised as a duplicate for at least this many days after it arrived. Default 7. */
  dedupeWindowDays?: number;
  /** Number of due-set shards; fixed for the life of a prefix (it decides where each customer lives). Default 16. */
  dueShards?: number;
}

export interface ApplyItem {
  event: InputEvent;
  topic: string;
  partition: number;
  /** Kafka offset, as kafkajs gives it (a decimal string). */
  offset: string;
  /**
   * The clock for this item (epoch ms) instead of the batch's `now`: pass the Kafka record's timestamp to
   * make a replay take exactly the dedupe and retention decisions the live run took.
   */
  receivedAt?: number;
}

/** `fenced`: the server is not one `ApplyOptions.fence` names; nothing was written. */
export type ApplyOutcome = 'applied' | 'duplicate' | 'redelivered' | 'fenced';

export interface ApplyOptions {
  /**
   * The run id(s) of the Redis server(s) the writes are meant for (`RedisIdentity.runId`). A server that
   * restarted or took over since may lack the caller's last writes: there each item is refused as
   * `fenced`, so that re-consuming the lost events from committed offsets is not mistaken for redelivery.
   */
  fence?: string;
}

export interface ApplyResult {
  outcome: ApplyOutcome;
  /** The customer's revision after this item. */
  revision: number;
}

/** An output committed to a customer's outbox, as the `outbox` list holds it (JSON): publish it, then ack. */
export interface OutboxEntry {
  /** Per-customer sequence number; pass the highest published one to ackOutbox. */
  seq: number;
  /**
   * The version the output is published with (`withVersion(value, version)`), assigned by the commit: a
   * score-changed event's is the customer's new score version, an alert event's its sequence number
   * (which only ever grows for the customer, and so for each of its alerts).
   */
  version: number;
  value: OutputMessage;
}

export interface CustomerSnapshot {
  customerId: string;
  state: CustomerState;
  score: StoredScore | null;
  /** The alert book stored by the last commit, or null. */
  alertBook: AlertBook | null;
  /** Entries committed but not yet acknowledged: publish them (again) and ack. */
  outbox: OutboxEntry[];
  /** The segment from the latest customer-profile event (the same as state.segment). */
  segment: string | null;
}

export interface ScoreCommit {
  score: Score;
  insights: CustomerInsights;
  /** The state revision the score was computed from (CustomerState.revision). */
  revision: number;
  asOf: number;
  /** The new alert book, or null to delete it. */
  alertBook: AlertBook | null;
  /**
   * The outputs to append to the customer's outbox, without versions: the commit assigns them. A
   * score-changed message (at most one, first) publishes the score: only then are the version incremented
   * and the stored score (and its rankings) replaced; without one the last published score stays, with
   * this commit's revision, asOf and next due time, and the insights and alert book are still written.
   */
  outbox: OutputMessage[];
  /** Next time-driven recomputation, or null for none. */
  nextDueAt: number | null;
  /** Whether the alert book holds an OPEN episode: keeps the customer in the open-alert index. */
  hasOpenAlerts: boolean;
  /**
   * The stored score the computation started from (`CustomerSnapshot.score`), or null if there was none.
   * The commit is refused as a `conflict` if another commit landed since: recompute from a fresh read.
   */
  basedOn: Pick<StoredScore, 'revision' | 'asOf'> | null;
}

export interface CommitResult {
  /** False when the stored score is newer (or the customer was erased), on a conflict or fenced off: nothing changed. */
  written: boolean;
  /** Another commit landed after the read this one was computed from: read again and recompute. */
  conflict: boolean;
  /** The server is not the incarnation `CommitOptions.fence` names: nothing changed; rewind or retry later. */
  fenced: boolean;
  /** The customer's score version after the call. */
  version: number;
  /** The score stored before the call (when not written: the newer score that won), without its explanation. */
  previousScore: ScoreSummary | null;
  /** When written: every un-acknowledged entry, this commit's included, to publish and then ack. */
  outbox: OutboxEntry[];
}

export interface CommitOptions {
  /**
   * The Redis incarnation the commits are for (the durability gate's fence). Off that incarnation nothing is
   * written; and a customer's first commit in it starts versions and outbox sequence numbers at its floor,
   * so none handed out before a loss of writes is handed out again. None (tests, benchmarks): versions
   * simply count on from what is stored.
   */
  fence?: WriteFence;
}

export interface DueClaim {
  customerId: string;
  /** The due time (or expired lease) the customer was claimed at. */
  dueAt: number;
}

export interface ClaimOptions {
  /** The most customers to claim in this call. */
  limit: number;
  /** How long a claim is held: an instance that dies finds its claims due again after this. */
  leaseMs: number;
  /** Shards this call may visit (default all); the starting shard rotates from call to call. */
  shards?: readonly number[];
}

export interface StateStore {
  readonly keys: KeySchema;
  readonly retentionDays: number;
  readonly dedupeWindowDays: number;
  applyEvents(items: readonly ApplyItem[], now: number, options?: ApplyOptions): Promise<ApplyResult[]>;
  readCustomers(customerIds: readonly string[], asOf: number): Promise<CustomerSnapshot[]>;
  commitScores(commits: readonly ScoreCommit[], options?: CommitOptions): Promise<CommitResult[]>;
  ackOutbox(customerId: string, upToSeq: number): Promise<number>;
  scheduleDue(customerId: string, dueAt: number | null): Promise<void>;
  claimDue(now: number, options: ClaimOptions): Promise<DueClaim[]>;
  eraseCustomer(customerId: string): Promise<number>;
  identity(): Promise<RedisIdentity>;
}

/** What identifies an eventId in the dedupe window: 8 bytes of SHA-1 (a collision is ~2⁻⁶⁴ per pair). */
const eventDigest = (eventId: string): Buffer => createHash('sha1').update(eventId, 'utf8').digest().subarray(0, 8);

const parseOutbox = (entries: readonly string[]): OutboxEntry[] => entries.map((json) => JSON.parse(json) as OutboxEntry);

/**
 * Whether a commit publishes its score: its outbox then starts with the score-changed message, which the
 * script versions with the score, and holds no other.
 */
function publishesScore(outbox: readonly OutputMessage[]): boolean {
  const scoreChanges = outbox.filter((message) => message.kind === 'score-changed').length;
  if (scoreChanges > (outbox[0]?.kind === 'score-changed' ? 1 : 0)) {
    throw new RangeError('a commit publishes at most one score-changed message, before its alerts');
  }
  return scoreChanges === 1;
}

const positiveInteger = (name: string, value: number): number => {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
};

export function createStateStore(redis: RedisClient, options: StateStoreOptions = {}): StateStore {
  const keys = keySchema(options.prefix ?? DEFAULT_PREFIX, options.dueShards ?? DEFAULT_DUE_SHARDS);
  const retentionDays = positiveInteger('retentionDays', options.retentionDays ?? DEFAULT_RETENTION_DAYS);
  const dedupeWindowDays = positiveInteger('dedupeWindowDays', options.dedupeWindowDays ?? DEFAULT_DEDUPE_WINDOW_DAYS);
  const scripts = loadScripts(redis);
  const allShards = Array.from({ length: keys.dueShards }, (_, shard) => shard);
  // Instances start at different shards and move on by one per call, so concurrent claimers spread out.
  let nextStartShard = Math.floor(Math.random() * keys.dueShards);

  /** Brings a customer's entries in the rankings in line with `score` (null: removes them all). */
  function syncRankings(customerId: string, score: Omit<Score, 'explanation'> | null, previousSegment: string | null): Promise<unknown>[] {
    const segment = score?.segment ?? null;
    return RANKING_METRICS.flatMap((metric) => [
      score ? redis.zadd(keys.ranking(metric), score[metric], customerId) : redis.zrem(keys.ranking(metric), customerId),
      ...(score && segment !== null ? [redis.zadd(keys.ranking(metric, segment), score[metric], customerId)] : []),
      ...(previousSegment !== null && previousSegment !== segment ? [redis.zrem(keys.ranking(metric, previousSegment), customerId)] : []),
    ]);
  }

  async function scheduleDue(customerId: string, dueAt: number | null): Promise<void> {
    const shardKey = keys.dueShard(keys.dueShardOf(customerId));
    await (dueAt === null ? redis.zrem(shardKey, customerId) : redis.zadd(shardKey, dueAt, customerId));
  }

  return {
    keys,
    retentionDays,
    dedupeWindowDays,

    async applyEvents(items, now, { fence = '' } = {}) {
      // Per customer, its events in the order given, in calls of at most APPLY_EVENTS_PER_CALL events one
      // after another: a backlog of any size never holds Redis for long nor overflows the argument list.
      // Every item is encoded before the first call, so a malformed batch applies nothing.
      const byCustomer = new Map<string, Array<{ itemIndex: number; eventArgs: ScriptArg[] }>>();
      items.forEach(({ event, topic, partition, offset, receivedAt }, itemIndex) => {
        const opArgs = opsToArgv(opsForEvent(event));
        const eventArgs = [receivedAt ?? now, watermarkField(topic, partition), offset, eventDigest(event.eventId), opArgs.length, ...opArgs];
        const encoded = byCustomer.get(event.customerId) ?? [];
        encoded.push({ itemIndex, eventArgs });
        byCustomer.set(event.customerId, encoded);
      });
      const results: ApplyResult[] = new Array<ApplyResult>(items.length);
      await Promise.all(
        [...byCustomer].map(async ([customerId, encoded]) => {
          const k = keys.customer(customerId);
          for (let from = 0; from < encoded.length; from += APPLY_EVENTS_PER_CALL) {
            const slice = encoded.slice(from, from + APPLY_EVENTS_PER_CALL);
            const flat = (await scripts.applyEvents(
              [k.state, k.act, k.ent, k.seen],
              [retentionDays, dedupeWindowDays, fence, ...slice.flatMap((e) => e.eventArgs)],
            )) as Array<ApplyOutcome | number>;
            slice.forEach(({ itemIndex }, n) => {
              results[itemIndex] = { outcome: flat[2 * n] as ApplyOutcome, revision: flat[2 * n + 1] as number };
            });
          }
        }),
      );
      return results;
    },

    async readCustomers(customerIds, asOf) {
      const reads = customerIds.map(async (customerId): Promise<CustomerSnapshot> => {
        const k = keys.customer(customerId);
        const [stateFlat, act, ent, scoreFlat, explanation, alertBook, outbox] = (await scripts.readCustomer(
          [k.state, k.act, k.ent, k.score, k.explanation, k.alerts, k.outbox],
          [],
        )) as [string[], string | null, string | null, string[], string | null, string | null, string[]];
        const state = decodeCustomerState(customerId, pairsToRecord(stateFlat), act, ent, asOf, retentionDays);
        return {
          customerId,
          state,
          score: decodeStoredScore(customerId, pairsToRecord(scoreFlat), explanation),
          alertBook: decodeAlertBook(alertBook),
          outbox: parseOutbox(outbox),
          segment: state.segment,
        };
      });
      return Promise.all(reads);
    },

    async commitScores(commits, { fence } = {}) {
      // Every commit is encoded before the first call, so a malformed batch writes nothing.
      const calls = commits.map((commit) => {
        const k = keys.customer(commit.score.customerId);
        const scoreArgs = scoreFieldArgs(commit.score);
        const insightsArgs = insightsFieldArgs(commit.insights);
        const published = publishesScore(commit.outbox);
        // Most commits are insignificant and leave the stored score, so its explanation is not even sent.
        const replacesScore = published || commit.basedOn === null;
        const args = [
          commit.revision,
          commit.asOf,
          published ? JSON.stringify(commit.outbox[0]) : '',
          commit.nextDueAt ?? '',
          commit.alertBook == null ? '' : JSON.stringify(commit.alertBook),
          replacesScore ? JSON.stringify(commit.score.explanation) : '',
          replacesScore ? JSON.stringify(historyEntry(commit.score)) : '',
          SCORE_HISTORY_LENGTH,
          commit.basedOn === null ? '' : `${commit.basedOn.revision}:${commit.basedOn.asOf}`,
          fence?.runId ?? '',
          fence?.generation ?? '',
          fence?.versionFloor ?? 0,
          scoreArgs.length,
          ...scoreArgs,
          insightsArgs.length,
          ...insightsArgs,
          ...commit.outbox.slice(published ? 1 : 0).map((message) => JSON.stringify(message)),
        ];
        return { published, callKeys: [k.state, k.score, k.explanation, k.insights, k.alerts, k.outbox, k.history], args };
      });
      const results = await Promise.all(
        calls.map(async ({ callKeys, args }, i): Promise<CommitResult> => {
          const commit = commits[i] as ScoreCommit;
          const [written, version, previousFlat, earlier = [], assigned = []] = (await scripts.commitScore(callKeys, args)) as [
            0 | 1 | 2 | 3,
            number,
            string[],
            string[]?,
            number[]?,
          ];
          return {
            written: written === 1,
            conflict: written === 2,
            fenced: written === 3,
            version,
            previousScore: decodeScoreSummary(commit.score.customerId, pairsToRecord(previousFlat)),
            // The appended messages are not sent back (the explanation is most of their bytes): their seq and
            // version are, in order.
            outbox:
              written === 1
                ? [...parseOutbox(earlier), ...commit.outbox.map((value, j) => ({ seq: assigned[2 * j]!, version: assigned[2 * j + 1]!, value }))]
                : [],
          };
        }),
      );
      // Rankings and due shard follow the stored truth: the score just written or, when a call was refused,
      // the newer score that is stored. The latter heals a follow-up lost with an earlier call (a retried
      // commit is refused as not newer) and one overtaken by an older commit's.
      await Promise.all(
        results.flatMap((result, i) => {
          const commit = commits[i] as ScoreCommit;
          const customerId = commit.score.customerId;
          if (result.written) {
            // An insignificant change leaves the published score stored, and ranked.
            const stored = calls[i]!.published || result.previousScore === null ? commit.score : result.previousScore;
            return [
              ...syncRankings(customerId, stored, result.previousScore?.segment ?? null),
              scheduleDue(customerId, commit.nextDueAt),
              commit.hasOpenAlerts ? redis.zadd(keys.openAlerts, stored.valueAtRisk, customerId) : redis.zrem(keys.openAlerts, customerId),
            ];
          }
          const stored = result.previousScore;
          return stored && !result.fenced ? [...syncRankings(customerId, stored, stored.segment), scheduleDue(customerId, stored.nextDueAt)] : [];
        }),
      );
      return results;
    },

    async ackOutbox(customerId, upToSeq) {
      const k = keys.customer(customerId);
      return (await scripts.ackOutbox([k.outbox], [upToSeq])) as number;
    },

    scheduleDue,

    async claimDue(now, { limit, leaseMs, shards = allShards }) {
      positiveInteger('leaseMs', leaseMs);
      const start = nextStartShard++ % Math.max(shards.length, 1);
      const order = [...shards.slice(start), ...shards.slice(0, start)];
      const claims: DueClaim[] = [];
      for (const shard of order) {
        if (claims.length >= limit) break;
        const flat = (await scripts.claimDue([keys.dueShard(shard)], [now, now + leaseMs, limit - claims.length])) as string[];
        for (let i = 0; i + 1 < flat.length; i += 2) {
          claims.push({ customerId: flat[i] as string, dueAt: Number(flat[i + 1]) });
        }
      }
      return claims;
    },

    async eraseCustomer(customerId) {
      const k = keys.customer(customerId);
      const [deleted, rankedSegment] = (await scripts.eraseCustomer(Object.values(k), [])) as [number, string | null];
      await Promise.all([...syncRankings(customerId, null, rankedSegment), scheduleDue(customerId, null), redis.zrem(keys.openAlerts, customerId)]);
      return deleted;
    },

    identity: () => redisIdentity(redis, keys.prefix),
  };
}
