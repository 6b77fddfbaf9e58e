import { utcDay, type InputEvent } from '@churnscore/domain';
import { SEGMENT_PROFILES } from './cohorts';
import { deterministicId, isReported, sampleDayActivity, type CustomerPlan } from './generator';
import { latentStateOnDay } from './latent';
import { createRandom, seedFrom } from './random';

export interface LiveEventOptions {
  seed: number | string;
  /** Stamps each event's occurredAt as it is generated. */
  clock: () => number;
  source?: string;
}

/**
 * An endless stream of today's activity for `--follow`: each step picks a customer in proportion to
 * how active it is today (customers who left, never) and emits one day's worth of that customer's
 * activity, stamped with the clock. Time is compressed: the stream runs as fast as it is consumed
 * (the publisher's rate limit sets the pace), and a ticket's close follows right after its open.
 */
export function* generateLiveEvents(plans: readonly CustomerPlan[], options: LiveEventOptions): Generator<InputEvent> {
  const { seed, clock, source = 'simulator' } = options;
  const random = createRandom(seedFrom(seed, 'live'));
  const startedAt = clock();
  const today = utcDay(startedAt);
  let cumulative = 0;
  const thresholds = plans.map((plan) => {
    cumulative += latentStateOnDay(plan.latent, today).engagement * plan.latent.activityLevel * SEGMENT_PROFILES[plan.segment].activityScale;
    return cumulative;
  });
  if (cumulative === 0) return;
  let sequence = 0;
  let ticketCount = 0;
  while (true) {
    const plan = plans[firstAbove(thresholds, random.next() * cumulative)]!;
    const nextTicketId = (): string => `${plan.customerId}-L${startedAt}-${++ticketCount}`;
    for (const { body } of sampleDayActivity(plan, today, { weekend: false, noise: 1 }, random, nextTicketId)) {
      if (!isReported(plan, body)) continue;
      yield {
        eventId: deterministicId(seed, 'live', startedAt, sequence++),
        customerId: plan.customerId,
        occurredAt: clock(),
        source,
        ...body,
      };
    }
  }
}

/** Index of the first threshold above `value`, by binary search over the ascending thresholds. */
function firstAbove(thresholds: readonly number[], value: number): number {
  let low = 0;
  let high = thresholds.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (thresholds[middle]! > value) high = middle;
    else low = middle + 1;
  }
  return low;
}
