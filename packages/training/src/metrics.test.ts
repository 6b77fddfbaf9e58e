import { describe, expect, it } from 'vitest';
import { averagePrecision, calibrationTable, outcomeAt, rocAuc, type ScoredSample } from './metrics';

const samples = (...pairs: Array<[number, 0 | 1]>): ScoredSample[] => pairs.map(([score, label]) => ({ score, label: label === 1 }));

// Two positives (0.35, 0.8) and two negatives (0.1, 0.4).
const four = samples([0.1, 0], [0.4, 0], [0.35, 1], [0.8, 1]);

describe('rocAuc', () => {
  it('is the share of positive–negative pairs ranked right: 3 of 4', () => {
    expect(rocAuc(four)).toBe(0.75);
  });

  it('counts a tie between a positive and a negative as half a pair', () => {
    // 0.5+ vs 0.5− half, 0.5+ vs 0.2− whole: 1.5 of 2.
    expect(rocAuc(samples([0.5, 1], [0.5, 0], [0.2, 0]))).toBe(0.75);
  });

  it('is 1 for a perfect ranking, 0 for a reversed one, null without both classes', () => {
    expect(rocAuc(samples([0.9, 1], [0.1, 0]))).toBe(1);
    expect(rocAuc(samples([0.1, 1], [0.9, 0]))).toBe(0);
    expect(rocAuc(samples([0.1, 1], [0.9, 1]))).toBeNull();
  });
});

describe('averagePrecision', () => {
  it('sums precision at each recall step: 1 × ½ at 0.8, then ⅔ × ½ at 0.35', () => {
    expect(averagePrecision(four)).toBeCloseTo(1 / 2 + (2 / 3) * (1 / 2), 12);
  });

  it('flags equal scores together', () => {
    // 0.5 flags one positive and one negative at once: precision ½ at recall 1.
    expect(averagePrecision(samples([0.5, 1], [0.5, 0], [0.2, 0]))).toBe(0.5);
  });

  it('is null without positives', () => {
    expect(averagePrecision(samples([0.5, 0]))).toBeNull();
  });
});

describe('calibrationTable', () => {
  it('compares mean predicted with observed per quantile bin, and weighs the gaps by count', () => {
    const lows = samples([0.1, 0], [0.1, 0], [0.1, 0], [0.1, 0], [0.1, 1]);
    const highs = samples([0.7, 1], [0.7, 1], [0.7, 1], [0.7, 0], [0.9, 0]);
    const table = calibrationTable([...highs, ...lows], 2);
    expect(table.bins).toEqual([
      { from: 0.1, to: 0.1, count: 5, meanPredicted: expect.closeTo(0.1, 12), observedRate: 0.2 },
      { from: 0.7, to: 0.9, count: 5, meanPredicted: expect.closeTo(0.74, 12), observedRate: 0.6 },
    ]);
    // (5 × 0.1 + 5 × 0.14) ÷ 10.
    expect(table.error).toBeCloseTo(0.12, 12);
  });

  it('cuts deciles by default, of equal size however the predictions cluster', () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ score: i < 20 ? 0.05 : 0.5, label: i % 5 === 0 }));
    const table = calibrationTable(many);
    expect(table.bins.map((bin) => bin.count)).toEqual([2, 3, 2, 3, 2, 3, 2, 3, 2, 3]);
    expect(table.bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(25);
  });

  it('a perfectly calibrated prediction has error 0', () => {
    expect(calibrationTable(samples([0.5, 1], [0.5, 0], [0.5, 1], [0.5, 0], [0.25, 0], [0.25, 1], [0.25, 0], [0.25, 0]), 2).error).toBe(0);
  });
});

it('outcomeAt flags every sample scoring at least the threshold', () => {
  expect(outcomeAt(four, 0.35)).toEqual({ flagged: 3, truePositives: 2, precision: 2 / 3, recall: 1 });
  expect(outcomeAt(four, 0.8)).toEqual({ flagged: 1, truePositives: 1, precision: 1, recall: 0.5 });
  expect(outcomeAt(four, 0.9)).toEqual({ flagged: 0, truePositives: 0, precision: null, recall: 0 });
});
