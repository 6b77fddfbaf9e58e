// The orders in which a history reaches Kafka when it is loaded (issue 10: "whatever order history arrives in: topic by
// topic, customer by customer, newest first"). The scorer keeps up with each as it is published, so no consumer lag
// shows it a backlog: only its catch-up rules stand between a partial history and an alert.
import type { InputEvent } from '@churnscore/domain';

export interface LoadOrder {
  /** How the order reads in the report. */
  description: string;
  order(events: readonly InputEvent[]): InputEvent[];
}

const oldestFirst = (a: InputEvent, b: InputEvent): number => a.occurredAt - b.occurredAt;
const isBackground = (event: InputEvent): boolean => event.kind === 'contract' || event.kind === 'customer';

/** `npm run evaluate -- --load-order NAME`'s orders; `topics` is the reported one. */
export const LOAD_ORDERS = {
  // The order that used to page people for nothing: each customer looks "signed, no activity" until its activity arrives.
  topics: {
    description: 'contract and profile topics first, then the rest oldest first',
    order: (events) => [...events.filter(isBackground).sort(oldestFirst), ...events.filter((event) => !isBackground(event)).sort(oldestFirst)],
  },
  'newest-first': {
    description: 'every topic together, newest first',
    order: (events) => [...events].sort((a, b) => oldestFirst(b, a)),
  },
  // A migration that exports one account at a time: a customer's whole past arrives at once, its oldest month first.
  'by-customer': {
    description: "one customer after another, each one's history oldest first",
    order: (events) => [...events].sort((a, b) => (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : oldestFirst(a, b))),
  },
} as const satisfies Record<string, LoadOrder>;

export type LoadOrderName = keyof typeof LOAD_ORDERS;
export const LOAD_ORDER_NAMES = Object.keys(LOAD_ORDERS) as LoadOrderName[];
export const DEFAULT_LOAD_ORDER: LoadOrderName = 'topics';
