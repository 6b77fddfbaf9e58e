// applyEvents-5.lua: a customer's input events applied to its state, idempotently and in any order.
import { hash } from 'node:crypto';
import { MS_PER_DAY, dedupeKey, type InputEvent } from '@churnscore/domain';
import { packForLua, type LuaPackValue } from '../lua-pack';
import { APPLY_OP, opsForEvent, opsAsValues, opsValueCount } from '../apply-ops';
import type { CustomerKeyPart, CustomerKeys } from '../keys';
import { EVENT_DIGEST_BYTES, LUA_LAYOUT, MS_PER_HOUR, watermarkField } from '../layout';
import { argumentOffsets, keysOf, scriptArgs, type ScriptDefinition, type ScriptInvocation, type ScriptRunner } from './lua-script';

export interface ApplyItem {
  event: InputEvent;
  topic: string;
  partition: number;
  /** Kafka offset, as kafkajs gives it (a decimal string). */
  offset: string;
  /**
   * The clock for this item (epoch ms) instead of the batch's `now`: pass the Kafka record's timestamp to
   * make a replay take exactly the dedupe and retention decisions the live run took.
   */
  receivedAt?: number;
  /**
   * Every record of the item's partition below this offset is settled: applied, or refused and dead-lettered. The
   * store keeps the offsets it refuses until they are settled, and judges such a record again when it is consumed
   * again (a crash may have lost its dead-lettering); a caller that dead-letters refusals before handing over the next
   * records of the partition passes the offset of the first record it hands over. Default: none known settled.
   */
  settledBelow?: string;
}

/**
 * `fenced`: the server is not one `ApplyOptions.fence` names; nothing was written. `refused`: the event would add a
 * ticket, opportunity or contract to a customer that holds `maxEntities` of them already; nothing but the watermark
 * changed, and the event is judged again, not `redelivered`, if it is consumed again before it is settled
 * (`ApplyItem.settledBelow`; see lua/applyEvents-5.lua). `predatesErasure`: the event occurred at or before the
 * customer's latest erasure request (STATE_FIELD.erasedTo); nothing but the watermark changed.
 */
export type ApplyOutcome = 'applied' | 'duplicate' | 'redelivered' | 'refused' | 'fenced' | 'predatesErasure';

/** The outcomes the script answers with, one per event. */
const APPLY_OUTCOME = {
  applied: 'applied',
  duplicate: 'duplicate',
  redelivered: 'redelivered',
  refused: 'refused',
  fenced: 'fenced',
  predatesErasure: 'predatesErasure',
} as const satisfies { [O in ApplyOutcome]: O };
const OUTCOMES: ReadonlySet<string> = new Set(Object.values(APPLY_OUTCOME));

export interface ApplyOptions {
  /**
   * The run id(s) of the Redis server(s) the writes are meant for (`RedisIdentity.runId`). A server that
   * restarted or took over since may lack the caller's last writes: there each item is refused as
   * `fenced`, so that re-consuming the lost events from committed offsets is not mistaken for redelivery.
   */
  fence?: string;
}

export interface ApplyResult {
  outcome: ApplyOutcome;
  /** The customer's revision after this item. */
  revision: number;
}

/** What the store's options decide about applying. */
export interface ApplySettings {
  retentionDays: number;
  dedupeWindowDays: number;
  maxEntities: number;
}

/**
 * The most events of one customer one apply call carries. A call runs alone on its Redis server, so this
 * bounds how long a customer's backlog can hold Redis (a few milliseconds), and the call's argument list.
 */
const APPLY_EVENTS_PER_CALL = 200;

const KEYS = ['state', 'act', 'ent', 'seen', 'seenIndex'] as const satisfies readonly CustomerKeyPart[];
const ARGS = ['retentionDays', 'dedupeWindowHours', 'maxEntities', 'fence', 'events'] as const;
/** Each event's group of values in the packed `events` argument; its operations follow it. */
const EVENT_ARGS = ['clock', 'occurredAt', 'watermark', 'offset', 'digest', 'settledBelow', 'operationCount'] as const;

export const APPLY_EVENTS_SCRIPT: ScriptDefinition = {
  name: 'applyEvents',
  keys: KEYS,
  args: ARGS,
  constants: { LAYOUT: LUA_LAYOUT, OUTCOME: APPLY_OUTCOME, OP: APPLY_OP, EVENT: argumentOffsets(EVENT_ARGS) },
};

/**
 * What identifies an event in the dedupe window: the first bytes of SHA-1 of its dedupeKey (a collision is ~2⁻⁶⁴ per
 * pair). The one-shot `hash` (a third cheaper than a Hash object per event) hashes a string's UTF-8 bytes.
 */
const eventDigest = (event: InputEvent): Buffer => hash('sha1', dedupeKey(event), 'buffer').subarray(0, EVENT_DIGEST_BYTES);

/** One item's group of values. @throws RangeError for an event the store cannot apply (an erasure request, a day out of range). */
function encodeApplyItem({ event, topic, partition, offset, receivedAt, settledBelow }: ApplyItem, now: number): LuaPackValue[] {
  const operations = opsForEvent(event);
  const values = scriptArgs(EVENT_ARGS, {
    clock: receivedAt ?? now,
    occurredAt: event.occurredAt,
    watermark: watermarkField(topic, partition),
    offset,
    digest: eventDigest(event),
    settledBelow: settledBelow ?? '',
    operationCount: opsValueCount(operations),
  });
  return opsAsValues(operations, values);
}

/**
 * One call for encoded items of one customer, in the order given. The events travel as one MessagePack array (the
 * script unpacks it with Redis's `cmsgpack`) rather than as a dozen arguments each: ioredis's cost is per argument
 * (checking, measuring and writing each into the command), and it was the scorer's largest single cost in a backlog.
 */
function applyEventsCall(keys: CustomerKeys, encodedItems: readonly LuaPackValue[][], settings: ApplySettings, fence: string): ScriptInvocation {
  const dedupeWindowHours = (settings.dedupeWindowDays * MS_PER_DAY) / MS_PER_HOUR;
  return {
    keys: keysOf(KEYS, keys),
    args: scriptArgs(ARGS, { retentionDays: settings.retentionDays, dedupeWindowHours, maxEntities: settings.maxEntities, fence, events: packForLua(encodedItems) }),
  };
}

/** The reply's (outcome, revision) pairs, one per item of the call. */
function parseApplyEventsReply(reply: unknown, itemCount: number): ApplyResult[] {
  const flat = reply as unknown[];
  return Array.from({ length: itemCount }, (_, n) => {
    const outcome = flat[2 * n];
    if (typeof outcome !== 'string' || !OUTCOMES.has(outcome)) throw new Error(`applyEvents answered an unknown outcome: ${String(outcome)}`);
    return { outcome: outcome as ApplyOutcome, revision: Number(flat[2 * n + 1]) };
  });
}

/**
 * Applies items: per customer, its events in the order given, in calls of at most APPLY_EVENTS_PER_CALL events
 * one after another, so a backlog of any size never holds Redis for long nor overflows the argument list.
 * Customers run concurrently (pipelined). Every item is encoded before the first call, so a malformed batch
 * applies nothing.
 */
export async function applyEvents(
  run: ScriptRunner,
  keysOfCustomer: (customerId: string) => CustomerKeys,
  settings: ApplySettings,
  items: readonly ApplyItem[],
  now: number,
  { fence = '' }: ApplyOptions = {},
): Promise<ApplyResult[]> {
  // Per customer, its items' positions and encoded values side by side: an object per item was garbage.
  const byCustomer = new Map<string, { itemIndexes: number[]; encoded: LuaPackValue[][] }>();
  items.forEach((item, itemIndex) => {
    let ofCustomer = byCustomer.get(item.event.customerId);
    if (ofCustomer === undefined) {
      ofCustomer = { itemIndexes: [], encoded: [] };
      byCustomer.set(item.event.customerId, ofCustomer);
    }
    ofCustomer.itemIndexes.push(itemIndex);
    ofCustomer.encoded.push(encodeApplyItem(item, now));
  });
  const results = new Array<ApplyResult>(items.length);
  await Promise.all(
    [...byCustomer].map(async ([customerId, { itemIndexes, encoded }]) => {
      const keys = keysOfCustomer(customerId);
      for (let from = 0; from < encoded.length; from += APPLY_EVENTS_PER_CALL) {
        const to = Math.min(from + APPLY_EVENTS_PER_CALL, encoded.length);
        const reply = await run(applyEventsCall(keys, encoded.slice(from, to), settings, fence));
        parseApplyEventsReply(reply, to - from).forEach((result, n) => {
          results[itemIndexes[from + n]!] = result;
        });
      }
    }),
  );
  return results;
}
