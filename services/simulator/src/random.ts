import { createHash } from 'node:crypto';

/**
 * A small seeded pseudo-random source. Math.random cannot be seeded, and the simulator must give
 * the same traffic for the same `--seed`; mulberry32 is fast, has a 2^32 period (ample for one
 * customer's history) and fits in a closure.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  /** Uniform integer in [min, max] (both inclusive). */
  integer(min: number, max: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A Poisson-distributed count with the given mean: how many times something happens in a day. */
  poisson(mean: number): number;
  /** Normally distributed. */
  normal(mean: number, sd: number): number;
  /** Exponentially distributed with the given mean: the waiting time of a memoryless event. */
  exponential(mean: number): number;
}

/** Derives a 32-bit seed from any number of parts, so each customer gets its own independent stream. */
export function seedFrom(...parts: Array<string | number>): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32LE(0);
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const random: Random = {
    next,
    between: (min, max) => min + (max - min) * next(),
    integer: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    poisson: (mean) => {
      // Knuth's method: exact and cheap for the small daily means the cohort model uses.
      if (mean <= 0) return 0;
      const limit = Math.exp(-mean);
      let count = 0;
      let product = next();
      while (product > limit) {
        count += 1;
        product *= next();
      }
      return count;
    },
    // Box–Muller; 1 − next() keeps the logarithm's argument in (0, 1].
    normal: (mean, sd) => mean + sd * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
    exponential: (mean) => -mean * Math.log(1 - next()),
  };
  return random;
}
