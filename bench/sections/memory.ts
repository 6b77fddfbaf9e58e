import { CUSTOMER_KEY_PARTS, keySchema, type CustomerKeyPart } from '@churnscore/state';
import type { BenchContext } from '../context';
import { clonePopulation, type Templates } from '../population';
import type { SectionOutcome } from '../report';
import { Sandbox, unlinkByPrefix } from '../../infra/src/sandbox';
import { bytes, count } from '../stats';
import { sleep } from '../waiting';
import { measureStateGrowth, type StateGrowthDetails } from './state-growth';

export interface MemoryDetails {
  customers: number;
  templates: number;
  eventsPerCustomerYear: number;
  /** Events per customer-year by activity type or event kind. */
  mix: Record<string, number>;
  cohorts: Record<string, number>;
  segments: Record<string, number>;
  usedMemoryBefore: number;
  usedMemoryAfter: number;
  /** (after − before) / customers: what Redis itself needs per customer, allocator overhead included. */
  bytesPerCustomer: number;
  /** MEMORY USAGE per key kind, averaged over one copy of each template, and the shared rankings and due shards per customer. */
  breakdown: Record<string, number>;
  /** The same for the templates themselves (applied event by event): the copies must match it. */
  templateBreakdown: Record<string, number>;
  encodings: Record<string, string | null>;
  seconds: number;
  /** What a customer's state grows by after its first year (not reached by the copies above). */
  growth: StateGrowthDetails;
}

const TARGET_BYTES = 4 * 1024;
/** Redis flushes its append-only buffer every second; used_memory is read after that. */
const SETTLE_MS = 2_000;

async function usedMemory(context: BenchContext): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await context.redis.info('memory'))?.[1]);
}

const memoryUsage = async (context: BenchContext, key: string): Promise<number> =>
  Number((await context.redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);

async function perPartUsage(context: BenchContext, prefix: string, customerIds: readonly string[]): Promise<Record<CustomerKeyPart, number>> {
  const keys = keySchema(prefix);
  const totals = Object.fromEntries(CUSTOMER_KEY_PARTS.map((part) => [part, 0])) as Record<CustomerKeyPart, number>;
  for (const customerId of customerIds) {
    const customerKeys = keys.customer(customerId);
    const usages = await Promise.all(CUSTOMER_KEY_PARTS.map((part) => memoryUsage(context, customerKeys[part])));
    CUSTOMER_KEY_PARTS.forEach((part, i) => (totals[part] += usages[i]! / customerIds.length));
  }
  return totals;
}

/** The rankings and due shards: every key of the namespace that is not a customer's own. */
async function sharedUsage(context: BenchContext, prefix: string): Promise<number> {
  let total = 0;
  let cursor = '0';
  do {
    const [next, found] = await context.redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    for (const key of found.filter((k) => !k.includes(':cust:'))) total += await memoryUsage(context, key);
    cursor = next;
  } while (cursor !== '0');
  return total;
}

const tally = (values: readonly string[]): Record<string, number> =>
  values.reduce<Record<string, number>>((counts, value) => ({ ...counts, [value]: (counts[value] ?? 0) + 1 }), {});

/**
 * Redis bytes per customer with a year of typical activity: `customers` copies of the templates
 * (each applied event by event and scored by the pipeline), measured as the growth of INFO memory's
 * used_memory, with MEMORY USAGE of each key kind for the breakdown; then what a customer's state grows by after its
 * first year (`measureStateGrowth`).
 */
export async function measureMemory(
  context: BenchContext,
  templates: Templates,
  options: { customers: number; growthCustomers: number; seed: string; signal: AbortSignal },
): Promise<SectionOutcome<MemoryDetails>> {
  const { reporter } = context;
  const sandbox = await Sandbox.open(context, 'memory', 1);
  try {
    await sleep(SETTLE_MS, options.signal);
    const usedMemoryBefore = await usedMemory(context);
    reporter.step('memory', `copying ${count(options.customers)} customers from ${count(templates.copies.length)} templates`);
    const started = performance.now();
    const customerIds = await clonePopulation(context, templates, sandbox.prefix, options.customers);
    const seconds = (performance.now() - started) / 1000;
    await sleep(SETTLE_MS, options.signal);
    const usedMemoryAfter = await usedMemory(context);
    const bytesPerCustomer = (usedMemoryAfter - usedMemoryBefore) / options.customers;
    reporter.step('memory', `${bytes(bytesPerCustomer)} per customer (used_memory ${count(usedMemoryBefore)} → ${count(usedMemoryAfter)})`);

    // The first copy of each template: the same mix as the whole population.
    const breakdown = {
      ...(await perPartUsage(context, sandbox.prefix, customerIds.slice(0, templates.copies.length))),
      'shared indexes + due shards': (await sharedUsage(context, sandbox.prefix)) / options.customers,
    };
    const templateBreakdown = await perPartUsage(
      context,
      templates.sandbox.prefix,
      templates.plans.map((plan) => plan.customerId),
    );
    const sample = keySchema(sandbox.prefix).customer(customerIds[0]!);
    const encodings = Object.fromEntries(
      await Promise.all(
        (['state', 'score', 'insights', 'act', 'ent', 'explanation'] as const).map(async (part) => [part, await context.redis.object('ENCODING', sample[part])]),
      ),
    ) as Record<string, string | null>;
    const templateCount = templates.plans.length;
    // Freed now rather than at cleanup, so the next sections do not run beside a gigabyte of copies.
    await unlinkByPrefix(context.redis, sandbox.prefix);
    const growth = await measureStateGrowth(context, { customers: options.growthCustomers, seed: options.seed, now: templates.asOf });
    return {
      rows: [
        {
          metric: `Redis memory per customer (${count(options.customers)} customers, a year of activity each)`,
          value: bytes(bytesPerCustomer),
          reference: `≤ ${bytes(TARGET_BYTES)}`,
          verdict: bytesPerCustomer <= TARGET_BYTES ? 'met' : `MISSED (${(bytesPerCustomer / TARGET_BYTES).toFixed(1)}× the target)`,
        },
        growth.row,
      ],
      details: {
        customers: options.customers,
        templates: templateCount,
        eventsPerCustomerYear: templates.events / templateCount,
        mix: Object.fromEntries(Object.entries(templates.eventsByKind).map(([kind, n]) => [kind, n / templateCount])),
        cohorts: tally(templates.plans.map((plan) => plan.cohort)),
        segments: tally(templates.plans.map((plan) => plan.segment)),
        usedMemoryBefore,
        usedMemoryAfter,
        bytesPerCustomer,
        breakdown,
        templateBreakdown,
        encodings,
        seconds,
        growth: growth.details,
      },
    };
  } finally {
    await sandbox.cleanup();
  }
}
