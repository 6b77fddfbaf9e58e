import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SCORING_CONFIG_PATH, computeInsights, foldEvents, loadScoringConfigFile, scoreCustomer } from '@churnscore/scoring';
import { UsageError } from '@churnscore/simulator';
import type { ModelCard } from '@churnscore/training';
import { afterAll, describe, expect, it } from 'vitest';
import { simulatePopulation, type SimulatedPopulation } from './simulated-populations';
import { TRAIN_EXIT_CODES } from './train-command';
import { DEFAULT_MODEL_CLOCK, DEFAULT_MODEL_FEATURES, DEFAULT_MODEL_POPULATIONS, formatConfigJson, parseTrainDefaultArgs, runTrainDefaultCommand } from './train-default-command';

const dir = mkdtempSync(join(tmpdir(), 'train-default-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TRAINED_AT = Date.parse('2025-07-01T00:00:00Z');

/** Two small bases with much churn: enough churners in both periods, quickly. */
const SMALL: SimulatedPopulation[] = [
  { seed: 'test-default-a', customers: 260, days: 500, churnRate: 0.6, silentChurnShare: 0.1, activitySpread: 3, usageSignal: 1, usageReporting: 1 },
  { seed: 'test-default-b', customers: 260, days: 500, churnRate: 0.5, silentChurnShare: 0.2, activitySpread: 10, usageSignal: 1, usageReporting: 1 },
];

async function run(argv: string[], populations: readonly SimulatedPopulation[], name: string) {
  const paths = { config: join(dir, `${name}.json`), modelCards: join(dir, `${name}-cards`) };
  copyFileSync(DEFAULT_SCORING_CONFIG_PATH, paths.config);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runTrainDefaultCommand(argv, {
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text) },
    clock: () => TRAINED_AT,
    paths,
    populations,
  });
  return { code, paths, stdout: stdout.join(''), stderr: stderr.join('') };
}

describe('npm run train:default', () => {
  it('writes the default config with the model learnt from the simulated bases, and its model card under its version', async () => {
    const { code, paths, stdout, stderr } = await run(['--version', 'default-test.1'], SMALL, 'learnt');
    expect(code).toBe(TRAIN_EXIT_CODES.ok);
    const base = loadScoringConfigFile(DEFAULT_SCORING_CONFIG_PATH);
    const config = loadScoringConfigFile(paths.config);
    expect(config.version).toBe('default-test.1');
    const { version, churn, alerts, bands, ...unchanged } = config;
    const { version: _v, churn: _c, alerts: baseAlerts, bands: baseBands, ...baseUnchanged } = base;
    expect(unchanged).toEqual(baseUnchanged);
    // What training learns besides the model: CHURN_RISK_HIGH's thresholds, the risk bands and RENEWAL_AT_RISK's recovery that follow them.
    expect({ ...alerts, churnRiskHigh: baseAlerts.churnRiskHigh, renewalAtRisk: baseAlerts.renewalAtRisk }).toEqual(baseAlerts);
    expect(bands.health).toEqual(baseBands.health);
    expect(bands.risk.highMin).toBe(alerts.churnRiskHigh.openAt);
    expect(alerts.renewalAtRisk.recovery.maxChurnRisk).toBe(alerts.churnRiskHigh.resolveBelow);
    // Behavioural features only: the simulator's contract dates say nothing about churn, by design.
    for (const feature of Object.keys(churn.coefficients)) expect(DEFAULT_MODEL_FEATURES).toContain(feature);

    const card = JSON.parse(readFileSync(join(paths.modelCards, `${version}.json`), 'utf8')) as ModelCard;
    expect(card.version).toBe(version);
    expect(card.baseVersion).toBe(base.version);
    expect(card.trainedAt).toBe('2025-07-01T00:00:00.000Z');
    expect(card.horizonDays).toBe(90);
    expect(card.history.sources).toEqual([
      'simulated --seed test-default-a --customers 260 --days 500 --churn-rate 0.6 --silent-churn-share 0.1 --activity-spread 3 --usage-signal 1 --usage-reporting 1',
      'simulated --seed test-default-b --customers 260 --days 500 --churn-rate 0.5 --silent-churn-share 0.2 --activity-spread 10 --usage-signal 1 --usage-reporting 1',
    ]);
    expect(alerts.churnRiskHigh).toEqual({ openAt: card.alert.openAt, resolveBelow: card.alert.resolveBelow });
    expect(readFileSync(join(paths.modelCards, `${version}.md`), 'utf8')).toContain(`# Churn model ${version}`);

    // Every score the scorer computes with it carries its version.
    const customer = simulatePopulation(SMALL[0]!, DEFAULT_MODEL_CLOCK)[0]!;
    const state = foldEvents(customer.customerId, customer.events.map((event) => ({ event })), { asOf: DEFAULT_MODEL_CLOCK, retentionDays: 400, dedupeWindowDays: 7, maxEntities: 10_000 });
    expect(scoreCustomer(computeInsights(state, DEFAULT_MODEL_CLOCK, { retentionDays: 400 }), null, config, DEFAULT_MODEL_CLOCK).modelVersion).toBe(version);

    expect(stdout).toContain(`trained default-test.1: validation AUC`);
    expect(stderr).toMatch(/snapshots +520\/520 simulated customers/);
  }, 60_000);

  it('refuses, as bad usage, a version scores already carry: the default\'s own, or an earlier default\'s with its card', async () => {
    const shipped = loadScoringConfigFile(DEFAULT_SCORING_CONFIG_PATH).version;
    await expect(run(['--version', shipped], SMALL, 'same-version')).rejects.toThrow(new RegExp(`--version ${shipped} is the version of the default being replaced`));
    // The card directory run() gives the name 'earlier-card'.
    mkdirSync(join(dir, 'earlier-card-cards'), { recursive: true });
    writeFileSync(join(dir, 'earlier-card-cards', 'default-test.0.json'), '{}');
    await expect(run(['--version', 'default-test.0'], SMALL, 'earlier-card')).rejects.toThrow(/--version default-test.0 is an earlier default's, with its model card/);
  });

  it('refuses, exit 4, when the bases hold too few churners, and leaves the default as it was', async () => {
    const tiny = [{ ...SMALL[0]!, customers: 40 }];
    const { code, paths, stderr } = await run(['--version', 'default-test.2'], tiny, 'refused');
    expect(code).toBe(TRAIN_EXIT_CODES.refused);
    expect(stderr).toMatch(/training refused: too few churners/);
    expect(readFileSync(paths.config, 'utf8')).toBe(readFileSync(DEFAULT_SCORING_CONFIG_PATH, 'utf8'));
  });
});

describe('the default model’s training bases', () => {
  it('span churn rates, silent churners, activity spreads and usage signals, over the same days so they share their as-of dates', () => {
    expect(new Set(DEFAULT_MODEL_POPULATIONS.map((p) => p.days)).size).toBe(1);
    expect(new Set(DEFAULT_MODEL_POPULATIONS.map((p) => p.seed)).size).toBe(DEFAULT_MODEL_POPULATIONS.length);
    const average = DEFAULT_MODEL_POPULATIONS.reduce((sum, p) => sum + p.churnRate, 0) / DEFAULT_MODEL_POPULATIONS.length;
    expect(average).toBeCloseTo(0.3, 10);
    expect(Math.max(...DEFAULT_MODEL_POPULATIONS.map((p) => p.activitySpread)) / Math.min(...DEFAULT_MODEL_POPULATIONS.map((p) => p.activitySpread))).toBe(10);
    // Telemetry whose quantity per reading follows engagement and telemetry whose quantity does not: the default may not count on either.
    expect([Math.min(...DEFAULT_MODEL_POPULATIONS.map((p) => p.usageSignal)), Math.max(...DEFAULT_MODEL_POPULATIONS.map((p) => p.usageSignal))]).toEqual([0, 1]);
  });
});

describe('formatConfigJson', () => {
  it('writes the shipped default in the layout it is kept in, byte for byte', () => {
    const text = readFileSync(DEFAULT_SCORING_CONFIG_PATH, 'utf8');
    expect(`${formatConfigJson(JSON.parse(text))}\n`).toBe(text);
  });

  it('puts what fits on one line, and lists of objects one item per line', () => {
    expect(formatConfigJson({ a: { b: 1, c: [1, 2] }, points: [{ value: 0, score: 1 }] })).toBe(
      '{\n  "a": { "b": 1, "c": [1, 2] },\n  "points": [\n    { "value": 0, "score": 1 }\n  ]\n}',
    );
  });
});

describe('parseTrainDefaultArgs', () => {
  it('needs the new version', () => {
    expect(parseTrainDefaultArgs(['--version', 'default-2026.1'])).toEqual({ version: 'default-2026.1' });
    expect(parseTrainDefaultArgs(['--help'])).toBeNull();
    expect(() => parseTrainDefaultArgs([])).toThrow(UsageError);
    expect(() => parseTrainDefaultArgs(['--version', ' '])).toThrow(/--version is required/);
    expect(() => parseTrainDefaultArgs(['--out', 'x'])).toThrow(UsageError);
  });
});
