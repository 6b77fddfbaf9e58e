import { MS_PER_DAY } from '@churnscore/domain';
import { createLogger } from '@churnscore/observability';
import { describe, expect, it } from 'vitest';
import { HISTORY_LOAD_MIN_EVENTS, HistoryLoad, type SharedHistoryLoad } from './history-load';

const NOW = Date.UTC(2026, 4, 20, 12, 30, 0);
const SETTLE_MS = 60_000;
const catchUp = { historyAgeMs: MS_PER_DAY, settleMs: SETTLE_MS };

const loadOf = (changes: boolean[] = [], shared?: SharedHistoryLoad) =>
  new HistoryLoad({ catchUp, logger: createLogger({ name: 'history-load-test', level: 'silent' }), shared, onChange: (loading) => changes.push(loading) });
/** `count` events that occurred `ago` before `at`. */
const events = (count: number, at: number, ago: number): number[] => Array.from({ length: count }, () => at - ago);

describe('HistoryLoad', () => {
  it('is loading once enough events older than the history age were applied within the settle time, and stops a settle time later', () => {
    const changes: boolean[] = [];
    const load = loadOf(changes);
    load.applied(events(HISTORY_LOAD_MIN_EVENTS - 1, NOW, 30 * MS_PER_DAY), NOW);
    expect(load.loading(NOW)).toBe(false);
    load.applied(events(1, NOW + 1_000, 10 * MS_PER_DAY), NOW + 1_000);
    expect(load.loading(NOW + 1_000)).toBe(true);
    // The first ones leave the settle time: one history event within it is no load.
    expect(load.loading(NOW + SETTLE_MS - 1)).toBe(true);
    expect(load.loading(NOW + SETTLE_MS)).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it('counts no live traffic, and no late records among more live ones, however busy', () => {
    const live = loadOf();
    live.applied([...events(500, NOW, 1_000), ...events(500, NOW, MS_PER_DAY - 1)], NOW);
    expect(live.loading(NOW)).toBe(false);
    // A busy namespace's late records, fewer than its live ones: no load.
    const busy = loadOf();
    busy.applied([...events(400, NOW, 3 * MS_PER_DAY), ...events(600, NOW, 1_000)], NOW);
    expect(busy.loading(NOW)).toBe(false);
    busy.applied(events(200, NOW + 1_000, 3 * MS_PER_DAY), NOW + 1_000);
    expect(busy.loading(NOW + 1_000)).toBe(true);
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
    owner.applied(events(HISTORY_LOAD_MIN_EVENTS, clock, 10 * MS_PER_DAY), clock);
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
