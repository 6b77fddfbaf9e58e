// Live updates come from the scorer's output topics, not from polling Redis: every score change and alert
// transition is already published there, decoded with the same codec as any subscriber, with no delay and
// no load on Redis that grows with the number of customers. Each API instance reads both topics in a
// consumer group of its own (a random suffix), from the latest offset, and never commits: a restarted
// instance has nothing to catch up on (its dashboards reload what they show), and the empty group is
// forgotten by the broker.
import { randomBytes } from 'node:crypto';
import type { TopicNames } from '@churnscore/config';
import { hasActiveContract, type AlertEpisode, type ScoreCause } from '@churnscore/domain';
import type { EventCodec, OutputEvent, ScoreValues } from '@churnscore/events';
import { BrokerContact, TopicsWatch, missingTopics } from '@churnscore/kafka';
import type { Logger } from '@churnscore/observability';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { ApiMetrics } from './metrics';
import type { SseMessage } from './sse-hub';

/** The `score` live event: a customer's headline scores changed. */
export interface ScoreUpdate {
  customerId: string;
  version: number;
  cause: ScoreCause['kind'];
  segment: string | null;
  previous: ScoreValues | null;
  current: ScoreValues;
  modelVersion: string;
  computedAt: number;
  /** Computed while the customer's history was still loading: its alerts wait, and the score may move on as the rest arrives. */
  catchingUp: boolean;
  /** As the customer views' `underContract`: whether the current score's stage has an active contract. */
  underContract: boolean;
}

/** The `alert` live event: an alert episode opened, was raised in severity, or resolved. */
export interface AlertUpdate extends AlertEpisode {
  version: number;
  updatedAt: number;
}

export type LiveMessage =
  | { event: 'score'; data: ScoreUpdate }
  | { event: 'alert'; data: AlertUpdate }
  /** A tombstone: the customer was erased and must disappear from every view. */
  | { event: 'erased'; data: { customerId: string } };

function toLiveMessage(event: OutputEvent): LiveMessage {
  if (event.kind === 'alert') {
    const { kind: _kind, modelVersion: _modelVersion, ...alert } = event;
    return { event: 'alert', data: alert };
  }
  const { customerId, version, cause, segment, previous, current, modelVersion, computedAt, catchingUp } = event;
  const underContract = hasActiveContract(current.lifecycleStage);
  return { event: 'score', data: { customerId, version, cause: cause.kind, segment, previous, current, modelVersion, computedAt, catchingUp, underContract } };
}

export interface LiveFeedOptions {
  kafka: Kafka;
  codec: EventCodec;
  topics: Pick<TopicNames, 'scoreChanged' | 'alerts'>;
  /** Prefix of the instance's own consumer group id. */
  groupPrefix: string;
  publish(message: SseMessage): void;
  metrics: ApiMetrics;
  logger: Logger;
}

/**
 * Pause before trying again when the broker cannot be reached at all, or the consumer crashed: kafkajs would restart
 * it after 300 ms, so an output topic deleted under the API made it crash and restart several times a second.
 */
const RESTART_DELAY_MS = 5_000;
/** The consumer's session timeout (kafkajs's default), and so how long a broker may stay silent before the feed says it is not live. */
const SESSION_TIMEOUT_MS = 30_000;
/** How often the feed looks whether a broker went silent: a broker that went away sends no event to say so. */
const CONTACT_CHECK_INTERVAL_MS = 1_000;
/**
 * How often the feed looks whether its topics still exist (one metadata request). A deleted output topic sends no
 * event either: kafkajs retries the fetches of its partitions for a minute and a half before its consumer crashes, and
 * the feed said it was live all that while.
 */
const TOPICS_CHECK_INTERVAL_MS = 5_000;

class OutputTopicMissingError extends Error {
  constructor(missing: readonly string[]) {
    super(`output topic ${missing.map((topic) => `"${topic}"`).join(' and ')} does not exist`);
  }
}

export class LiveFeed {
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private contactTimer: NodeJS.Timeout | null = null;
  private topicsWatch: TopicsWatch | null = null;
  private stopped = false;
  private isConnected = false;
  readonly groupId: string;

  constructor(private readonly options: LiveFeedOptions) {
    this.groupId = `${options.groupPrefix}-${randomBytes(6).toString('hex')}`;
  }

  /** True while the consumer is in its group and in touch with a broker, so every event published from now on reaches the streams. */
  get connected(): boolean {
    return this.isConnected;
  }

  /** Starts in the background: the API serves reads whether or not Kafka is reachable. */
  start(): void {
    this.run().catch((error: unknown) => this.retryLater(error));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
    this.setConnected(false);
  }

  private clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.contactTimer) clearInterval(this.contactTimer);
    this.topicsWatch?.stop();
  }

  /** Not live until a start, RESTART_DELAY_MS from now, succeeds. */
  private retryLater(error: unknown): void {
    this.options.logger.warn({ err: error, retryInMs: RESTART_DELAY_MS }, 'live updates unavailable: cannot consume the output topics');
    this.clearTimers();
    this.setConnected(false);
    if (!this.stopped) this.restartTimer = setTimeout(() => this.start(), RESTART_DELAY_MS);
  }

  private get outputTopics(): string[] {
    return [this.options.topics.scoreChanged, this.options.topics.alerts];
  }

  private async connectedAdmin(): Promise<Admin> {
    if (this.admin === null) {
      this.admin = this.options.kafka.admin();
      await this.admin.connect();
    }
    return this.admin;
  }

  /** @throws OutputTopicMissingError naming an output topic the brokers do not have; any other error when they cannot be asked. */
  private async requireTopics(): Promise<void> {
    const missing = await missingTopics(await this.connectedAdmin(), this.outputTopics);
    if (missing.length > 0) throw new OutputTopicMissingError(missing);
  }

  /** A deleted topic stops the consumer at once and starts it again later; brokers that cannot be asked are BrokerContact's to judge. */
  private async watchTopics(consumer: Consumer): Promise<void> {
    this.topicsWatch?.stop();
    this.topicsWatch = new TopicsWatch(
      await this.connectedAdmin(),
      this.outputTopics,
      (missing) => {
        if (this.consumer !== consumer) return;
        this.retryLater(new OutputTopicMissingError(missing));
        void consumer.disconnect().catch(() => undefined);
      },
      TOPICS_CHECK_INTERVAL_MS,
    );
    this.topicsWatch.start();
  }

  private async run(): Promise<void> {
    const { kafka, topics, logger } = this.options;
    await this.consumer?.disconnect();
    this.consumer = null;
    await this.requireTopics();
    const consumer = kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: SESSION_TIMEOUT_MS,
      // Partitions added to an output topic are read from their latest offset once the consumer's metadata shows them:
      // within the topics' check interval, before the scorer's producer (five minutes, kafkajs's default) writes there.
      metadataMaxAge: TOPICS_CHECK_INTERVAL_MS,
      // kafkajs waits for the answer before it restarts the consumer after a retriable crash.
      retry: { restartOnFailure: () => new Promise((resolve) => setTimeout(() => resolve(!this.stopped), RESTART_DELAY_MS).unref()) },
    });
    this.consumer = consumer;
    const contact = new BrokerContact(consumer, SESSION_TIMEOUT_MS);
    if (this.contactTimer) clearInterval(this.contactTimer);
    this.contactTimer = setInterval(() => this.setConnected(contact.inTouch), CONTACT_CHECK_INTERVAL_MS).unref();
    consumer.on(consumer.events.GROUP_JOIN, () => this.setConnected(contact.inTouch));
    consumer.on(consumer.events.DISCONNECT, () => this.setConnected(false));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.setConnected(false);
      logger.warn({ err: payload.error, restart: payload.restart }, 'live-update consumer crashed');
      // kafkajs restarts itself after a retriable error; after any other, start over.
      if (!payload.restart && !this.stopped) this.start();
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.scoreChanged, topics.alerts], fromBeginning: false });
    await consumer.run({ autoCommit: false, eachMessage: ({ topic, message }) => this.handle(topic, message) });
    await this.watchTopics(consumer);
  }

  private async handle(topic: string, message: KafkaMessage): Promise<void> {
    const { codec, publish, metrics, logger } = this.options;
    if (message.value === null) {
      // Only the first tombstone of an erasure is shown; the other topic carries the same news.
      if (topic === this.options.topics.scoreChanged && message.key) {
        metrics.liveEvents.inc({ type: 'erased' });
        publish({ event: 'erased', data: { customerId: message.key.toString('utf8') } });
      }
      return;
    }
    const decoded = await codec.decodeOutput(topic, message.key, message.value);
    if (!decoded.ok) {
      metrics.liveEvents.inc({ type: 'undecodable' });
      logger.warn({ topic, offset: message.offset, reason: decoded.rejection.reason }, 'live update skipped: undecodable output record');
      return;
    }
    const live = toLiveMessage(decoded.event);
    metrics.liveEvents.inc({ type: live.event });
    publish(live);
  }

  private setConnected(connected: boolean): void {
    if (connected === this.isConnected) return;
    this.isConnected = connected;
    this.options.metrics.liveFeedConnected.set(connected ? 1 : 0);
    this.options.publish({ event: 'status', data: { live: connected } });
  }
}
