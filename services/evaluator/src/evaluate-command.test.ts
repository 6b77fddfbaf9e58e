import { UsageError } from '@churnscore/simulator';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EVALUATION_POPULATIONS } from './evaluation';
import { REPORTED_POPULATIONS, parseEvaluateArgs, runEvaluateCommand } from './evaluate-command';
import { AS_REPORTED_POPULATION, daysForJudgedWeeks } from './through-scorer';

/**
 * A training base with churn enough for both periods, and a small held-out base unlike it (the command line makes it
 * 80 customers). The runs here do not reach the scorer.
 */
const POPULATIONS = {
  train: { seed: 'evaluate-command-train', customers: 450, days: 500, churnRate: 0.6, silentChurnShare: 0.1, activitySpread: 3, usageSignal: 1, usageReporting: 1 },
  heldOut: { seed: 'evaluate-command-held-out', customers: 120, days: 400, churnRate: 0.3, silentChurnShare: 0.4, activitySpread: 10, usageSignal: 1, usageReporting: 1 },
  throughScorer: AS_REPORTED_POPULATION,
};

async function run(argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runEvaluateCommand(argv, {
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text) },
    clock: () => Date.parse('2025-07-01T00:00:00Z'),
    populations: POPULATIONS,
  });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

describe('npm run evaluate', () => {
  it('trains on one base, scores the other and prints every signal side by side with the targets, showing progress', async () => {
    const { code, stdout, stderr } = await run(['--without-scorer', '--held-out-base', 'customers=80']);
    expect(code).toBe(0);
    expect(stdout).toContain('Trained on: simulated --seed evaluate-command-train --customers 450 --days 500 --churn-rate 0.6');
    expect(stdout).toContain('Held out: simulated --seed evaluate-command-held-out --customers 80 --days 400 --churn-rate 0.3');
    for (const signal of ['trained model', 'default model', "default model, adapted to the base's churn rate", 'health alone (100 − health)', 'engagement trend (30 days vs the 60 before)', 'oracle (latent decline)']) {
      expect(stdout).toMatch(new RegExp(`^\\| ${signal.replace(/[()]/g, '\\$&')} \\| \\d\\.\\d{3} \\|`, 'm'));
    }
    expect(stdout.match(/^- (met|NOT met): /gm)).toHaveLength(8);
    // 80 held-out customers: too few to adapt the default to at any instant, which the report says.
    expect(stdout).toMatch(/^ {2}→ adapted default: the default itself at every instant: \d+ instants \(fewer than 20 churning customers settled and 200 customers under contract\)$/m);
    expect(stderr).toMatch(/training base: 450\/450 customers/);
    expect(stderr).toContain('fitting on');
    expect(stderr).toContain('adapting the default to the held-out base');
    expect(stderr).toMatch(/held-out base: scored 80\/80 customers {2}100%/);
  }, 60_000);
});

it('refuses, as bad usage, a training base too small to learn from, naming it', async () => {
  const refused = run(['--without-scorer', '--train-base', 'customers=30']);
  await expect(refused).rejects.toThrow(UsageError);
  await expect(refused).rejects.toThrow(/^the training base \(simulated --seed evaluate-command-train --customers 30 .*\) cannot be learnt from: /);
}, 30_000);

it('refuses, as bad usage, a default config the scorer would refuse', async () => {
  await expect(run(['--default-config', '/nonexistent/config.json'])).rejects.toThrow(/the scoring config \/nonexistent\/config.json is refused/);
});

describe('parseEvaluateArgs', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('scores weekly unless told otherwise', () => {
    expect(parseEvaluateArgs([])).toEqual({ everyDays: 7, defaultConfigPath: null, throughScorer: true, loadOrder: 'topics', populations: REPORTED_POPULATIONS });
    expect(parseEvaluateArgs(['--load-order', 'newest-first'])?.loadOrder).toBe('newest-first');
    expect(parseEvaluateArgs(['--load-order', 'by-customer'])?.loadOrder).toBe('by-customer');
    expect(() => parseEvaluateArgs(['--load-order', 'oldest-first'])).toThrow(/--load-order must be one of topics, newest-first, by-customer/);
    expect(parseEvaluateArgs(['--without-scorer'])?.throughScorer).toBe(false);
    // A relative path is from where the command was typed (npm's INIT_CWD), not the package root npm runs it in.
    vi.stubEnv('INIT_CWD', '/home/analyst');
    expect(parseEvaluateArgs(['--every-days', '1', '--default-config', 'old.json'])).toMatchObject({ everyDays: 1, defaultConfigPath: '/home/analyst/old.json', throughScorer: true });
    expect(parseEvaluateArgs(['--help'])).toBeNull();
    expect(() => parseEvaluateArgs(['--every-days', '0'])).toThrow(/--every-days must be a whole number of at least 1/);
    expect(() => parseEvaluateArgs(['--seed', 'x'])).toThrow(UsageError);
  });
});

describe('the bases of an evaluation', () => {
  it('are the reported ones unless the command line names others, each key given changing only itself', () => {
    const { populations } = parseEvaluateArgs([
      '--held-out-base', 'seed=mine, churn-rate=0.5,activity-spread=30',
      '--scorer-base', 'customers=300,silent-churn-share=0,usage-signal=0',
      '--train-base', 'days=800',
    ])!;
    expect(populations.heldOut).toEqual({ ...EVALUATION_POPULATIONS.heldOut, seed: 'mine', churnRate: 0.5, activitySpread: 30 });
    expect(populations.throughScorer).toEqual({ ...AS_REPORTED_POPULATION, customers: 300, silentChurnShare: 0, usageSignal: 0, usageReporting: 1 });
    expect(populations.train).toEqual({ ...EVALUATION_POPULATIONS.train, days: 800 });
  });

  it('refuses, as bad usage, what the simulator would refuse and a base it could not judge', () => {
    const refusal = (argv: string[]) => () => parseEvaluateArgs(argv);
    expect(refusal(['--held-out-base', 'churn=0.5'])).toThrow(/--held-out-base: "churn=0.5" is not one of seed=…, customers=…, days=…, churn-rate=…/);
    expect(refusal(['--held-out-base', 'seed'])).toThrow(/--held-out-base: "seed" is not one of/);
    expect(refusal(['--held-out-base', 'seed=a,seed=b'])).toThrow(/--held-out-base: seed is given twice/);
    expect(refusal(['--held-out-base', 'seed='])).toThrow(/--held-out-base: seed must not be empty/);
    expect(refusal(['--scorer-base', 'churn-rate=2'])).toThrow(/--scorer-base churn-rate must be a number from 0 to 0.95/);
    expect(refusal(['--train-base', 'activity-spread=wide'])).toThrow(/--train-base activity-spread must be a number from 1 to 1000 .*got NaN/);
    expect(refusal(['--held-out-base', 'usage-signal=-1'])).toThrow(/--held-out-base usage-signal must be a number from 0 to 1/);
    expect(refusal(['--train-base', 'customers=0'])).toThrow(/--train-base: customers must be a whole number of at least 1/);
    expect(refusal(['--held-out-base', 'days=200'])).toThrow(/--held-out-base: days must be a whole number of at least 212/);
    expect(refusal(['--scorer-base', `days=${daysForJudgedWeeks(0)}`])).toThrow(`--scorer-base: days must be a whole number of at least ${daysForJudgedWeeks(1)}`);
    // Customer ids start with the seed: judged on the training base's own customers, every figure would flatter.
    expect(refusal(['--held-out-base', `seed=${EVALUATION_POPULATIONS.train.seed}`])).toThrow(/--held-out-base: seed evaluate-train is the training base's/);
    expect(refusal(['--train-base', `seed=${AS_REPORTED_POPULATION.seed}`])).toThrow(/--scorer-base: seed evaluate-as-reported is the training base's/);
    for (const argv of [['--held-out-base', 'churn=0.5'], ['--scorer-base', 'churn-rate=2'], ['--train-base', `seed=${AS_REPORTED_POPULATION.seed}`]]) {
      expect(refusal(argv)).toThrow(UsageError);
    }
  });
});
