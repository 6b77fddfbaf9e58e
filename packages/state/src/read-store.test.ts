import { describe, expect, it } from 'vitest';
import { withBackfilled } from './read-store';
import type { ScoreHistoryEntry } from './score-codec';

const point = (t: number, health = 70): ScoreHistoryEntry => ({ t, health, churnRisk: 0.1, band: 'green' });

describe('the score history with its back-fill', () => {
  it('puts the back-filled points before the live ones, marked, oldest first', () => {
    expect(withBackfilled([point(1), point(2)], [point(5), point(6)], 10)).toEqual([
      { ...point(1), backfilled: true },
      { ...point(2), backfilled: true },
      point(5),
      point(6),
    ]);
  });

  it('leaves out back-filled points at or after the first live point: where the scorer published, its scores are the history', () => {
    expect(withBackfilled([point(1), point(5), point(7)], [point(5), point(6)], 10)).toEqual([{ ...point(1), backfilled: true }, point(5), point(6)]);
  });

  it('serves the whole back-fill while nothing was published live yet', () => {
    expect(withBackfilled([point(1), point(2)], [], 10)).toEqual([
      { ...point(1), backfilled: true },
      { ...point(2), backfilled: true },
    ]);
  });

  it('keeps the latest `limit` points', () => {
    expect(withBackfilled([point(1), point(2), point(3)], [point(5), point(6)], 3)).toEqual([{ ...point(3), backfilled: true }, point(5), point(6)]);
    expect(withBackfilled([point(1)], [point(5), point(6)], 1)).toEqual([point(6)]);
  });
});
