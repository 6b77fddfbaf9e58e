// Helpers for tests of simulated populations: what a customer's contract events say as of an instant, when it
// churned by them, and the instants training takes snapshots at.
import { ACTIVE_CONTRACT_STATUSES, MS_PER_DAY, type ContractEvent } from '@churnscore/domain';
import type { CustomerHistory } from './generator';

const ACTIVE: ReadonlySet<string> = new Set(ACTIVE_CONTRACT_STATUSES);

export const contractEvents = (customer: CustomerHistory): ContractEvent[] =>
  customer.events.filter((event): event is ContractEvent => event.kind === 'contract');

/** Each contract's state as of `instant`: its latest event by then (events are in the store's latest-wins order). */
export function contractsAsOf(customer: CustomerHistory, instant: number): ContractEvent[] {
  const latest = new Map<string, ContractEvent>();
  for (const event of contractEvents(customer)) if (event.occurredAt <= instant) latest.set(event.contractId, event);
  return [...latest.values()];
}

export const isActiveContract = (contract: ContractEvent): boolean => ACTIVE.has(contract.status);

/** The instant its last active contract ended (cancelled or expired) by its events; null while it still holds one. */
export function churnedAt(customer: CustomerHistory): number | null {
  const status = new Map<string, string>();
  let endedAt: number | null = null;
  for (const event of contractEvents(customer)) {
    status.set(event.contractId, event.status);
    endedAt = [...status.values()].some((value) => ACTIVE.has(value)) ? null : event.occurredAt;
  }
  return endedAt;
}

/** The end of each `everyDays`-th UTC day from `fromDay` to `toDay`: as-of instants as training takes them. */
export function asOfInstants(fromDay: number, toDay: number, everyDays = 7): number[] {
  const instants: number[] = [];
  for (let day = fromDay; day <= toDay; day += everyDays) instants.push((day + 1) * MS_PER_DAY - 1);
  return instants;
}

/** The value at quantile q (0–1) of a list of numbers. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}
