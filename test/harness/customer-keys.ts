import type { KeySchema } from '@churnscore/state';

/** Glob matching every key of one customer, for SCAN MATCH: the glob characters `*?[]\` of the id (and prefix) escaped. */
export function customerKeysPattern(keys: KeySchema, customerId: string): string {
  const stateKey = keys.customer(customerId).state;
  return `${stateKey.slice(0, stateKey.lastIndexOf(':')).replace(/[*?[\]\\]/g, '\\$&')}:*`;
}
