import { MS_PER_DAY, type ActivityEvent, type ContractEvent, type InputEvent, type OpportunityEvent } from '@churnscore/domain';
import { validateEvent } from '@churnscore/events';
import { describe, expect, it } from 'vitest';
import { SEGMENTS, type Cohort } from './cohorts';
import { generateCustomerHistories, planCustomers, type CustomerHistory } from './generator';

const NOW = Date.parse('2025-06-15T10:30:00Z');
const history = generateCustomerHistories({ customers: 200, days: 400, seed: 7, now: NOW });
const ofCohort = (cohort: Cohort): CustomerHistory[] => history.filter((customer) => customer.cohort === cohort);

const activities = (customer: CustomerHistory): ActivityEvent[] =>
  customer.events.filter((event): event is ActivityEvent => event.kind === 'activity');
const activitiesOf = (customer: CustomerHistory, type: ActivityEvent['activityType']): ActivityEvent[] =>
  activities(customer).filter((event) => event.activityType === type);
const latestValue = (customer: CustomerHistory, type: ActivityEvent['activityType']): number | null | undefined =>
  activitiesOf(customer, type).at(-1)?.value;
/** Activity in the window (from, to] days before NOW. */
const between = (events: ActivityEvent[], fromDaysAgo: number, toDaysAgo: number): ActivityEvent[] =>
  events.filter((event) => event.occurredAt > NOW - fromDaysAgo * MS_PER_DAY && event.occurredAt <= NOW - toDaysAgo * MS_PER_DAY);
const usage = (events: ActivityEvent[]): number =>
  events.filter((event) => event.activityType === 'PRODUCT_USAGE').reduce((sum, event) => sum + (event.value ?? 0), 0);

/** Latest state per entity id, as the scorer resolves it. */
function latestById<E extends InputEvent>(events: E[], idOf: (event: E) => string): E[] {
  const latest = new Map<string, E>();
  for (const event of events) latest.set(idOf(event), event);
  return [...latest.values()];
}
const contracts = (customer: CustomerHistory): ContractEvent[] =>
  latestById(
    customer.events.filter((event): event is ContractEvent => event.kind === 'contract'),
    (event) => event.contractId,
  );
const opportunities = (customer: CustomerHistory): OpportunityEvent[] =>
  latestById(
    customer.events.filter((event): event is OpportunityEvent => event.kind === 'opportunity'),
    (event) => event.opportunityId,
  );
const subscription = (customer: CustomerHistory): ContractEvent =>
  contracts(customer).find((contract) => contract.contractId.endsWith('-SUB'))!;
const openTickets = (customer: CustomerHistory): number => {
  const closed = new Set(activitiesOf(customer, 'SUPPORT_TICKET_CLOSED').map((event) => event.ticketId));
  return activitiesOf(customer, 'SUPPORT_TICKET_OPENED').filter((event) => !closed.has(event.ticketId)).length;
};

describe('generateCustomerHistories', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const again = generateCustomerHistories({ customers: 200, days: 400, seed: 7, now: NOW });
    expect(again).toEqual(history);
    const other = generateCustomerHistories({ customers: 200, days: 400, seed: 8, now: NOW });
    expect(other.map((customer) => customer.events.length)).not.toEqual(history.map((customer) => customer.events.length));
  });

  it('splits customers exactly by the cohort mix', () => {
    const counts = (mix?: Parameters<typeof planCustomers>[0]['mix']) =>
      planCustomers({ customers: 200, days: 1, seed: 1, now: NOW, ...(mix ? { mix } : {}) }).reduce<Record<string, number>>(
        (tally, plan) => ({ ...tally, [plan.cohort]: (tally[plan.cohort] ?? 0) + 1 }),
        {},
      );
    expect(counts()).toEqual({ healthy: 80, growing: 50, declining: 40, churning: 30 });
    expect(counts({ healthy: 0, growing: 1, declining: 0, churning: 1 })).toEqual({ growing: 100, churning: 100 });
  });

  it('produces valid events only: every one passes the scorer validation, within the span, unique ids', () => {
    const events = history.flatMap((customer) => customer.events);
    const options = { reportingCurrency: 'USD', maxFutureSkewMs: 0, now: NOW };
    const rejected = events.map((event) => validateEvent(event.kind, event, options)).filter((result) => !result.ok);
    expect(rejected).toEqual([]);
    const spanStart = (Math.floor(NOW / MS_PER_DAY) - 399) * MS_PER_DAY;
    expect(events.every((event) => event.occurredAt >= spanStart && event.occurredAt <= NOW)).toBe(true);
    expect(new Set(events.map((event) => event.eventId)).size).toBe(events.length);
  });

  it('orders each customer history by time and gives every customer a segment profile', () => {
    for (const customer of history) {
      const times = customer.events.map((event) => event.occurredAt);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      const profiles = customer.events.filter((event) => event.kind === 'customer');
      expect(profiles).toEqual([expect.objectContaining({ segment: customer.segment, erase: false })]);
      expect(SEGMENTS).toContain(customer.segment);
    }
    expect(new Set(history.map((customer) => customer.segment))).toEqual(new Set(SEGMENTS));
  });

  it('prices contracts by segment and never produces a negative amount', () => {
    for (const customer of history) {
      for (const event of customer.events) {
        if (event.kind === 'opportunity') expect(event.amount).toBeGreaterThan(0);
        if (event.kind === 'contract') expect(event.totalValue).toBeGreaterThan(0);
        if (event.kind === 'activity' && event.activityType === 'PRODUCT_USAGE') expect(event.value).toBeGreaterThan(0);
      }
    }
    const medianValue = (segment: string): number => {
      const values = history.filter((c) => c.segment === segment).map((c) => subscription(c).totalValue).sort((a, b) => a - b);
      return values[Math.floor(values.length / 2)]!;
    };
    expect(medianValue('SMB')).toBeLessThan(medianValue('MID_MARKET'));
    expect(medianValue('MID_MARKET')).toBeLessThan(medianValue('ENTERPRISE'));
  });

  it('healthy: steady activity every month, NPS 9-10, positive sentiment, an active renewed subscription, deals won', () => {
    for (const customer of ofCohort('healthy')) {
      for (let month = 0; month < 12; month += 1) expect(between(activities(customer), 30 * (month + 1), 30 * month).length).toBeGreaterThan(0);
      expect(latestValue(customer, 'NPS_RESPONSE')).toBeGreaterThanOrEqual(9);
      expect(latestValue(customer, 'CSM_SENTIMENT')).toBeGreaterThanOrEqual(1);
      expect(subscription(customer)).toMatchObject({ status: 'RENEWED' });
      expect(subscription(customer).endDate).toBeGreaterThan(NOW);
    }
    const won = ofCohort('healthy').flatMap(opportunities).filter((o) => o.stage === 'CLOSED_WON').length;
    expect(won).toBeGreaterThanOrEqual(ofCohort('healthy').length);
  });

  it('growing: usage rises over the tenure, deals are won and expansion subscriptions signed', () => {
    for (const customer of ofCohort('growing')) {
      const tenure = customer.timeline.customerSinceDaysAgo;
      const firstQuarter = usage(between(activities(customer), tenure, tenure - 90));
      expect(usage(between(activities(customer), 90, 0))).toBeGreaterThan(1.5 * firstQuarter);
      expect(opportunities(customer).some((o) => o.stage === 'CLOSED_WON')).toBe(true);
      expect(opportunities(customer).some((o) => o.stage === 'NEGOTIATION')).toBe(true);
      const expansions = contracts(customer).filter((c) => c.contractType === 'SUBSCRIPTION' && !c.contractId.endsWith('-SUB'));
      expect(expansions.length).toBeGreaterThan(0);
      expect(activities(customer).every((event) => event.occurredAt >= NOW - (tenure + 1) * MS_PER_DAY)).toBe(true);
    }
  });

  it('declining: activity trails off, SLA breaches, NPS 4-6, sentiment -1, a lost deal, renewal within 90 days', () => {
    for (const customer of ofCohort('declining')) {
      expect(usage(between(activities(customer), 30, 0))).toBeLessThan(0.6 * usage(between(activities(customer), 180, 150)));
      expect(between(activities(customer), 30, 0).length).toBeLessThan(between(activities(customer), 180, 150).length);
      expect(latestValue(customer, 'NPS_RESPONSE')).toBeGreaterThanOrEqual(4);
      expect(latestValue(customer, 'NPS_RESPONSE')).toBeLessThanOrEqual(6);
      expect(latestValue(customer, 'CSM_SENTIMENT')).toBe(-1);
      expect(opportunities(customer).some((o) => o.stage === 'CLOSED_LOST' && o.occurredAt > NOW - 90 * MS_PER_DAY)).toBe(true);
      const renewal = subscription(customer);
      expect(renewal.status).toBe('RENEWED');
      expect(renewal.endDate).toBeGreaterThan(NOW);
      expect(renewal.endDate).toBeLessThan(NOW + 90 * MS_PER_DAY);
    }
    const breaches = ofCohort('declining').flatMap((customer) =>
      between(activities(customer), 90, 0).filter((event) => event.slaBreached === true),
    );
    expect(breaches.length).toBeGreaterThan(ofCohort('declining').length / 2);
  });

  it('churning: silent for the last 30 days, contract cancelled or expired, NPS 0-3, sentiment -2, deals lost, tickets left open', () => {
    for (const customer of ofCohort('churning')) {
      expect(between(activities(customer), 30, 0)).toEqual([]);
      expect(['CANCELLED', 'EXPIRED']).toContain(subscription(customer).status);
      expect(latestValue(customer, 'NPS_RESPONSE')).toBeLessThanOrEqual(3);
      expect(latestValue(customer, 'CSM_SENTIMENT')).toBe(-2);
      expect(opportunities(customer).length).toBeGreaterThan(0);
      expect(opportunities(customer).every((o) => o.stage === 'CLOSED_LOST')).toBe(true);
    }
    const withOpenTickets = ofCohort('churning').filter((customer) => openTickets(customer) > 0).length;
    expect(withOpenTickets).toBeGreaterThan(ofCohort('churning').length / 2);
  });

  it('keeps contracts signed before a short span known through a snapshot at its start', () => {
    const shortSpan = generateCustomerHistories({ customers: 20, days: 7, seed: 3, now: NOW, mix: { healthy: 1, growing: 0, declining: 0, churning: 0 } });
    const spanStart = (Math.floor(NOW / MS_PER_DAY) - 6) * MS_PER_DAY;
    for (const customer of shortSpan) {
      expect(customer.events.every((event) => event.occurredAt >= spanStart)).toBe(true);
      expect(subscription(customer)).toMatchObject({ status: expect.stringMatching(/ACTIVE|RENEWED/) });
    }
  });
});
