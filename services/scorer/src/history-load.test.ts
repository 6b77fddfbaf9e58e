import { MS_PER_DAY } from '@churnscore/domain';
import { createLogger } from '@churnscore/observability';
import { describe, expect, it } from 'vitest';
import { HistoryLoad } from './history-load';

const NOW = Date.UTC(2026, 4, 20, 12, 30, 0);
const SETTLE_MS = 60_000;
const catchUp = { historyAgeMs: MS_PER_DAY, settleMs: SETTLE_MS };

const loadOf = (changes: boolean[] = []) =>
  new HistoryLoad({ catchUp, loadEvents: 3, logger: createLogger({ name: 'history-load-test', level: 'silent' }), onChange: (loading) => changes.push(loading) });

describe('HistoryLoad', () => {
  it('is loading once a load of events older than the history age was applied within the settle time, and stops a settle time later', () => {
    const changes: boolean[] = [];
    const load = loadOf(changes);
    load.applied([NOW - 30 * MS_PER_DAY, NOW - 20 * MS_PER_DAY], NOW);
    expect(load.loading(NOW)).toBe(false);
    load.applied([NOW - 10 * MS_PER_DAY], NOW + 1_000);
    expect(load.loading(NOW + 1_000)).toBe(true);
    // The first two leave the settle time: two history events within it are no load.
    expect(load.loading(NOW + SETTLE_MS - 1)).toBe(true);
    expect(load.loading(NOW + SETTLE_MS)).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it('counts no live traffic, however busy: only events older than the history age are history', () => {
    const load = loadOf();
    load.applied([NOW - 1_000, NOW - 3_600_000, NOW - MS_PER_DAY + 1, NOW - 2 * MS_PER_DAY], NOW);
    expect(load.loading(NOW)).toBe(false);
  });
});
