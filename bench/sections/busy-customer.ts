import type { ActivityEvent } from '@churnscore/domain';
import { MS_PER_HOUR, keySchema, type ApplyItem } from '@churnscore/state';
import type { BenchContext } from '../context';
import { storeFor } from '../population';
import type { SectionOutcome, TableRow } from '../report';
import { Sandbox } from '../../infra/src/sandbox';
import { bytes, count, millis } from '../stats';
import { startAofMeter, startScriptTimeMeter } from '../system';

/**
 * Events a customer sent in the last week, which its dedupe window holds: the simulator's typical customer (~22), a
 * busy account (its window still written whole), a very busy one, and the ≈7,000 events a day of an outside tester's
 * soak (250 events/s over 3,000 customers), whose apply cost grew with the window until 2026-12-07.
 */
const WINDOW_EVENTS = [24, 1_000, 10_000, 50_000];
/** Events per call while the window is filled, as a backlog arrives. */
const FILL_BATCH = 1_000;
/** The fewest calls measured, so that a quiet customer's figures are not one call's. */
const MIN_MEASURED_CALLS = 200;

export interface BusyCustomerRun {
  windowEvents: number;
  /** Customers of this rate measured together, so that the calls add up to at least MIN_MEASURED_CALLS. */
  customers: number;
  /** Single-event calls measured: an hour of each customer's traffic, the first of which cuts its window's oldest hour. */
  calls: number;
  redisMicrosPerEvent: number;
  /** null when Redis keeps no AOF. */
  aofBytesPerEvent: number | null;
  millisPerCall: number;
  /** The first customer's window after the measured hour. */
  windowBytes: number;
  /** MEMORY USAGE of that window: its bytes, and what the allocator keeps beside them. */
  windowMemory: number;
  /** MEMORY USAGE of its index (0: none, a window under 16 KB). */
  indexMemory: number;
}

export interface BusyCustomerDetails {
  dedupeWindowHours: number;
  runs: BusyCustomerRun[];
}

/**
 * What one event costs to apply for a customer as its event rate grows: the dedupe window holds every event of the last
 * week (11 bytes each), and its cost per apply is what grows. For each size customers' windows are filled with that many
 * events spread over the window's hours and the hour of grace before it, then an hour of their traffic is applied one
 * event a call, as a live scorer hands a busy customer's events over: Redis's time in scripts, AOF bytes written and the
 * round trip, per event, beside the typical customer's.
 */
export async function measureBusyCustomer(context: BenchContext, options: { now: number }): Promise<SectionOutcome<BusyCustomerDetails>> {
  const sandbox = await Sandbox.open(context, 'busy-customer', 1);
  try {
    const config = sandbox.config();
    const store = storeFor(context, config);
    const keys = keySchema(sandbox.prefix);
    const dedupeWindowHours = config.dedupeWindowDays * 24;
    const nowHour = Math.floor(options.now / MS_PER_HOUR);
    const runs: BusyCustomerRun[] = [];
    for (const windowEvents of WINDOW_EVENTS) {
      // An hour of one customer's traffic, over as many customers of the same rate as make MIN_MEASURED_CALLS.
      const hours = dedupeWindowHours + 2;
      const callsPerCustomer = Math.ceil(windowEvents / hours);
      const customerIds = Array.from({ length: Math.ceil(MIN_MEASURED_CALLS / callsPerCustomer) }, (_, n) => `busy-${windowEvents}-${n}`);
      const nextOffset = new Map<string, number>();
      const item = (customerId: string, receivedAt: number): ApplyItem => {
        const offset = nextOffset.get(customerId) ?? 0;
        nextOffset.set(customerId, offset + 1);
        const event: ActivityEvent = {
          eventId: `${customerId}-${offset}`,
          customerId,
          occurredAt: receivedAt,
          source: 'bench',
          kind: 'activity',
          activityType: 'CALL',
          value: null,
          ticketId: null,
          slaBreached: null,
        };
        return { event, topic: 'activity', partition: 0, offset: String(offset), receivedAt };
      };
      for (const customerId of customerIds) {
        // Spread over the window and its hour of grace: the oldest hour leaves with the customer's first measured event.
        const fill = Array.from({ length: windowEvents }, (_, n) => item(customerId, (nowHour - hours + Math.floor((n * hours) / windowEvents)) * MS_PER_HOUR));
        for (let from = 0; from < fill.length; from += FILL_BATCH) await store.applyEvents(fill.slice(from, from + FILL_BATCH), options.now);
      }

      const calls = callsPerCustomer * customerIds.length;
      const [scriptTime, aof] = [await startScriptTimeMeter(context), await startAofMeter(context)];
      const started = performance.now();
      for (let round = 0; round < callsPerCustomer; round += 1) {
        for (const customerId of customerIds) await store.applyEvents([item(customerId, options.now)], options.now);
      }
      const seconds = (performance.now() - started) / 1000;
      const [redisSeconds, aofBytes] = [await scriptTime.stop(), await aof.stop()];
      const { seen: seenKey, seenIndex: seenIndexKey } = keys.customer(customerIds[0]!);
      const memoryUsage = async (key: string) => Number((await context.redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
      const run: BusyCustomerRun = {
        windowEvents,
        customers: customerIds.length,
        calls,
        redisMicrosPerEvent: (redisSeconds * 1e6) / calls,
        aofBytesPerEvent: aofBytes === null ? null : aofBytes / calls,
        millisPerCall: (seconds * 1000) / calls,
        windowBytes: await context.redis.strlen(seenKey),
        windowMemory: await memoryUsage(seenKey),
        indexMemory: await memoryUsage(seenIndexKey),
      };
      context.reporter.step(
        'busy',
        `window of ${count(windowEvents)} events (${count(customerIds.length)} customers): ${count(run.redisMicrosPerEvent)} µs of Redis, ${run.aofBytesPerEvent === null ? 'no AOF' : bytes(run.aofBytesPerEvent)} of AOF, ${millis(run.millisPerCall)} a call; window ${bytes(run.windowBytes)} in ${bytes(run.windowMemory)}, its index ${bytes(run.indexMemory)}`,
      );
      runs.push(run);
    }
    const [typical, ...busier] = runs as [BusyCustomerRun, ...BusyCustomerRun[]];
    const cost = (run: BusyCustomerRun) =>
      `${count(run.redisMicrosPerEvent)} µs Redis, ${run.aofBytesPerEvent === null ? '–' : count(run.aofBytesPerEvent)} B AOF, ${millis(run.millisPerCall)}; window ${count(run.windowBytes / 1024)} KiB in ${count(run.windowMemory / 1024)} + index ${count(run.indexMemory / 1024)}`;
    const times = (value: number | null, reference: number | null) => (value === null || reference === null ? '–' : `${(value / reference).toFixed(1)}×`);
    const rows: TableRow[] = busier.map((run) => ({
      metric: `Busy customer: one event applied, dedupe window of ${count(run.windowEvents)} events (${count((run.windowEvents * 24) / dedupeWindowHours)} a day)`,
      value: cost(run),
      reference: `typical (${count(typical.windowEvents)} events): ${count(typical.redisMicrosPerEvent)} µs, ${typical.aofBytesPerEvent === null ? '–' : count(typical.aofBytesPerEvent)} B`,
      verdict: `Redis ${times(run.redisMicrosPerEvent, typical.redisMicrosPerEvent)}, AOF ${times(run.aofBytesPerEvent, typical.aofBytesPerEvent)}`,
    }));
    return { rows, details: { dedupeWindowHours, runs } };
  } finally {
    await sandbox.cleanup();
  }
}
