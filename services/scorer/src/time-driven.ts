import { InFlightWork, type Logger } from '@churnscore/observability';
import { anotherModelServes, modelRolloutMark, type StateStore, type WriteFence } from '@churnscore/state';
import type { AssignmentView } from './input-backlog';
import type { ScorerMetrics } from './metrics';
import type { ScoringPipeline } from './pipeline';

export interface TimeDrivenOptions {
  /** How often due-sets are polled when nothing is due: the bound on re-scoring delay. */
  pollIntervalMs: number;
  /** Customers claimed per round. */
  claimLimit: number;
  /**
   * Claims worked on at once: while one claim's customers wait for Redis and the broker (read, commit, produce),
   * another's are scored, so the scorer's thread and Redis's work at the same time instead of in turn.
   */
  concurrentClaims: number;
  /** A claim not completed within this (the instance died) becomes due again. */
  leaseMs: number;
  /** The scoring config this instance scores with (scoringConfigIdentity): it claims nothing while another model is in service. */
  model: string;
}

/**
 * How long an instance's word that it re-scores for time with the model in service holds: three poll intervals. It renews
 * it at every round, at least once a poll interval, so only an instance gone (or stuck) lets it lapse.
 */
export const modelServedForMs = (pollIntervalMs: number): number => 3 * pollIntervalMs;

/**
 * Re-scores customers whose scores can change with no input (SPEC §7). Runs inside every scorer
 * instance: claims are atomic per due-set shard, so instances share the work without coordination,
 * and each one only ever touches customers that are due (never a scan of all customers).
 */
export class TimeDrivenRescorer {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Customers were made due while a round ran: the next round starts at once. */
  private pollRequested = false;
  /** Each lane's claim in hand (claimed, re-scored, published), since when: a round may run for long, a claim may not. */
  readonly claimsInFlight = new InFlightWork();
  /**
   * At the last claim another model was in service, and whether its instances re-scored for time (logged when that
   * changes); null: this instance's model was in service.
   */
  private anotherModelInService: boolean | null = null;
  /** Since when (this instance's clock) another model has been in service with no instance of it re-scoring for time. */
  private unservedSince: number | null = null;
  /** This instance's model being rolled out again: the lanes of a round share it (one roll-out, one log line). */
  private rollingOutAgain: Promise<void> | null = null;

  constructor(
    private readonly store: StateStore,
    private readonly pipeline: Pick<ScoringPipeline, 'rescore'>,
    /** The Redis incarnation commits are fenced to now (the durability gate's): see WriteFence. */
    private readonly fence: () => WriteFence,
    private readonly clock: () => number,
    private readonly options: TimeDrivenOptions,
    private readonly metrics: ScorerMetrics,
    private readonly logger: Logger,
    /** Told of each failed round before the next: see AtLeastOnceConsumerOptions.onFailure. */
    private readonly onRoundFailed: (error: unknown) => void = () => undefined,
    /**
     * No customer is claimed while the backlog of the instance's input partitions is unknown (InputBacklog.assignmentKnown);
     * each claim first learns which partitions other instances are catching up with (InputBacklog.learnOthers).
     */
    private readonly inputs: AssignmentView = { assignmentKnown: true, learnOthers: () => Promise.resolve() },
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Customers were made due (their backlog caught up: their deferred scoring or held alerts wait no more): polls at once, not at the next interval. */
  pollNow(): void {
    this.pollRequested = true;
    this.wake?.();
  }

  /**
   * Claims and re-scores everything due now, `concurrentClaims` claims at a time; returns how many customers were
   * re-scored. Claims are atomic, so the lanes never get the same customer; a round ends once every lane has found
   * less than a full claim (or the rescorer is stopping), and only then: a failed lane leaves the others to finish
   * before the round's error is thrown, so that the next round never overlaps this one.
   */
  async runOnce(): Promise<number> {
    const lanes = await Promise.allSettled(Array.from({ length: this.options.concurrentClaims }, () => this.claimUntilDrained()));
    const failed = lanes.find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return lanes.reduce((total, lane) => total + (lane as PromiseFulfilledResult<number>).value, 0);
  }

  /** One lane of a round: claim, re-score, repeat while claims come back full. */
  private async claimUntilDrained(): Promise<number> {
    let total = 0;
    for (;;) {
      const claimed = await this.claimsInFlight.track(() => this.claimAndRescore());
      total += claimed;
      if (claimed < this.options.claimLimit || !this.running) return total;
    }
  }

  /**
   * Whether this instance re-scores for time: it runs the model in service, the last one rolled out (or none is marked),
   * and says so for the next modelServedForMs; or no instance running that model has said so lately.
   * An instance started with a new model makes every scored customer due for it, and one still running the model before
   * (a rolling restart, the new instance up before the old one is stopped) must leave that work to it: otherwise the
   * old instances claimed most of it and re-scored the customers with the old model, which nothing made due again (1,856
   * of 2,300 customers kept the old model's score once the old instances were stopped: an outside tester, 2026-12-06).
   * But if the new model's instances are gone (a canary stopped), the old ones must not leave the work to nobody; and
   * once none has re-scored for as long again as an instance's word holds (modelServedForMs), this one rolls its own
   * model out again, every scored customer made due, as at its start: otherwise the withdrawn model stayed on most
   * customers until their next due time, a day away (480 of 600 customers 150 s after a canary stopped: an outside
   * tester, 2026-12-07). Not at the first sight of the lapse: one whose round ran long may renew its word late. An
   * instance rolling a new model out says it re-scores for time before it makes the first customer due, and this one
   * leaves the work to it from then on: until 2026-12-07 it said so only once every customer was due and marked rolled
   * out, and the old instances meanwhile claimed the roll-out's customers (an outside tester's rolling restart left a
   * fifth of the base on the old model).
   */
  private async reScoresForTime(now: number): Promise<boolean> {
    const inService = await this.store.modelInService(now);
    const { rolledOut, servedBy } = inService;
    const { model, pollIntervalMs } = this.options;
    const own = modelRolloutMark(model);
    // Another model's instance re-scores: of the model in service, or rolling its own out (it says so first).
    const served = anotherModelServes(model, inService);
    if (!served && (rolledOut === null || rolledOut === own || servedBy === own)) {
      await this.store.markModelServed(model, now, modelServedForMs(pollIntervalMs));
      this.anotherModelInService = null;
      this.unservedSince = null;
      return true;
    }
    this.unservedSince = served ? null : (this.unservedSince ?? now);
    if (this.unservedSince !== null && now - this.unservedSince >= modelServedForMs(pollIntervalMs)) {
      this.rollingOutAgain ??= this.rollOutAgain(rolledOut, now).finally(() => (this.rollingOutAgain = null));
      await this.rollingOutAgain;
      return true;
    }
    if (served !== this.anotherModelInService) {
      this.logger.warn(
        { model, inService: rolledOut, servedBy },
        served
          ? 'another scoring model is in service, or being rolled out, and an instance running it re-scores for time: this one leaves the time-driven re-scoring, and the scoring of the events it consumes, to its instances'
          : 'another scoring model is in service, but no instance running it re-scores for time: this one does, with its own model',
      );
    }
    this.anotherModelInService = served;
    return !served;
  }

  /** Rolls this instance's model out again over `withdrawn`, the model whose instances are gone (reScoresForTime). */
  private async rollOutAgain(withdrawn: string | null, now: number): Promise<void> {
    const { model, pollIntervalMs } = this.options;
    const customers = await this.store.scheduleModelRollout(model, now, modelServedForMs(pollIntervalMs));
    this.logger.info(
      { model, withdrawn, customers },
      'the scoring model in service has had no instance re-scoring for time for three poll intervals: this one rolls its own model out again, every scored customer due now',
    );
    this.anotherModelInService = null;
    this.unservedSince = null;
  }

  /** One claim of due customers, re-scored; returns how many there were. */
  private async claimAndRescore(): Promise<number> {
    // The word renewed first: an instance waiting for its assignment (a rebalance) still re-scores for time.
    if (!(await this.reScoresForTime(this.clock())) || !this.inputs.assignmentKnown) return 0;
    await this.inputs.learnOthers();
    const now = this.clock();
    const claims = await this.store.claimDue(now, { limit: this.options.claimLimit, leaseMs: this.options.leaseMs });
    if (claims.length === 0) return 0;
    await this.pipeline.rescore(
      claims.map(({ customerId, leasedUntil }) => ({ customerId, cause: { kind: 'time' }, leasedUntil })),
      now,
      this.fence(),
    );
    this.metrics.rescored.inc(claims.length);
    return claims.length;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.pollRequested = false;
      try {
        await this.runOnce();
      } catch (error) {
        // Redis or the broker is away, or Redis was found replaced (the consumer loop rewinds and the gate
        // synchronises): the claims' leases bring the customers back; try again next round.
        this.onRoundFailed(error);
        this.logger.warn({ err: error }, 'time-driven re-scoring round failed');
      }
      // Stopped while the round ran (its wake-up found no sleep to end): no sleep, or a stop waits a poll interval (30 s by
      // default) and outlives its deadline (an outside tester's SIGTERM during a round exited 1, 3 runs of 3).
      if (this.pollRequested || !this.running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
