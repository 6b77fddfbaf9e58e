import { stateSettings } from '@churnscore/config';
import { MS_PER_DAY } from '@churnscore/domain';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeInsights, defaultScoringConfig, foldEvents, loadScoringConfigFile, parseScoringConfig, scoreCustomer } from '@churnscore/scoring';
import { createRandom, latentState, loadProducerConfig, seedFrom, toNdjsonLine } from '@churnscore/simulator';
import { TRAIN_EXIT_CODES, asHistory, runTrainCommand, simulatePopulation, simulatedSnapshotPlan, type SimulatedPopulation } from '@churnscore/trainer';
import { MIN_SETTLED_CHURNERS, alertOpenings, buildDataset, rocAuc, type DatasetRow } from '@churnscore/training';
import { describe, expect, it } from 'vitest';
import {
  EVALUATION_POPULATIONS,
  adaptedAtEachInstant,
  calibrateSignal,
  calibrationByChance,
  calibratedRisk,
  judgeTargets,
  outOfFoldRisks,
  prepareSignal,
  reportSignals,
  scoreHeldOutCustomer,
  type HeldOutRow,
  type LatentCondition,
  type SignalReport,
} from './evaluation';
import { renderEvaluation } from './render';

const NOW = Date.parse('2025-06-15T12:00:00Z');
// The scorer's defaults, as npm run train and npm run evaluate take them.
const FOLD = stateSettings(loadProducerConfig({}, { offline: true }));
const WEEK = 7 * MS_PER_DAY;
const byDefault = defaultScoringConfig();
/** Another model: the default's, alerting far earlier, so that the two alert books differ. */
const eager = parseScoringConfig({ ...byDefault, version: 'eager', alerts: { ...byDefault.alerts, churnRiskHigh: { openAt: 0.1, resolveBelow: 0.05 } } });

describe('scoreHeldOutCustomer', () => {
  const population: SimulatedPopulation = { seed: 'evaluation-test', customers: 25, days: 300, churnRate: 0.6, silentChurnShare: 0.2, activitySpread: 10, usageSignal: 1, usageReporting: 1 };
  const customers = simulatePopulation(population, NOW);
  const plan = simulatedSnapshotPlan(customers.map(asHistory), population, { now: NOW, everyDays: 7, horizonDays: 90 });
  // The adapted default stands in for a config that changes from instant to instant: the eager one in the first half.
  const halfway = plan.asOfDates[Math.floor(plan.asOfDates.length / 2)]!;
  const adapted = (asOf: number) => (asOf < halfway ? eager : byDefault);
  const scored = customers.map((customer) => ({ customer, rows: scoreHeldOutCustomer(customer, plan, { trained: () => eager, default: () => byDefault, adapted }, FOLD) }));

  it('scores each snapshot as the scorer scores the events known by then, under each model', () => {
    for (const { customer, rows } of scored) {
      for (const row of rows) {
        const known = customer.events.filter((event) => event.occurredAt <= row.asOf).map((event) => ({ event }));
        const insights = computeInsights(foldEvents(customer.customerId, known, { ...FOLD, asOf: row.asOf }), row.asOf, FOLD);
        expect(row.risk.default).toBe(scoreCustomer(insights, null, byDefault, row.asOf).churnRisk);
        expect(row.risk.trained).toBe(scoreCustomer(insights, null, eager, row.asOf).churnRisk);
        expect(row.risk.adapted).toBe(scoreCustomer(insights, null, adapted(row.asOf), row.asOf).churnRisk);
        expect(row.signals.oracle).toBe(latentState(customer, row.asOf).decline);
        expect(row.signals.healthAlone).toBe(100 - scoreCustomer(insights, null, byDefault, row.asOf).health);
      }
    }
  });

  it('labels the snapshots as training labels them', () => {
    const dataset = buildDataset(customers.map(asHistory), { ...FOLD, asOf: { dates: plan.asOfDates }, horizonDays: 90, observedUntil: NOW });
    const rows = scored.flatMap(({ rows }) => rows);
    expect(rows.map(({ customerId, asOf, label, churnsAt }) => ({ customerId, asOf, label, churnsAt }))).toEqual(
      dataset.rows.map(({ customerId, asOf, label, churnsAt }) => ({ customerId, asOf, label, churnsAt })),
    );
    expect(rows.some((row) => row.label)).toBe(true);
  });

  it('carries each model’s alert book from snapshot to snapshot: CHURN_RISK_HIGH opens and resolves with its hysteresis', () => {
    for (const { rows } of scored) {
      const points = rows.map((row) => ({ ...row, risk: row.risk.trained }));
      expect(rows.map((row) => row.alertOpen.trained)).toEqual(alertOpenings(points, eager.alerts.churnRiskHigh));
      expect(rows.map((row) => row.alertOpen.default)).toEqual(alertOpenings(rows.map((row) => ({ ...row, risk: row.risk.default })), byDefault.alerts.churnRiskHigh));
    }
    expect(scored.some(({ rows }) => rows.some((row) => row.alertOpen.trained && !row.alertOpen.default))).toBe(true);
  });
});

describe('adaptedAtEachInstant', () => {
  it('is, at each instant, the config `npm run train -- --adapt-base-rate --observed-until` writes from the history known then; the default where it refuses', async () => {
    const population: SimulatedPopulation = { seed: 'adapted-test', customers: 400, days: 400, churnRate: 0.6, silentChurnShare: 0.2, activitySpread: 10, usageSignal: 1, usageReporting: 1 };
    const customers = simulatePopulation(population, NOW);
    const histories = customers.map(asHistory);
    const plan = simulatedSnapshotPlan(histories, population, { now: NOW, everyDays: 49, horizonDays: 90 });
    const { configAt: adapted, summary } = adaptedAtEachInstant(histories, plan, byDefault, FOLD);
    const dir = mkdtempSync(join(tmpdir(), 'adapted-test-'));
    try {
      const file = join(dir, 'history.ndjson');
      writeFileSync(file, customers.flatMap(({ events }) => events.map(toNdjsonLine)).join(''));
      const outcomes = [];
      for (const [i, asOf] of plan.asOfDates.entries()) {
        const out = join(dir, `at-${i}`);
        const io = { env: {}, stdout: { write: () => true }, stderr: { write: () => true }, clock: () => NOW };
        const code = await runTrainCommand(['--adapt-base-rate', '--history', file, '--observed-until', new Date(asOf).toISOString(), '--out', out], io);
        outcomes.push(code);
        expect(adapted(asOf)).toEqual(code === TRAIN_EXIT_CODES.ok ? loadScoringConfigFile(join(out, 'scoring-config.json')) : byDefault);
      }
      // Too few customers under contract at the first instant; at the next two, too short a history (under a year) to
      // estimate the rate from their risks (trainer's tests estimate one); at the last, measured on the outcomes settled
      // by then (the only instant a year after the warm-up).
      expect(outcomes).toEqual([TRAIN_EXIT_CODES.refused, TRAIN_EXIT_CODES.refused, TRAIN_EXIT_CODES.refused, TRAIN_EXIT_CODES.ok]);
      expect(summary).toEqual({
        fittedAt: byDefault.churn.baseRate,
        estimated: plan.asOfDates.slice(3).map((asOf) => adapted(asOf).churn.baseRate),
        settledChurners: [expect.any(Number)],
        kept: { 'too few customers': 1, 'history too short': 2 },
        // Under the 50 churners thresholds are chosen from, and a slope fitted.
        thresholdsChosen: 0,
        slopes: [],
      });
      expect(summary.settledChurners[0]).toBeGreaterThanOrEqual(MIN_SETTLED_CHURNERS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Trains at each of some forty instants: 17 s alone on a two-core machine, 27 s beside another file.
  }, 60_000);
});

/** A held-out snapshot, week `week`, of a customer of activity level `level`. */
function row(customerId: string, week: number, label: boolean, level: number, risk: number, open: boolean, signal: number, condition: LatentCondition = 'calm'): HeldOutRow {
  return {
    customerId,
    asOf: week * WEEK,
    label,
    churnsAt: label ? 10 * WEEK : null,
    activityLevel: level,
    risk: { trained: risk, default: 0.2, adapted: 0.2 },
    alertOpen: { trained: open, default: false, adapted: false },
    signals: { healthAlone: signal, engagementTrend: -signal, oracle: signal },
    features: [signal],
    condition,
  };
}

describe('outOfFoldRisks: the trained model’s features learnt on the judged base itself', () => {
  const random = createRandom(seedFrom('out-of-fold-test'));
  const customers = Array.from({ length: 200 }, (_, i) => ({ customerId: `c-${i}`, label: random.next() < 0.3 }));
  const aucOf = (rows: ReadonlyArray<{ label: boolean }>, risks: readonly number[]) => rocAuc(risks.map((score, i) => ({ score, label: rows[i]!.label })));

  it('learns what a feature tells of churn', () => {
    const rows = customers.flatMap(({ customerId, label }) => [0, 1].map(() => ({ customerId, label, features: [(label ? 1 : 0) + random.next(), random.next()] })));
    expect(aucOf(rows, outOfFoldRisks(rows))).toBeGreaterThan(0.9);
  });

  it('never scores a customer with a fit that saw it: a feature naming each customer teaches nothing out of fold', () => {
    // One column per customer, 1 in its own rows: fitted on a customer's own rows, it would give back its label.
    const rows = customers.flatMap(({ customerId, label }, i) => [0, 1].map(() => ({ customerId, label, features: customers.map((_, j) => (i === j ? 1 : 0)) })));
    const risks = outOfFoldRisks(rows);
    expect(new Set(rows.map((row) => row.customerId))).toHaveLength(200);
    expect(aucOf(rows, risks)).toBeLessThan(0.7);
  });
});

describe('reportSignals', () => {
  // A churner and a calm customer at each of three activity levels, two weekly snapshots each.
  const rows = [
    ...[0.5, 1, 4].flatMap((level, i) => [
      row(`churner-${i}`, 0, true, level, 0.9, true, 3),
      row(`churner-${i}`, 1, true, level, 0.7, true, 2),
      row(`calm-${i}`, 0, false, level, 0.1, false, -1),
      // The quietest calm customer's risk rises in a passing dip, which opens the trained model's alert.
      row(`calm-${i}`, 1, false, level, i === 0 ? 0.8 : 0.1, i === 0, -2, i === 0 ? 'dipping' : 'calm'),
    ]),
  ];
  const identity = { calibration: { intercept: 0, slope: 1 }, alert: { openAt: 0.8, resolveBelow: 0.6 } };
  const reports = reportSignals(
    rows,
    { healthAlone: identity, engagementTrend: { ...identity, alert: null }, oracle: identity },
    { trained: { openAt: 0.5, resolveBelow: 0.3 }, default: { openAt: 0.7, resolveBelow: 0.5 }, adapted: { openAt: 0.7, resolveBelow: 0.5 } },
    [0, WEEK],
  );
  const of = (signal: SignalReport['signal']) => reports.find((report) => report.signal === signal)!;

  it('ranks with each signal: AUC overall and in the quietest and busiest thirds, and PR-AUC', () => {
    // The trained model ranks every churner first but one calm customer's 0.8 above the churners' 0.7 (the quietest third).
    expect(of('trained').auc).toBeCloseTo(1 - 3 / 36, 12);
    expect(of('trained').aucQuietThird).toBeCloseTo(1 - 1 / 4, 12);
    expect(of('trained').aucBusyThird).toBe(1);
    expect(of('default').auc).toBe(0.5);
    expect(of('healthAlone').auc).toBe(1);
    expect(of('engagementTrend').auc).toBe(0);
  });

  it('judges the models’ probabilities as they are, and single signals as calibrated on the training base', () => {
    // Sorted: 0.1 ×5 (calm), 0.7 ×3 (churners), 0.8 (calm), 0.9 ×3 (churners), cut into ten groups of one or two:
    // |predicted − observed| is 0.1 in six groups (two of them pairs), 0.3 twice, 0.8 once, 0.1 for the last pair.
    expect(of('trained').calibrationError).toBeCloseTo((0.1 * 4 + 0.1 * 2 + 0.3 + 0.3 + 0.8 + 0.1 + 0.1 * 2) / 12, 12);
    // Health alone as logistic(value): churners at 0.95 and 0.88, calm ones at 0.27 and 0.12.
    expect(of('healthAlone').calibrationError).toBeCloseTo(
      (3 * (1 - calibratedRisk({ intercept: 0, slope: 1 }, 3)) + 3 * (1 - calibratedRisk({ intercept: 0, slope: 1 }, 2)) + 3 * calibratedRisk({ intercept: 0, slope: 1 }, -1) + 3 * calibratedRisk({ intercept: 0, slope: 1 }, -2)) / 12,
      12,
    );
  });

  it('takes each model’s CHURN_RISK_HIGH from its alert books, and replays one on each calibrated single signal', () => {
    // Trained: open at all six churner snapshots and one calm one; churners 30+ days out: every churner snapshot (10 weeks).
    expect(of('trained').alert).toEqual({ openAt: 0.5, resolveBelow: 0.3, alerted: 7, truePositives: 6, precision: 6 / 7, recall: 1, earlyRecall: 1 });
    expect(of('default').alert).toMatchObject({ alerted: 0, precision: null, recall: 0 });
    // Health alone, calibrated as logistic(value): churners at 0.95 and 0.88 (open at ≥ 0.8, stays above 0.6), calm ones below.
    expect(of('healthAlone').alert).toMatchObject({ openAt: 0.8, alerted: 6, truePositives: 6 });
    expect(of('engagementTrend').alert).toBeNull();
  });

  it('tells each model’s calibration error apart from chance: what a perfectly calibrated model with its risks shows', () => {
    expect(of('trained').calibrationByChance).toEqual(calibrationByChance(rows.map((row) => row.risk.trained), 'trained'));
    expect(of('healthAlone').calibrationByChance).toBeNull();
  });

  it('says what the customers were going through when a model alerted and no churn followed', () => {
    expect(of('trained').falseAlerts).toEqual({ dipping: 1, declining: 0, calm: 0 });
    expect(of('default').falseAlerts).toEqual({ dipping: 0, declining: 0, calm: 0 });
    expect(of('healthAlone').falseAlerts).toBeNull();
  });

  it('says which targets are met', () => {
    const targets = judgeTargets(reports);
    expect(targets.map(({ met }) => met)).toEqual([false, true, true, false, false, false, false, false]);
    expect(targets[0]).toEqual({ target: 'trained model AUC within 0.03 of the oracle', met: false, figures: '0.917 vs 1.000' });
    expect(targets[2]!.target).toBe('trained model: CHURN_RISK_HIGH precision ≥ 0.6 at recall ≥ 0.6 on churners 30+ days out');
  });

  it('renders the table and the targets in Markdown', () => {
    const text = renderEvaluation({
      trainedOn: 'simulated --seed a',
      heldOut: 'simulated --seed b',
      trainedVersion: 'churn-h90-test',
      trainedValidationAuc: 0.8,
      defaultVersion: 'default-test',
      heldOutCounts: { snapshots: 12, positives: 6, customers: 6, churners: 3 },
      asOfDates: 2,
      everyDays: 7,
      adaptation: { fittedAt: 0.08, estimated: [0.05, 0.04, 0.06, 0.03], settledChurners: [31, 24], kept: { 'too few customers': 1, 'no rate fits': 2 }, thresholdsChosen: 1, slopes: [0.912] },
      reports,
    });
    expect(text).toContain('| signal | AUC | PR-AUC | AUC quietest ⅓ | AUC busiest ⅓ | calibration error | CHURN_RISK_HIGH opens / resolves | precision | recall | recall 30+ days out |');
    expect(text).toContain('| trained model | 0.917 |');
    expect(text).toContain('| engagement trend (30 days vs the 60 before) | 0.000 |');
    expect(text).toContain('none reaches the target precision');
    expect(text).toContain('- trained model: 1 snapshots; in a passing dip 100 %, declining towards a churn further out 0 %, neither 0 %');
    expect(text).toContain('- default model: 0 snapshots; in a passing dip –, declining towards a churn further out –, neither –');
    expect(text).toContain('- NOT met: trained model AUC within 0.03 of the oracle (0.917 vs 1.000)');
    const { mean, p90 } = of('trained').calibrationByChance!;
    expect(text).toContain(`- trained model: ${of('trained').calibrationError.toFixed(3)}; by chance ${mean.toFixed(3)} on average, under ${p90.toFixed(3)} in 90 % of draws`);
    expect(text).toContain('12 snapshots of 6 customers (6 churn within the horizon; 3 churning customers), 2 as-of instants every 7 days');
    expect(text).toContain(
      '  → adapted default: churn within the horizon measured on the settled outcomes of the history known then (24 to 31 churning customers) at 2 instants, estimated from the ' +
        'customers under contract without labels at 2: 3.0 % to 6.0 % (median 4.5 %) (the default was fitted at 8.0 %; 50.0 % of these snapshots churned); ' +
        'the default itself at 1 instant (fewer than 20 churning customers settled and 200 customers under contract), ' +
        "2 instants (no churn rate fits its customers); the log-odds' slope fitted on the settled outcomes too at 1 instant (0.91); " +
        "CHURN_RISK_HIGH's thresholds chosen on the settled outcomes too at 1 instant (the table shows the last instant's)",
    );
  });
});

describe('calibrationByChance', () => {
  it('shrinks with the snapshots: decile groups of a few dozen wander by points, of thousands hardly at all', () => {
    const risks = (n: number) => Array.from({ length: n }, (_, i) => 0.02 + (0.5 * i) / n);
    const few = calibrationByChance(risks(279), 'test');
    const many = calibrationByChance(risks(30_000), 'test');
    expect(few.mean).toBeGreaterThan(0.03);
    expect(many.mean).toBeLessThan(0.01);
    expect(few.p90).toBeGreaterThan(few.mean);
    // Seeded: the same risks give the same figures.
    expect(calibrationByChance(risks(279), 'test')).toEqual(few);
  });
});

describe('single signals prepared on the training base', () => {
  const datasetRow = (i: number, label: boolean): DatasetRow => ({ customerId: `c${i}`, asOf: 0, label, churnsAt: label ? 60 * MS_PER_DAY : null, insights: null as never });

  it('are calibrated by a one-feature logistic regression, riskier values to higher probabilities', () => {
    const values = [0, 0, 0, 1, 1, 1, 2, 2, 2];
    const labels = [false, false, false, false, true, false, true, true, false];
    const calibration = calibrateSignal(values, labels);
    expect(calibration.slope).toBeGreaterThan(0);
    expect(calibratedRisk(calibration, 2)).toBeGreaterThan(calibratedRisk(calibration, 0));
  });

  it('get CHURN_RISK_HIGH thresholds for the target precision on the validation snapshots, or none when none reach it', () => {
    const split = (values: number[], labels: boolean[]) => values.map((value, i) => ({ value, row: datasetRow(i, labels[i]!) }));
    const separating = split([0, 0, 0, 5, 5], [false, false, false, true, true]);
    expect(prepareSignal({ train: separating, validation: separating }, [0], 0.6).alert).not.toBeNull();
    const noise = split([1, 1, 1, 1, 1], [true, false, false, false, false]);
    expect(prepareSignal({ train: noise, validation: noise }, [0], 0.6).alert).toBeNull();
  });
});

describe('the evaluation populations', () => {
  it('differ in seed, churn rate, silent churners and activity spread, the held-out base with a tenfold spread', () => {
    const { train, heldOut } = EVALUATION_POPULATIONS;
    expect(heldOut.seed).not.toBe(train.seed);
    expect(heldOut.churnRate).not.toBe(train.churnRate);
    expect(heldOut.silentChurnShare).toBeGreaterThan(train.silentChurnShare);
    expect(heldOut.activitySpread).toBe(10);
    expect(train.activitySpread).not.toBe(10);
  });
});
