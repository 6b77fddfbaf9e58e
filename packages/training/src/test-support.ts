// Helpers shared by this package's unit tests (not exported from the package).
import { MS_PER_DAY, type ActivityEvent, type ActivityType, type ContractEvent, type InputEvent } from '@churnscore/domain';
import type { CustomerHistory } from './dataset';

/** A seeded uniform random number generator in [0, 1) (mulberry32): tests draw the same numbers on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const ENGAGEMENT: readonly ActivityType[] = ['MEETING', 'CALL', 'EMAIL_RECEIVED', 'PRODUCT_USAGE'];

export interface SyntheticPopulation {
  histories: CustomerHistory[];
  /** Day 0 of the history, a UTC midnight. */
  start: number;
  /** The end of the last day: when the "export" was taken. */
  end: number;
}

/**
 * A seeded population whose churn is learnable from behaviour only: every customer signs in the first 60 days
 * and engages at its own level (a tenfold spread); a churner's engagement fades over the 45–135 days before it
 * cancels (a fifth of them stop without warning), with more tickets while it fades; the others renew after a
 * year, some after a dip they recover from. Churn days are spread over the history, so that every period of it
 * has churners.
 */
export function syntheticPopulation({ customers, days, seed, churnShare = 0.45 }: { customers: number; days: number; seed: number; churnShare?: number }): SyntheticPopulation {
  const random = seededRandom(seed);
  const start = Date.UTC(2023, 0, 1);
  const at = (day: number): number => start + day * MS_PER_DAY + Math.floor(random() * 20) * 3_600_000;
  let eventNumber = 0;
  const histories = Array.from({ length: customers }, (_, i): CustomerHistory => {
    const customerId = `c${String(i).padStart(4, '0')}`;
    const envelope = (day: number) => ({ eventId: `${customerId}-${++eventNumber}`, customerId, occurredAt: at(day), source: 'test' });
    const activity = (day: number, activityType: ActivityType, extra: Partial<ActivityEvent> = {}): InputEvent => ({
      ...envelope(day),
      kind: 'activity',
      activityType,
      value: activityType === 'PRODUCT_USAGE' ? 10 : null,
      ticketId: null,
      slaBreached: null,
      ...extra,
    });
    const contract = (day: number, status: ContractEvent['status'], endDay: number): InputEvent => ({
      ...envelope(day),
      kind: 'contract',
      contractId: `${customerId}-K`,
      contractType: 'SUBSCRIPTION',
      totalValue: 12_000,
      currency: 'USD',
      startDate: start + signedOn * MS_PER_DAY,
      endDate: start + endDay * MS_PER_DAY,
      status,
    });
    const size = 1 + 9 * random();
    const signedOn = Math.floor(random() * 60);
    const churnsOn = random() < churnShare ? 150 + Math.floor(random() * (days - 160)) : null;
    const fadeDays = churnsOn === null ? 0 : random() < 0.2 ? 0 : 45 + Math.floor(random() * 90);
    const dipFrom = churnsOn === null && random() < 0.3 ? 100 + Math.floor(random() * (days - 200)) : null;
    const events: InputEvent[] = [contract(signedOn, 'ACTIVE', signedOn + 365)];
    const lastDay = churnsOn ?? days - 1;
    let ticket = 0;
    for (let day = signedOn; day < lastDay; day += 1) {
      const fading = churnsOn !== null && day >= churnsOn - fadeDays ? (churnsOn - day) / fadeDays : 1;
      const dipping = dipFrom !== null && day >= dipFrom && day < dipFrom + 40 ? 0.4 : 1;
      if (random() < Math.min(1, 0.06 * size * (0.05 + 0.95 * fading) * dipping)) {
        events.push(activity(day, ENGAGEMENT[Math.floor(random() * ENGAGEMENT.length)]!));
      }
      if (random() < 0.004 * size * (fading < 1 ? 3 : 1)) {
        const ticketId = `${customerId}-T${++ticket}`;
        events.push(activity(day, 'SUPPORT_TICKET_OPENED', { ticketId }));
        if (fading === 1 || random() < 0.5) events.push(activity(Math.min(day + 3, days - 1), 'SUPPORT_TICKET_CLOSED', { ticketId }));
      }
    }
    if (churnsOn !== null) events.push(contract(churnsOn, 'CANCELLED', signedOn + 365));
    else if (signedOn + 365 < days) events.push(contract(signedOn + 365, 'RENEWED', signedOn + 730));
    return { customerId, events: events.map((event) => ({ event })) };
  });
  return { histories, start, end: start + days * MS_PER_DAY - 1 };
}
