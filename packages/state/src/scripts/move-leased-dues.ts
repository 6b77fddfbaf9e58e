// moveLeasedDues-1.lua: customers of one due shard moved from their claim's lease to their next due time, each only
// while its entry still holds that lease.
import type { ScriptDefinition, ScriptInvocation } from './lua-script';

/** A customer re-scored for time: the end of the lease its claim put in its due entry, and where the entry goes now. */
export interface LeasedDue {
  customerId: string;
  leasedUntil: number;
  /** null: the customer leaves the due shard. */
  dueAt: number | null;
}

/** Each customer's arguments, in this order ('' for a due time of null). */
const PER_CUSTOMER = ['customerId', 'leasedUntil', 'dueAt'] as const;

export const MOVE_LEASED_DUES_SCRIPT: ScriptDefinition = {
  name: 'moveLeasedDues',
  keys: ['dueShard'],
  args: [],
  constants: { PER_CUSTOMER: { size: PER_CUSTOMER.length, leasedUntil: PER_CUSTOMER.indexOf('leasedUntil'), dueAt: PER_CUSTOMER.indexOf('dueAt') } },
};

export const moveLeasedDuesCall = (shardKey: string, dues: readonly LeasedDue[]): ScriptInvocation => ({
  keys: [shardKey],
  args: dues.flatMap((due) => PER_CUSTOMER.map((name) => due[name] ?? '')),
});
