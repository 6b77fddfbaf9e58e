import { MS_PER_DAY, utcDay, type ActivityEvent, type InputEvent, type OpportunityEvent } from '@churnscore/domain';
import { validateEvent } from '@churnscore/events';
import { describe, expect, it } from 'vitest';
import { GROWING_DRIFT_PER_YEAR, SEGMENTS } from './cohorts';
import { generateCustomerHistories, planCustomers, type CustomerHistory, type GeneratorOptions } from './generator';
import { DECLINE_LEAD_DAYS, latentState, latentStateOnDay } from './latent';
import { generateLiveEvents } from './live';
import { asOfInstants, churnedAt, contractEvents, contractsAsOf, isActiveContract, quantile } from './test-fixtures';

const NOW = Date.parse('2025-06-15T10:30:00Z');
const TODAY = utcDay(NOW);
const DAYS = 400;
const SPAN_START = TODAY - DAYS + 1;
const population = (options: Partial<GeneratorOptions> = {}): CustomerHistory[] =>
  generateCustomerHistories({ customers: 600, days: DAYS, seed: 7, now: NOW, ...options });
const history = population();

const dayOf = (instant: number): number => utcDay(instant);
const activities = (customer: CustomerHistory): ActivityEvent[] =>
  customer.events.filter((event): event is ActivityEvent => event.kind === 'activity');
/** Activity events on the days from `fromDay` to `toDay`, both included. */
const activityBetween = (customer: CustomerHistory, fromDay: number, toDay: number): number =>
  activities(customer).filter((event) => dayOf(event.occurredAt) >= fromDay && dayOf(event.occurredAt) <= toDay).length;
const answers = (customer: CustomerHistory, type: 'NPS_RESPONSE' | 'CSM_SENTIMENT'): ActivityEvent[] =>
  activities(customer).filter((event) => event.activityType === type);
const finalOpportunities = (customer: CustomerHistory): OpportunityEvent[] => [
  ...new Map(customer.events.filter((event): event is OpportunityEvent => event.kind === 'opportunity').map((event) => [event.opportunityId, event])).values(),
];
const churnDay = (customer: CustomerHistory): number | null => customer.latent.churnDay;
const churnedInSpan = (customer: CustomerHistory): boolean => churnDay(customer) !== null && churnDay(customer)! <= TODAY;
/** Stays a customer for the whole span and a year after it, and was one before it started. */
const staysThroughout = (customer: CustomerHistory): boolean =>
  customer.latent.customerSinceDay < SPAN_START && (churnDay(customer) === null || churnDay(customer)! > TODAY + 365);
const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;

describe('generateCustomerHistories', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    // A tenth of the population shows the same property at a tenth of the cost.
    const sample = (seed: number): CustomerHistory[] => population({ customers: 60, seed });
    const first = sample(7);
    expect(sample(7)).toEqual(first);
    const other = sample(8);
    expect(other.map(churnDay)).not.toEqual(first.map(churnDay));
    expect(other.map((customer) => customer.events.length)).not.toEqual(first.map((customer) => customer.events.length));
  });

  it('produces valid events only: every one passes the scorer validation, within the span, unique ids', () => {
    const events = history.flatMap((customer) => customer.events);
    const options = { reportingCurrency: 'USD', maxFutureSkewMs: 0, now: NOW };
    const rejected = events.map((event) => validateEvent(event.kind, event, options)).filter((result) => !result.ok);
    expect(rejected).toEqual([]);
    expect(events.every((event) => event.occurredAt >= SPAN_START * MS_PER_DAY && event.occurredAt <= NOW)).toBe(true);
    expect(new Set(events.map((event) => event.eventId)).size).toBe(events.length);
  });

  it('orders each customer history by time and gives every customer a segment profile', () => {
    for (const customer of history) {
      const times = customer.events.map((event) => event.occurredAt);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      const profiles = customer.events.filter((event) => event.kind === 'customer');
      expect(profiles).toEqual([expect.objectContaining({ segment: customer.segment, erase: false })]);
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
    const medianValue = (segment: string): number => quantile(history.filter((c) => c.segment === segment).map((c) => c.annualValue), 0.5);
    expect(medianValue('SMB')).toBeLessThan(medianValue('MID_MARKET'));
    expect(medianValue('MID_MARKET')).toBeLessThan(medianValue('ENTERPRISE'));
  });

  it('keeps contracts signed before a short span known through a snapshot at its start', () => {
    const shortSpan = generateCustomerHistories({ customers: 40, days: 7, seed: 3, now: NOW });
    for (const customer of shortSpan.filter((c) => c.latent.customerSinceDay < TODAY - 6 && !churnedInSpan(c))) {
      expect(customer.events.every((event) => event.occurredAt >= (TODAY - 6) * MS_PER_DAY)).toBe(true);
      expect(contractsAsOf(customer, (TODAY - 6) * MS_PER_DAY).find((c) => c.contractId.endsWith('-SUB'))).toMatchObject({
        status: expect.stringMatching(/ACTIVE|RENEWED/),
      });
    }
  });
});

describe('contracts', () => {
  it('a customer holds its subscription from signing until it churns, renewed as each term ends', () => {
    for (const customer of history) {
      const { customerSinceDay, termDays } = customer.latent;
      const subscription = contractEvents(customer).filter((event) => event.contractId.endsWith('-SUB'));
      const churned = churnedAt(customer);
      if (churnedInSpan(customer)) {
        expect(dayOf(churned!)).toBe(churnDay(customer));
        const last = subscription.at(-1)!;
        // Cancelled on the day it leaves, or left to expire at the end of a term.
        if (last.status === 'CANCELLED') expect(last.endDate).toBe(churnDay(customer)! * MS_PER_DAY);
        else expect([last.status, (dayOf(last.endDate) - customerSinceDay) % termDays]).toEqual(['EXPIRED', 0]);
        expect(activities(customer).filter((event) => event.occurredAt >= churnDay(customer)! * MS_PER_DAY)).toEqual([]);
      } else {
        expect(churned).toBeNull();
      }
      for (const [previous, renewal] of subscription.slice(0, -1).map((event, i) => [event, subscription[i + 1]!] as const)) {
        if (renewal.status !== 'RENEWED' || previous.endDate === renewal.endDate) continue;
        expect(renewal.endDate - previous.endDate).toBe(termDays * MS_PER_DAY);
        expect(dayOf(renewal.occurredAt)).toBe(dayOf(previous.endDate));
      }
    }
  });

  it('terms vary in length and start on any day of the year; most churners cancel, some let a term expire', () => {
    expect(new Set(history.map((customer) => customer.latent.termDays)).size).toBeGreaterThanOrEqual(3);
    const startMonths = new Set(history.map((customer) => Math.floor(((customer.latent.customerSinceDay % 365) + 365) % 365 / 31)));
    expect(startMonths.size).toBe(12);
    const kinds = history.filter(churnedInSpan).map((customer) => customer.latent.churnKind);
    expect(kinds.filter((kind) => kind === 'EXPIRED').length).toBeGreaterThan(0);
    expect(kinds.filter((kind) => kind === 'CANCELLED').length).toBeGreaterThan(kinds.length / 2);
  });
});

describe('churn', () => {
  it('is spread over the whole span: churners in every quarter of it, and at every weekly as-of instant some churn within 90 days', () => {
    const churnDays = history.filter(churnedInSpan).map((customer) => churnDay(customer)!);
    expect(churnDays.length).toBeGreaterThan(history.length * 0.15);
    for (let quarter = 0; quarter < 4; quarter += 1) {
      const inQuarter = churnDays.filter((day) => Math.floor(((day - SPAN_START) * 4) / DAYS) === quarter).length;
      expect(inQuarter, `quarter ${quarter + 1}`).toBeGreaterThan(churnDays.length * 0.15);
    }
    for (const asOf of asOfInstants(SPAN_START + 90, TODAY - 90)) {
      const churning = history.filter((customer) => {
        const churned = churnedAt(customer);
        return contractsAsOf(customer, asOf).some(isActiveContract) && churned !== null && churned > asOf && churned <= asOf + 90 * MS_PER_DAY;
      });
      expect(churning.length, new Date(asOf).toISOString()).toBeGreaterThanOrEqual(10);
    }
  });

  it('follows a decline that starts 60–180 days before it, except for churners who leave with no warning', () => {
    const churners = history.filter((customer) => churnDay(customer) !== null && churnDay(customer)! - 240 >= SPAN_START && churnDay(customer)! <= TODAY);
    const silent = churners.filter((customer) => customer.latent.decline === null);
    const warned = churners.filter((customer) => customer.latent.decline !== null);
    expect(silent.length).toBeGreaterThan(churners.length * 0.1);
    expect(silent.length).toBeLessThan(churners.length * 0.35);
    for (const customer of warned) {
      const lead = churnDay(customer)! - customer.latent.decline!.fromDay;
      expect(lead).toBeGreaterThanOrEqual(DECLINE_LEAD_DAYS[0]);
      expect(lead).toBeLessThanOrEqual(DECLINE_LEAD_DAYS[1]);
    }
    // Activity in the last 45 days before churn against the same length of time 195–240 days before it.
    const lastWeeksOverEarlier = (customer: CustomerHistory): number => {
      const day = churnDay(customer)!;
      return activityBetween(customer, day - 45, day - 1) / Math.max(1, activityBetween(customer, day - 240, day - 196));
    };
    expect(quantile(warned.map(lastWeeksOverEarlier), 0.5)).toBeLessThan(0.5);
    expect(quantile(silent.map(lastWeeksOverEarlier), 0.5)).toBeGreaterThan(0.8);
  });

  it('healthy customers dip and recover', () => {
    const stayers = history.filter(staysThroughout);
    const recovered = stayers.filter((customer) => {
      const months = Array.from({ length: Math.floor(DAYS / 30) }, (_, i) => activityBetween(customer, SPAN_START + 30 * i, SPAN_START + 30 * i + 29));
      const usual = quantile(months, 0.5);
      const dipped = months.findIndex((month) => month < 0.6 * usual);
      return dipped >= 0 && months.slice(dipped + 1).some((month) => month >= 0.9 * usual);
    });
    expect(stayers.filter((customer) => customer.latent.dips.some((dip) => dip.fromDay >= SPAN_START)).length).toBeGreaterThan(stayers.length / 3);
    expect(recovered.length).toBeGreaterThan(stayers.length * 0.1);
  });

  it('names each cohort after the latent state at the clock, and nothing else', () => {
    for (const customer of history) {
      const state = latentState(customer, NOW);
      const { driftPerYear, customerSinceDay, rampDays } = customer.latent;
      const growing = driftPerYear >= GROWING_DRIFT_PER_YEAR || TODAY - customerSinceDay < rampDays;
      const expected = churnedInSpan(customer) ? 'churning' : state.decline > 0 ? 'declining' : growing ? 'growing' : 'healthy';
      expect(customer.cohort).toBe(expected);
    }
    expect(new Set(history.map((customer) => customer.cohort))).toEqual(new Set(['healthy', 'growing', 'declining', 'churning']));
  });
});

describe('behaviour', () => {
  const yearlyActivity = (customers: readonly CustomerHistory[]): number[] =>
    customers.filter((customer) => customer.segment === 'SMB' && staysThroughout(customer)).map((customer) => activities(customer).length);

  it('spreads activity levels about tenfold between customers of a segment, as --activity-spread says', () => {
    const spread = (counts: number[]): number => quantile(counts, 0.95) / quantile(counts, 0.05);
    expect(spread(yearlyActivity(history))).toBeGreaterThan(6);
    expect(spread(yearlyActivity(population({ activitySpread: 2 })))).toBeLessThan(3.5);
  });

  it('survey answers overlap across fates, and say nothing before a decline starts', () => {
    const churners = history.filter((customer) => churnDay(customer) !== null && churnDay(customer)! <= TODAY + 90);
    const stayers = history.filter(staysThroughout);
    for (const type of ['NPS_RESPONSE', 'CSM_SENTIMENT'] as const) {
      const values = (customers: readonly CustomerHistory[], keep: (customer: CustomerHistory, event: ActivityEvent) => boolean): number[] =>
        customers.flatMap((customer) => answers(customer, type).filter((event) => keep(customer, event)).map((event) => event.value!));
      const beforeDecline = values(churners, (customer, event) => latentStateOnDay(customer.latent, dayOf(event.occurredAt)).decline === 0);
      const inDecline = values(churners, (customer, event) => latentStateOnDay(customer.latent, dayOf(event.occurredAt)).decline > 0);
      const ofStayers = values(stayers, () => true);
      expect(Math.abs(mean(beforeDecline) - mean(ofStayers)), type).toBeLessThan(type === 'NPS_RESPONSE' ? 0.4 : 0.2);
      expect(mean(inDecline), type).toBeLessThan(mean(ofStayers) - 1);
      // Overlapping ranges: the middle of the stayers' answers is also common among the declining ones.
      expect(inDecline.filter((value) => value >= quantile(ofStayers, 0.25)).length, type).toBeGreaterThan(inDecline.length * 0.1);
    }
  });

  it('deals come from one process: churners win deals before they decline, staying customers lose some', () => {
    const churners = history.filter(churnedInSpan);
    const won = churners.filter((customer) => finalOpportunities(customer).some((deal) => deal.stage === 'CLOSED_WON'));
    const withSales = churners.filter((customer) => contractEvents(customer).some((contract) => contract.contractType === 'SALES'));
    expect(won.length).toBeGreaterThan(churners.length * 0.2);
    expect(withSales.length).toBeGreaterThan(churners.length * 0.1);
    const stayers = history.filter(staysThroughout);
    const lost = stayers.filter((customer) => finalOpportunities(customer).some((deal) => deal.stage === 'CLOSED_LOST'));
    expect(lost.length).toBeGreaterThan(stayers.length * 0.15);
  });
});

describe('population parameters', () => {
  const churnedShare = (customers: readonly CustomerHistory[]): number => customers.filter(churnedInSpan).length / customers.length;

  it('a higher churn rate churns more customers', () => {
    const plans = (churnRate: number) => planCustomers({ customers: 2_000, days: 365, seed: 7, now: NOW, churnRate });
    const share = (churnRate: number): number => {
      const population = plans(churnRate);
      return population.filter((plan) => plan.latent.churnDay !== null && plan.latent.churnDay <= TODAY).length / population.length;
    };
    expect(share(0.1)).toBeGreaterThan(0.05);
    expect(share(0.1)).toBeLessThan(0.15);
    expect(share(0.5)).toBeGreaterThan(0.35);
    expect(share(0)).toBe(0);
    expect(churnedShare(history)).toBeGreaterThan(share(0.1));
  });

  it('the share of silent churners follows --silent-churn-share', () => {
    const silentShare = (silentChurnShare: number): number => {
      const churners = planCustomers({ customers: 1_000, days: DAYS, seed: 7, now: NOW, silentChurnShare }).filter((plan) => plan.latent.churnDay !== null);
      return churners.filter((plan) => plan.latent.decline === null).length / churners.length;
    };
    expect(silentShare(0)).toBe(0);
    expect(silentShare(0.5)).toBeGreaterThan(0.4);
    expect(silentShare(0.5)).toBeLessThan(0.6);
    expect(silentShare(1)).toBe(1);
  });

  it("--usage-signal says how far a usage reading's quantity follows engagement; how often the product reports follows it whatever the signal", () => {
    // Warned churners' product usage in the 45 days before the churn against the same length of time 195–240 days before it.
    const lastWeeksOverEarlier = (usageSignal: number): { readings: number; quantityPerReading: number } => {
      const churners = population({ usageSignal }).filter(
        (customer) => churnedInSpan(customer) && churnDay(customer)! - 240 >= SPAN_START && customer.latent.decline !== null,
      );
      const usage = (customer: CustomerHistory, fromDay: number, toDay: number): number[] =>
        activities(customer)
          .filter((event) => event.activityType === 'PRODUCT_USAGE' && dayOf(event.occurredAt) >= fromDay && dayOf(event.occurredAt) <= toDay)
          .map((event) => event.value!);
      const ratios = churners.map((customer) => {
        const day = churnDay(customer)!;
        const [recent, earlier] = [usage(customer, day - 45, day - 1), usage(customer, day - 240, day - 196)];
        return { readings: recent.length / Math.max(1, earlier.length), quantityPerReading: mean(recent.length > 0 ? recent : [0]) / mean(earlier) };
      });
      return { readings: quantile(ratios.map((r) => r.readings), 0.5), quantityPerReading: quantile(ratios.map((r) => r.quantityPerReading), 0.5) };
    };
    const followed = lastWeeksOverEarlier(1);
    const notFollowed = lastWeeksOverEarlier(0);
    expect(followed.quantityPerReading).toBeLessThan(0.7);
    expect(notFollowed.quantityPerReading).toBeGreaterThan(0.9);
    expect(notFollowed.quantityPerReading).toBeLessThan(1.1);
    for (const { readings } of [followed, notFollowed]) expect(readings).toBeLessThan(0.6);
  });

  it('--usage-reporting draws which customers report product usage at all; their other events are the same either way', () => {
    const withoutUsage = (customer: CustomerHistory) => customer.events.filter((event) => !(event.kind === 'activity' && event.activityType === 'PRODUCT_USAGE'));
    const reporting = (share: number) => population({ usageReporting: share });
    const all = reporting(1);
    const none = reporting(0);
    const half = reporting(0.5);
    expect(none.flatMap(activities).some((event) => event.activityType === 'PRODUCT_USAGE')).toBe(false);
    expect(none.map(withoutUsage)).toEqual(all.map(withoutUsage));
    const reportingShare = half.filter((customer) => activities(customer).some((event) => event.activityType === 'PRODUCT_USAGE')).length / half.length;
    expect(reportingShare).toBeGreaterThan(0.3);
    expect(reportingShare).toBeLessThan(0.7);
    // The same customers (plans) whatever the share.
    expect(half.map(({ customerId, cohort, latent }) => ({ customerId, cohort, latent }))).toEqual(all.map(({ customerId, cohort, latent }) => ({ customerId, cohort, latent })));
  });

  it('--usage-reporting holds for the live stream too: no usage from a customer whose product does not report', () => {
    const usageShare = (usageReporting: number) => {
      const plans = planCustomers({ customers: 50, days: DAYS, seed: 7, now: NOW, usageReporting });
      const live = generateLiveEvents(plans, { seed: 7, clock: () => NOW });
      const events = Array.from({ length: 500 }, () => live.next().value as InputEvent);
      return events.filter((event) => event.kind === 'activity' && event.activityType === 'PRODUCT_USAGE').length / events.length;
    };
    expect(usageShare(1)).toBeGreaterThan(0.2);
    expect(usageShare(0)).toBe(0);
  });

  it('refuses parameters out of range, naming them', () => {
    expect(() => planCustomers({ customers: 1, days: 1, seed: 1, now: NOW, churnRate: 1 })).toThrow(/churnRate must be a number from 0 to 0.95/);
    expect(() => planCustomers({ customers: 1, days: 1, seed: 1, now: NOW, activitySpread: 0.5 })).toThrow(/activitySpread/);
    expect(() => planCustomers({ customers: 1, days: 1, seed: 1, now: NOW, silentChurnShare: Number.NaN })).toThrow(/silentChurnShare/);
    expect(() => planCustomers({ customers: 1, days: 1, seed: 1, now: NOW, usageSignal: 1.5 })).toThrow(/usageSignal must be a number from 0 to 1/);
    expect(() => planCustomers({ customers: 1, days: 1, seed: 1, now: NOW, usageReporting: -0.1 })).toThrow(/usageReporting must be a number from 0 to 1/);
  });
});
