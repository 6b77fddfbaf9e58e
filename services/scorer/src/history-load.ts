import type { Logger } from '@churnscore/observability';
import type { CatchUpPolicy } from '@churnscore/scoring';

/**
 * The fewest history events (older than the history age) applied within the settle time that make a load, when they are
 * also most of what was applied: a quiet live namespace's few late records (a meeting logged days after) are no load,
 * and an outside tester's kind-by-kind load at 120 events a second over two instances (60 each) was seen within two
 * seconds. A unit of work's worth (5,000) went unseen for 90 s, and released customers before their activity came.
 */
export const HISTORY_LOAD_MIN_EVENTS = 100;

export interface HistoryLoadOptions {
  catchUp: CatchUpPolicy;
  logger: Logger;
  /** Where the instances of a namespace tell each other that they see a load (`<p>:inputs:history-loading`). None: alone. */
  shared?: SharedHistoryLoad;
  /** Told when a load begins (true) or stops (false), as loading sees it: here or said by another instance. */
  onChange?(loading: boolean): void;
}

/** Where an instance says until when it sees a load (on the scorers' clock), and the others read it. */
export interface SharedHistoryLoad {
  record(until: number): Promise<void>;
  /** Until when an instance last said it sees a load; null: none said. */
  read(): Promise<number | null>;
}

/** What the pipeline asks of the history load (see HistoryLoad). */
export type HistoryLoadView = Pick<HistoryLoad, 'applied' | 'share' | 'loading'>;

/**
 * Whether a load of history is arriving on this instance's inputs, as event time shows it rather than consumer lag: a
 * load published at the pace the scorer consumes it (a rate-limited `ingest`, an export one file per kind after another)
 * never puts a partition far behind, yet a customer whose contracts came first waits longer than the settle time for its
 * activity. While a load arrives, a customer whose alerts are held for its history arriving stays held
 * (CatchUpInput.historyLoading). One instance consumes every input partition of a customer (coPartitionedAssigner), so
 * it sees the load its customers' history is part of; it tells the others (SharedHistoryLoad), whose time-driven loops
 * recheck its held customers too.
 */
export class HistoryLoad {
  /** When events were applied, how many, and how many of them were history, oldest first, within the settle time. */
  private readonly arrivals: Array<{ at: number; applied: number; history: number }> = [];
  private appliedInWindow = 0;
  private historyInWindow = 0;
  private wasLoading = false;
  /** When this instance last told the others it sees a load (share), or null. */
  private sharedAt: number | null = null;
  /** Until when an instance said it sees a load, as last learnt (learnOthers). */
  private loadingSaidUntil = -Infinity;

  constructor(private readonly options: HistoryLoadOptions) {}

  /** Notes the events applied at `now` (when each occurred): those older than the history age are history. */
  applied(occurredAt: readonly number[], now: number): void {
    if (occurredAt.length === 0) return;
    const historyBefore = now - this.options.catchUp.historyAgeMs;
    const history = occurredAt.filter((at) => at < historyBefore).length;
    this.arrivals.push({ at: now, applied: occurredAt.length, history });
    this.appliedInWindow += occurredAt.length;
    this.historyInWindow += history;
  }

  /**
   * Tells the other instances, while this one sees a load, that it does, for the settle time: again once a tenth of it
   * has passed, so that they see it end at most that much before this instance does.
   */
  async share(now: number): Promise<void> {
    const { shared, catchUp } = this.options;
    if (shared === undefined || !this.loadingHere(now)) return;
    if (this.sharedAt !== null && now - this.sharedAt < catchUp.settleMs / 10) return;
    await shared.record(now + catchUp.settleMs);
    this.sharedAt = now;
  }

  /** Learns whether another instance sees a load: before each claim of customers due, as InputBacklog.learnOthers. */
  async learnOthers(): Promise<void> {
    this.loadingSaidUntil = (await this.options.shared?.read()) ?? -Infinity;
  }

  /** Whether a load of history arrives: seen here, or said by another instance when last learnt. Told to onChange when that changes. */
  loading(now: number): boolean {
    const loading = this.loadingHere(now) || now < this.loadingSaidUntil;
    if (loading !== this.wasLoading) this.changed(loading);
    return loading;
  }

  /**
   * Whether, of the events applied here within the settle time before `now`, at least HISTORY_LOAD_MIN_EVENTS were
   * history and they were at least half: live traffic brings late records among many more live ones.
   */
  private loadingHere(now: number): boolean {
    const windowStart = now - this.options.catchUp.settleMs;
    while (this.arrivals.length > 0 && this.arrivals[0]!.at <= windowStart) {
      const { applied, history } = this.arrivals.shift()!;
      this.appliedInWindow -= applied;
      this.historyInWindow -= history;
    }
    return this.historyInWindow >= HISTORY_LOAD_MIN_EVENTS && 2 * this.historyInWindow >= this.appliedInWindow;
  }

  private changed(loading: boolean): void {
    this.wasLoading = loading;
    this.options.logger.info(
      { historyEventsWithinSettleTime: this.historyInWindow, eventsWithinSettleTime: this.appliedInWindow },
      loading
        ? 'history is being loaded: customers whose alerts are held for their history arriving stay held while it arrives'
        : 'the load of history stopped: the customers held during it are made due now',
    );
    this.options.onChange?.(loading);
  }
}
