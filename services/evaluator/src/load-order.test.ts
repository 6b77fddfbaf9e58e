import type { InputEvent } from '@churnscore/domain';
import { sampleActivity, sampleContract, sampleCustomer } from '@churnscore/events/testing';
import { describe, expect, it } from 'vitest';
import { LOAD_ORDERS } from './load-order';

const DAY = 86_400_000;
const T = Date.UTC(2025, 0, 1);
const events = [
  sampleActivity({ customerId: 'b', eventId: 'b-old', occurredAt: T - 300 * DAY }),
  sampleContract({ customerId: 'a', eventId: 'a-contract', occurredAt: T - 200 * DAY }),
  sampleActivity({ customerId: 'a', eventId: 'a-new', occurredAt: T - DAY }),
  sampleCustomer({ customerId: 'b', eventId: 'b-profile', occurredAt: T - 400 * DAY }),
  sampleActivity({ customerId: 'a', eventId: 'a-old', occurredAt: T - 100 * DAY }),
];
const ids = (name: keyof typeof LOAD_ORDERS) => LOAD_ORDERS[name].order(events).map((event) => event.eventId);

describe('the load orders of npm run evaluate', () => {
  it('topics: contracts and profiles first, then the rest, each oldest first', () => {
    expect(ids('topics')).toEqual(['b-profile', 'a-contract', 'b-old', 'a-old', 'a-new']);
  });

  it('newest-first: every topic together, newest first', () => {
    expect(ids('newest-first')).toEqual(['a-new', 'a-old', 'a-contract', 'b-old', 'b-profile']);
  });

  it("by-customer: one customer's whole history, oldest first, then the next's", () => {
    expect(ids('by-customer')).toEqual(['a-contract', 'a-old', 'a-new', 'b-profile', 'b-old']);
  });

  it('publishes every event once, whatever the order', () => {
    const byId = (list: readonly InputEvent[]) => [...list].sort((a, b) => a.eventId.localeCompare(b.eventId));
    for (const order of Object.values(LOAD_ORDERS)) expect(byId(order.order(events))).toEqual(byId(events));
  });
});
