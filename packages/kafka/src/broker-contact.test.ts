import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BrokerContact, type ContactEvents } from './broker-contact';

const EVENTS = { GROUP_JOIN: 'consumer.group_join', REQUEST: 'consumer.network.request', CRASH: 'consumer.crash' } as const;

function fakeConsumer(): ContactEvents & { emit(event: string): void } {
  const emitter = new EventEmitter();
  return { events: EVENTS, on: (event, listener) => emitter.on(event, listener), emit: (event) => emitter.emit(event) } as ContactEvents & {
    emit(event: string): void;
  };
}

describe('BrokerContact', () => {
  it('is in touch once in its group, for as long as brokers answer within the limit', () => {
    let now = 0;
    const consumer = fakeConsumer();
    const contact = new BrokerContact(consumer, 10_000, () => now);
    expect(contact.inTouch).toBe(false);
    consumer.emit(EVENTS.GROUP_JOIN);
    expect(contact.inTouch).toBe(true);
    now = 9_000;
    consumer.emit(EVENTS.REQUEST);
    now = 19_000;
    expect(contact.inTouch).toBe(true);
    // A broker silent for longer than the limit: the consumer is still "joined", but not in touch.
    now = 19_001;
    expect(contact.inTouch).toBe(false);
    consumer.emit(EVENTS.REQUEST);
    expect(contact.inTouch).toBe(true);
  });

  it('is out of touch after a crash until it joins its group again, answers or not', () => {
    let now = 0;
    const consumer = fakeConsumer();
    const contact = new BrokerContact(consumer, 10_000, () => now);
    consumer.emit(EVENTS.GROUP_JOIN);
    consumer.emit(EVENTS.CRASH);
    now = 1;
    consumer.emit(EVENTS.REQUEST);
    expect(contact.inTouch).toBe(false);
    consumer.emit(EVENTS.GROUP_JOIN);
    expect(contact.inTouch).toBe(true);
  });
});
