import { MS_PER_DAY } from '@churnscore/domain';
import { createLogger } from '@churnscore/observability';
import { describe, expect, it } from 'vitest';
import { HistoryLoad, type SharedHistoryLoad } from './history-load';

const NOW = Date.UTC(2026, 4, 20, 12, 30, 0);
const SETTLE_MS = 60_000;
const catchUp = { historyAgeMs: MS_PER_DAY, settleMs: SETTLE_MS };

const loadOf = (changes: boolean[] = [], shared?: SharedHistoryLoad) =>
  new HistoryLoad({ catchUp, loadEvents: 3, logger: createLogger({ name: 'history-load-test', level: 'silent' }), shared, onChange: (loading) => changes.push(loading) });

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

  it('tells the other instances while it sees a load, for the settle time, and sees the load another instance tells of', async () => {
    // A namespace's shared word, as Redis keeps it: the last said, read by anyone.
    let saidUntil: number | null = null;
    let clock = NOW;
    const shared: SharedHistoryLoad = {
      record: (until) => Promise.resolve(void (saidUntil = until)),
      read: () => Promise.resolve(saidUntil),
    };
    const owner = loadOf([], shared);
    const other = loadOf([], shared);
    await owner.share(clock);
    expect(saidUntil).toBeNull();
    owner.applied([NOW - 10 * MS_PER_DAY, NOW - 9 * MS_PER_DAY, NOW - 8 * MS_PER_DAY], clock);
    await owner.share(clock);
    expect(saidUntil).toBe(NOW + SETTLE_MS);
    await other.learnOthers();
    expect(other.loading(clock)).toBe(true);
    // Said again only once a tenth of the settle time has passed: not a write per unit of work.
    clock = NOW + SETTLE_MS / 10 - 1;
    await owner.share(clock);
    expect(saidUntil).toBe(NOW + SETTLE_MS);
    clock = NOW + SETTLE_MS / 10;
    await owner.share(clock);
    expect(saidUntil).toBe(clock + SETTLE_MS);
    clock = saidUntil!;
    await other.learnOthers();
    expect(other.loading(clock)).toBe(false);
  });
});
