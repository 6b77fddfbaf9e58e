// The simulator's churn must be learnable from behaviour only: nothing a customer is, or what its contract
// dates say, may tell whether it churns within the horizon. Each non-behavioural feature is taken as
// training would take it (weekly as-of instants, customers holding an active contract, label: churns within
// 90 days) and must rank churners no better than chance.
import { MS_PER_DAY, utcDay } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import { SEGMENTS } from './cohorts';
import { generateCustomerHistories, type CustomerHistory, type GeneratorOptions } from './generator';
import { rocAuc } from '@churnscore/training';
import { asOfInstants, churnedAt, contractsAsOf, isActiveContract } from './test-fixtures';

const NOW = Date.parse('2025-06-15T12:00:00Z');
const DAYS = 400;
const HORIZON_DAYS = 90;
/** A feature whose AUC stays within this distance of 0.5 says nothing about churn (1,500 customers: the noise is about ±0.03). */
const CHANCE_MARGIN = 0.1;

interface Row {
  customer: CustomerHistory;
  asOf: number;
  churnsWithinHorizon: boolean;
}

/** As-of instants weekly from 90 days into the span until the last whose horizon the span covers. */
function rows(customers: readonly CustomerHistory[]): Row[] {
  const today = utcDay(NOW);
  const instants = asOfInstants(today - DAYS + 1 + 90, today - HORIZON_DAYS);
  return customers.flatMap((customer) => {
    const churned = churnedAt(customer);
    return instants
      .filter((asOf) => contractsAsOf(customer, asOf).some(isActiveContract))
      .map((asOf) => ({ customer, asOf, churnsWithinHorizon: churned !== null && churned > asOf && churned <= asOf + HORIZON_DAYS * MS_PER_DAY }));
  });
}

const subscriptionAsOf = (row: Row) => contractsAsOf(row.customer, row.asOf).find((contract) => contract.contractId.endsWith('-SUB'))!;

const NON_BEHAVIOURAL_FEATURES: Record<string, (row: Row) => number> = {
  'days into the subscription term': (row) => (row.asOf - subscriptionAsOf(row).endDate) / MS_PER_DAY + row.customer.latent.termDays,
  'days to the subscription renewal': (row) => (subscriptionAsOf(row).endDate - row.asOf) / MS_PER_DAY,
  'days since the first contract started': (row) => (row.asOf - Math.min(...contractsAsOf(row.customer, row.asOf).map((c) => c.startDate))) / MS_PER_DAY,
  'subscription term length': (row) => row.customer.latent.termDays,
  'subscription value': (row) => subscriptionAsOf(row).totalValue,
  segment: (row) => SEGMENTS.indexOf(row.customer.segment),
  'customer id order': (row) => Number(row.customer.customerId.slice(-6)),
};

describe.each<[string, Partial<GeneratorOptions>]>([
  ['the default population', {}],
  ['a population with more churn, no silent churners and a narrow activity spread', { churnRate: 0.5, silentChurnShare: 0, activitySpread: 3 }],
  ["a population whose usage readings' quantity does not follow engagement", { usageSignal: 0 }],
  ["a population in which half the customers' products report no usage", { usageReporting: 0.5 }],
])('%s', (_name, parameters) => {
  const customers = generateCustomerHistories({ customers: 1_500, days: DAYS, seed: 'leakage', now: NOW, ...parameters });
  const sample = rows(customers);

  it('has churners to rank at the weekly as-of instants', () => {
    expect(sample.filter((row) => row.churnsWithinHorizon).length).toBeGreaterThan(1_000);
  });

  it.each(Object.keys(NON_BEHAVIOURAL_FEATURES))('%s does not predict churn within 90 days', (feature) => {
    const ranking = rocAuc(sample.map((row) => ({ score: NON_BEHAVIOURAL_FEATURES[feature]!(row), label: row.churnsWithinHorizon })));
    expect(ranking).toBeGreaterThan(0.5 - CHANCE_MARGIN);
    expect(ranking).toBeLessThan(0.5 + CHANCE_MARGIN);
  });
});
