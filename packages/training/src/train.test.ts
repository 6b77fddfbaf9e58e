import { churnFeatureDirection, defaultScoringConfig, parseScoringConfig, scoreCustomer, type ChurnFeatureName } from '@churnscore/scoring';
import { describe, expect, it } from 'vitest';
import { buildDataset, splitByTime } from './dataset';
import { rocAuc } from './metrics';
import { renderModelCard } from './model-card';
import { syntheticPopulation } from './test-support';
import { riskBandsFor } from './thresholds';
import { MIN_CHURNING_CUSTOMERS, MIN_CUSTOMERS, MIN_VARYING_CUSTOMERS, TrainingRefusedError, refuseIfTooFew, trainChurnModel } from './train';

const FOLD = { retentionDays: 400, dedupeWindowDays: 7, maxEntities: 10_000 };
const TRAINED_AT = Date.UTC(2025, 0, 15);
const base = defaultScoringConfig();

function datasetOf(customers: number, days = 720) {
  const population = syntheticPopulation({ customers, days, seed: 1 });
  return buildDataset(population.histories, { ...FOLD, asOf: { everyDays: 14 }, observedUntil: population.end });
}

const train = (dataset: ReturnType<typeof datasetOf>, extra: Partial<Parameters<typeof trainChurnModel>[1]> = {}) =>
  trainChurnModel(dataset, { baseConfig: base, trainedAt: TRAINED_AT, sources: ['synthetic.ndjson'], ...extra });

describe('trainChurnModel on a population whose churn shows in behaviour', () => {
  const dataset = datasetOf(400);
  const { config, card } = train(dataset);
  const validation = splitByTime(dataset, { validationShare: 0.25 }).validation;

  it('writes a scoring config the scorer accepts: the base config with the learnt churn model, CHURN_RISK_HIGH thresholds, risk bands and a new version', () => {
    expect(parseScoringConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
    const { version, churn, alerts, bands, ...unchanged } = config;
    const { version: baseVersion, churn: baseChurn, alerts: baseAlerts, bands: baseBands, ...baseUnchanged } = base;
    expect(unchanged).toEqual(baseUnchanged);
    expect(version).toMatch(/^churn-h90-2024-12-20-[0-9a-f]{8}$/);
    expect(version).not.toBe(baseVersion);
    expect(churn).not.toEqual(baseChurn);
    const { openAt, resolveBelow } = card.alert;
    expect(alerts).toEqual({
      ...baseAlerts,
      churnRiskHigh: { openAt, resolveBelow },
      renewalAtRisk: { ...baseAlerts.renewalAtRisk, recovery: { ...baseAlerts.renewalAtRisk.recovery, maxChurnRisk: resolveBelow } },
    });
    // The high band is where the alert opens; medium starts at the validation base rate, to the hundredth.
    expect(bands).toEqual({ ...baseBands, risk: { mediumMin: Number(card.validation.baseRate.toFixed(2)), highMin: openAt } });
    expect(card.version).toBe(version);
    // Its alert's figures are of the snapshots its thresholds were chosen on (an outside tester read them as out of sample).
    expect(renderModelCard(card)).toContain('The thresholds were chosen on these snapshots, so their figures are at their best here');
    expect(renderModelCard(card)).toContain(`**medium** from the validation base rate, ${Number(card.validation.baseRate.toFixed(2)).toFixed(2)} (a risk above`);
    // Where high starts at or below the base rate, medium is a step below high, and the card says so (an outside tester
    // read "from the validation base rate, 0.12" of a base rate of 0.158).
    const lowAlert = { ...card, alert: { ...card.alert, openAt: 0.13, resolveBelow: 0.1 }, validation: { ...card.validation, baseRate: 0.158 } };
    expect(renderModelCard(lowAlert)).toContain('**medium** from 0.12, a step below high (the validation base rate, 0.158, is not below where high starts)');
  });

  it('keeps the medium band below the high one, and above zero', () => {
    expect(riskBandsFor({ openAt: 0.32, resolveBelow: 0.26 }, 0.081)).toEqual({ mediumMin: 0.08, highMin: 0.32 });
    expect(riskBandsFor({ openAt: 0.2, resolveBelow: 0.15 }, 0.35)).toEqual({ mediumMin: 0.19, highMin: 0.2 });
    expect(riskBandsFor({ openAt: 0.2, resolveBelow: 0.15 }, 0.001)).toEqual({ mediumMin: 0.01, highMin: 0.2 });
  });

  it('stamps the horizon it trained with into the config, as the card states it', () => {
    expect(config.churn.horizonDays).toBe(90);
    expect(card.horizonDays).toBe(config.churn.horizonDays);
    const population = syntheticPopulation({ customers: 400, days: 720, seed: 1 });
    const shorter = train(buildDataset(population.histories, { ...FOLD, asOf: { everyDays: 14 }, observedUntil: population.end, horizonDays: 60 }));
    expect(shorter.config.churn.horizonDays).toBe(60);
    expect(shorter.card.horizonDays).toBe(60);
    // The base config's risk is of 90 days: the card says so beside its figures, judged by 60-day labels.
    expect(renderModelCard(shorter.card)).toContain(`${base.version}'s risk is of churning within 90 days, judged here by churn within 60`);
    expect(renderModelCard(card)).not.toContain('judged here by churn within');
    expect(shorter.config.version).toMatch(/^churn-h60-/);
  });

  it('judges exactly the risks the scorer publishes with the trained config', () => {
    const published = validation.map((row) => ({ score: scoreCustomer(row.insights, null, config, row.asOf).churnRisk, label: row.label }));
    expect(rocAuc(published)).toBe(card.validation.auc);
    const stamped = scoreCustomer(validation[0]!.insights, null, config, validation[0]!.asOf);
    expect(stamped.modelVersion).toBe(card.version);
  });

  it('ranks churners better than the base model, health alone and the engagement trend, and is calibrated on later data', () => {
    const [baseModel, healthAlone, engagementTrend] = card.baselines;
    expect(baseModel!.name).toBe(base.version);
    for (const baseline of [baseModel!, healthAlone!, engagementTrend!]) expect(card.validation.auc!).toBeGreaterThan(baseline.auc!);
    expect(card.validation.prAuc!).toBeGreaterThan(card.validation.baseRate);
    expect(card.validation.calibration.bins).toHaveLength(10);
    expect(card.validation.calibration.error).toBeLessThan(0.05);
  });

  it('chooses CHURN_RISK_HIGH thresholds that reach the target precision, with their replayed precision and recall', () => {
    expect(card.alert.targetPrecision).toBe(0.6);
    expect(card.alert.precision!).toBeGreaterThanOrEqual(0.6);
    expect(card.alert.recall!).toBeGreaterThan(card.alert.base.recall!);
    expect(card.alert.resolveBelow).toBeLessThan(card.alert.openAt);
    expect(card.alert.base).toMatchObject(base.alerts.churnRiskHigh);
  });

  it('counts samples and churning customers per period, each above the minimum', () => {
    const positives = validation.filter((row) => row.label);
    expect(card.samples.validation).toEqual({
      snapshots: validation.length,
      positives: positives.length,
      customers: new Set(validation.map((row) => row.customerId)).size,
      churners: new Set(positives.map((row) => row.customerId)).size,
    });
    for (const counts of [card.samples.train, card.samples.validation]) {
      expect(counts.churners).toBeGreaterThanOrEqual(MIN_CHURNING_CUSTOMERS);
      expect(counts.customers).toBeGreaterThanOrEqual(MIN_CUSTOMERS);
    }
  });

  it('leaves out the features that never varied in training, and lists every feature on the card', () => {
    expect(card.model.coefficients.find((c) => c.feature === 'npsDeviation')?.leftOut).toBe('varies in too few customers');
    // The synthetic customers never give NPS or CSM sentiment, lose deals or cancel more than their one contract.
    expect(Object.keys(config.churn.coefficients)).not.toContain('npsDeviation');
    expect(card.model.coefficients.find((c) => c.feature === 'npsDeviation')?.coefficient).toBeNull();
    expect(card.model.coefficients.find((c) => c.feature === 'healthShortfall')?.coefficient).toBe(config.churn.coefficients.healthShortfall);
  });

  it('leaves out a feature only a handful of customers showed, which would otherwise take a coefficient from them alone', () => {
    // Detractors' NPS given to the first `count` churning customers of the training period, and to no one else.
    const withDetractors = (count: number) => {
      const split = splitByTime(dataset, { validationShare: 0.25 });
      const chosen = new Set([...new Set(split.train.filter((row) => row.label).map((row) => row.customerId))].slice(0, count));
      const rows = dataset.rows.map((row) => (chosen.has(row.customerId) ? { ...row, insights: { ...row.insights, latestNps: 0 } } : row));
      return train({ ...dataset, rows });
    };
    const nps = (result: ReturnType<typeof train>) => result.card.model.coefficients.find((c) => c.feature === 'npsDeviation')!;
    const few = withDetractors(MIN_VARYING_CUSTOMERS - 1);
    expect(nps(few).coefficient).toBeNull();
    expect(nps(few).leftOut).toBe('varies in too few customers');
    expect(few.config.churn.coefficients).not.toHaveProperty('npsDeviation');
    const enough = withDetractors(MIN_VARYING_CUSTOMERS);
    expect(nps(enough).leftOut).toBeNull();
    expect(enough.config.churn.coefficients.npsDeviation).toBeLessThan(0);
  });

  it('keeps every coefficient in its feature’s direction, leaving out (and naming) those that came out against it', () => {
    for (const [feature, coefficient] of Object.entries(config.churn.coefficients)) {
      expect(Math.sign(coefficient) * churnFeatureDirection(feature as ChurnFeatureName), feature).toBe(1);
    }
    const against = card.model.coefficients.filter((c) => c.leftOut === 'against its direction');
    expect(against.length).toBeGreaterThan(0); // features that move together share their effect: some come out reversed
    for (const c of against) expect(config.churn.coefficients).not.toHaveProperty(c.feature);
  });

  it('fits the features asked for, and only those', () => {
    const features: ChurnFeatureName[] = ['engagementDrop30d', 'healthShortfall', 'openTickets'];
    const narrow = train(dataset, { features });
    expect(narrow.card.model.coefficients.map((c) => c.feature)).toEqual(features);
    expect(Object.keys(narrow.config.churn.coefficients).every((feature) => features.includes(feature as ChurnFeatureName))).toBe(true);
    expect(narrow.config.version).not.toBe(config.version);
  });

  it('is deterministic: the same history trains the same config, version included', () => {
    expect(train(dataset).config).toEqual(config);
  });
});

describe('trainChurnModel refuses', () => {
  it('too few churners or customers, naming the counts and the minimum', () => {
    const small = datasetOf(120);
    expect(() => train(small)).toThrow(TrainingRefusedError);
    expect(() => train(small)).toThrow(
      /too few churners and customers to learn from \(training: \d+ churning customers of \d+, too few churners and customers; validation: \d+ churning customers of \d+, too few churners and customers\): .* at least 50 .* and 200 customers/,
    );
  });

  it('naming first what is short: 58 churners of 181 customers lack customers, not churners', () => {
    // An outside tester's 350 customers were refused as "too few churners" for a validation period of 58 of 181.
    const enough = { snapshots: 5_000, positives: 400, customers: 400, churners: 80 };
    expect(() => refuseIfTooFew({ train: enough, validation: { snapshots: 2_000, positives: 300, customers: 181, churners: 58 } })).toThrow(
      /^too few customers to learn from \(validation: 58 churning customers of 181, too few customers\)/,
    );
    expect(() => refuseIfTooFew({ train: enough, validation: enough })).not.toThrow();
  });

  it('a history too short to label any snapshot', () => {
    expect(() => train(datasetOf(10, 200))).toThrow(/the history is too short/);
  });

  it('a history whose snapshots are too few weeks to leave a training period a horizon before validation: said so, not "too few churners"', () => {
    // 300 days: snapshots from day 90 to day 180; validation from day ~153, training up to 90 days before it: none.
    expect(() => train(datasetOf(400, 300))).toThrow(/^the history is too short to split by time: its snapshots run from [\d-]+ to [\d-]+, .* none is left/);
  });
});
