// An in-memory StateStore for unit tests of its callers, shared as `@churnscore/state/testing`. It keeps the
// store's contract where a caller can tell: per-(topic, partition) watermarks, eventId dedupe and the bound on entities (maxEntities) on apply,
// the fence on applies, commits and the record of inputs handled, write-only-if-newer and the compare-and-set on the score and the state
// incarnation a commit was based on, versions and outbox sequence numbers as commitScore-7.lua assigns them (without generation
// floors), acknowledgement. It keeps no aggregates: a customer's state is what the test sets with
// `setState`, its revision counting the applied events. `journal` records the calls in order.
import { ticketOf, type CustomerState, type InputEvent, type ScoreChangedMessage } from '@churnscore/domain';
import type { RedisIdentity, ReplicationProgress } from '../connection';
import type { InputOffset } from '../input-offsets';
import { DEFAULT_DUE_SHARDS, DEFAULT_PREFIX, keySchema } from '../keys';
import { decodeCustomerState } from '../read-state';
import type { OutboxEntry } from '../layout';
import type { StoredScore } from '../score-codec';
import type { ApplyItem, ApplyOptions, ApplyResult } from '../scripts/apply-events';
import type { DueClaim } from '../scripts/claim-due';
import type { CommitOptions, CommitResult, ScoreCommit } from '../scripts/commit-score';
import type { CustomerSnapshot } from '../scripts/read-customer';
import { DEFAULT_DEDUPE_WINDOW_DAYS, DEFAULT_MAX_ENTITIES, DEFAULT_RETENTION_DAYS, modelRolloutMark, type ModelInService, type StateStore } from '../store';

interface StoredCustomer {
  state: CustomerState;
  /** '' until its first applied event; an erasure starts another. */
  incarnation: string;
  score: StoredScore | null;
  alertBook: CustomerSnapshot['alertBook'];
  outbox: OutboxEntry[];
  outboxSeq: number;
  watermarks: Map<string, bigint>;
  eventIds: Set<string>;
  /** The tickets, opportunities and contracts of its applied events, by kind and id. */
  entities: Set<string>;
  /** Per watermark, the offsets refused and not yet settled (`ApplyItem.settledBelow`): judged again when redelivered. */
  refused: Map<string, Set<bigint>>;
}

/** The ticket, opportunity or contract an event is about (kind and id), or null. */
function entityOf(event: InputEvent): string | null {
  switch (event.kind) {
    case 'opportunity':
      return `opportunity:${event.opportunityId}`;
    case 'contract':
      return `contract:${event.contractId}`;
    case 'activity': {
      const ticketId = ticketOf(event);
      return ticketId === null ? null : `ticket:${ticketId}`;
    }
    case 'customer':
      return null;
  }
}

export class InMemoryStateStore implements StateStore {
  readonly keys = keySchema(DEFAULT_PREFIX, DEFAULT_DUE_SHARDS);
  readonly retentionDays = DEFAULT_RETENTION_DAYS;
  readonly dedupeWindowDays = DEFAULT_DEDUPE_WINDOW_DAYS;
  /** The bound on tickets, opportunities and contracts per customer (here none ever ages out). */
  maxEntities = DEFAULT_MAX_ENTITIES;
  /** The server writes land on: applies and commits fenced to another run id are refused. */
  runId = 'run-1';
  /** Called as each commit is judged, before anything is compared: lets a test land another writer first. */
  beforeCommit: ((commit: ScoreCommit) => void) | undefined;
  /** Due times as last scheduled (null: none). */
  readonly due = new Map<string, number | null>();
  /** The lease of each customer last committed as re-scored for time (CommitOptions.leases). */
  private readonly leases = new Map<string, number>();
  private readonly customers = new Map<string, StoredCustomer>();
  private incarnations = 0;

  constructor(readonly journal: string[] = []) {}

  /** Sets what a customer's state holds (its revision stays the store's). */
  setState(customerId: string, state: Partial<Omit<CustomerState, 'customerId' | 'revision'>>): void {
    const customer = this.customer(customerId);
    customer.state = { ...customer.state, ...state };
  }

  /** The stored score, alert book and un-acknowledged outbox of a customer, as a read would give them. */
  stored(customerId: string): Pick<CustomerSnapshot, 'score' | 'alertBook' | 'outbox'> {
    const { score, alertBook, outbox } = this.customer(customerId);
    return { score, alertBook, outbox: [...outbox] };
  }

  applyEvents(items: readonly ApplyItem[], _now: number, { fence = '' }: ApplyOptions = {}): Promise<ApplyResult[]> {
    this.journal.push(`apply ${items.map((item) => item.event.eventId).join(' ')}`);
    return Promise.resolve(
      items.map(({ event, topic, partition, offset, settledBelow }): ApplyResult => {
        const customer = this.customer(event.customerId);
        if (fence !== '' && fence !== this.runId) return { outcome: 'fenced', revision: customer.state.revision };
        const watermark = `${topic}:${partition}`;
        const refused = customer.refused.get(watermark) ?? new Set<bigint>();
        customer.refused.set(watermark, refused);
        if (settledBelow !== undefined) for (const at of refused) if (at < BigInt(settledBelow)) refused.delete(at);
        if (BigInt(offset) <= (customer.watermarks.get(watermark) ?? -1n)) {
          if (!refused.has(BigInt(offset))) return { outcome: 'redelivered', revision: customer.state.revision };
        } else {
          customer.watermarks.set(watermark, BigInt(offset));
        }
        refused.delete(BigInt(offset));
        if (customer.eventIds.has(event.eventId)) return { outcome: 'duplicate', revision: customer.state.revision };
        const entity = entityOf(event);
        if (entity !== null && !customer.entities.has(entity) && customer.entities.size >= this.maxEntities) {
          refused.add(BigInt(offset));
          return { outcome: 'refused', revision: customer.state.revision };
        }
        customer.eventIds.add(event.eventId);
        if (entity !== null) customer.entities.add(entity);
        customer.state = { ...customer.state, revision: customer.state.revision + 1 };
        if (customer.incarnation === '') customer.incarnation = `incarnation-${(this.incarnations += 1)}`;
        return { outcome: 'applied', revision: customer.state.revision };
      }),
    );
  }

  readCustomers(customerIds: readonly string[]): Promise<CustomerSnapshot[]> {
    this.journal.push(`read ${customerIds.join(' ')}`);
    return Promise.resolve(
      customerIds.map((customerId) => {
        const { state, incarnation, score, alertBook, outbox } = this.customer(customerId);
        return { customerId, state, incarnation, score, alertBook, outbox: [...outbox], segment: state.segment };
      }),
    );
  }

  commitScores(commits: readonly ScoreCommit[], { fence, leases }: CommitOptions = {}): Promise<CommitResult[]> {
    for (const [customerId, leasedUntil] of leases ?? []) this.leases.set(customerId, leasedUntil);
    return Promise.resolve(commits.map((commit) => this.commit(commit, fence)));
  }

  ackOutbox(customerId: string, upToSeq: number): Promise<number> {
    this.journal.push(`ack ${customerId} ${upToSeq}`);
    const customer = this.customer(customerId);
    const before = customer.outbox.length;
    customer.outbox = customer.outbox.filter((entry) => entry.seq > upToSeq);
    return Promise.resolve(before - customer.outbox.length);
  }

  scheduleDue(customerId: string, dueAt: number | null): Promise<void> {
    this.due.set(customerId, dueAt);
    return Promise.resolve();
  }

  // Each call completes before the next: no due time can be decided from a score learned before another's. A due entry
  // moves from a lease only while it holds it, as moveLeasedDues-1.lua moves it.
  followDeliveries(commits: readonly ScoreCommit[]): Promise<void> {
    for (const commit of commits) this.moveFromLease(commit.score.customerId, this.leases.get(commit.score.customerId), commit.nextDueAt);
    return Promise.resolve();
  }

  followStoredScores(leases: ReadonlyMap<string, number>): Promise<void> {
    for (const [customerId, leasedUntil] of leases) {
      const { score, outbox } = this.customer(customerId);
      if (outbox.length === 0) this.moveFromLease(customerId, leasedUntil, score?.nextDueAt ?? null);
    }
    return Promise.resolve();
  }

  private moveFromLease(customerId: string, leasedUntil: number | undefined, dueAt: number | null): void {
    if (leasedUntil === undefined || this.due.get(customerId) === leasedUntil) this.due.set(customerId, dueAt);
  }

  scheduleDueBy(customerIds: readonly string[], dueAt: number): Promise<void> {
    for (const customerId of customerIds) {
      const current = this.due.get(customerId);
      if (current === undefined || current === null || current > dueAt) this.due.set(customerId, dueAt);
    }
    return Promise.resolve();
  }

  claimDue(now: number, { limit, leaseMs }: { limit: number; leaseMs: number }): Promise<DueClaim[]> {
    const claims = [...this.due]
      .flatMap(([customerId, dueAt]) => (dueAt !== null && dueAt <= now ? [{ customerId, dueAt, leasedUntil: now + leaseMs }] : []))
      .slice(0, limit);
    for (const { customerId, leasedUntil } of claims) this.due.set(customerId, leasedUntil);
    return Promise.resolve(claims);
  }

  /** The rollout mark of the scoring config version the store's scored customers were last all made due for. */
  private rolledOutModel: string | null = null;

  scheduleModelRollout(model: string, now: number, servedForMs: number): Promise<number | null> {
    this.servedModel = { mark: modelRolloutMark(model), until: now + servedForMs };
    if (this.rolledOutModel === modelRolloutMark(model)) return Promise.resolve(null);
    const scored = [...this.customers].flatMap(([customerId, { score }]) => (score === null ? [] : [customerId]));
    this.rolledOutModel = modelRolloutMark(model);
    return this.scheduleDueBy(scored, now).then(() => scored.length);
  }

  /** The rollout mark an instance running it last said it re-scores for time with, and until when. */
  private servedModel: { mark: string; until: number } | null = null;

  modelInService(now: number): Promise<ModelInService> {
    const servedBy = this.servedModel !== null && this.servedModel.until > now ? this.servedModel.mark : null;
    return Promise.resolve({ rolledOut: this.rolledOutModel, servedBy });
  }

  markModelServed(model: string, now: number, forMs: number): Promise<void> {
    this.servedModel = { mark: modelRolloutMark(model), until: now + forMs };
    return Promise.resolve();
  }

  /** The customer's state dropped; its older events are not refused afterwards, nor a repeated request superseded (the real store's erasedTo is not modelled). */
  eraseCustomer(customerId: string, _erasedAt: number): Promise<{ deleted: number; superseded: boolean }> {
    this.journal.push(`erase ${customerId}`);
    const existed = this.customers.delete(customerId);
    this.due.delete(customerId);
    return Promise.resolve({ deleted: existed ? 1 : 0, superseded: false });
  }

  /** Kept nowhere (what reads the record, the scorer's start checks and its guard, runs against Redis only), but fenced as Redis fences it. */
  recordInputsHandled(_handled: readonly InputOffset[], fence: RedisIdentity): Promise<'recorded' | 'fenced'> {
    return Promise.resolve(fence.runId !== '' && fence.runId !== this.runId ? 'fenced' : 'recorded');
  }

  identity(): Promise<RedisIdentity> {
    return Promise.resolve({ runId: this.runId, epoch: 'epoch', addedMasterEpochs: {}, serverTimeMs: 0 });
  }

  /** A server without replicas: nothing to wait for. */
  replication(): Promise<ReplicationProgress[]> {
    return Promise.resolve([{ master: this.runId, written: 0, confirmed: Infinity, connectedReplicas: 0 }]);
  }

  private customer(customerId: string): StoredCustomer {
    let customer = this.customers.get(customerId);
    if (!customer) {
      // What the store reads for a customer it never saw: no keys at all.
      const state = decodeCustomerState(customerId, {}, null, null, 0, this.retentionDays);
      customer = { state, incarnation: '', score: null, alertBook: null, outbox: [], outboxSeq: 0, watermarks: new Map(), eventIds: new Set(), entities: new Set(), refused: new Map() };
      this.customers.set(customerId, customer);
    }
    return customer;
  }

  private commit(commit: ScoreCommit, fence: CommitOptions['fence']): CommitResult {
    const { customerId } = commit.score;
    this.journal.push(`commit ${customerId}`);
    this.beforeCommit?.(commit);
    const customer = this.customer(customerId);
    const stored = customer.score;
    const refused = (result: Pick<CommitResult, 'conflict' | 'fenced'>): CommitResult => ({
      written: false,
      ...result,
      version: stored?.version ?? 0,
      previousScore: stored,
      outbox: [],
      eventsAppliedSince: false,
    });
    if (fence !== undefined && fence.runId !== this.runId) return refused({ conflict: false, fenced: true });
    const token = (score: { revision: number; asOf: number } | null) => (score === null ? '' : `${score.revision}:${score.asOf}`);
    if (token(stored) !== token(commit.basedOn)) return refused({ conflict: true, fenced: false });
    if (customer.state.revision > 0 && customer.incarnation !== commit.incarnation) return refused({ conflict: true, fenced: false });
    const isNewer = stored === null || commit.revision > stored.revision || (commit.revision === stored.revision && commit.asOf > stored.asOf);
    if (customer.state.revision === 0 || !isNewer) return refused({ conflict: false, fenced: false });

    const [first] = commit.outbox;
    const scoreChanged: ScoreChangedMessage | null = first?.kind === 'score-changed' ? first : null;
    const version = (stored?.version ?? 0) + (scoreChanged === null ? 0 : 1);
    const written = { revision: commit.revision, asOf: commit.asOf, nextDueAt: commit.nextDueAt, version, generation: fence?.generation ?? '' };
    customer.score = scoreChanged !== null || stored === null ? { ...commit.score, ...written, catchingUp: scoreChanged?.catchingUp ?? false } : { ...stored, ...written };
    customer.alertBook = commit.alertBook;
    const earlier = customer.outbox;
    const appended = commit.outbox.map((value) => {
      customer.outboxSeq += 1;
      return { seq: customer.outboxSeq, version: value === scoreChanged ? version : customer.outboxSeq, value };
    });
    customer.outbox = [...earlier, ...appended];
    return {
      written: true,
      conflict: false,
      fenced: false,
      version,
      previousScore: stored,
      outbox: [...customer.outbox],
      eventsAppliedSince: customer.state.revision > commit.revision,
    };
  }
}
