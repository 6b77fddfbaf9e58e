import { kafkaClientOptions, registryClientConfig, stateSettings, type AppConfig } from '@churnscore/config';
import { MS_PER_DAY, type InputEvent } from '@churnscore/domain';
import { createEventCodec, eventCodecOptions } from '@churnscore/events';
import { connectIdempotentProducer, createKafkaClient, RecordBatchLimit } from '@churnscore/kafka';
import { createLogger } from '@churnscore/observability';
import { defaultScoringConfig, scoringConfigIdentity } from '@churnscore/scoring';
import { generateCustomerHistories, type CustomerPlan } from '@churnscore/simulator';
import { CUSTOMER_KEY_PARTS, claimNamespace, createStateStore, keySchema, modelRolloutMark, trimResolvedAlerts, writeFence, type ApplyItem, type CustomerKeyPart, type StateStore } from '@churnscore/state';
import { catchUpPolicy, NOTHING_BEHIND } from '../services/scorer/src/input-backlog';
import { createScorerMetrics } from '../services/scorer/src/metrics';
import { ScoringPipeline, type RescoreTarget } from '../services/scorer/src/pipeline';
import type { BenchContext } from './context';
import { Sandbox } from '../infra/src/sandbox';

/**
 * Customers with a year of the simulator's history each, applied event by event through the state
 * store and scored through the scorer's own pipeline (read, score, commit, publish) week after week as
 * the year's events arrive: the real Redis content of a customer scored for a year, its score history
 * and alert book included. Larger populations are copies of these (see `clonePopulation`), because
 * applying a year per customer runs at a few thousand events per second: 100,000 customers would take
 * hours.
 */
export interface Templates {
  sandbox: Sandbox;
  plans: CustomerPlan[];
  /** The clock the histories end at and the scores were computed as of. */
  asOf: number;
  events: number;
  /** Events per second the state store applied them at (one Lua call per customer and batch, pipelined). */
  applyRate: number;
  /** Customer scores per second the pipeline computed and committed (every customer once a week). */
  scoreRate: number;
  eventsByKind: Record<string, number>;
  copies: TemplateCopy[];
}

/** What a copy is made from: the template's own keys as DUMP payloads, and its entries in the shared sorted sets. */
interface TemplateCopy {
  parts: Array<[CustomerKeyPart, Buffer]>;
  /** Rankings, open-alert index and any other shared index: key (after the prefix) and the template's score there. */
  indexed: Array<{ keySuffix: string; score: number }>;
  /** Its due time; a copy goes into its own due shard, which depends on its id. */
  dueAt: number | null;
}

const APPLY_BATCH = 5_000;
/** Customers per rescore call: the scorer's default claim limit, so the calls have the shape of its own. */
const SCORE_BATCH = 500;
const YEAR_DAYS = 365;
/**
 * The templates are scored once a week of their year, each time after that week's events: a customer scored
 * only once, at the end, would hold one point of score history where a year-old one holds the most the
 * history list keeps, and an alert book that never saw an episode end.
 */
const SCORE_EVERY_DAYS = 7;

export async function seedTemplates(
  context: BenchContext,
  options: { count: number; seed: string; now: number; onProgress(message: string): void },
): Promise<Templates> {
  const { count, seed, now, onProgress } = options;
  const sandbox = await Sandbox.open(context, 'templates', 1);
  try {
    const config = sandbox.config();
    const histories = generateCustomerHistories({ customers: count, days: YEAR_DAYS, seed, now, idPrefix: 'tmpl' });
    const store = storeFor(context, config);
    const events = histories.flatMap((history) => history.events);
    const items = steadyStateItems(events, now);
    const scorer = await templateScorer(config, store);
    let applySeconds = 0;
    let scoreSeconds = 0;
    let scores = 0;
    try {
      const arrivedSoFar = new Set<string>();
      let applied = 0;
      const firstWeekEnd = Math.min(now, items[0]!.event.occurredAt + SCORE_EVERY_DAYS * MS_PER_DAY);
      for (let weekEnd = firstWeekEnd, week = 1; ; weekEnd = Math.min(now, weekEnd + SCORE_EVERY_DAYS * MS_PER_DAY), week += 1) {
        let until = applied;
        while (until < items.length && items[until]!.event.occurredAt <= weekEnd) until += 1;
        const applying = performance.now();
        for (let start = applied; start < until; start += APPLY_BATCH) await store.applyEvents(items.slice(start, Math.min(until, start + APPLY_BATCH)), weekEnd);
        applySeconds += (performance.now() - applying) / 1000;
        const arrived = new Map<string, string>();
        for (const { event } of items.slice(applied, until)) arrived.set(event.customerId, event.eventId);
        for (const customerId of arrived.keys()) arrivedSoFar.add(customerId);
        applied = until;

        const scoring = performance.now();
        // Every customer with state is scored each week: by its newest event of the week, or by time.
        const targets = [...arrivedSoFar].map((customerId) => {
          const eventId = arrived.get(customerId);
          return { customerId, cause: eventId === undefined ? { kind: 'time' as const } : { kind: 'event' as const, eventId } };
        });
        await scorer.score(targets, weekEnd);
        scoreSeconds += (performance.now() - scoring) / 1000;
        scores += targets.length;
        if (week % 13 === 0) onProgress(`week ${week}: ${applied}/${items.length} events applied, ${scores} scores committed`);
        if (weekEnd === now) break;
      }
    } finally {
      await scorer.close();
    }
    const applyRate = items.length / applySeconds;
    const scoreRate = scores / scoreSeconds;

    const indexes = await sharedIndexes(context, sandbox.prefix);
    const copies = await Promise.all(histories.map((history) => readCopy(context, sandbox.prefix, indexes, history.customerId)));
    const eventsByKind: Record<string, number> = {};
    for (const event of events) {
      const kind = event.kind === 'activity' ? event.activityType : event.kind;
      eventsByKind[kind] = (eventsByKind[kind] ?? 0) + 1;
    }
    const plans = histories.map(({ events: _events, ...plan }) => plan);
    return { sandbox, plans, asOf: now, events: events.length, applyRate, scoreRate, eventsByKind, copies };
  } catch (error) {
    await sandbox.cleanup();
    throw error;
  }
}

export const storeFor = (context: BenchContext, config: AppConfig): StateStore =>
  createStateStore(context.redis, { prefix: config.redis.keyPrefix, ...stateSettings(config) });

/**
 * Each event is applied as of the moment it happened (`receivedAt` = occurredAt), as in steady
 * operation: the dedupe window then holds about a week of ids rather than the whole year a one-shot
 * backfill would leave there for a week. In the order they happened; offsets grow per topic so that no
 * event looks redelivered.
 */
export function steadyStateItems(events: readonly InputEvent[], now: number): ApplyItem[] {
  const nextOffset = new Map<string, number>();
  return [...events]
    .sort((a, b) => a.occurredAt - b.occurredAt)
    .map((event) => {
      const offset = nextOffset.get(event.kind) ?? 0;
      nextOffset.set(event.kind, offset + 1);
      return { event, topic: event.kind, partition: 0, offset: String(offset), receivedAt: Math.min(event.occurredAt, now) };
    });
}

/** What the templates are scored with: the config a bench scorer starts with (SCORING_CONFIG_PATH unset). */
const TEMPLATE_SCORING = defaultScoringConfig();

/** The scorer's own read → score → commit → publish, with the clock where each call says; the outputs go to the sandbox's topics. */
async function templateScorer(config: AppConfig, store: StateStore) {
  const logger = createLogger({ name: 'bench-templates', level: 'warn' });
  const producer = await connectIdempotentProducer(createKafkaClient(kafkaClientOptions(config), logger));
  const codec = createEventCodec(eventCodecOptions(config, registryClientConfig(config)));
  let asOf = 0;
  const pipeline = new ScoringPipeline({
    store,
    codec,
    producer,
    topics: config.topics,
    scoring: TEMPLATE_SCORING,
    clock: () => asOf,
    metrics: createScorerMetrics(),
    logger,
    batchLimit: RecordBatchLimit.fixed(),
    // The templates score each week's events once the week is in: nothing is ahead of them.
    backlog: NOTHING_BEHIND,
    catchUp: catchUpPolicy(config.scorer),
    catchUpScoreDelayMs: config.scorer.catchUpScoreDelayMs,
  });
  // The scorer's commits are fenced to the Redis the templates are written to, as a running scorer's are.
  const fence = writeFence(await store.identity(), Date.now());
  return {
    async score(targets: readonly RescoreTarget[], at: number): Promise<void> {
      asOf = at;
      for (let start = 0; start < targets.length; start += SCORE_BATCH) await pipeline.rescore(targets.slice(start, start + SCORE_BATCH), at, fence);
    },
    async close(): Promise<void> {
      await producer.disconnect();
      codec.close();
    },
  };
}

/**
 * The namespace's shared sorted sets other than the due shards: rankings, the open-alert index and
 * whatever index the key contract adds, found rather than listed so that copies keep up with it.
 */
async function sharedIndexes(context: BenchContext, prefix: string): Promise<string[]> {
  const keys = keySchema(prefix);
  const dueShards = new Set(Array.from({ length: keys.dueShards }, (_, shard) => keys.dueShard(shard)));
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await context.redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    found.push(...batch.filter((key) => !key.includes(':cust:') && !dueShards.has(key)));
    cursor = next;
  } while (cursor !== '0');
  const types = await Promise.all(found.map((key) => context.redis.type(key)));
  return found.filter((_, i) => types[i] === 'zset');
}

async function readCopy(context: BenchContext, prefix: string, indexes: readonly string[], customerId: string): Promise<TemplateCopy> {
  const keys = keySchema(prefix);
  const customerKeys = keys.customer(customerId);
  const [dumps, scores, dueAt] = await Promise.all([
    Promise.all(CUSTOMER_KEY_PARTS.map((part) => context.redis.dumpBuffer(customerKeys[part]))),
    Promise.all(indexes.map((key) => context.redis.zscore(key, customerId))),
    context.redis.zscore(keys.dueShard(keys.dueShardOf(customerId)), customerId),
  ]);
  return {
    parts: CUSTOMER_KEY_PARTS.flatMap((part, i) => (dumps[i] ? [[part, dumps[i]] as [CustomerKeyPart, Buffer]] : [])),
    indexed: indexes.flatMap((key, i) => (scores[i] === null ? [] : [{ keySuffix: key.slice(prefix.length), score: Number(scores[i]) }])),
    dueAt: dueAt === null ? null : Number(dueAt),
  };
}

/** Copies per round trip batch: ~10 MB of RESTORE payloads. */
const CLONE_BATCH = 500;

/** The id of the i-th customer of a population; as long as the templates' ids, so copies cost the same bytes. */
export const populationCustomerId = (index: number): string => `cust-${String(index + 1).padStart(6, '0')}`;

/** The template the i-th customer of a population is a copy of. */
const templateIndexOf = (index: number, templates: Templates): number => index % templates.copies.length;

/**
 * `count` customers under `prefix`, the i-th a byte-for-byte copy (DUMP / RESTORE) of template
 * i mod T's keys, entered with the template's scores in every shared index the template is in (the
 * resolved-alert index then trimmed as the scorer trims it), and in its own due shard at the template's due time. Each copy scores, re-scores and costs what its
 * template does, so a population keeps the templates' cohort and segment mix.
 */
export async function clonePopulation(context: BenchContext, templates: Templates, prefix: string, count: number): Promise<string[]> {
  const { redis } = context;
  const keys = keySchema(prefix);
  // Scored customers in a namespace nobody claimed are what a scorer finds after Redis lost its data, and it
  // refuses to start there: the copies are claimed as the scorer that scored them would have claimed them.
  await claimNamespace(redis, prefix);
  // And as scored with the model they were: a scorer starting with it has no reason to re-score them all at once.
  await redis.set(keys.rolledOutModel, modelRolloutMark(scoringConfigIdentity(TEMPLATE_SCORING)));
  const customerIds = Array.from({ length: count }, (_, i) => populationCustomerId(i));
  for (let start = 0; start < count; start += CLONE_BATCH) {
    const calls: Array<Promise<unknown>> = [];
    for (let index = start; index < Math.min(start + CLONE_BATCH, count); index += 1) {
      const customerId = customerIds[index]!;
      const copy = templates.copies[templateIndexOf(index, templates)]!;
      const customerKeys = keys.customer(customerId);
      for (const [part, payload] of copy.parts) calls.push(redis.restore(customerKeys[part], 0, payload));
      for (const { keySuffix, score } of copy.indexed) calls.push(redis.zadd(`${prefix}${keySuffix}`, score, customerId));
      if (copy.dueAt !== null) calls.push(redis.zadd(keys.dueShard(keys.dueShardOf(customerId)), copy.dueAt, customerId));
    }
    // Bounded as the scorer bounds it, batch by batch: never larger than the scorer lets it grow, so that its
    // table is as small as it would be, not one sized for every copy and left so.
    calls.push(trimResolvedAlerts(redis, keys));
    await Promise.all(calls);
  }
  return customerIds;
}
