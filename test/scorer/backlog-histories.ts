// Seeded CRM histories for the backlog test: a customer base of varied accounts (tenfold differences in
// activity, steady, declining, silent, recovering, churned, and a few signed accounts with no activity at
// all), each a year of contracts, deals, activity, tickets, NPS and CSM sentiment as CRM events. Kept here,
// small and fixed, rather than taken from the simulator, so the test reads the same population whatever the
// simulator becomes.
import { createHash } from 'node:crypto';
import type { ActivityEvent, ActivityType, ContractEvent, InputEvent, OpportunityEvent } from '@churnscore/domain';
import { sampleActivity, sampleContract, sampleCustomer, sampleOpportunity } from '@churnscore/events/testing';

const DAY = 86_400_000;
const HOUR = 3_600_000;

export interface CustomerHistory {
  customerId: string;
  events: InputEvent[];
}

/** Uniform numbers in [0, 1) from a hash of the seed and a counter: the same seed, the same numbers, on every machine. */
function seededRandom(seed: string): () => number {
  let drawn = 0;
  return () => createHash('sha256').update(`${seed}/${(drawn += 1)}`).digest().readUInt32BE(0) / 2 ** 32;
}

type Course = 'steady' | 'declining' | 'silent' | 'recovering' | 'churned' | 'no activity';

/** How a course shapes the activity rate `daysAgo` days before now (1 = the account's usual rate). */
function rateFactor(course: Course, daysAgo: number, turn: number): number {
  switch (course) {
    case 'declining':
      return daysAgo > turn ? 1 : 0.15 + (0.85 * daysAgo) / turn;
    case 'silent':
    case 'churned':
      return daysAgo > turn ? 1 : 0;
    case 'recovering':
      return daysAgo > turn || daysAgo < turn - 60 ? 1 : 0.2;
    case 'no activity':
      return 0;
    case 'steady':
      return 1;
  }
}

const ENGAGEMENT: ReadonlyArray<[ActivityType, number]> = [
  ['EMAIL_SENT', 0.2],
  ['EMAIL_RECEIVED', 0.2],
  ['CALL', 0.15],
  ['MEETING', 0.15],
  ['PRODUCT_USAGE', 0.25],
  ['FOLLOW_UP_TASK', 0.05],
];

/**
 * `customers` histories laid out backwards from `now`. Every event happens on a whole hour between 08:00 and
 * 18:00 UTC and at least a day before `now`: with `now` at half past an hour, no threshold of an event
 * (a day of silence, a window edge) falls within minutes of it, so moving the clock by a minute changes no score.
 */
export function customerHistories({ customers, now, seed }: { customers: number; now: number; seed: string }): CustomerHistory[] {
  const random = seededRandom(seed);
  const between = (low: number, high: number) => low + random() * (high - low);
  const whole = (low: number, high: number) => Math.floor(between(low, high + 1));
  const pick = <T>(items: ReadonlyArray<[T, number]>): T => {
    let left = random();
    for (const [item, weight] of items) if ((left -= weight) <= 0) return item;
    return items[items.length - 1]![0];
  };
  const today = Math.floor(now / DAY) * DAY;
  const at = (daysAgo: number) => today - Math.max(1, Math.round(daysAgo)) * DAY + whole(8, 18) * HOUR;

  return Array.from({ length: customers }, (_, c): CustomerHistory => {
    const customerId = `backlog-${String(c).padStart(3, '0')}`;
    let n = 0;
    const eventId = () => `${customerId}-${++n}`;
    const course = pick<Course>([
      ['steady', 0.42],
      ['declining', 0.2],
      ['silent', 0.1],
      ['recovering', 0.1],
      ['churned', 0.13],
      ['no activity', 0.05],
    ]);
    const turn = course === 'silent' ? whole(35, 120) : course === 'churned' ? whole(10, 100) : whole(60, 180);
    const perWeek = between(0.5, 5);
    const health = course === 'steady' || course === 'recovering' ? 1 : -1;
    const tenureDays = whole(120, 900);

    const contractId = `${customerId}-k1`;
    const signed = at(tenureDays);
    const contract = (status: ContractEvent['status'], occurredAt: number): ContractEvent =>
      sampleContract({
        customerId,
        eventId: eventId(),
        contractId,
        status,
        totalValue: Math.round(between(5_000, 500_000)),
        startDate: Math.floor(signed / DAY) * DAY,
        endDate: today + whole(5, 360) * DAY,
        occurredAt,
      });
    const events: InputEvent[] = [
      sampleCustomer({ customerId, eventId: eventId(), segment: ['SMB', 'MID_MARKET', 'ENTERPRISE'][c % 3]!, occurredAt: signed - DAY }),
      contract('ACTIVE', signed),
    ];
    if (course === 'churned') events.push(contract('CANCELLED', at(turn)));

    const activity = (activityType: ActivityType, daysAgo: number, extra: Partial<ActivityEvent> = {}) =>
      sampleActivity({ customerId, eventId: eventId(), activityType, value: null, occurredAt: at(daysAgo), ...extra });
    const history = Math.min(tenureDays, 330);
    for (let daysAgo = history; daysAgo >= 1; daysAgo -= 1) {
      if (random() >= (perWeek / 7) * rateFactor(course, daysAgo, turn)) continue;
      const type = pick(ENGAGEMENT);
      events.push(activity(type, daysAgo, type === 'PRODUCT_USAGE' ? { value: whole(1, 50) } : {}));
    }
    const lastSaid = course === 'silent' || course === 'churned' ? turn + 2 : whole(3, 60);
    if (course !== 'no activity') {
      for (let t = whole(0, 5); t > 0; t -= 1) {
        const ticketId = `${customerId}-t${t}`;
        const opened = lastSaid + whole(0, 120);
        events.push(activity('SUPPORT_TICKET_OPENED', opened, { ticketId, slaBreached: random() < 0.2 }));
        if (random() < 0.7) events.push(activity('SUPPORT_TICKET_CLOSED', opened - whole(1, Math.min(10, opened - 1)), { ticketId, slaBreached: false }));
      }
      for (let k = whole(0, 3); k > 0; k -= 1) events.push(activity('NPS_RESPONSE', lastSaid + whole(0, 200), { value: health > 0 ? whole(7, 10) : whole(0, 6) }));
      for (let k = whole(0, 3); k > 0; k -= 1) events.push(activity('CSM_SENTIMENT', lastSaid + whole(0, 200), { value: health > 0 ? whole(0, 2) : whole(-2, 0) }));
    }
    for (let d = whole(0, 2); d > 0; d -= 1) {
      const opportunityId = `${customerId}-o${d}`;
      const created = whole(30, 300);
      const deal = (stage: OpportunityEvent['stage'], daysAgo: number) =>
        sampleOpportunity({ customerId, eventId: eventId(), opportunityId, stage, amount: Math.round(between(1_000, 80_000)), probability: null, openQuotes: null, occurredAt: at(daysAgo) });
      events.push(deal('QUALIFIED', created));
      events.push(deal(pick<OpportunityEvent['stage']>([['PROPOSAL', 0.4], ['CLOSED_WON', 0.3], ['CLOSED_LOST', 0.3]]), created - whole(2, 28)));
    }
    return { customerId, events };
  });
}
