// The global sorted sets beside the per-customer truth: the rankings (overall and per segment), the due
// shards and the open- and resolved-alert indexes live in other slots than the customer, so no script writes them. After
// each commit or erasure they are brought in line with plain, idempotent ZADD / ZREM carrying values from
// the customer's stored score, so they converge with it (docs/redis-contract.md, Guarantees). Entries this
// process itself put there on the customer's previous commit are not sent again while their values hold. The
// follow-ups of a batch of commits travel as one ZADD and one ZREM per sorted set, not one command per entry:
// each command costs the scorer and Redis more than the entries it carries.
//
// A customer's due entry is written from what this process learned of its stored score, by the consumer and the
// time-driven loop at once: a commit's reply, a read, the publication of a re-scoring's outputs. Each of those calls
// takes a sequence number as it is sent; one connection runs them in that order, so a later number learned a score
// as new or newer; a due time set outright (scheduleDue, scheduleDueBy) is a decision of its own, as new as its
// sending. A due time decided from an earlier number than the customer's last decision is not sent. Without
// that, a re-scoring for time whose outputs took a while to publish, or whose follow-up waited for the rest of its
// batch, could put back the due time of a score the consumer had replaced meanwhile: a customer whose alerts that
// score held for a minute then waited until its next due time (a day). Between processes, where no sequence is shared,
// a re-scoring for time moves the entry from its claim's lease only while the entry still holds it (moveLeasedDues).
import type { Score } from '@churnscore/domain';
import type { RedisClient } from './connection';
import { RANKING_METRICS, rankedIn, type KeySchema } from './keys';
import type { ScoreSummary } from './score-codec';
import { dueAwaitsDelivery, publishesScore, type CommitResult, type ScoreCommit } from './scripts/commit-score';
import type { ScriptRunner } from './scripts/lua-script';
import { moveLeasedDuesCall, type LeasedDue } from './scripts/move-leased-dues';

/** What a ranking entry is made of, and what decides which rankings the customer is in. */
type RankedScore = Pick<Score, 'segment' | 'lifecycleStage' | (typeof RANKING_METRICS)[number]>;

export interface CustomerIndexes {
  /** Orders what this process learns of stored scores: taken as the calls that learn it are sent (see the file's head). */
  sequence(): number;
  /** Sets (null: removes) the customer's due time in its shard: a decision newer than any a follow-up in flight holds. */
  scheduleDue(customerId: string, dueAt: number | null): Promise<void>;
  /** Makes each customer due at `dueAt` at the latest (one due earlier stays so): a decision like scheduleDue's. */
  scheduleDueBy(customerIds: readonly string[], dueAt: number): Promise<void>;
  /**
   * After a batch of commits (each of another customer): the rankings, due times and open-alert entries follow the
   * scores that are stored now. `generation`: the Redis generation the commits were fenced to ('' for none).
   * `sequence`: taken as the commits were sent. `leases`: customers re-scored for time, with the end of their claim's
   * lease (CommitOptions).
   */
  followCommits(
    followUps: ReadonlyArray<{ commit: ScoreCommit; result: CommitResult }>,
    generation: string,
    sequence: number,
    leases?: ReadonlyMap<string, number>,
  ): Promise<void>;
  /**
   * The outputs of commits whose due time waited for them (CommitOptions.leases) are published: each customer is moved
   * from its lease to its commit's next due time, unless its due entry was decided since from a later sequence number.
   */
  followDeliveries(commits: readonly ScoreCommit[]): Promise<void>;
  /**
   * Each customer moved from its lease to `dueAt`, read from its stored score with `sequence`, unless its due entry was
   * decided since from a later sequence number.
   */
  followStoredDues(dues: ReadonlyArray<{ customerId: string; dueAt: number | null; leasedUntil: number }>, sequence: number): Promise<void>;
  /** The customer's due entry was moved by something other than a follow-up (a claim's lease): the next follow-up sends it again. */
  dueMoved(customerId: string): void;
  /** After an erasure: the customer leaves every ranking (overall and `rankedSegment`'s), its due shard and the alert indexes. */
  followErasure(customerId: string, rankedSegment: string | null): Promise<void>;
}

/** A member of a global sorted set given a score, or removed (null). */
interface EntryWrite {
  key: string;
  member: string;
  score: number | null;
  /** A due entry of a customer re-scored for time: written only while it holds the lease its claim put there, which ends then. */
  leasedUntil?: number;
}

/** The most members one ZADD or ZREM carries, so that a large batch's follow-up never holds Redis for long. */
export const MEMBERS_PER_INDEX_COMMAND = 500;

/**
 * Customers the resolved-alert index keeps: those whose alerts resolved most recently. Every customer that ever had an
 * alert has a resolved episode in its book, so an unbounded index would hold most of the base; "recently resolved" is
 * what a reader of it asks for.
 */
export const RESOLVED_ALERTS_INDEXED = 1_000;

/** Drops all but the RESOLVED_ALERTS_INDEXED most recent entries of the resolved-alert index. */
export const trimResolvedAlerts = (redis: RedisClient, keys: KeySchema): Promise<number> =>
  redis.zremrangebyrank(keys.resolvedAlerts, 0, -(RESOLVED_ALERTS_INDEXED + 1));

/**
 * Sends entry writes as one ZADD and one ZREM per key (in commands of at most MEMBERS_PER_INDEX_COMMAND members); of two
 * writes of one member, the later wins. `onlyLower`: a member keeps a lower score it has (ZADD LT). Due entries moved
 * from a lease go through `moveLeasedDues`, one call per due shard likewise.
 */
function writeEntries(redis: RedisClient, moveLeasedDues: ScriptRunner, writes: readonly EntryWrite[], { onlyLower = false } = {}): Promise<unknown> {
  const byKey = new Map<string, Map<string, number | null>>();
  const leasedByKey = new Map<string, LeasedDue[]>();
  for (const { key, member, score, leasedUntil } of writes) {
    if (leasedUntil !== undefined) {
      const dues = leasedByKey.get(key) ?? [];
      dues.push({ customerId: member, leasedUntil, dueAt: score });
      leasedByKey.set(key, dues);
      continue;
    }
    const members = byKey.get(key) ?? new Map<string, number | null>();
    members.set(member, score);
    byKey.set(key, members);
  }
  const commands: Promise<unknown>[] = [];
  for (const [key, members] of byKey) {
    const added: Array<number | string> = [];
    const removed: string[] = [];
    for (const [member, score] of members) {
      if (score === null) removed.push(member);
      else added.push(score, member);
    }
    for (let start = 0; start < added.length; start += 2 * MEMBERS_PER_INDEX_COMMAND) {
      const scoresAndMembers = added.slice(start, start + 2 * MEMBERS_PER_INDEX_COMMAND);
      commands.push(onlyLower ? redis.zadd(key, 'LT', ...scoresAndMembers) : redis.zadd(key, ...scoresAndMembers));
    }
    for (let start = 0; start < removed.length; start += MEMBERS_PER_INDEX_COMMAND) {
      commands.push(redis.zrem(key, ...removed.slice(start, start + MEMBERS_PER_INDEX_COMMAND)));
    }
  }
  for (const [key, dues] of leasedByKey) {
    for (let start = 0; start < dues.length; start += MEMBERS_PER_INDEX_COMMAND) {
      commands.push(moveLeasedDues(moveLeasedDuesCall(key, dues.slice(start, start + MEMBERS_PER_INDEX_COMMAND))));
    }
  }
  return Promise.all(commands);
}

/**
 * What this process's follow-up of a customer's commit put in the indexes: the commit it followed
 * (`revision:asOf`), in which generation, the entries (each part as one string) and whether its writes landed.
 */
interface Followed {
  commitToken: string;
  generation: string;
  ranking: string;
  due: string;
  openAlert: string;
  resolvedAlert: string;
  landed: boolean;
}

/**
 * Customers whose last follow-up, and whose last due decision, are remembered. Past it the follow-ups start
 * afresh, which costs each customer one full follow-up (~150 bytes an entry: 100,000 is ~15 MB), and the oldest
 * decision is forgotten.
 */
const FOLLOWED_CUSTOMERS_REMEMBERED = 100_000;

const commitToken = (score: Pick<ScoreSummary, 'revision' | 'asOf'>): string => `${score.revision}:${score.asOf}`;

/** The last decision of a customer's due entry: the sequence it came from, and the commit whose outputs it waits for, if any. */
interface DueDecision {
  sequence: number;
  awaitingDelivery: { commitToken: string; leasedUntil: number } | null;
}

export function customerIndexes(redis: RedisClient, keys: KeySchema, moveLeasedDues: ScriptRunner): CustomerIndexes {
  // An entry is trusted only once its writes have landed, while the stored score is still the commit it
  // followed, in the same generation (a Redis that lost writes, maybe the entries' own, is another one). So a
  // follow-up lost with a crash or a failed call is sent in full by the next commit, as before.
  const followed = new Map<string, Followed>();
  let sequences = 0;
  const nextSequence = () => (sequences += 1);
  // Least recently decided first: past the bound, the oldest decision is forgotten (its writes landed long ago).
  const dueDecisions = new Map<string, DueDecision>();

  /** Records a decision of the customer's due entry from `sequence`; false, recording nothing, when a later sequence number decided it. */
  function decideDue(customerId: string, sequence: number, awaitingDelivery: DueDecision['awaitingDelivery']): boolean {
    const last = dueDecisions.get(customerId);
    if (last !== undefined && last.sequence > sequence) return false;
    dueDecisions.delete(customerId);
    dueDecisions.set(customerId, { sequence, awaitingDelivery });
    if (dueDecisions.size > FOLLOWED_CUSTOMERS_REMEMBERED) dueDecisions.delete(dueDecisions.keys().next().value!);
    return true;
  }

  /** Brings a customer's entries in the rankings in line with `score` (null: removes them all). */
  function rank(customerId: string, score: RankedScore | null, previousSegment: string | null): EntryWrite[] {
    const segment = score?.segment ?? null;
    return RANKING_METRICS.flatMap((metric) => {
      const value = score !== null && rankedIn(metric, score.lifecycleStage) ? score[metric] : null;
      return [
        { key: keys.ranking(metric), member: customerId, score: value },
        ...(segment !== null ? [{ key: keys.ranking(metric, segment), member: customerId, score: value }] : []),
        ...(previousSegment !== null && previousSegment !== segment ? [{ key: keys.ranking(metric, previousSegment), member: customerId, score: null }] : []),
      ];
    });
  }

  const setDue = (customerId: string, dueAt: number | null, leasedUntil?: number): EntryWrite => ({
    key: keys.dueShard(keys.dueShardOf(customerId)),
    member: customerId,
    score: dueAt,
    ...(leasedUntil === undefined ? {} : { leasedUntil }),
  });

  const markOpenAlert = (customerId: string, valueAtRisk: number | null): EntryWrite => ({ key: keys.openAlerts, member: customerId, score: valueAtRisk });

  const markResolvedAlert = (customerId: string, lastResolvedAt: number | null): EntryWrite => ({ key: keys.resolvedAlerts, member: customerId, score: lastResolvedAt });

  async function scheduleDues(dues: ReadonlyArray<{ customerId: string; dueAt: number | null; leasedUntil?: number }>): Promise<void> {
    for (const { customerId } of dues) dueMoved(customerId);
    await writeEntries(
      redis,
      moveLeasedDues,
      dues.map(({ customerId, dueAt, leasedUntil }) => setDue(customerId, dueAt, leasedUntil)),
    );
  }

  const dueMoved = (customerId: string) => {
    const last = followed.get(customerId);
    if (last !== undefined) followed.set(customerId, { ...last, due: '' });
  };

  /** One commit's follow-up: the entry writes it needs, and what marks them trusted once they landed (none after a refused write). */
  function followCommit(
    commit: ScoreCommit,
    result: CommitResult,
    generation: string,
    sequence: number,
    leases: ReadonlyMap<string, number> | undefined,
  ): { writes: EntryWrite[]; landed?: () => void } {
    const customerId = commit.score.customerId;
    const previous: ScoreSummary | null = result.previousScore;
    const last = followed.get(customerId);
    followed.delete(customerId);
    if (followed.size >= FOLLOWED_CUSTOMERS_REMEMBERED) followed.clear();
    if (!result.written) {
      if (!previous || result.fenced) return { writes: [] };
      // A customer re-scored for time keeps its lease for now: the stored score's outputs may be unpublished, and the
      // lease may be all that brings them back. The caller moves it once this round's are published (followStoredDues).
      const dueDecided = !leases?.has(customerId) && decideDue(customerId, sequence, null);
      return { writes: [...rank(customerId, previous, previous.segment), ...(dueDecided ? [setDue(customerId, previous.nextDueAt)] : [])] };
    }
    // An insignificant change leaves the published score stored, and ranked.
    const stored = publishesScore(commit.outbox) || previous === null ? commit.score : previous;
    const openAlertValue = commit.hasOpenAlerts ? stored.valueAtRisk : null;
    const leasedUntil = leases?.get(customerId);
    const dueWaits = dueAwaitsDelivery(result, customerId, leases);
    const dueDecided = decideDue(customerId, sequence, dueWaits ? { commitToken: commitToken(commit), leasedUntil: leasedUntil! } : null);
    const entry: Followed = {
      commitToken: commitToken(commit),
      generation,
      ranking: [stored.segment, ...RANKING_METRICS.map((metric) => (rankedIn(metric, stored.lifecycleStage) ? stored[metric] : '-'))].join('|'),
      // A due time left to followDeliveries, decided from a later sequence number or moved from a lease (which another
      // writer may have replaced) is not this follow-up's to trust.
      due: dueWaits || !dueDecided || leasedUntil !== undefined ? '' : String(commit.nextDueAt),
      openAlert: String(openAlertValue),
      resolvedAlert: String(commit.lastResolvedAt),
      landed: false,
    };
    const trusted = last?.landed === true && previous !== null && last.commitToken === commitToken(previous) && last.generation === generation;
    // An empty part ('' for a due time) is one not trusted: never the same as another.
    const unchanged = (part: 'ranking' | 'due' | 'openAlert' | 'resolvedAlert') => trusted && last[part] !== '' && last[part] === entry[part];
    const writes = [
      ...(unchanged('ranking') ? [] : rank(customerId, stored, previous?.segment ?? null)),
      ...(dueWaits || !dueDecided || unchanged('due') ? [] : [setDue(customerId, commit.nextDueAt, leasedUntil)]),
      ...(unchanged('openAlert') ? [] : [markOpenAlert(customerId, openAlertValue)]),
      ...(unchanged('resolvedAlert') ? [] : [markResolvedAlert(customerId, commit.lastResolvedAt)]),
    ];
    followed.set(customerId, entry);
    const landed = () => {
      // Still this follow-up's entry (a later commit's replaces it), with any due move since kept.
      const current = followed.get(customerId);
      if (current?.commitToken === entry.commitToken && current.generation === generation) followed.set(customerId, { ...current, landed: true });
    };
    return { writes, landed };
  }

  return {
    sequence: nextSequence,
    scheduleDue(customerId, dueAt) {
      decideDue(customerId, nextSequence(), null);
      return scheduleDues([{ customerId, dueAt }]);
    },

    followDeliveries(commits) {
      return scheduleDues(
        commits.flatMap((commit) => {
          const { customerId } = commit.score;
          const awaiting = dueDecisions.get(customerId)?.awaitingDelivery;
          if (awaiting?.commitToken !== commitToken(commit)) return [];
          dueDecisions.get(customerId)!.awaitingDelivery = null;
          return [{ customerId, dueAt: commit.nextDueAt, leasedUntil: awaiting.leasedUntil }];
        }),
      );
    },

    followStoredDues(dues, sequence) {
      return scheduleDues(dues.filter(({ customerId }) => decideDue(customerId, sequence, null)));
    },

    async scheduleDueBy(customerIds, dueAt) {
      const sequence = nextSequence();
      for (const customerId of customerIds) decideDue(customerId, sequence, null);
      for (const customerId of customerIds) dueMoved(customerId);
      await writeEntries(
        redis,
        moveLeasedDues,
        customerIds.map((customerId) => setDue(customerId, dueAt)),
        { onlyLower: true },
      );
    },

    dueMoved,

    // When a call was refused, the newer score that is stored decides. That heals a follow-up lost with an
    // earlier call (a retried commit is refused as not newer) and one overtaken by an older commit's.
    async followCommits(followUps, generation, sequence, leases) {
      const writes: EntryWrite[] = [];
      const landed: Array<() => void> = [];
      for (const { commit, result } of followUps) {
        const planned = followCommit(commit, result, generation, sequence, leases);
        writes.push(...planned.writes);
        if (planned.landed) landed.push(planned.landed);
      }
      // The trim is sent after the entries it bounds, on the same connection (the same node in a cluster).
      const resolvedAdded = writes.some(({ key, score }) => key === keys.resolvedAlerts && score !== null);
      await Promise.all([writeEntries(redis, moveLeasedDues, writes), ...(resolvedAdded ? [trimResolvedAlerts(redis, keys)] : [])]);
      for (const markLanded of landed) markLanded();
    },

    async followErasure(customerId, rankedSegment) {
      followed.delete(customerId);
      await writeEntries(redis, moveLeasedDues, [
        ...rank(customerId, null, rankedSegment),
        setDue(customerId, null),
        markOpenAlert(customerId, null),
        markResolvedAlert(customerId, null),
      ]);
    },
  };
}
