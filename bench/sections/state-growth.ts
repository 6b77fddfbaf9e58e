import { MS_PER_DAY } from '@churnscore/domain';
import { generateCustomerHistories } from '@churnscore/simulator';
import { keySchema } from '@churnscore/state';
import type { BenchContext } from '../context';
import { steadyStateItems, storeFor } from '../population';
import type { TableRow } from '../report';
import { Sandbox } from '../../infra/src/sandbox';
import { bytes, count } from '../stats';

/** Long enough for records to age out (the retention horizon is 400 days) and for what they leave to pile up. */
const YEARS = 4;
const APPLY_BATCH = 5_000;
/** The parts of a customer's state that can grow with its tenure; every other key is bounded by design. */
const GROWING_PARTS = ['ent', 'act'] as const;

export interface StateGrowthDetails {
  customers: number;
  years: number;
  /** MEMORY USAGE per part, averaged over the customers, at the end of each year. */
  perYear: Array<Record<(typeof GROWING_PARTS)[number], number> & { entLines: number }>;
  /** The `ent` string's mean growth per year after the first. */
  entGrowthPerYear: number;
}

/**
 * What a customer's state grows by after its first year, which the memory section's customers do not reach:
 * `customers` simulated customers (no churn) with YEARS years of history each, applied through the store in the order
 * their events happened, each as of its own moment, and MEMORY USAGE of their `ent` and `act` strings at each
 * year's end. The day buckets are bounded by the retention horizon; what can pile up is `ent`'s records and tombstones.
 */
export async function measureStateGrowth(
  context: BenchContext,
  options: { customers: number; seed: string; now: number },
): Promise<{ row: TableRow; details: StateGrowthDetails }> {
  const sandbox = await Sandbox.open(context, 'state-growth', 1);
  try {
    const store = storeFor(context, sandbox.config());
    const keys = keySchema(sandbox.prefix);
    const histories = generateCustomerHistories({ customers: options.customers, days: YEARS * 365, seed: options.seed, now: options.now, idPrefix: 'growth', churnRate: 0 });
    const items = steadyStateItems(
      histories.flatMap((history) => history.events),
      options.now,
    );
    const start = options.now - YEARS * 365 * MS_PER_DAY;
    const perYear: StateGrowthDetails['perYear'] = [];
    let applied = 0;
    for (let year = 1; year <= YEARS; year += 1) {
      const yearEnd = start + year * 365 * MS_PER_DAY;
      let until = applied;
      while (until < items.length && items[until]!.event.occurredAt <= yearEnd) until += 1;
      for (let from = applied; from < until; from += APPLY_BATCH) await store.applyEvents(items.slice(from, Math.min(until, from + APPLY_BATCH)), yearEnd);
      applied = until;
      const sizes = { ent: 0, act: 0, entLines: 0 };
      for (const { customerId } of histories) {
        const customerKeys = keys.customer(customerId);
        for (const part of GROWING_PARTS) sizes[part] += Number((await context.redis.call('MEMORY', 'USAGE', customerKeys[part], 'SAMPLES', '0')) ?? 0) / histories.length;
        sizes.entLines += ((await context.redis.get(customerKeys.ent))?.split('\n').length ?? 1) - 1;
      }
      sizes.entLines /= histories.length;
      perYear.push(sizes);
      context.reporter.step('memory', `state growth: year ${year}, ${count(applied)} events applied: ent ${bytes(sizes.ent)}, act ${bytes(sizes.act)} per customer`);
    }
    const entGrowthPerYear = (perYear.at(-1)!.ent - perYear[0]!.ent) / (YEARS - 1);
    return {
      row: {
        metric: `Redis growth per customer-year after the first (${count(options.customers)} customers over ${YEARS} years, the ent string)`,
        value: bytes(entGrowthPerYear),
        reference: `first year's ent: ${bytes(perYear[0]!.ent)}`,
        verdict: 'measured',
      },
      details: { customers: options.customers, years: YEARS, perYear, entGrowthPerYear },
    };
  } finally {
    await sandbox.cleanup();
  }
}
