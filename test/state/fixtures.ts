// Shared by the state integration tests: a store under a key prefix of its own (files run in parallel
// against one Redis), builders of valid events, and a feed that gives each event its Kafka coordinates.
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { ACTIVITY_TYPES, CONTRACT_STATUSES, OPPORTUNITY_STAGES, alertId, alertMessage, scoreChangedMessage } from '@churnscore/domain';
import type {
  ActivityEvent,
  AlertEpisode,
  AlertMessage,
  ActivityType,
  ContractEvent,
  ContractStatus,
  CustomerEvent,
  CustomerInsights,
  Explanation,
  InputEvent,
  OpportunityEvent,
  OpportunityStage,
  Score,
  ScoreChangedMessage,
} from '@churnscore/domain';
import { STATE_FIELD, createStateStore } from '@churnscore/state';
import type { ApplyItem, RedisClient, StateStore, StateStoreOptions } from '@churnscore/state';
import { testStack, uniqueName } from '../harness/stack';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const MINUTE = 60_000;
/** The injected clock of most tests: 2025-06-01T12:00Z, UTC day 20240. */
export const NOW = Date.UTC(2025, 5, 1, 12);

export interface StateTestContext {
  redis: Redis;
  store: StateStore;
  prefix: string;
  /** Every key under the test's prefix (SCAN, never KEYS). */
  keysUnderPrefix(): Promise<string[]>;
  /** Deletes the test's keys and closes the connection. */
  close(): Promise<void>;
}

export async function scanAll(redis: RedisClient, pattern: string): Promise<string[]> {
  const nodes = 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis as Redis];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  return found.sort();
}

export async function openStateTest(name: string, options: StateStoreOptions = {}): Promise<StateTestContext> {
  const redis = new Redis(testStack().redisUrl);
  const prefix = uniqueName(`state-${name}`);
  const store = createStateStore(redis, { ...options, prefix });
  const keysUnderPrefix = () => scanAll(redis, `${prefix}:*`);
  return {
    redis,
    store,
    prefix,
    keysUnderPrefix,
    async close() {
      const keys = await keysUnderPrefix();
      if (keys.length > 0) await redis.unlink(...keys);
      await redis.quit();
    },
  };
}

let nextEventNumber = 0;
const envelope = (customerId: string, occurredAt: number, eventId?: string) => ({
  eventId: eventId ?? `evt-${++nextEventNumber}`,
  customerId,
  occurredAt,
  source: 'test',
});

export function activity(
  customerId: string,
  activityType: ActivityType,
  occurredAt: number,
  extra: Partial<Pick<ActivityEvent, 'eventId' | 'value' | 'ticketId' | 'slaBreached'>> = {},
): ActivityEvent {
  const { eventId, ...fields } = extra;
  return { ...envelope(customerId, occurredAt, eventId), kind: 'activity', activityType, value: null, ticketId: null, slaBreached: null, ...fields };
}

export function opportunity(
  customerId: string,
  opportunityId: string,
  stage: OpportunityStage,
  occurredAt: number,
  extra: Partial<Pick<OpportunityEvent, 'eventId' | 'amount' | 'probability' | 'openQuotes'>> = {},
): OpportunityEvent {
  const { eventId, ...fields } = extra;
  return {
    ...envelope(customerId, occurredAt, eventId),
    kind: 'opportunity',
    opportunityId,
    stage,
    amount: 1000,
    currency: 'USD',
    probability: null,
    openQuotes: null,
    ...fields,
  };
}

export function contract(
  customerId: string,
  contractId: string,
  status: ContractStatus,
  occurredAt: number,
  extra: Partial<Pick<ContractEvent, 'eventId' | 'totalValue' | 'startDate' | 'endDate'>> = {},
): ContractEvent {
  const { eventId, ...fields } = extra;
  return {
    ...envelope(customerId, occurredAt, eventId),
    kind: 'contract',
    contractId,
    contractType: 'SUBSCRIPTION',
    totalValue: 12_000,
    currency: 'USD',
    startDate: Date.UTC(2025, 0, 1),
    endDate: Date.UTC(2026, 0, 1),
    status,
    ...fields,
  };
}

export function profile(customerId: string, segment: string | null, occurredAt: number, eventId?: string): CustomerEvent {
  return { ...envelope(customerId, occurredAt, eventId), kind: 'customer', segment, erase: false };
}

const TOPIC_OF_KIND: Record<InputEvent['kind'], string> = {
  activity: 'crm.activity.v1',
  opportunity: 'crm.opportunity.v1',
  contract: 'crm.contract.v1',
  customer: 'crm.customer.v1',
};

/** Hands out Kafka coordinates the way a consumer sees them: per topic, partition 0, increasing offsets. */
/** Every byte the apply script keeps for a customer: to prove that a call changed nothing, or two ways of applying alike. */
export async function storedBytes(t: StateTestContext, customerId: string) {
  const k = t.store.keys.customer(customerId);
  return {
    state: withoutIncarnation(await t.redis.hgetall(k.state)),
    act: await t.redis.getBuffer(k.act),
    ent: await t.redis.getBuffer(k.ent),
    seen: await t.redis.getBuffer(k.seen),
  };
}

/**
 * A state hash's fields, its incarnation stamp only said to be there: the stamp is when the state was created, which two
 * stores given the same events never share.
 */
function withoutIncarnation(state: Record<string, string>): Record<string, string> {
  const { [STATE_FIELD.incarnation]: incarnation, ...rest } = state;
  return incarnation === undefined ? rest : { ...rest, [STATE_FIELD.incarnation]: 'stamped' };
}

// For property tests. Few distinct instants, so that ties on occurredAt (broken by eventId) are common; some lie
// beyond the 400-day retention horizon, where events change no window but still decide entity state.
export const eventInstant = fc.constantFrom(...[0, 1, 2, 30, 200, 399, 401, 600].map((days) => NOW - days * DAY), NOW - HOUR, NOW + HOUR);

/** An event of any kind for a customer at an instant. */
export type EventDraft = (customerId: string, occurredAt: number) => InputEvent;
export const eventDraft: fc.Arbitrary<EventDraft> = fc.oneof(
  fc
    .record({
      type: fc.constantFrom(...ACTIVITY_TYPES),
      value: fc.option(fc.double({ min: -2, max: 1e6, noNaN: true, noDefaultInfinity: true })),
      ticketId: fc.option(fc.constantFrom('T1', 'T2')),
      slaBreached: fc.option(fc.boolean()),
    })
    .map(({ type, ...extra }): EventDraft => (c, at) => activity(c, type, at, extra)),
  fc
    .record({ id: fc.constantFrom('O1', 'O2'), stage: fc.constantFrom(...OPPORTUNITY_STAGES), amount: fc.integer({ min: 0, max: 1e7 }) })
    .map(({ id, stage, amount }): EventDraft => (c, at) => opportunity(c, id, stage, at, { amount })),
  fc
    .record({ id: fc.constantFrom('C1', 'C2'), status: fc.constantFrom(...CONTRACT_STATUSES) })
    .map(({ id, status }): EventDraft => (c, at) => contract(c, id, status, at)),
  fc.option(fc.constantFrom('SMB', 'ENTERPRISE')).map((segment): EventDraft => (c, at) => profile(c, segment, at)),
);

export class Feed {
  private readonly nextOffset = new Map<string, number>();

  items(...events: InputEvent[]): ApplyItem[] {
    return events.map((event) => {
      const topic = TOPIC_OF_KIND[event.kind];
      const offset = this.nextOffset.get(topic) ?? 0;
      this.nextOffset.set(topic, offset + 1);
      return { event, topic, partition: 0, offset: String(offset) };
    });
  }
}

const EMPTY_EXPLANATION: Explanation = { scorecardId: 'steady', measures: [], churnFeatures: [], topDrivers: [] };

/** A valid Score for commit tests; only what a test sets matters. */
export function score(customerId: string, fields: Partial<Score> = {}): Score {
  return {
    customerId,
    health: 50,
    band: 'yellow',
    churnRisk: 0.3,
    riskBand: 'medium',
    lifecycleStage: 'MATURE',
    valueAtRisk: 3_600,
    segment: null,
    explanation: EMPTY_EXPLANATION,
    modelVersion: 'test-1',
    computedAt: NOW,
    ...fields,
  };
}

/** The score-changed message that publishes `published` (what a significant commit carries first in its outbox). */
export const scoreChanged = (published: Score): ScoreChangedMessage =>
  scoreChangedMessage({ current: published, previous: null, cause: { kind: 'time' } });

/** The customer's CHURN_RISK_HIGH episode `n`, open. */
export const alertEpisode = (customerId: string, n: number): AlertEpisode => ({
  alertId: alertId(customerId, 'CHURN_RISK_HIGH', n),
  customerId,
  alertType: 'CHURN_RISK_HIGH',
  status: 'OPEN',
  severity: 'LOW',
  episode: n,
  openedAt: NOW,
  resolvedAt: null,
  valueAtRisk: 0,
  churnRisk: 0.8,
  health: 30,
  band: 'red',
  reason: 'test',
});

/** An alert message of the customer; `n` tells messages apart. */
export const alert = (customerId: string, n: number): AlertMessage => alertMessage(alertEpisode(customerId, n), { modelVersion: 'test-1', updatedAt: NOW });

const zeroWindows = () => ({ d7: 0, d30: 0, d90: 0, d365: 0 });

/** CustomerInsights with every aggregate 0 or null, then `fields`. */
export function insights(customerId: string, fields: Partial<CustomerInsights> = {}): CustomerInsights {
  return {
    customerId,
    asOf: NOW,
    segment: null,
    activity: Object.fromEntries(ACTIVITY_TYPES.map((type) => [type, zeroWindows()])) as CustomerInsights['activity'],
    usageQuantity: zeroWindows(),
    lastActivityAt: null,
    lastInboundAt: null,
    lastCustomerActivityAt: null,
    openOpportunities: 0,
    openPipelineAmount: 0,
    weightedPipelineAmount: 0,
    openQuotes: 0,
    won365: 0,
    wonAmount365: 0,
    lost365: 0,
    lostAmount365: 0,
    winRate365: null,
    activeContracts: 0,
    totalContractValue: 0,
    nextRenewalAt: null,
    cancelled365: 0,
    contractsSeen: 0,
    firstContractStartAt: null,
    openTickets: 0,
    slaBreaches90: 0,
    latestNps: null,
    latestCsmSentiment: null,
    ...fields,
  };
}
