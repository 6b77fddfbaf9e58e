/** Nearest-rank percentile (p in 0–100) of unsorted samples; NaN when there are none. */
function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface LatencySummary {
  samples: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarise(samples: readonly number[]): LatencySummary {
  return {
    samples: samples.length,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    max: percentile(samples, 100),
  };
}

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 12,345 */
export const count = (n: number): string => grouped.format(n);

/** 12,345 ev/s */
export const perSecond = (n: number, unit = 'ev/s'): string => `${count(n)} ${unit}`;

/** 4.2 ms, 1,234 ms */
export const millis = (ms: number): string => (Number.isNaN(ms) ? 'n/a' : ms < 10 ? `${ms.toFixed(1)} ms` : `${count(ms)} ms`);

/** 10,102 B (9.9 KiB) */
export const bytes = (n: number): string => `${count(n)} B (${(n / 1024).toFixed(1)} KiB)`;

/** 37% */
export const percent = (ratio: number): string => `${(ratio * 100).toFixed(0)}%`;
