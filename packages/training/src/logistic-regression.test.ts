import { describe, expect, it } from 'vitest';
import { fitLogisticRegression, solveSymmetricPositiveDefinite } from './logistic-regression';
import { seededRandom } from './test-support';

const logit = (p: number): number => Math.log(p / (1 - p));

/** `n` rows of three features on very different scales, labels drawn from a known logistic model. */
function syntheticData(n: number, seed: number) {
  const random = seededRandom(seed);
  const truth = { intercept: -1, coefficients: [2, -0.05, 0.8] };
  const rows: number[][] = [];
  const labels: boolean[] = [];
  for (let i = 0; i < n; i += 1) {
    const row = [random(), 100 * random(), random() < 0.3 ? 1 : 0];
    const eta = truth.intercept + row.reduce((sum, x, j) => sum + truth.coefficients[j]! * x, 0);
    rows.push(row);
    labels.push(random() < 1 / (1 + Math.exp(-eta)));
  }
  return { truth, rows, labels };
}

describe('fitLogisticRegression', () => {
  it('recovers the coefficients that generated the labels, each on its feature’s own scale', () => {
    const { truth, rows, labels } = syntheticData(40_000, 7);
    const fit = fitLogisticRegression(rows, labels, { l2: 1e-6 });
    expect(fit.converged).toBe(true);
    // Within about three standard errors of the estimates at this sample size.
    expect(Math.abs(fit.intercept - truth.intercept)).toBeLessThan(0.1);
    expect(Math.abs(fit.coefficients[0]! - truth.coefficients[0]!)).toBeLessThan(0.1);
    expect(Math.abs(fit.coefficients[1]! - truth.coefficients[1]!)).toBeLessThan(0.002);
    expect(Math.abs(fit.coefficients[2]! - truth.coefficients[2]!)).toBeLessThan(0.1);
  });

  it('fits a left-out column at 0, as if it were absent, and still reports its mean and standard deviation', () => {
    const { rows, labels } = syntheticData(5_000, 3);
    const without = fitLogisticRegression(rows.map((row) => [row[0]!, row[2]!]), labels, { l2: 1 });
    const leftOut = fitLogisticRegression(rows, labels, { l2: 1, leaveOut: [1] });
    expect(leftOut.coefficients[1]).toBe(0);
    expect(leftOut.standardisedCoefficients[1]).toBe(0);
    expect(leftOut.coefficients[0]).toBeCloseTo(without.coefficients[0]!, 10);
    expect(leftOut.coefficients[2]).toBeCloseTo(without.coefficients[1]!, 10);
    expect(leftOut.intercept).toBeCloseTo(without.intercept, 10);
    expect(leftOut.means[1]).toBeCloseTo(50, 0);
    expect(leftOut.standardDeviations[1]).toBeGreaterThan(20);
  });

  it('matches the closed-form maximum likelihood of one binary feature: the two groups’ log-odds', () => {
    // Group x=0: 2 positives of 8; group x=1: 6 of 8.
    const rows = [...Array<number[]>(8).fill([0]), ...Array<number[]>(8).fill([1])];
    const labels = [true, true, false, false, false, false, false, false, true, true, true, true, true, true, false, false];
    const fit = fitLogisticRegression(rows, labels, { l2: 0 });
    expect(fit.intercept).toBeCloseTo(logit(2 / 8), 10);
    expect(fit.coefficients[0]).toBeCloseTo(logit(6 / 8) - logit(2 / 8), 10);
    // Standardised: per standard deviation of x (0.5 here).
    expect(fit.standardisedCoefficients[0]).toBeCloseTo((logit(6 / 8) - logit(2 / 8)) * 0.5, 10);
  });

  it('a stronger penalty shrinks the coefficients towards 0 and the intercept towards the base rate’s log-odds', () => {
    const { rows, labels } = syntheticData(2_000, 11);
    const sizes = [0.01, 10, 1_000, 1e9].map((l2) => {
      const fit = fitLogisticRegression(rows, labels, { l2 });
      return { fit, norm: Math.hypot(...fit.standardisedCoefficients) };
    });
    for (let i = 1; i < sizes.length; i += 1) expect(sizes[i]!.norm).toBeLessThan(sizes[i - 1]!.norm);
    const baseRate = labels.filter(Boolean).length / labels.length;
    const flattest = sizes.at(-1)!.fit;
    expect(sizes.at(-1)!.norm).toBeLessThan(1e-5);
    expect(flattest.intercept).toBeCloseTo(logit(baseRate), 4);
  });

  it('is deterministic: the same rows give the same bits', () => {
    const { rows, labels } = syntheticData(3_000, 3);
    expect(fitLogisticRegression(rows, labels, { l2: 1 })).toEqual(fitLogisticRegression(rows, labels, { l2: 1 }));
  });

  it('gives a constant feature coefficient 0 and still fits the others; perfectly separated data stays finite with a penalty', () => {
    const fit = fitLogisticRegression([[1, 0], [1, 1], [1, 2], [1, 3]], [false, false, true, true], { l2: 0.1 });
    expect(fit.coefficients[0]).toBe(0);
    expect(fit.standardisedCoefficients[0]).toBe(0);
    expect(Number.isFinite(fit.coefficients[1])).toBe(true);
    expect(fit.coefficients[1]).toBeGreaterThan(0);
    expect(fit.converged).toBe(true);
  });

  it('refuses rows without labels, ragged rows and a negative penalty', () => {
    expect(() => fitLogisticRegression([], [], { l2: 1 })).toThrow(RangeError);
    expect(() => fitLogisticRegression([[1], [1, 2]], [true, false], { l2: 1 })).toThrow(/same number of features/);
    expect(() => fitLogisticRegression([[1]], [true], { l2: -1 })).toThrow(/l2/);
  });
});

it('solveSymmetricPositiveDefinite solves a small system exactly and refuses a singular one', () => {
  // [[4, 2], [2, 3]] x = [2, 1] → x = [0.5, 0].
  expect(solveSymmetricPositiveDefinite([[4, 2], [2, 3]], [2, 1])).toEqual([0.5, 0]);
  expect(() => solveSymmetricPositiveDefinite([[1, 1], [1, 1]], [1, 1])).toThrow(/positive definite/);
});
