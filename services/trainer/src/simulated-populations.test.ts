import { MS_PER_DAY, utcDay } from '@churnscore/domain';
import { buildDataset, DEFAULT_WARM_UP_DAYS } from '@churnscore/training';
import { describe, expect, it } from 'vitest';
import { asHistory, describePopulation, planPopulation, simulatePopulation, simulatedDataset, type SimulatedPopulation } from './simulated-populations';

const NOW = Date.parse('2025-06-15T12:00:00Z');
const FOLD = { retentionDays: 400, dedupeWindowDays: 7, maxEntities: 10_000 };
const A: SimulatedPopulation = { seed: 'pop-a', customers: 12, days: 300, churnRate: 0.5, silentChurnShare: 0.2, activitySpread: 3, usageSignal: 0.5, usageReporting: 1 };
const B: SimulatedPopulation = { ...A, seed: 'pop-b', churnRate: 0.2, activitySpread: 30, usageSignal: 1, usageReporting: 1 };
const options = { now: NOW, everyDays: 7, horizonDays: 90, ...FOLD };

describe('simulatedDataset', () => {
  it('snapshots every population as buildDataset snapshots its histories, weekly from the warm-up’s end, and keeps their customers apart', async () => {
    const progress: number[] = [];
    const dataset = await simulatedDataset([A, B], { ...options, onProgress: ({ customers }) => progress.push(customers) });
    const spanStart = (utcDay(NOW) - A.days + 1) * MS_PER_DAY;
    expect(dataset.asOfDates[0]).toBe(spanStart + (DEFAULT_WARM_UP_DAYS + 1) * MS_PER_DAY - 1);
    for (const [population, prefix] of [[A, 'pop-a-'], [B, 'pop-b-']] as const) {
      const expected = buildDataset(simulatePopulation(population, NOW).map(asHistory), {
        ...FOLD,
        asOf: { dates: dataset.asOfDates },
        horizonDays: 90,
        observedUntil: NOW,
      });
      expect(dataset.rows.filter((row) => row.customerId.startsWith(prefix))).toEqual(expected.rows);
    }
    expect(progress.at(-1)).toBe(24);
  });

  it('refuses populations of different lengths, which would not share their as-of dates', async () => {
    await expect(simulatedDataset([A, { ...B, days: 400 }], options)).rejects.toThrow(/span the same number of days/);
  });
});

describe('a simulated population', () => {
  it('is the simulator’s run for its options, planned alike without its events', () => {
    const customers = simulatePopulation(A, NOW);
    expect(customers.map((c) => c.customerId)).toEqual(Array.from({ length: 12 }, (_, i) => `pop-a-${String(i + 1).padStart(6, '0')}`));
    expect(planPopulation(A, NOW).map((plan) => plan.latent)).toEqual(customers.map((c) => c.latent));
    expect(describePopulation(A)).toBe('simulated --seed pop-a --customers 12 --days 300 --churn-rate 0.5 --silent-churn-share 0.2 --activity-spread 3 --usage-signal 0.5 --usage-reporting 1');
  });
});
