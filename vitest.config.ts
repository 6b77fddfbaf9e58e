import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing but Node; `integration` drives the real Kafka, registry and
// Redis, which its global setup brings up (or reuses, or takes from KAFKA_BROKERS /
// SCHEMA_REGISTRY_URL / REDIS_URL). Both pin fast-check's seed (test/harness/fast-check-seed.ts).
const PINNED_SEED = ['test/harness/fast-check-seed.ts'];
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // Unit tests first: they need nothing and fail fast.
          sequence: { groupOrder: 0 },
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'infra/src/**/*.test.ts'],
          setupFiles: PINNED_SEED,
          // Unit tests assert behaviour, never speed: vitest's 5 s default failed a CPU-bound test
          // on a loaded CI machine. Thirty seconds still ends a test that hangs.
          testTimeout: 30_000,
          // Both cores: vitest's default (one worker fewer than the cores) ran this project's files one at a time on
          // a two-core machine, 228 s where two at a time take 151 s; no integration file runs beside them.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          setupFiles: PINNED_SEED,
          testTimeout: 90_000,
          hookTimeout: 180_000,
          // Two cores: integration files share one broker and one Redis, so run two at a time at most.
          maxWorkers: 2,
        },
      },
    ],
  },
});
