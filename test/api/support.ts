// A read API under test: the scorer test bed (own topics, subjects, consumer group and key prefix, the
// real scorer in-process) seeded with the test portfolio, and the real API started over the same Redis
// namespace and output topics.
import { loadConfig } from '@churnscore/config';
import type { InputEvent } from '@churnscore/domain';
import { createLogger, type Logger } from '@churnscore/observability';
import { defaultScoringConfig, type ScoringConfig } from '@churnscore/scoring';
import { startApi, type RunningApi } from '../../services/api/src/index';
import { eventually, ManualClock, ScorerTestBed } from '../scorer/support';
import { DAY, portfolioEvents } from './portfolio';

export { eventually } from '../scorer/support';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

/**
 * The instant the API tests' scorer scores as of. Pinned: simulated histories are laid out backwards from
 * it, and a clock that followed the calendar changed which UTC days and weekdays they fell on, and so the
 * scores, from one day to the next.
 */
export const API_TEST_NOW = Date.UTC(2026, 5, 15, 12, 0, 0);

export class ApiTestBed extends ScorerTestBed {
  /** The scorer's clock, fixed so that every score is computed as of the same instant. */
  readonly clock = new ManualClock(API_TEST_NOW);
  private readonly apis: RunningApi[] = [];
  /** Distinct eventIds published per customer: the revision its state reaches once all are applied. */
  private readonly eventIds = new Map<string, Set<string>>();

  /**
   * A scorer on the bed's clock that takes what the tests publish for live traffic. The portfolios are laid out
   * backwards from the pinned clock (contracts signed 500 days before it), some customers silent for weeks, and the
   * tests read their alerts at once; as a history load they would be held for the catch-up settle time
   * (docs/time-and-alerts.md "Loading history"), which the pinned clock never reaches.
   */
  override startScorer(options: Parameters<ScorerTestBed['startScorer']>[0] = {}): ReturnType<ScorerTestBed['startScorer']> {
    return super.startScorer({ clock: this.clock.now, ...options, settings: { catchUpHistoryAgeMs: 1_000 * DAY, ...options.settings } });
  }

  /**
   * Topics, subjects and the scorer; then the portfolio, waiting until every customer's last event is scored and the
   * alerts the portfolio supports are published: a customer's first record is its profile, which holds its alerts as
   * the first of a history until the hold settles (docs/time-and-alerts.md), so the clock moves on past that.
   */
  async seed(): Promise<void> {
    await this.setUp();
    await this.startScorer();
    const events = portfolioEvents(this.clock.now());
    await this.publishAndWait(events);
    this.clock.set(this.clock.now() + this.config().scorer.catchUpSettleMs + 1_000);
    const customers = [...new Set(events.map((event) => event.customerId))];
    await eventually(
      () => this.store.readCustomers(customers, this.clock.now()),
      (snapshots) => snapshots.every((s) => s.alertBook?.held === undefined && s.outbox.length === 0),
      60_000,
      'the portfolio’s catch-up holds to settle',
    );
  }

  /**
   * Publishes events and waits until the scorer has applied every one of them (each distinct eventId counts
   * once in a customer's revision), scored the result and published its outputs.
   */
  async publishAndWait(events: readonly InputEvent[]): Promise<void> {
    for (const event of events) {
      const ids = this.eventIds.get(event.customerId) ?? new Set<string>();
      ids.add(event.eventId);
      this.eventIds.set(event.customerId, ids);
    }
    await this.publish(events);
    const customers = [...new Set(events.map((event) => event.customerId))];
    await eventually(
      () => this.store.readCustomers(customers, this.clock.now()),
      (snapshots) =>
        snapshots.every(
          (s) => s.state.revision === this.eventIds.get(s.customerId)?.size && s.score?.revision === s.state.revision && s.outbox.length === 0,
        ),
      90_000,
      `the scorer to score ${customers.length} customers`,
    );
  }

  /**
   * Starts the API over this bed's namespace and topics; `API_TOKEN` set when a token is given, else run open; with
   * the shipped default scoring config unless another is given (its model card looked for beside `scoringConfigPath`
   * when one is given).
   */
  async startApi(options: { token?: string; scoring?: ScoringConfig; scoringConfigPath?: string; logger?: Logger } = {}): Promise<RunningApi> {
    const api = await startApi({
      config: loadConfig({
        ...this.env(),
        ...(options.token === undefined ? { API_ALLOW_ANONYMOUS: 'true' } : { API_TOKEN: options.token }),
        ...(options.scoringConfigPath === undefined ? {} : { SCORING_CONFIG_PATH: options.scoringConfigPath }),
      }),
      scoring: options.scoring ?? defaultScoringConfig(),
      logger: options.logger ?? createLogger({ name: 'api-test', level: 'warn' }),
      port: 0,
      host: '127.0.0.1',
    });
    this.apis.push(api);
    return api;
  }

  /** Waits until the API's live-update consumer is in its group, so events published from now on reach its streams. */
  async liveUpdatesReady(api: RunningApi): Promise<void> {
    await eventually(async () => api.liveFeed.connected, Boolean, 60_000, 'the live-update consumer to join its group');
  }

  override async tearDown(): Promise<void> {
    await Promise.all(this.apis.splice(0).map((api) => api.stop()));
    await super.tearDown();
  }
}

export interface ReceivedEvent {
  event: string;
  data: unknown;
}

/** A Server-Sent Events client over fetch (so it can send the Authorization header), for the tests. */
export class EventStreamClient {
  private readonly received: ReceivedEvent[] = [];
  private readonly abort = new AbortController();
  private readonly waiters = new Set<() => void>();

  /** The stream's response headers. */
  headers = new Headers();

  private constructor() {}

  static async open(url: string, token?: string): Promise<EventStreamClient> {
    const client = new EventStreamClient();
    const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: client.abort.signal });
    if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
    client.headers = response.headers;
    void client.read(response.body);
    return client;
  }

  /** Resolves with the first event (received so far or later) that `matches`. */
  async next(matches: (event: ReceivedEvent) => boolean, timeoutMs = 30_000): Promise<ReceivedEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(matches);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event in ${timeoutMs} ms; received: ${JSON.stringify(this.received).slice(0, 2_000)}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  close(): void {
    this.abort.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) this.received.push({ event, data: JSON.parse(data) });
        }
        for (const wake of [...this.waiters]) wake();
      }
    } catch (error) {
      if (!this.abort.signal.aborted) throw error;
    }
  }
}
