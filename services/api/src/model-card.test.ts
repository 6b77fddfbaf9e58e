import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@churnscore/observability';
import { capturingLogger, type LogLine } from '@churnscore/observability/testing';
import { DEFAULT_MODEL_CARDS_DIR, DEFAULT_SCORING_CONFIG_PATH, defaultScoringConfig, type ScoringConfig } from '@churnscore/scoring';
import { TRAINED_MODEL_FILES, adaptedModelCard, cardCoefficients, type ModelCard } from '@churnscore/training';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readModelCard } from './model-card';

const shipped = defaultScoringConfig();
const shippedCard = (): ModelCard => JSON.parse(readFileSync(join(DEFAULT_MODEL_CARDS_DIR, `${shipped.version}.json`), 'utf8')) as ModelCard;
/** The config `card` describes, as npm run train writes the two: the shipped config's but for its version, churn model and thresholds. */
const configFor = (card: ModelCard): ScoringConfig => ({
  ...shipped,
  version: card.version,
  churn: {
    ...shipped.churn,
    intercept: card.model.intercept,
    coefficients: cardCoefficients(card),
  },
  alerts: { ...shipped.alerts, churnRiskHigh: { openAt: card.alert.openAt, resolveBelow: card.alert.resolveBelow } },
});

let dir: string;
let logs: LogLine[];
let warnings: Logger;
/** A trained config's directory as `npm run train --out DIR` leaves it: the config, and its card beside it. */
const trainedConfigPath = (): string => join(dir, TRAINED_MODEL_FILES.config);
const writeCard = (card: unknown): void => writeFileSync(join(dir, TRAINED_MODEL_FILES.cardJson), JSON.stringify(card));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'model-card-'));
  ({ logger: warnings, lines: logs } = capturingLogger('model-card-test', 'warn'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readModelCard', () => {
  it("finds the shipped default's card under its version, with what the dashboard shows and nothing else", async () => {
    const card = await readModelCard(DEFAULT_SCORING_CONFIG_PATH, shipped, warnings);
    const full = shippedCard();
    expect(card).toMatchObject({ version: shipped.version, trainedAt: full.trainedAt, history: full.history, horizonDays: 90, samples: full.samples, baselines: full.baselines });
    expect(card!.validation).toEqual({ auc: full.validation.auc, prAuc: full.validation.prAuc, baseRate: full.validation.baseRate, meanPredicted: full.validation.meanPredicted, calibration: full.validation.calibration });
    const { base: _base, ...alert } = full.alert;
    expect(card!.alert).toEqual(alert);
    expect(Object.keys(card!)).not.toContain('model');
    expect(Object.keys(card!)).not.toContain('split');
    expect(logs).toEqual([]);
  });

  it('finds the card npm run train wrote beside the config, before any shipped one', async () => {
    copyFileSync(DEFAULT_SCORING_CONFIG_PATH, trainedConfigPath());
    const written = { ...shippedCard(), version: 'churn-h60-2025-06-30-0123abcd', horizonDays: 60 };
    writeCard(written);
    const card = await readModelCard(trainedConfigPath(), configFor(written), warnings);
    expect(card).toMatchObject({ version: 'churn-h60-2025-06-30-0123abcd', horizonDays: 60 });
  });

  it('serves the card of a config adapted to a base with what adapted it', async () => {
    copyFileSync(DEFAULT_SCORING_CONFIG_PATH, trainedConfigPath());
    const outcomes = { snapshots: 9_120, churningCustomers: 143, firstAsOf: '2023-10-18T12:00:00.000Z', lastAsOf: '2024-10-17T12:00:00.000Z' };
    const adaptation = { from: 0.078, to: 0.2, customers: 341, outcomes, slope: 0.93, observedUntil: '2025-02-14T12:00:00.000Z' };
    const written = adaptedModelCard(shippedCard(), { version: 'ours-base20.0', intercept: -3.2 }, adaptation);
    writeCard(written);
    const card = await readModelCard(trainedConfigPath(), configFor(written), warnings);
    expect(card).toMatchObject({ version: 'ours-base20.0', baseVersion: shippedCard().baseVersion, adaptation: { figuresOf: shipped.version, ...adaptation } });
  });

  it("serves the alert an adaptation chose on the base's settled outcomes, as the card's alert and in its adaptation", async () => {
    copyFileSync(DEFAULT_SCORING_CONFIG_PATH, trainedConfigPath());
    const outcomes = { snapshots: 9_120, churningCustomers: 143, firstAsOf: '2023-10-18T12:00:00.000Z', lastAsOf: '2024-10-17T12:00:00.000Z' };
    const alert = { ...shippedCard().alert, openAt: 0.41, resolveBelow: 0.33, precision: 0.61, recall: 0.7, earlyRecall: 0.66 };
    const adaptation = { from: 0.078, to: 0.2, customers: 341, outcomes, alert, observedUntil: '2025-02-14T12:00:00.000Z' };
    const written = adaptedModelCard(shippedCard(), { version: 'ours-base20.0-0123abcd', intercept: -3.2 }, adaptation);
    writeCard(written);
    const card = await readModelCard(trainedConfigPath(), configFor(written), warnings);
    // The base model's thresholds beside it are the card file's, not the served card's.
    const { base: _baseAlert, ...served } = alert;
    expect(card).toMatchObject({ alert: served, adaptation: { alert: served } });
  });

  it('is null, with a warning, for a config edited since it was trained: its card describes another model or other thresholds', async () => {
    const written = { ...shippedCard(), version: 'ours-1' };
    writeCard(written);
    const trained = configFor(written);
    expect(await readModelCard(trainedConfigPath(), trained, warnings)).toMatchObject({ version: 'ours-1' });
    // An outside tester's edit: the thresholds and the intercept, the version kept.
    const edited = { ...trained, churn: { ...trained.churn, intercept: -2 }, alerts: { ...trained.alerts, churnRiskHigh: { openAt: 0.2, resolveBelow: 0.1 } } };
    expect(await readModelCard(trainedConfigPath(), edited, warnings)).toBeNull();
    const reweighted = { ...trained, churn: { ...trained.churn, coefficients: { ...trained.churn.coefficients, engagementDrop30d: 9 } } };
    expect(await readModelCard(trainedConfigPath(), reweighted, warnings)).toBeNull();
    expect(logs).toMatchObject([
      { msg: "model card of the scoring config's version but of other settings (the config edited since it was trained?): not served", misses: ['churn.intercept', 'alerts.churnRiskHigh'] },
      { misses: ['churn.coefficients'] },
    ]);
  });

  it('is null for a config without a card of its version, passing over a card of another version with a warning', async () => {
    writeCard(shippedCard());
    expect(await readModelCard(trainedConfigPath(), { ...shipped, version: 'hand-set-2026.1' }, warnings)).toBeNull();
    expect(logs).toMatchObject([{ msg: 'model card of another version than the scoring config: not served', path: join(dir, TRAINED_MODEL_FILES.cardJson) }]);
  });

  it('passes over a file that is not a card, with a warning, and still finds the shipped one', async () => {
    writeCard({ version: shipped.version, trainedAt: 'yesterday' });
    expect(await readModelCard(trainedConfigPath(), shipped, warnings)).toMatchObject({ version: shipped.version, horizonDays: 90 });
    writeFileSync(join(dir, TRAINED_MODEL_FILES.cardJson), '{ not json');
    expect(await readModelCard(trainedConfigPath(), shipped, warnings)).toMatchObject({ version: shipped.version });
    expect(logs.map((line) => line.msg)).toEqual([
      'not a model card (fields missing or of the wrong type): not served',
      'model card not readable as JSON: not served',
    ]);
  });
});
