// readCustomer-7.lua: everything the scorer needs about one customer, read in one atomic snapshot.
import type { AlertBook, CustomerState } from '@churnscore/domain';
import type { CustomerKeyPart, CustomerKeys } from '../keys';
import type { ExplanationLegends } from '../explanation-codec';
import { LUA_LAYOUT, STATE_FIELD, type OutboxEntry } from '../layout';
import { decodeCustomerState, pairsToRecord } from '../read-state';
import { decodeAlertBook, decodeOutboxEntry, decodeStoredScore, type StoredScore } from '../score-codec';
import { keysOf, type ScriptDefinition, type ScriptInvocation } from './lua-script';

export interface CustomerSnapshot {
  customerId: string;
  state: CustomerState;
  /** Which life of the customer's state this is (the state hash's incarnation; '' before its first event): a commit names it. */
  incarnation: string;
  score: StoredScore | null;
  /** The alert book stored by the last commit, or null. */
  alertBook: AlertBook | null;
  /** Entries committed but not yet acknowledged: publish them (again) and ack. */
  outbox: OutboxEntry[];
  /** The segment from the latest customer-profile event (the same as state.segment). */
  segment: string | null;
}

const KEYS = ['state', 'act', 'ent', 'score', 'explanation', 'alerts', 'outbox'] as const satisfies readonly CustomerKeyPart[];

export const READ_CUSTOMER_SCRIPT: ScriptDefinition = { name: 'readCustomer', keys: KEYS, args: [], constants: { LAYOUT: LUA_LAYOUT } };

export const readCustomerCall = (keys: CustomerKeys): ScriptInvocation => ({ keys: keysOf(KEYS, keys), args: [] });

type ReadCustomerReply = [state: string[], act: string | null, ent: string | null, score: string[], explanation: string | null, alerts: string | null, outbox: string[]];

/**
 * The reply's stored explanations: the score's, and the outbox entries waiting to be published, each with the
 * explanation it was committed with (the score's, put back, or an older one that a later commit put back into it).
 */
export const explanationsInReply = (reply: unknown): Array<string | null> => {
  const [, , , , explanation, , outbox] = reply as ReadCustomerReply;
  return [explanation, ...outbox];
};

/** The snapshot as of `asOf`: only what lies inside the retention horizon then. `legends` knows the explanation's (ExplanationLegends.learn). */
export function parseReadCustomerReply(reply: unknown, customerId: string, asOf: number, retentionDays: number, legends: ExplanationLegends): CustomerSnapshot {
  const [stateFlat, act, ent, scoreFlat, explanation, alertBook, outbox] = reply as ReadCustomerReply;
  const stateFields = pairsToRecord(stateFlat);
  const state = decodeCustomerState(customerId, stateFields, act, ent, asOf, retentionDays);
  return {
    customerId,
    state,
    incarnation: stateFields[STATE_FIELD.incarnation] ?? '',
    score: decodeStoredScore(customerId, pairsToRecord(scoreFlat), explanation, legends),
    alertBook: decodeAlertBook(customerId, alertBook),
    outbox: outbox.map((entry) => decodeOutboxEntry(entry, legends)),
    segment: state.segment,
  };
}
