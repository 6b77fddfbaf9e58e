import { defaultScoringConfig, logOdds, logistic } from '@churnscore/scoring';
import { describe, expect, it } from 'vitest';
import { AdaptationRefusedError, RATE_FLOOR, adaptToBaseRate, estimateBaseRate } from './base-rate';
import { seededRandom } from './test-support';
import { MIN_CUSTOMERS } from './train';

/**
 * A base churning at `churnRate` whose customers' one behavioural measure is N(1, 1) for churners and N(0, 1) for the
 * others, whatever the rate (a prior shift: behaviour given the outcome does not change from base to base); and the
 * log-odds a model calibrated on a base churning at `modelRate` gives each customer: the exact Bayes posterior there.
 */
function shiftedBase(churnRate: number, modelRate: number, customers: number, seed: number): { logits: number[]; labels: boolean[] } {
  const random = seededRandom(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const labels = Array.from({ length: customers }, () => random() < churnRate);
  const measures = labels.map((churns) => (churns ? 1 : 0) + normal());
  return { logits: measures.map((x) => logOdds(modelRate) + x - 0.5), labels };
}

describe('estimateBaseRate', () => {
  it.each([0.02, 0.08, 0.25, 0.5])('recovers a base churning at %s from the model’s risks alone, the model fitted at 0.08', (churnRate) => {
    const { logits, labels } = shiftedBase(churnRate, 0.08, 20_000, 7);
    const observed = labels.filter(Boolean).length / labels.length;
    expect(Math.abs(estimateBaseRate(logits, 0.08) - observed)).toBeLessThan(0.015);
  });

  it('finds the model’s own rate on the base it was calibrated for', () => {
    const { logits } = shiftedBase(0.08, 0.08, 20_000, 11);
    expect(Math.abs(estimateBaseRate(logits, 0.08) - 0.08)).toBeLessThan(0.005);
  });

  it('stays inside (0, 1) when every customer is certain', () => {
    expect(estimateBaseRate([40, 40, 40], 0.1)).toBe(1 - RATE_FLOOR);
    expect(estimateBaseRate([-40, -40, -40], 0.1)).toBe(RATE_FLOOR);
  });

  it('needs customers', () => {
    expect(() => estimateBaseRate([], 0.1)).toThrow(RangeError);
  });
});

describe('adaptToBaseRate', () => {
  const config = defaultScoringConfig();

  it('moves the intercept by the two rates’ log-odds: every risk calibrated to the new base, the ranking unchanged', () => {
    const { logits, labels } = shiftedBase(0.3, config.churn.baseRate!, 2_000, 3);
    const { config: adapted, adaptation } = adaptToBaseRate(config, logits);
    expect(adaptation).toMatchObject({ from: config.churn.baseRate, customers: 2_000 });
    expect(Math.abs(adaptation.to - labels.filter(Boolean).length / labels.length)).toBeLessThan(0.03);
    expect(adapted.churn.baseRate).toBe(adaptation.to);
    expect(adapted.churn.intercept).toBeCloseTo(config.churn.intercept + logOdds(adaptation.to) - logOdds(adaptation.from), 4);
    expect(adapted.churn.coefficients).toEqual(config.churn.coefficients);
    expect(adapted.alerts).toEqual(config.alerts);
    expect(adapted.version).toBe(`${config.version}-base${Number((adaptation.to * 100).toPrecision(6))}`);
    // The adapted risks average to the estimated rate: what calibration to the base means.
    const shifted = logits.map((logit) => logistic(logit + adapted.churn.intercept - config.churn.intercept));
    expect(shifted.reduce((sum, risk) => sum + risk, 0) / shifted.length).toBeCloseTo(adaptation.to, 3);
  });

  it.each([
    ['less', -1],
    ['more', 1],
  ] as const)('refuses a base that no churn rate fits: every customer %s likely to churn than the model\'s base on average', (word, sign) => {
    const logits = Array.from({ length: MIN_CUSTOMERS }, (_, i) => logOdds(config.churn.baseRate!) + sign * (2 + i / MIN_CUSTOMERS));
    expect(() => adaptToBaseRate(config, logits)).toThrow(new RegExp(`fit no churn rate \\(every one looks ${word} likely`));
    expect(() => adaptToBaseRate(config, logits)).toThrow(expect.objectContaining({ reason: 'no rate fits' }));
  });

  it('takes the version it is given', () => {
    expect(adaptToBaseRate(config, shiftedBase(0.3, 0.08, MIN_CUSTOMERS, 5).logits, 'ours-1').config.version).toBe('ours-1');
  });

  it(`refuses fewer than ${MIN_CUSTOMERS} customers, and a config that does not say the rate it was fitted at`, () => {
    const { logits } = shiftedBase(0.3, 0.08, MIN_CUSTOMERS - 1, 5);
    expect(() => adaptToBaseRate(config, logits)).toThrow(AdaptationRefusedError);
    expect(() => adaptToBaseRate(config, logits)).toThrow(expect.objectContaining({ reason: 'too few customers' }));
    const { baseRate: _unstated, ...churn } = config.churn;
    expect(() => adaptToBaseRate({ ...config, churn }, [...logits, 0])).toThrow(/churn\.baseRate/);
    expect(() => adaptToBaseRate({ ...config, churn }, [...logits, 0])).toThrow(expect.objectContaining({ reason: 'no rate stated' }));
  });
});
