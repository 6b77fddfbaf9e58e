import { UsageError } from '@churnscore/simulator';
import type { ScoreHistoryEntry } from '@churnscore/state';
import { describe, expect, it } from 'vitest';
import { backfillCustomers, describeInterruptedBackfill, parseBackfillArgs } from './backfill-command';

describe('parseBackfillArgs', () => {
  it('takes events as known when they occurred unless --record-timestamps', () => {
    expect(parseBackfillArgs([])).toEqual({ recordTimestamps: false });
    expect(parseBackfillArgs(['--record-timestamps'])).toEqual({ recordTimestamps: true });
    expect(parseBackfillArgs(['--help'])).toBeNull();
    expect(() => parseBackfillArgs(['--days', '30'])).toThrow(UsageError);
  });
});

describe('backfillCustomers', () => {
  it('writes every customer its points, counting those the store refused (not scored or erased, created again since the replay) as not written', async () => {
    const histories = Array.from({ length: 120 }, (_, i) => ({ customerId: `c${i}`, events: [] }));
    const point = (t: number): ScoreHistoryEntry => ({ t, health: 60, churnRisk: 0.2, band: 'yellow' });
    const written = new Map<string, readonly ScoreHistoryEntry[]>();
    const writer = {
      replace: async (customerId: string, points: readonly ScoreHistoryEntry[]) => {
        if (customerId === 'c7') return 'not-scored' as const;
        if (customerId === 'c8') return 'created-since-replay' as const;
        written.set(customerId, points);
        return 'written' as const;
      },
    };
    const progress: number[] = [];
    const counts = await backfillCustomers(histories, writer, ({ customerId }) => [point(1), point(Number(customerId.slice(1)))], (done) => progress.push(done.customers));
    expect(counts).toEqual({ customers: 120, written: 118, createdSinceReplay: 1, points: 236 });
    expect(written.get('c42')).toEqual([point(1), point(42)]);
    expect(written.has('c7') || written.has('c8')).toBe(false);
    expect(progress).toEqual([50, 100, 120]);
  });
});

describe('describeInterruptedBackfill', () => {
  it("says what a Ctrl-C leaves: the previous back-fill whole during the replay, then how many customers' were replaced", () => {
    expect(describeInterruptedBackfill(null, 0)).toBe('nothing written, the previous back-fill stands; running again is safe');
    expect(describeInterruptedBackfill({ customers: 1050, written: 1000, createdSinceReplay: 0, points: 52_000 }, 5026)).toBe(
      "the back-fills of 1,000 of 5,026 customers were replaced (and maybe those of the batch in flight), the others keep the previous run's; running again replaces them all",
    );
  });
});
