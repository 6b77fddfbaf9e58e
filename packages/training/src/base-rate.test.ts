import { MS_PER_DAY } from '@churnscore/domain';
import { churnLogitOf, churnSnapshot, defaultScoringConfig, logOdds, logistic } from '@churnscore/scoring';
import { describe, expect, it } from 'vitest';
import {
  AdaptationRefusedError,
  LONGEST_ADAPTED_SUFFIX,
  MIN_SETTLED_CHURNERS,
  RATE_FLOOR,
  adaptToBase,
  adaptToBaseRate,
  adaptToOutcomes,
  estimateBaseRate,
  fitInterceptShift,
  fitPlattScaling,
  settledPlan,
  unadaptedVersion,
} from './base-rate';
import { DEFAULT_RENEWAL_GRACE_DAYS } from './churn';
import { DEFAULT_WARM_UP_DAYS, customerRows, knownSpan, type DatasetRow } from './dataset';
import { seededRandom, syntheticPopulation } from './test-support';
import { alertSettings, replayAlert } from './thresholds';
import { MIN_CHURNING_CUSTOMERS, MIN_CUSTOMERS, riskTrajectories, shortHash, significant } from './train';

/**
 * A base churning at `churnRate` whose customers' one behavioural measure is N(1, 1) for churners and N(0, 1) for the
 * others, whatever the rate (a prior shift: behaviour given the outcome does not change from base to base); and the
 * log-odds a model calibrated on a base churning at `modelRate` gives each customer: the exact Bayes posterior there.
 */
function shiftedBase(churnRate: number, modelRate: number, customers: number, seed: number): { logits: number[]; labels: boolean[] } {
  const random = seededRandom(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const labels = Array.from({ length: customers }, () => random() < churnRate);
  const measures = labels.map((churns) => (churns ? 1 : 0) + normal());
  return { logits: measures.map((x) => logOdds(modelRate) + x - 0.5), labels };
}

describe('unadaptedVersion', () => {
  it('takes off what an adaptation appended, so that a model adapted again is named after its root, whatever the rate', () => {
    expect(unadaptedVersion('default-2025.6-base24.9137-3f0c2a9e')).toBe('default-2025.6');
    expect(unadaptedVersion('mine-base1.23457e-7-0123abcd')).toBe('mine');
    expect(unadaptedVersion(`mine${LONGEST_ADAPTED_SUFFIX}`)).toBe('mine');
    expect(unadaptedVersion('default-2025.6')).toBe('default-2025.6');
    expect(unadaptedVersion('base-5-model')).toBe('base-5-model');
  });
});

describe('estimateBaseRate', () => {
  it.each([0.02, 0.08, 0.25, 0.5])('recovers a base churning at %s from the model’s risks alone, the model fitted at 0.08', (churnRate) => {
    const { logits, labels } = shiftedBase(churnRate, 0.08, 20_000, 7);
    const observed = labels.filter(Boolean).length / labels.length;
    expect(Math.abs(estimateBaseRate(logits, 0.08) - observed)).toBeLessThan(0.015);
  });

  it('finds the model’s own rate on the base it was calibrated for', () => {
    const { logits } = shiftedBase(0.08, 0.08, 20_000, 11);
    expect(Math.abs(estimateBaseRate(logits, 0.08) - 0.08)).toBeLessThan(0.005);
  });

  it('stays inside (0, 1) when every customer is certain', () => {
    expect(estimateBaseRate([40, 40, 40], 0.1)).toBe(1 - RATE_FLOOR);
    expect(estimateBaseRate([-40, -40, -40], 0.1)).toBe(RATE_FLOOR);
  });

  it('needs customers', () => {
    expect(() => estimateBaseRate([], 0.1)).toThrow(RangeError);
  });
});

describe('adaptToBaseRate', () => {
  const config = defaultScoringConfig();

  it('moves the intercept by the two rates’ log-odds: every risk calibrated to the new base, the ranking unchanged', () => {
    const { logits, labels } = shiftedBase(0.3, config.churn.baseRate!, 2_000, 3);
    const { config: adapted, adaptation } = adaptToBaseRate(config, logits);
    expect(adaptation).toMatchObject({ from: config.churn.baseRate, customers: 2_000 });
    expect(Math.abs(adaptation.to - labels.filter(Boolean).length / labels.length)).toBeLessThan(0.03);
    expect(adapted.churn.baseRate).toBe(adaptation.to);
    expect(adapted.churn.intercept).toBeCloseTo(config.churn.intercept + logOdds(adaptation.to) - logOdds(adaptation.from), 4);
    expect(adapted.churn.coefficients).toEqual(config.churn.coefficients);
    expect(adapted.alerts).toEqual(config.alerts);
    // The rate in percent, and a hash of the intercept and thresholds: another fit, another version.
    expect(adapted.version).toMatch(new RegExp(`^${config.version}-base${Number((adaptation.to * 100).toPrecision(6))}-[0-9a-f]{8}$`));
    // The adapted risks average to the estimated rate: what calibration to the base means.
    const shifted = logits.map((logit) => logistic(logit + adapted.churn.intercept - config.churn.intercept));
    expect(shifted.reduce((sum, risk) => sum + risk, 0) / shifted.length).toBeCloseTo(adaptation.to, 3);
  });

  it.each([
    ['less', -1],
    ['more', 1],
  ] as const)('refuses a base that no churn rate fits: every customer %s likely to churn than the model\'s base on average', (word, sign) => {
    const logits = Array.from({ length: MIN_CUSTOMERS }, (_, i) => logOdds(config.churn.baseRate!) + sign * (2 + i / MIN_CUSTOMERS));
    expect(() => adaptToBaseRate(config, logits)).toThrow(new RegExp(`fit no churn rate \\(every one looks ${word} likely`));
    expect(() => adaptToBaseRate(config, logits)).toThrow(expect.objectContaining({ reason: 'no rate fits' }));
  });

  it('takes the version it is given', () => {
    expect(adaptToBaseRate(config, shiftedBase(0.3, 0.08, MIN_CUSTOMERS, 5).logits, 'ours-1').config.version).toBe('ours-1');
  });

  it(`refuses fewer than ${MIN_CUSTOMERS} customers, and a config that does not say the rate it was fitted at`, () => {
    const { logits } = shiftedBase(0.3, 0.08, MIN_CUSTOMERS - 1, 5);
    expect(() => adaptToBaseRate(config, logits)).toThrow(AdaptationRefusedError);
    expect(() => adaptToBaseRate(config, logits)).toThrow(expect.objectContaining({ reason: 'too few customers' }));
    const { baseRate: _unstated, ...churn } = config.churn;
    expect(() => adaptToBaseRate({ ...config, churn }, [...logits, 0])).toThrow(/churn\.baseRate/);
    expect(() => adaptToBaseRate({ ...config, churn }, [...logits, 0])).toThrow(expect.objectContaining({ reason: 'no rate stated' }));
  });
});

describe('fitInterceptShift', () => {
  it('finds the shift of a base that differs from the model’s only in how many churn, and its risks then average to the share that churned', () => {
    const { logits, labels } = shiftedBase(0.3, 0.08, 20_000, 13);
    const shift = fitInterceptShift(logits, labels);
    // The model is the exact posterior at 0.08; on a base churning at 0.3 the exact posterior is shifted by the log-odds.
    expect(shift).toBeCloseTo(logOdds(0.3) - logOdds(0.08), 1);
    const mean = logits.reduce((sum, logit) => sum + logistic(logit + shift), 0) / logits.length;
    expect(mean).toBeCloseTo(labels.filter(Boolean).length / labels.length, 6);
  });

  it('converges where every risk is near 0 or 1, or is exactly 0 or 1 in floating point', () => {
    for (const logit of [-30, -800]) {
      const logits = [logit, logit, logit, logit];
      const shift = fitInterceptShift(logits, [true, false, false, false]);
      expect(logits.reduce((sum, l) => sum + logistic(l + shift), 0) / 4).toBeCloseTo(0.25, 6);
    }
    // Risks of exactly 1 and 0 that already match the labels: nothing to move.
    expect(fitInterceptShift([800, -800], [true, false])).toBe(0);
  });

  it('needs both outcomes', () => {
    expect(() => fitInterceptShift([0, 1], [true, true])).toThrow(RangeError);
    expect(() => fitInterceptShift([0, 1], [false, false])).toThrow(RangeError);
  });
});

describe('fitPlattScaling', () => {
  /** Log-odds of N(0, 2) and labels drawn from the risks `slope` × logit + `shift`: a model whose risks are too spread (or too narrow) for the base. */
  function recalibratedBase(slope: number, shift: number, customers: number, seed: number): { logits: number[]; labels: boolean[] } {
    const random = seededRandom(seed);
    const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const logits = Array.from({ length: customers }, () => 2 * normal());
    return { logits, labels: logits.map((logit) => random() < logistic(slope * logit + shift)) };
  }

  it.each([
    [0.6, -1.2],
    [1.5, 0.4],
  ])('recovers the slope %s and the shift %s the labels were drawn with', (slope, shift) => {
    const { logits, labels } = recalibratedBase(slope, shift, 20_000, 17);
    const fit = fitPlattScaling(logits, labels);
    expect(Math.abs(fit.slope - slope)).toBeLessThan(0.05);
    expect(Math.abs(fit.shift - shift)).toBeLessThan(0.07);
    // Maximum likelihood: the recalibrated risks average to the share of positives, and their residuals are uncorrelated with the log-odds.
    const residuals = logits.map((logit, i) => (labels[i] ? 1 : 0) - logistic(fit.slope * logit + fit.shift));
    expect(residuals.reduce((sum, r) => sum + r, 0) / logits.length).toBeCloseTo(0, 6);
    expect(residuals.reduce((sum, r, i) => sum + r * logits[i]!, 0) / logits.length).toBeCloseTo(0, 6);
  });

  it('is the intercept-only fit when the model ranks as the base does and only its rate differs (a slope of 1)', () => {
    const { logits, labels } = shiftedBase(0.3, 0.08, 20_000, 13);
    const fit = fitPlattScaling(logits, labels);
    expect(Math.abs(fit.slope - 1)).toBeLessThan(0.05);
    expect(Math.abs(fit.shift - fitInterceptShift(logits, labels))).toBeLessThan(0.05);
  });

  it('moves the shift alone where the log-odds are all alike, and nothing where the risks are exactly 0 and 1 and right', () => {
    const fit = fitPlattScaling([0, 0, 0, 0], [true, false, false, false]);
    expect(fit.slope).toBe(1);
    expect(logistic(fit.shift)).toBeCloseTo(0.25, 6);
    expect(fitPlattScaling([800, -800], [true, false])).toEqual({ slope: 1, shift: 0 });
  });

  it('needs both outcomes', () => {
    expect(() => fitPlattScaling([0, 1], [true, true])).toThrow(RangeError);
    expect(() => fitPlattScaling([0, 1], [false, false])).toThrow(RangeError);
  });
});

describe('settledPlan', () => {
  const day = (n: number): number => Date.UTC(2024, 0, 1) + n * MS_PER_DAY;

  it('takes weekly instants back from the last whose outcome the history decides, over a year at most', () => {
    const plan = settledPlan(day(0), day(700), 90);
    const lastSettled = day(700 - 90 - DEFAULT_RENEWAL_GRACE_DAYS);
    expect(plan.asOfDates.at(-1)).toBe(lastSettled);
    expect(plan.asOfDates[0]).toBeGreaterThanOrEqual(lastSettled - 365 * MS_PER_DAY);
    expect(plan.asOfDates).toHaveLength(53);
    for (const [i, asOf] of plan.asOfDates.entries()) if (i > 0) expect(asOf - plan.asOfDates[i - 1]!).toBe(7 * MS_PER_DAY);
    expect(plan).toMatchObject({ horizonDays: 90, renewalGraceDays: DEFAULT_RENEWAL_GRACE_DAYS, observedUntil: day(700) });
  });

  it('starts no earlier than the warm-up after the first event, and holds nothing for a history too short', () => {
    expect(settledPlan(day(0), day(300), 90).asOfDates[0]).toBeGreaterThanOrEqual(day(DEFAULT_WARM_UP_DAYS));
    expect(settledPlan(day(0), day(90 + DEFAULT_RENEWAL_GRACE_DAYS + DEFAULT_WARM_UP_DAYS - 1), 90).asOfDates).toEqual([]);
  });
});

describe('adaptToOutcomes and adaptToBase', () => {
  const config = defaultScoringConfig();
  const fold = { retentionDays: 400, dedupeWindowDays: 7, maxEntities: 10_000 };
  const { histories, end } = syntheticPopulation({ customers: 300, days: 720, seed: 3 });
  const plan = settledPlan(knownSpan(histories).activityFrom, end, 90);
  const settled = histories.flatMap((history) => customerRows(history, plan, fold));
  const logitOf = (row: (typeof settled)[number]) => churnLogitOf(config.churn, churnSnapshot(row.insights, config, row.asOf));

  const churning = [...new Set(settled.filter((row) => row.label).map((row) => row.customerId))];
  /** The settled snapshots of every customer but the churners past the first `keep`. */
  const withChurners = (keep: number) => {
    const kept = new Set(churning.slice(0, keep));
    return settled.filter((row) => !churning.includes(row.customerId) || kept.has(row.customerId));
  };

  /** The settled outcomes an adaptation on `rows` reports: the plan's instants span them all. */
  const outcomesOf = (rows: readonly DatasetRow[], churningCustomers: number) => ({
    snapshots: rows.length,
    churningCustomers,
    firstAsOf: new Date(plan.asOfDates[0]!).toISOString(),
    lastAsOf: new Date(plan.asOfDates.at(-1)!).toISOString(),
  });

  it(`fits the intercept alone on settled snapshots of fewer than ${MIN_CHURNING_CUSTOMERS} churners: the moved risks average to the share that churned, the ranking and everything else unchanged`, () => {
    const rows = withChurners(MIN_CHURNING_CUSTOMERS - 1);
    const { config: adapted, adaptation } = adaptToOutcomes(config, rows, 'ours-2')!;
    const churned = rows.filter((row) => row.label).length / rows.length;
    expect(adaptation.to).toBeCloseTo(churned, 4);
    expect(adapted.churn.baseRate).toBe(adaptation.to);
    expect({ ...adapted, version: config.version, churn: { ...adapted.churn, intercept: config.churn.intercept, baseRate: config.churn.baseRate } }).toEqual(config);
    const moved = rows.map((row) => logistic(logitOf(row) + adapted.churn.intercept - config.churn.intercept));
    expect(moved.reduce((sum, risk) => sum + risk, 0) / moved.length).toBeCloseTo(churned, 3);
    expect(adapted.version).toBe('ours-2');
    expect(adaptation).toEqual({
      from: config.churn.baseRate,
      to: adaptation.to,
      customers: new Set(rows.map((row) => row.customerId)).size,
      outcomes: outcomesOf(rows, MIN_CHURNING_CUSTOMERS - 1),
    });
  });

  it(`fits the log-odds' slope beside the intercept once the settled snapshots hold ${MIN_CHURNING_CUSTOMERS} churners: every coefficient multiplied by it, the ranking and everything else unchanged`, () => {
    expect(churning.length).toBeGreaterThanOrEqual(MIN_CHURNING_CUSTOMERS);
    const { config: adapted, adaptation } = adaptToOutcomes(config, settled, 'ours-3')!;
    const churned = settled.filter((row) => row.label).length / settled.length;
    expect(adaptation.to).toBeCloseTo(churned, 4);
    const logits = settled.map(logitOf);
    const labels = settled.map((row) => row.label);
    const fit = fitPlattScaling(logits, labels);
    const slope = significant(fit.slope);
    expect(adaptation.slope).toBe(slope);
    expect(adapted.churn.intercept).toBe(significant(slope * config.churn.intercept + fit.shift));
    expect(adapted.churn.coefficients).toEqual(Object.fromEntries(Object.entries(config.churn.coefficients).map(([feature, c]) => [feature, significant(c * slope)])));
    // The version's hash holds the slope: two fits of one intercept and two slopes, two versions.
    const { alert } = adaptation;
    expect(alert).toBeDefined();
    const thresholds = { openAt: alert!.openAt, resolveBelow: alert!.resolveBelow };
    expect(adaptToOutcomes(config, settled)!.config.version).toBe(
      `${config.version}-base${Number((adaptation.to * 100).toPrecision(6))}-${shortHash({ intercept: adapted.churn.intercept, slope, thresholds })}`,
    );
    // Everything but the churn model and what follows CHURN_RISK_HIGH's thresholds, chosen on the same snapshots (below).
    expect({ ...adapted, version: config.version, churn: config.churn }).toEqual({ ...config, ...alertSettings(config, thresholds, adaptation.to) });
    // The adapted model's log-odds are the recalibrated ones, and nothing is left to recalibrate in them.
    const moved = settled.map((row) => churnLogitOf(adapted.churn, churnSnapshot(row.insights, adapted, row.asOf)));
    for (const [i, logit] of moved.entries()) expect(logit).toBeCloseTo(fit.slope * logits[i]! + fit.shift, 4);
    const again = fitPlattScaling(moved, labels);
    expect(again.slope).toBeCloseTo(1, 4);
    expect(again.shift).toBeCloseTo(0, 4);
    expect(moved.reduce((sum, logit) => sum + logistic(logit), 0) / moved.length).toBeCloseTo(churned, 4);
    expect(adaptation).toEqual({
      from: config.churn.baseRate,
      to: adaptation.to,
      customers: new Set(settled.map((row) => row.customerId)).size,
      outcomes: outcomesOf(settled, churning.length),
      slope,
      alert,
    });
  });

  it(`chooses CHURN_RISK_HIGH's thresholds on the settled snapshots for the target precision once they hold ${MIN_CHURNING_CUSTOMERS} churners, as training does on its validation`, () => {
    expect(churning.length).toBeGreaterThanOrEqual(MIN_CHURNING_CUSTOMERS);
    const { config: adapted, adaptation } = adaptToOutcomes(config, settled, undefined, 0.5)!;
    const alert = adaptation.alert!;
    expect(alert.targetPrecision).toBe(0.5);
    expect(alert.precision).toBeGreaterThanOrEqual(0.5);
    expect(adapted.alerts.churnRiskHigh).toEqual({ openAt: alert.openAt, resolveBelow: alert.resolveBelow });
    // What the adaptation says of its alert is the adapted model's alert replayed along each customer's settled weeks.
    const rows = [...settled].sort((a, b) => (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : a.asOf - b.asOf));
    const risks = rows.map((row) => logistic(churnLogitOf(adapted.churn, churnSnapshot(row.insights, adapted, row.asOf))));
    const { alerted, truePositives, precision, recall, earlyRecall } = replayAlert(riskTrajectories(rows, risks, plan.asOfDates), adapted.alerts.churnRiskHigh);
    expect(alert).toMatchObject({ alerted, truePositives, recall, earlyRecall });
    expect(alert.precision).toBeCloseTo(precision!, 12);
    // Another fit, another version.
    expect(adapted.version).not.toBe(adaptToOutcomes(config, settled)!.config.version);
  });

  /** The settled snapshots with every outcome the other way: outcomes the model ranks backwards. */
  const reversed = settled.map((row) => ({ ...row, label: !row.label }));

  it('keeps the intercept alone where the settled outcomes rank backwards: a slope below 0 would turn every coefficient against its direction', () => {
    const logits = reversed.map(logitOf);
    const labels = reversed.map((row) => row.label);
    expect(fitPlattScaling(logits, labels).slope).toBeLessThan(0);
    const { config: adapted, adaptation } = adaptToOutcomes(config, reversed)!;
    expect(adaptation.slope).toBeUndefined();
    expect(adapted.churn.coefficients).toEqual(config.churn.coefficients);
    expect(adapted.churn.intercept).toBe(significant(config.churn.intercept + fitInterceptShift(logits, labels)));
  });

  it(`keeps the base config's thresholds with fewer than ${MIN_CHURNING_CUSTOMERS} churners settled, or when none reach the target`, () => {
    for (const [rows, target] of [[withChurners(MIN_CHURNING_CUSTOMERS - 1), 0.6], [reversed, 0.999]] as const) {
      const { config: adapted, adaptation } = adaptToOutcomes(config, rows, undefined, target)!;
      expect(adaptation.alert).toBeUndefined();
      expect(adapted.alerts).toEqual(config.alerts);
      expect(adapted.bands).toEqual(config.bands);
    }
  });

  it(`measures nothing from fewer than ${MIN_SETTLED_CHURNERS} churning customers: adaptToBase then estimates from the risks under contract, or says why it cannot`, () => {
    const fewChurners = withChurners(MIN_SETTLED_CHURNERS - 1);
    expect(adaptToOutcomes(config, fewChurners)).toBeNull();
    const asOf = plan.asOfDates.at(-1)!;
    const underContract = settled.filter((row) => row.asOf === asOf);
    expect(underContract.length).toBeLessThan(MIN_CUSTOMERS);
    const known = { asOf, historyFrom: knownSpan(histories).activityFrom };
    expect(() => adaptToBase(config, { settled: fewChurners, underContract, ...known })).toThrow(
      new RegExp(`${underContract.length} customers under contract: at least ${MIN_CUSTOMERS} are needed to estimate their churn rate, and the settled history holds ${MIN_SETTLED_CHURNERS - 1} churning customers \\(at least ${MIN_SETTLED_CHURNERS}`),
    );
    // With the churners' outcomes, measured.
    expect(adaptToBase(config, { settled, underContract, ...known }).adaptation.outcomes?.snapshots).toBe(settled.length);
  });

  it('estimates no rate from a history shorter than the longest window the features read: they would read the days before it as silence', () => {
    const asOf = plan.asOfDates.at(-1)!;
    const underContract = settled.filter((row) => row.asOf === asOf);
    const fewChurners = withChurners(MIN_SETTLED_CHURNERS - 1);
    for (const historyDays of [60, 364]) {
      const refusal = (() => {
        try {
          adaptToBase(config, { settled: fewChurners, underContract: [...underContract, ...underContract], asOf, historyFrom: asOf - historyDays * MS_PER_DAY });
        } catch (error) {
          return error;
        }
      })();
      expect(refusal).toBeInstanceOf(AdaptationRefusedError);
      expect(refusal).toMatchObject({ reason: 'history too short', message: expect.stringMatching(new RegExp(`spans ${historyDays} days of activity, and the model's features read 365 days`)) });
    }
    // Measured on settled outcomes, the history's length does not matter: they carry their labels.
    expect(adaptToBase(config, { settled, underContract, asOf, historyFrom: asOf - 60 * MS_PER_DAY }).adaptation.outcomes).toBeDefined();
  });
});
