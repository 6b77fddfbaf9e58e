// Whether a consumer is in touch with Kafka, for readiness: kafkajs tells of a broker it lost only in its retries'
// logs, and a consumer that joined its group stays "joined" through an outage of any length.
import type { Consumer } from 'kafkajs';

/** What `BrokerContact` needs of a kafkajs consumer: the events that say it joined, heard from a broker or crashed. */
export interface ContactEvents {
  readonly events: Pick<Consumer['events'], 'GROUP_JOIN' | 'REQUEST' | 'CRASH'>;
  on(eventName: Consumer['events']['GROUP_JOIN'] | Consumer['events']['REQUEST'] | Consumer['events']['CRASH'], listener: () => void): unknown;
}

/**
 * In touch: in its group (joined since its last crash) and answered by a broker (any request: a fetch, a heartbeat,
 * a commit) within `silenceLimitMs`. A consumer in its group hears from a broker at least every fetch wait (5 s by
 * default, when there is nothing to read) and every heartbeat interval, so the group's session timeout, after which
 * the broker itself would take the member for gone, is the natural limit.
 */
export class BrokerContact {
  private joined = false;
  private lastAnswerAt = Number.NEGATIVE_INFINITY;

  constructor(
    consumer: ContactEvents,
    private readonly silenceLimitMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.joined = true;
      this.lastAnswerAt = this.now();
    });
    consumer.on(consumer.events.REQUEST, () => {
      this.lastAnswerAt = this.now();
    });
    consumer.on(consumer.events.CRASH, () => {
      this.joined = false;
    });
  }

  get inTouch(): boolean {
    return this.joined && this.now() - this.lastAnswerAt <= this.silenceLimitMs;
  }
}
