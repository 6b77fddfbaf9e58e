// SPEC §4 end to end: events published to Kafka, consumed by the real scorer, and the Insights read back
// from Redis exactly as a dashboard would (HGETALL), against values worked out by hand; then the
// score-changed events that came out of it.
import type { ActivityEvent, ContractEvent, InputEvent, OpportunityEvent } from '@churnscore/domain';
import type { ScoreChangedEvent } from '@churnscore/events';
import { sampleActivity, sampleContract, sampleCustomer, sampleOpportunity } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ManualClock, ScorerTestBed } from './support';

const DAY = 86_400_000;
const T = Date.UTC(2026, 5, 15, 12, 0, 0);
const midnight = (epochMs: number) => Math.floor(epochMs / DAY) * DAY;
const CUSTOMER = 'acme-aggregates';

const bed = new ScorerTestBed('aggregates');
const clock = new ManualClock(T);

let n = 0;
const activity = (activityType: ActivityEvent['activityType'], ago: number, extra: Partial<ActivityEvent> = {}) =>
  sampleActivity({ customerId: CUSTOMER, eventId: `act-${++n}`, activityType, value: null, occurredAt: T - ago, ...extra });
const opportunity = (opportunityId: string, stage: OpportunityEvent['stage'], amount: number, ago: number, extra: Partial<OpportunityEvent> = {}) =>
  sampleOpportunity({ customerId: CUSTOMER, eventId: `opp-${++n}`, opportunityId, stage, amount, probability: null, openQuotes: null, occurredAt: T - ago, ...extra });
const contract = (contractId: string, status: ContractEvent['status'], totalValue: number, ago: number, endInDays: number, extra: Partial<ContractEvent> = {}) =>
  sampleContract({
    customerId: CUSTOMER,
    eventId: `ctr-${++n}`,
    contractId,
    status,
    totalValue,
    occurredAt: T - ago,
    startDate: midnight(T - 200 * DAY),
    endDate: midnight(T + endInDays * DAY),
    ...extra,
  });

const emailSentAgo = [1 / 24, 6, 7, 29, 30, 200, 364, 365].map((days) => activity('EMAIL_SENT', days * DAY));
const events: InputEvent[] = [
  sampleCustomer({ customerId: CUSTOMER, eventId: 'profile-1', segment: 'MID_MARKET', occurredAt: T - 300 * DAY }),
  ...emailSentAgo,
  emailSentAgo[0]!, // an upstream duplicate: same eventId, new offset
  activity('EMAIL_RECEIVED', 3 * DAY),
  activity('CALL', 10 * DAY),
  activity('PRODUCT_USAGE', 2 * DAY, { value: 10 }),
  activity('PRODUCT_USAGE', 40 * DAY, { value: 5 }),
  activity('NPS_RESPONSE', 20 * DAY, { value: 9 }),
  activity('NPS_RESPONSE', 50 * DAY, { value: 6 }), // older, published later: does not win
  activity('CSM_SENTIMENT', 5 * DAY, { value: -1 }),
  activity('SUPPORT_TICKET_OPENED', 10 * DAY, { ticketId: 't1', slaBreached: true }),
  activity('SUPPORT_TICKET_CLOSED', 2 * DAY, { ticketId: 't1' }),
  activity('SUPPORT_TICKET_OPENED', 3 * DAY, { ticketId: 't2' }),
  activity('SUPPORT_TICKET_OPENED', 100 * DAY, { ticketId: 't3', slaBreached: true }),
  opportunity('o1', 'PROPOSAL', 10_000, 30 * DAY),
  opportunity('o1', 'LEAD', 1_000, 60 * DAY), // older state of o1, published later
  opportunity('o2', 'NEGOTIATION', 20_000, 5 * DAY, { probability: 0.8, openQuotes: 2 }),
  opportunity('o3', 'QUALIFIED', 5_000, 150 * DAY),
  opportunity('o3', 'CLOSED_WON', 5_000, 100 * DAY),
  opportunity('o4', 'CLOSED_LOST', 7_000, 10 * DAY),
  opportunity('o5', 'CLOSED_WON', 3_000, 380 * DAY), // outside the 365-day window
  contract('k1', 'ACTIVE', 50_000, 200 * DAY, 100),
  contract('k2', 'RENEWED', 10_000, 30 * DAY, 30),
  contract('k3', 'CANCELLED', 8_000, 20 * DAY, 60),
  contract('k4', 'EXPIRED', 4_000, 250 * DAY, -10),
];

beforeAll(async () => {
  await bed.setUp();
  await bed.startScorer({ clock: clock.now });
  await bed.publish(events);
  await eventually(
    () => bed.scoreHash(CUSTOMER),
    (hash) => Number(hash.revision) === events.length - 1,
    60_000,
    'every event to be applied',
  );
});
afterAll(() => bed.tearDown());

describe('the Insights aggregates (SPEC §4)', () => {
  it('match the values worked out by hand', async () => {
    const insights = await bed.insightsHash(CUSTOMER);
    const num = (field: string) => (insights[field] === undefined ? null : Number(insights[field]));
    // A set of windowed counts is one field: the 7-, 30-, 90- and 365-day counts, comma-separated.
    const windows = (field: string) => insights[field]?.split(',').map(Number);

    // EMAIL_SENT at 1h, 6, 7, 29, 30, 200, 364 and 365 days ago; the duplicate counts once.
    expect(windows('activity.EMAIL_SENT')).toEqual([2, 4, 5, 7]);
    expect(windows('activity.CALL')?.[1]).toBe(1);
    expect(windows('usageQuantity')?.slice(1, 3)).toEqual([10, 15]);
    expect(num('lastActivityAt')).toBe(T - DAY / 24);
    expect(num('lastInboundAt')).toBe(T - 3 * DAY);

    expect(num('openOpportunities')).toBe(2);
    expect(num('openPipelineAmount')).toBe(30_000);
    expect(num('weightedPipelineAmount')).toBeCloseTo(10_000 * 0.5 + 20_000 * 0.8, 6);
    expect(num('openQuotes')).toBe(2);
    expect([num('won365'), num('wonAmount365'), num('lost365'), num('lostAmount365')]).toEqual([1, 5_000, 1, 7_000]);
    expect(num('winRate365')).toBe(0.5);

    expect(num('activeContracts')).toBe(2);
    expect(num('totalContractValue')).toBe(60_000);
    expect(num('nextRenewalAt')).toBe(midnight(T + 30 * DAY));
    expect(num('cancelled365')).toBe(1);

    expect(num('openTickets')).toBe(2);
    expect(num('slaBreaches90')).toBe(1);
    expect(num('latestNps')).toBe(9);
    expect(num('latestCsmSentiment')).toBe(-1);
    expect(insights.segment).toBe('MID_MARKET');
  });

  it('carry a score with its explanation, readable with HGETALL', async () => {
    const score = await bed.scoreHash(CUSTOMER);
    expect(Number(score.health)).toBeGreaterThanOrEqual(0);
    expect(Number(score.health)).toBeLessThanOrEqual(100);
    expect(['green', 'yellow', 'red']).toContain(score.band);
    expect(Number(score.churnRisk)).toBeGreaterThan(0);
    expect(Number(score.churnRisk)).toBeLessThan(1);
    expect(Number(score.valueAtRisk)).toBeCloseTo(Number(score.churnRisk) * 60_000, 0);
    expect(score.segment).toBe('MID_MARKET');
  });
});

describe('score-changed events', () => {
  it('carry the explanation and strictly increasing versions per customer', async () => {
    const version = Number((await bed.scoreHash(CUSTOMER)).version);
    // Versions start at the Redis generation's floor (docs/events.md) and count up by one from there.
    const [first] = await bed.outputs(1, [bed.topics.scoreChanged]);
    const firstVersion = (first!.event as ScoreChangedEvent).version;
    const count = version - firstVersion + 1;
    const outputs = await bed.outputs(count, [bed.topics.scoreChanged]);
    const changes = outputs.flatMap(({ event }) => (event?.kind === 'score-changed' ? [event as ScoreChangedEvent] : []));
    expect(changes.length).toBe(count);
    expect(changes.map((c) => c.version)).toEqual(Array.from({ length: count }, (_, i) => firstVersion + i));
    expect(changes[0]!.previous).toBeNull();
    for (const change of changes) {
      expect(change.customerId).toBe(CUSTOMER);
      expect(change.cause.kind).toBe('event');
      expect(change.computedAt).toBe(T);
      expect(change.explanation.measures.length).toBeGreaterThan(0);
      for (const measure of change.explanation.measures) {
        expect(measure).toMatchObject({ measureId: expect.any(String), group: expect.any(String), weight: expect.any(Number), contribution: expect.any(Number) });
      }
    }
    const last = changes.at(-1)!;
    const contributions = last.explanation.measures.reduce((sum, m) => sum + m.contribution, 0);
    expect(Math.abs(contributions - last.current.health)).toBeLessThanOrEqual(1);
    expect(changes.slice(1).every((c) => c.previous !== null)).toBe(true);
  });
});
