import { keySchema } from '@churnscore/state';
import type { Admin } from 'kafkajs';
import type { BenchContext } from './context';

/** Thrown when the run is interrupted (Ctrl-C): sections stop waiting and clean up. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor() {
    super('interrupted');
  }
}

/** Resolves after `ms`; rejects with Interrupted as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Interrupted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Interrupted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Until every one of `members` consumers is in the group and the group is Stable (partitions
 * assigned), so a measurement starts with no rebalance pending.
 */
export async function waitForGroup(admin: Admin, groupId: string, members: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    if (group?.state === 'Stable' && group.members.length === members) return;
    if (Date.now() > deadline) {
      throw new Error(`consumer group ${groupId}: ${group?.members.length ?? 0}/${members} members, state ${group?.state ?? 'unknown'} after 60 s`);
    }
    await sleep(200, signal);
  }
}

const POLL_MS = 200;
const STALL_MS = 120_000;

/**
 * Until every customer's stored score was computed from all of its events (the score hash's
 * `revision` equals the customer's number of distinct events), polling Redis every 200 ms.
 * Resolves with the epoch ms at which that was first seen: at most one poll after the last score
 * was written. Fails if scoring stops advancing for two minutes.
 */
export async function waitUntilScored(
  context: BenchContext,
  prefix: string,
  eventsByCustomer: ReadonlyMap<string, number>,
  options: { signal: AbortSignal; onProgress(scored: number, total: number): void },
): Promise<number> {
  const keys = keySchema(prefix);
  const customers = [...eventsByCustomer.keys()];
  const total = [...eventsByCustomer.values()].reduce((a, b) => a + b, 0);
  let best = -1;
  let advancedAt = Date.now();
  let reportedAt = Date.now();
  for (;;) {
    const revisions = await Promise.all(customers.map((id) => context.redis.hget(keys.customer(id).score, 'revision')));
    const seenAt = Date.now();
    const scored = revisions.reduce((sum, revision) => sum + Number(revision ?? 0), 0);
    if (scored >= total) return seenAt;
    if (scored > best) {
      best = scored;
      advancedAt = seenAt;
    } else if (seenAt - advancedAt > STALL_MS) {
      throw new Error(`scoring stalled at ${scored}/${total} events for ${STALL_MS / 1000} s`);
    }
    if (seenAt - reportedAt >= 5_000) {
      reportedAt = seenAt;
      options.onProgress(scored, total);
    }
    await sleep(POLL_MS, options.signal);
  }
}
