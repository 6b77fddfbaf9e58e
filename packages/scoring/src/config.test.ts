import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CHURN_FEATURE_NAMES } from './churn';
import { DEFAULT_MODEL_CARDS_DIR, DEFAULT_SCORING_CONFIG_PATH, ScoringConfigError, defaultScoringConfig, parseScoringConfig, scoringConfigIdentity } from './config';
import { computeInsights } from './insights';
import { scoreCustomer } from './score';
import { NOW, RETENTION, healthyState } from './test-fixtures';

/** A fresh copy of the shipped default file, as untyped JSON the tests break on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary JSON, mutated into invalid shapes
const defaultJson = (): any => JSON.parse(readFileSync(DEFAULT_SCORING_CONFIG_PATH, 'utf8'));

/** The issues parseScoringConfig reports for `json`, as `path: message` lines. */
function problemsOf(json: unknown): string[] {
  try {
    parseScoringConfig(json);
  } catch (error) {
    expect(error).toBeInstanceOf(ScoringConfigError);
    return (error as ScoringConfigError).issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  throw new Error('expected the configuration to be refused');
}

describe('the default configuration', () => {
  it('is valid and carries its version', () => {
    expect(defaultScoringConfig().version).toBe(defaultJson().version);
    expect(parseScoringConfig(defaultJson())).toEqual(defaultScoringConfig());
  });

  it('comes with the model card of its churn model, under its version: the coefficients and alert thresholds it states', () => {
    const config = defaultScoringConfig();
    const card = JSON.parse(readFileSync(join(DEFAULT_MODEL_CARDS_DIR, `${config.version}.json`), 'utf8')) as {
      version: string;
      horizonDays: number;
      model: { intercept: number; coefficients: Array<{ feature: string; coefficient: number | null }> };
      alert: { openAt: number; resolveBelow: number };
      samples: { train: { snapshots: number; positives: number } };
    };
    expect(card.version).toBe(config.version);
    expect(config.churn.horizonDays).toBe(90);
    expect(card.horizonDays).toBe(config.churn.horizonDays);
    expect(card.model.intercept).toBe(config.churn.intercept);
    // The rate the intercept was fitted at, as training stamps it: what a base's adaptation starts from.
    expect(config.churn.baseRate).toBe(Number((card.samples.train.positives / card.samples.train.snapshots).toPrecision(6)));
    const learnt = card.model.coefficients.filter((c) => c.coefficient !== null).map((c) => [c.feature, c.coefficient]);
    expect(Object.fromEntries(learnt)).toEqual(config.churn.coefficients);
    expect(config.alerts.churnRiskHigh).toEqual({ openAt: card.alert.openAt, resolveBelow: card.alert.resolveBelow });
    expect(readFileSync(join(DEFAULT_MODEL_CARDS_DIR, `${config.version}.md`), 'utf8')).toContain(`# Churn model ${config.version}`);
  });

  it('is identified by its version and contents: an edit under the same version is another identity, a reordered file the same', () => {
    const shipped = defaultScoringConfig();
    expect(scoringConfigIdentity(shipped)).toMatch(new RegExp(`^${shipped.version.replaceAll('.', '\\.')}#[0-9a-f]{12}$`));
    const reordered = parseScoringConfig(Object.fromEntries(Object.entries(defaultJson()).reverse()));
    expect(scoringConfigIdentity(reordered)).toBe(scoringConfigIdentity(shipped));
    const edited = defaultJson();
    edited.bands.risk.highMin = 0.35;
    expect(scoringConfigIdentity(parseScoringConfig(edited))).not.toBe(scoringConfigIdentity(shipped));
    expect(scoringConfigIdentity(parseScoringConfig(edited)).startsWith(`${shipped.version}#`)).toBe(true);
  });

  it('stamps its version on every score', () => {
    const config = defaultScoringConfig();
    expect(scoreCustomer(computeInsights(healthyState(), NOW, RETENTION), null, config, NOW).modelVersion).toBe(config.version);
  });

  it('ends with a default scorecard that matches everyone', () => {
    expect(defaultScoringConfig().scorecards.at(-1)?.match).toEqual({});
  });
});

describe('parseScoringConfig: shape errors name the setting by its JSON path', () => {
  it('rejects a weight ≤ 0', () => {
    const json = defaultJson();
    json.scorecards[1].measures[2].weight = 0;
    expect(problemsOf(json)).toEqual(['scorecards[1].measures[2].weight: must be > 0']);
  });

  it('rejects unknown settings, unknown inputs and wrong types, all at once', () => {
    const json = defaultJson();
    json.bands.health.greenMni = 70;
    json.measures[0].input = 'daysSinceLastCall';
    json.churn.intercept = '-3';
    json.alerts.noRecentActivity.silentDays = 30.5;
    const problems = problemsOf(json);
    expect(problems).toContain('bands.health.greenMni: unknown setting');
    expect(problems).toContain('churn.intercept: must be a number');
    expect(problems).toContain('alerts.noRecentActivity.silentDays: must be a whole number of days');
    expect(problems.find((line) => line.startsWith('measures[0].input: '))).toMatch(
      /^measures\[0\]\.input: unknown measure input "daysSinceLastCall" \(known: daysSinceLastActivity, /,
    );
    expect(problems).toHaveLength(4);
  });

  it('names missing settings and refuses a non-object', () => {
    const json = defaultJson();
    delete json.significance;
    expect(problemsOf(json)).toEqual([expect.stringMatching(/^significance: /)]);
    expect(problemsOf('{}')).toEqual([expect.stringMatching(/^\(root\): /)]);
  });

  it("refuses a churn model without its horizon, saying where a trained config's horizon is written", () => {
    const json = defaultJson();
    delete json.churn.horizonDays;
    expect(problemsOf(json)).toEqual([
      'churn.horizonDays: required: the days within which churnRisk is the probability of churning, as the model was trained ' +
        '(a config written by npm run train before it stamped them: the horizonDays of its model-card.json)',
    ]);
  });

  it('takes a horizon of whole days > 0 only', () => {
    const json = defaultJson();
    json.churn.horizonDays = 0;
    expect(problemsOf(json)).toEqual(['churn.horizonDays: must be > 0']);
    json.churn.horizonDays = 30.5;
    expect(problemsOf(json)).toEqual(['churn.horizonDays: must be a whole number of days']);
    json.churn.horizonDays = '90';
    expect(problemsOf(json)).toEqual(['churn.horizonDays: must be a number']);
  });

  it('rejects out-of-range scores and probabilities', () => {
    const json = defaultJson();
    json.measures[3].points[1].score = 101;
    json.bands.risk.highMin = 1.5;
    expect(problemsOf(json)).toEqual(['bands.risk.highMin: must be ≤ 1', 'measures[3].points[1].score: must be ≤ 100']);
  });

  it('the error message lists every problem on its own line', () => {
    const json = defaultJson();
    json.scorecards[0].measures[0].weight = -1;
    json.significance.churnRisk = 0;
    expect(() => parseScoringConfig(json)).toThrow(
      'invalid scoring configuration (2 problems):\n' +
        '  scorecards[0].measures[0].weight: must be > 0\n' +
        '  significance.churnRisk: must be > 0',
    );
  });
});

describe('parseScoringConfig: semantic errors', () => {
  it('requires ordered band thresholds', () => {
    const json = defaultJson();
    json.bands.health.greenMin = 35;
    json.bands.risk.mediumMin = json.bands.risk.highMin;
    expect(problemsOf(json)).toEqual([
      'bands.health.redBelow: must be < bands.health.greenMin (35)',
      `bands.risk.mediumMin: must be < bands.risk.highMin (${json.bands.risk.highMin})`,
    ]);
  });

  it('requires measure points with increasing values and scores that follow the direction', () => {
    const json = defaultJson();
    json.measures[0].points[2].value = 7; // recency: same value as the point before
    json.measures[1].points[3].score = 10; // engagement-volume (higherIsBetter) goes down
    expect(problemsOf(json)).toEqual([
      "measures[0].points[2].value: must be > the previous point's value (7)",
      "measures[1].points[3].score: must not be below the previous point's score (70) in a higherIsBetter measure",
    ]);
  });

  it('requires known, unique measures and scorecards', () => {
    const json = defaultJson();
    json.measures.push({ ...json.measures[0] });
    json.scorecards[0].measures[1].measure = 'no-such-measure';
    json.scorecards[0].measures[2].measure = 'recency';
    json.scorecards[1].id = 'renewal';
    expect(problemsOf(json)).toEqual([
      'measures[14].id: duplicate measure id "recency" (also measures[0])',
      'scorecards[0].measures[1].measure: unknown measure "no-such-measure"',
      'scorecards[0].measures[2].measure: measure "recency" is listed twice',
      'scorecards[1].id: duplicate scorecard id "renewal" (also scorecards[0])',
    ]);
  });

  it('requires the last scorecard to be the catch-all default', () => {
    const json = defaultJson();
    json.scorecards[2].match = { segments: ['ENTERPRISE'] };
    expect(problemsOf(json)).toEqual([
      'scorecards[2].match: the last scorecard is the default and must match every customer: use {}',
    ]);
  });

  it('requires churn-alert hysteresis (open above resolve)', () => {
    const json = defaultJson();
    json.alerts.churnRiskHigh = { openAt: 0.7, resolveBelow: 0.7 };
    expect(problemsOf(json)).toEqual([
      'alerts.churnRiskHigh.resolveBelow: must be < alerts.churnRiskHigh.openAt (0.7): the gap between them is the hysteresis that stops flapping',
    ]);
  });

  it('accepts every churn feature the scorer computes, the relative ones included', () => {
    const json = defaultJson();
    json.churn.coefficients = Object.fromEntries(CHURN_FEATURE_NAMES.map((feature) => [feature, 0.1]));
    expect(Object.keys(parseScoringConfig(json).churn.coefficients)).toEqual(CHURN_FEATURE_NAMES);
    expect(CHURN_FEATURE_NAMES).toEqual(expect.arrayContaining(['engagementDrop7d', 'engagementDrop30d', 'engagementDrop90d', 'usageDrop30d', 'usageDrop90d', 'ticketsPerEngagement90']));
  });

  it("rejects churn weights that could make the risk no number: an outside tester's 1e308 stored NaN risks", () => {
    const json = defaultJson();
    json.churn.coefficients.csmSentiment = 1e308;
    json.churn.coefficients.npsDeviation = -1e308;
    json.churn.intercept = -1001;
    expect(problemsOf(json)).toEqual([
      'churn.intercept: must be ≥ −1000',
      'churn.coefficients.csmSentiment: must be ≤ 1000',
      'churn.coefficients.npsDeviation: must be ≥ −1000',
    ]);
    // At the bound every feature's largest value still gives a finite logit.
    json.churn.intercept = 1000;
    json.churn.coefficients = Object.fromEntries(CHURN_FEATURE_NAMES.map((feature) => [feature, 1000]));
    const risk = scoreCustomer(computeInsights(healthyState(), NOW, RETENTION), null, parseScoringConfig(json), NOW).churnRisk;
    expect(Number.isFinite(risk)).toBe(true);
  });

  it('rejects unknown churn features and disordered severity thresholds', () => {
    const json = defaultJson();
    json.churn.coefficients.shoeSize = 1;
    json.alerts.severity.highFrom = 300_000;
    expect(problemsOf(json)).toEqual([
      expect.stringMatching(/^churn\.coefficients\.shoeSize: unknown churn feature \(known: daysSinceLastActivity, /),
      'alerts.severity.highFrom: must be < alerts.severity.criticalFrom (250000)',
    ]);
  });

  it('requires renewal-risk recovery to lie outside the danger zone', () => {
    const json = defaultJson();
    json.alerts.renewalAtRisk.recovery = { minHealth: 30, maxChurnRisk: json.bands.risk.highMin + 0.05 };
    expect(problemsOf(json)).toEqual([
      'alerts.renewalAtRisk.recovery.minHealth: must be ≥ bands.health.redBelow (40), or a recovered customer could still be red',
      `alerts.renewalAtRisk.recovery.maxChurnRisk: must be ≤ bands.risk.highMin (${json.bands.risk.highMin}), or a recovered customer could still be high risk`,
    ]);
  });

  it('requires sensible lifecycle ratios and periods', () => {
    const json = defaultJson();
    json.lifecycle.declineTrendRatio = 1;
    json.lifecycle.growthTrendRatio = 0.9;
    json.lifecycle.growthTenureDays = 60;
    expect(problemsOf(json)).toEqual([
      'lifecycle.declineTrendRatio: must be < 1 (a ratio below 1 means engagement fell)',
      'lifecycle.growthTrendRatio: must be > 1 (a ratio above 1 means engagement rose)',
      'lifecycle.onboardingDays: must be < lifecycle.growthTenureDays (60)',
    ]);
  });
});
