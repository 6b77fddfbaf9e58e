import type { Logger } from '@churnscore/observability';
import type { CatchUpPolicy } from '@churnscore/scoring';

export interface HistoryLoadOptions {
  catchUp: CatchUpPolicy;
  /**
   * History events (older than the policy's history age) applied within its settle time that make a load: a unit of
   * work's worth (SCORER_CHUNK_SIZE), the backlog from which an input partition is far behind. Live traffic brings a
   * late record now and then (a meeting logged days after), never thousands a minute.
   */
  loadEvents: number;
  logger: Logger;
  /** Told when a load begins (true) or stops (false). */
  onChange?(loading: boolean): void;
}

/** What the pipeline asks of the history load (see HistoryLoad). */
export type HistoryLoadView = Pick<HistoryLoad, 'applied' | 'loading'>;

/**
 * Whether a load of history is arriving on this instance's inputs, as event time shows it rather than consumer lag: a
 * load published at the pace the scorer consumes it (a rate-limited `ingest`, an export one file per kind after another)
 * never puts a partition far behind, yet a customer whose contracts came first waits longer than the settle time for its
 * activity. While a load arrives, a customer whose alerts are held for its history arriving stays held
 * (CatchUpInput.historyLoading). One instance consumes every input partition of a customer (coPartitionedAssigner), so
 * it sees the load its customers' history is part of.
 */
export class HistoryLoad {
  /** When history events were applied, and how many, oldest first, within the settle time. */
  private readonly arrivals: Array<{ at: number; count: number }> = [];
  private inWindow = 0;
  private wasLoading = false;

  constructor(private readonly options: HistoryLoadOptions) {}

  /** Notes the events applied at `now` (when each occurred): those older than the history age are history. */
  applied(occurredAt: readonly number[], now: number): void {
    const historyBefore = now - this.options.catchUp.historyAgeMs;
    const count = occurredAt.filter((at) => at < historyBefore).length;
    if (count === 0) return;
    this.arrivals.push({ at: now, count });
    this.inWindow += count;
  }

  /** Whether at least loadEvents history events were applied within the settle time before `now`. */
  loading(now: number): boolean {
    const windowStart = now - this.options.catchUp.settleMs;
    while (this.arrivals.length > 0 && this.arrivals[0]!.at <= windowStart) this.inWindow -= this.arrivals.shift()!.count;
    const loading = this.inWindow >= this.options.loadEvents;
    if (loading !== this.wasLoading) this.changed(loading);
    return loading;
  }

  private changed(loading: boolean): void {
    this.wasLoading = loading;
    this.options.logger.info(
      { historyEventsWithinSettleTime: this.inWindow },
      loading
        ? 'history is being loaded: customers whose alerts are held for their history arriving stay held while it arrives'
        : 'the load of history stopped: customers held for it are released at their next recheck',
    );
    this.options.onChange?.(loading);
  }
}
