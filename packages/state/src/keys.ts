// The Redis key contract (docs/redis-contract.md). Every key of one customer carries the same hash tag,
// `{<encoded customerId>}`, so each per-customer Lua script touches a single slot and runs on Redis Cluster.
import { TEXT_FIELD_MAX_LENGTH, hasActiveContract, textLengthProblem, type LifecycleStage } from '@churnscore/domain';

/** This version of the key contract (docs/redis-contract.md, "Prefix and versioning"): a claimed namespace records it (`contract`). */
export const KEY_CONTRACT_VERSION = 'chs:v7';
/** The namespace of this version of the key contract. */
export const DEFAULT_PREFIX = KEY_CONTRACT_VERSION;
export const DEFAULT_DUE_SHARDS = 16;

/**
 * Percent-encodes every character matched by `unsafe` (which must be a global regex), as %XX of its
 * UTF-16 code unit; `%` itself must be among them so that `percentDecode` is an exact inverse.
 */
export function percentEncode(value: string, unsafe: RegExp): string {
  return value.replace(unsafe, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function percentDecode(value: string): string {
  // Most ids escape nothing; a read decodes every entity id of a customer.
  if (!value.includes('%')) return value;
  return value.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

// `}` would end the hash tag early and `{` would make the key ambiguous to read; `%` is the escape itself.
// `:` needs no escaping: the tag is delimited by braces, not colons.
const KEY_UNSAFE = /[%{}]/g;

/** How a customerId (or a segment name) appears inside a key. Reversible with `decodeKeyPart`. */
export const encodeKeyPart = (value: string): string => percentEncode(value, KEY_UNSAFE);
export const decodeKeyPart = percentDecode;

/**
 * The per-customer keys, all `<prefix>:cust:{<id>}:<part>`. Order matters: the Lua scripts receive
 * subsets of them as KEYS in the order their headers document. `backfill` is the score history computed from
 * event time by `npm run backfill` (backfilled-history.ts), written by no script.
 */
export const CUSTOMER_KEY_PARTS = ['state', 'act', 'ent', 'seen', 'seenIndex', 'score', 'explanation', 'insights', 'alerts', 'outbox', 'history', 'backfill'] as const;
export type CustomerKeyPart = (typeof CUSTOMER_KEY_PARTS)[number];
export type CustomerKeys = Record<CustomerKeyPart, string>;

export const RANKING_METRICS = ['churnRisk', 'valueAtRisk', 'health'] as const;
export type RankingMetric = (typeof RANKING_METRICS)[number];

/**
 * The ranking every scored customer is in: a customer without an active contract has no contract value, so a value at
 * risk of 0, at the end of it.
 */
export const EVERY_CUSTOMER_RANKING = 'valueAtRisk' satisfies RankingMetric;

/**
 * Whether a customer at this lifecycle stage is in the metric's rankings. Churn risk and health rank the customers
 * that can churn, those with an active contract: a churned customer has already gone and a prospect has nothing to
 * lose, so their risk and health (the churn model is learnt from customers under contract alone) would only crowd
 * the top of a "most at risk" or "least healthy" list, and the dashboard's counts of high risk and red health, with
 * customers nobody can save (docs/redis-contract.md, Rankings).
 */
export const rankedIn = (metric: RankingMetric, stage: LifecycleStage): boolean => metric === EVERY_CUSTOMER_RANKING || hasActiveContract(stage);

/**
 * The revision of the rules that decide which ranking or index holds whom (rankedIn, indexes.ts): 2, the churn-risk
 * and health rankings hold the customers under contract alone; 3, the resolved-alert index. A scorer bringing another
 * one re-scores every stored customer once (store.ts, scheduleModelRollout), whose follow-ups enter it by the new rules.
 */
export const INDEX_RULES_REVISION = 3;

/**
 * Bounds a key's size with the customerId length rule of input validation (code points), so any id validation
 * accepts makes a key. The character rule is validation's alone: ids stored before it existed stay readable.
 */
function assertCustomerId(customerId: string): void {
  const problem = textLengthProblem(customerId, TEXT_FIELD_MAX_LENGTH.customerId);
  if (problem !== null) throw new RangeError(`customerId ${problem}`);
}

/** FNV-1a (32-bit) over the UTF-8 bytes: stable across processes and languages, so any client can find a shard. */
export function fnv1a32(value: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(value, 'utf8')) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash;
}

/** Customers whose key names a key schema keeps at hand (~1 KB each): more than a unit of work touches. */
const KEYS_OF_CUSTOMERS_REMEMBERED = 10_000;

export interface KeySchema {
  readonly prefix: string;
  readonly dueShards: number;
  customer(customerId: string): CustomerKeys;
  ranking(metric: RankingMetric, segment?: string | null): string;
  dueShardOf(customerId: string): number;
  dueShard(shard: number): string;
  /** Customers with at least one OPEN alert, scored by value at risk: the index of open alerts. */
  readonly openAlerts: string;
  /**
   * Customers whose alert book holds a RESOLVED episode, scored by when the latest resolved: the index of recently
   * resolved alerts, kept to the RESOLVED_ALERTS_INDEXED most recent (indexes.ts).
   */
  readonly resolvedAlerts: string;
  /** The explanations' legends (explanation-codec.ts): what every explanation of one scorecard and churn model shares, by name. */
  readonly legends: string;
  readonly epoch: string;
  /** The key contract version the namespace was claimed under (KEY_CONTRACT_VERSION; none: before chs:v6). */
  readonly contract: string;
  /** On a Redis Cluster, an epoch key on the master that holds hash tag `tag` (connection.ts, claimNamespace). */
  masterEpoch(tag: number): string;
  /**
   * On a Redis Cluster, the tags of epoch keys put on masters that held none of the namespace's listed tags (masters
   * added, or slots moved, after the claim; connection.ts, coverEveryMaster): a set, so that scorers add to it at once.
   */
  readonly addedEpochTags: string;
  /** The input partitions' offsets the namespace's scorers committed (input-offsets.ts). */
  readonly inputOffsets: string;
  /**
   * On a Redis Cluster, the same record kept on the master that holds hash tag `tag` (that of its epoch key): a master
   * that comes back without its last writes comes back without their record too (input-offsets.ts).
   */
  masterInputOffsets(tag: number): string;
  /** Per input partition, the last record the namespace's scorers committed past: its offset and digest. */
  readonly inputLastRecords: string;
  /** The input partitions their owning scorer instance is catching up with (partitions-behind.ts). */
  readonly inputsBehind: string;
  /** Set, expiring, while a scorer instance sees a load of history arriving on its inputs (partitions-behind.ts). */
  readonly historyLoading: string;
  /**
   * What the namespace's scored customers were last all made due for (store.ts, scheduleModelRollout): the scoring
   * config version and the index rules' revision (rankings and alert indexes).
   */
  readonly rolledOutModel: string;
  /** The rollout mark of the model an instance running it re-scores for time with, expiring unless such an instance renews it. */
  readonly servedModel: string;
}

export function keySchema(prefix: string = DEFAULT_PREFIX, dueShards: number = DEFAULT_DUE_SHARDS): KeySchema {
  if (/[{}]/.test(prefix) || prefix.length === 0) {
    throw new RangeError(`key prefix must be non-empty and free of hash-tag braces, got "${prefix}"`);
  }
  if (!Number.isInteger(dueShards) || dueShards < 1) {
    throw new RangeError(`dueShards must be a positive integer, got ${dueShards}`);
  }
  const customerBase = (customerId: string) => {
    assertCustomerId(customerId);
    return `${prefix}:cust:{${encodeKeyPart(customerId)}}`;
  };
  // Every call of a unit of work (apply, read, commit, acknowledge) asks for the keys of its customers again.
  const recentCustomers = new Map<string, CustomerKeys>();
  return {
    prefix,
    dueShards,
    customer(customerId) {
      let customerKeys = recentCustomers.get(customerId);
      if (customerKeys === undefined) {
        const base = customerBase(customerId);
        customerKeys = Object.freeze(Object.fromEntries(CUSTOMER_KEY_PARTS.map((part) => [part, `${base}:${part}`])) as CustomerKeys);
        if (recentCustomers.size >= KEYS_OF_CUSTOMERS_REMEMBERED) recentCustomers.clear();
        recentCustomers.set(customerId, customerKeys);
      }
      return customerKeys;
    },
    ranking(metric, segment) {
      const overall = `${prefix}:rank:${metric}`;
      return segment == null ? overall : `${overall}:seg:${encodeKeyPart(segment)}`;
    },
    dueShardOf(customerId) {
      return fnv1a32(customerId) % dueShards;
    },
    dueShard(shard) {
      return `${prefix}:due:{${shard}}`;
    },
    openAlerts: `${prefix}:alerts:open`,
    resolvedAlerts: `${prefix}:alerts:resolved`,
    legends: `${prefix}:legends`,
    epoch: `${prefix}:epoch`,
    contract: `${prefix}:contract`,
    masterEpoch: (tag) => `${prefix}:epoch:{${tag}}`,
    addedEpochTags: `${prefix}:epoch:added`,
    inputOffsets: `${prefix}:inputs`,
    masterInputOffsets: (tag) => `${prefix}:inputs:{${tag}}`,
    inputLastRecords: `${prefix}:inputs:last`,
    inputsBehind: `${prefix}:inputs:behind`,
    historyLoading: `${prefix}:inputs:history-loading`,
    rolledOutModel: `${prefix}:model`,
    servedModel: `${prefix}:model:served`,
  };
}
