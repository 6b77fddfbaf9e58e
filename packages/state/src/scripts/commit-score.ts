// commitScore-7.lua: a computed score written only if newer and only over what was read, fenced, with the
// outputs' versions assigned.
import type { AlertBook, CustomerInsights, OutputMessage, Score } from '@churnscore/domain';
import type { WriteFence } from '../connection';
import type { ExplanationLegends } from '../explanation-codec';
import type { CustomerKeyPart, CustomerKeys } from '../keys';
import { LUA_LAYOUT, SCORE_FIELD, withoutExplanation, type OutboxEntry } from '../layout';
import { pairsToRecord } from '../read-state';
import { decodeOutboxEntry, decodeScoreSummary, encodeAlertBook, encodeScoreHistoryEntry, historyEntry, insightsFieldArgs, scoreFieldArgs, type ScoreSummary, type StoredScore } from '../score-codec';
import { packForLua } from '../lua-pack';
import { keysOf, scriptArgs, type ScriptDefinition, type ScriptInvocation } from './lua-script';

/** Published scores kept per customer for a chart of the score over time (each entry an integer of 10 bytes: encodeScoreHistoryEntry). */
export const SCORE_HISTORY_LENGTH = 30;

export interface ScoreCommit {
  score: Score;
  insights: CustomerInsights;
  /** The state revision the score was computed from (CustomerState.revision). */
  revision: number;
  /** The state's incarnation the score was computed from (CustomerSnapshot.incarnation). */
  incarnation: string;
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
  /** When the alert book's latest RESOLVED episode resolved (null: none): the customer's place in the resolved-alert index. */
  lastResolvedAt: number | null;
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
  /**
   * When written: events were applied after the read the score was computed from (the state's revision is past the
   * commit's). The unit of work that applied them scores them or defers their scoring: what the customer waits for is
   * that unit's to say, not this commit's.
   */
  eventsAppliedSince: boolean;
}

export interface CommitOptions {
  /**
   * The Redis incarnation the commits are for (the durability gate's fence). Off that incarnation nothing is
   * written; and a customer's first commit in it starts versions and outbox sequence numbers at its floor,
   * so none handed out before a loss of writes is handed out again. None (tests, benchmarks): versions
   * simply count on from what is stored.
   */
  fence?: WriteFence;
  /**
   * Customers re-scored for time, with the end of the lease their claim put in their due entry. Their due time is moved
   * from that lease only while the entry still holds it: another instance that scored the customer since has set it
   * from a newer score (moveLeasedDues-1.lua). And it does not follow a commit that leaves outputs in their outbox: it
   * stays at the lease until `followDeliveries` moves it, once the outputs are published. A time-driven re-scoring has
   * no input offset to be redelivered from: the lease is what brings back a customer whose outputs a crash, or a
   * registry outage, left unpublished, to be read again and its outbox published.
   */
  leases?: ReadonlyMap<string, number>;
}

/** What the script answers first. */
const COMMIT_REPLY = {
  /** The stored score is as new or newer, or the customer has no state (erased): nothing written. */
  notNewer: 0,
  written: 1,
  /** Another commit landed since the read the score was computed from: nothing written. */
  conflict: 2,
  /** The server is not one the fence names: nothing written. */
  fenced: 3,
} as const;
type CommitReplyCode = (typeof COMMIT_REPLY)[keyof typeof COMMIT_REPLY];
const REPLY_CODES: ReadonlySet<number> = new Set(Object.values(COMMIT_REPLY));

const KEYS = ['state', 'score', 'explanation', 'insights', 'alerts', 'outbox', 'history'] as const satisfies readonly CustomerKeyPart[];
const ARGS = [
  'revision',
  'asOf',
  'scoreChanged',
  'nextDueAt',
  'alertBook',
  'explanation',
  'historyEntry',
  'historyLength',
  'basedOn',
  'incarnation',
  'fence',
  'generation',
  'versionFloor',
  'fields',
] as const;

export const COMMIT_SCORE_SCRIPT: ScriptDefinition = { name: 'commitScore', keys: KEYS, args: ARGS, constants: { LAYOUT: LUA_LAYOUT, REPLY: COMMIT_REPLY } };

/** Whether the commit was refused because the stored score is as new or newer (or the customer has no state): no conflict, no fence. */
export const refusedAsNotNewer = (result: CommitResult): boolean => !result.written && !result.conflict && !result.fenced;

/** Whether the customer's due entry waits for followDeliveries after this commit (CommitOptions.leases): outputs were left to publish. */
export const dueAwaitsDelivery = (result: CommitResult, customerId: string, leases: ReadonlyMap<string, number> | undefined): boolean =>
  result.written && result.outbox.length > 0 && leases?.has(customerId) === true;

/**
 * Whether a commit publishes its score: its outbox then starts with the score-changed message, which the
 * script versions with the score, and holds no other.
 */
export function publishesScore(outbox: readonly OutputMessage[]): boolean {
  const scoreChanges = outbox.filter((message) => message.kind === 'score-changed').length;
  if (scoreChanges > (outbox[0]?.kind === 'score-changed' ? 1 : 0)) {
    throw new RangeError('a commit publishes at most one score-changed message, before its alerts');
  }
  return scoreChanges === 1;
}

/**
 * The score-changed message as the outbox stores it, without its explanation, which must be the score's: the
 * commit stores that beside it.
 */
function storedScoreChange(commit: ScoreCommit): string {
  const [message] = commit.outbox;
  if (message?.kind !== 'score-changed' || message.explanation !== commit.score.explanation) {
    throw new RangeError("a commit's score-changed message carries the commit's score explanation");
  }
  return withoutExplanation(message);
}

/**
 * The call for one commit; `legends` encodes its explanation, and must write the legend before the call is sent
 * (ExplanationLegends.persist). @throws RangeError for a commit whose outbox is out of order.
 */
export function commitScoreCall(keys: CustomerKeys, commit: ScoreCommit, fence: WriteFence | undefined, legends: ExplanationLegends): ScriptInvocation {
  const published = publishesScore(commit.outbox);
  // Most commits are insignificant and leave the stored score, so its explanation is not even sent.
  const replacesScore = published || commit.basedOn === null;
  const catchingUp = published && commit.outbox[0]?.kind === 'score-changed' && commit.outbox[0].catchingUp;
  const scoreArgs = [...scoreFieldArgs(commit.score), ...(catchingUp ? [SCORE_FIELD.catchingUp, '1'] : [])];
  const insightsArgs = insightsFieldArgs(commit.insights);
  const alerts = commit.outbox.slice(published ? 1 : 0).map((message) => JSON.stringify(message));
  return {
    keys: keysOf(KEYS, keys),
    args: scriptArgs(
      ARGS,
      {
        revision: commit.revision,
        asOf: commit.asOf,
        scoreChanged: published ? storedScoreChange(commit) : '',
        nextDueAt: commit.nextDueAt ?? '',
        alertBook: commit.alertBook == null ? '' : encodeAlertBook(commit.alertBook),
        explanation: replacesScore ? legends.encode(commit.score.explanation) : '',
        historyEntry: replacesScore ? encodeScoreHistoryEntry(historyEntry(commit.score)) : '',
        historyLength: SCORE_HISTORY_LENGTH,
        basedOn: commit.basedOn === null ? '' : `${commit.basedOn.revision}:${commit.basedOn.asOf}`,
        incarnation: commit.incarnation,
        fence: fence?.runId ?? '',
        generation: fence?.generation ?? '',
        versionFloor: fence?.versionFloor ?? 0,
        // One argument rather than some sixty: ioredis's cost is per argument.
        fields: packForLua([[scoreArgs.length], scoreArgs, [insightsArgs.length], insightsArgs, alerts]),
      },
    ),
  };
}

type CommitScoreReply = [code: CommitReplyCode, version: number, previous: string[], earlier?: string[], assigned?: number[], stateRevision?: number];

/** The outbox entries that were waiting, each with the explanation it names put back: the legends to know before parsing. */
export const waitingEntriesInReply = (reply: unknown): string[] => (reply as CommitScoreReply)[3] ?? [];

/** `legends` knows the legends of waitingEntriesInReply (ExplanationLegends.learn). */
export function parseCommitScoreReply(reply: unknown, commit: ScoreCommit, legends: ExplanationLegends): CommitResult {
  const [code, version, previousFlat, earlier = [], assigned = [], stateRevision = commit.revision] = reply as CommitScoreReply;
  if (!REPLY_CODES.has(code)) throw new Error(`commitScore answered an unknown code: ${String(code)}`);
  const written = code === COMMIT_REPLY.written;
  return {
    written,
    conflict: code === COMMIT_REPLY.conflict,
    fenced: code === COMMIT_REPLY.fenced,
    version,
    previousScore: decodeScoreSummary(commit.score.customerId, pairsToRecord(previousFlat)),
    // The appended messages are not sent back (the explanation is most of their bytes): their seq and version
    // are, in order.
    outbox: written
      ? [...earlier.map((entry) => decodeOutboxEntry(entry, legends)), ...commit.outbox.map((value, j) => ({ seq: assigned[2 * j]!, version: assigned[2 * j + 1]!, value }))]
      : [],
    eventsAppliedSince: written && stateRevision > commit.revision,
  };
}
