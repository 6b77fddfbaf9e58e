import { UsageError } from '@churnscore/simulator';
import { describe, expect, it } from 'vitest';
import { parseEvaluateArgs, runEvaluateCommand } from './evaluate-command';

/** A training base with churn enough for both periods, and a small held-out base unlike it. */
const POPULATIONS = {
  train: { seed: 'evaluate-command-train', customers: 450, days: 500, churnRate: 0.6, silentChurnShare: 0.1, activitySpread: 3 },
  heldOut: { seed: 'evaluate-command-held-out', customers: 80, days: 400, churnRate: 0.3, silentChurnShare: 0.4, activitySpread: 10 },
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
    const { code, stdout, stderr } = await run(['--without-scorer']);
    expect(code).toBe(0);
    expect(stdout).toContain('Trained on: simulated --seed evaluate-command-train --customers 450 --days 500 --churn-rate 0.6');
    expect(stdout).toContain('Held out: simulated --seed evaluate-command-held-out --customers 80 --days 400 --churn-rate 0.3');
    for (const signal of ['trained model', 'default model', 'default model, adapted to the base (no labels)', 'health alone (100 − health)', 'engagement trend (30 days vs the 60 before)', 'oracle (latent decline)']) {
      expect(stdout).toMatch(new RegExp(`^\\| ${signal.replace(/[()]/g, '\\$&')} \\| \\d\\.\\d{3} \\|`, 'm'));
    }
    expect(stdout.match(/^- (met|NOT met): /gm)).toHaveLength(8);
    // 80 held-out customers: too few to adapt the default to at any instant, which the report says.
    expect(stdout).toMatch(/^ {2}→ adapted default: the default itself at every instant: \d+ instants \(fewer than 200 customers under contract\)$/m);
    expect(stderr).toMatch(/training base: 450\/450 customers/);
    expect(stderr).toContain('fitting on');
    expect(stderr).toContain('adapting the default to the held-out base');
    expect(stderr).toMatch(/held-out base: scored 80\/80 customers {2}100%/);
  }, 60_000);
});

it('refuses, as bad usage, a default config the scorer would refuse', async () => {
  await expect(run(['--default-config', '/nonexistent/config.json'])).rejects.toThrow(/the scoring config \/nonexistent\/config.json is refused/);
});

describe('parseEvaluateArgs', () => {
  it('scores weekly unless told otherwise', () => {
    expect(parseEvaluateArgs([])).toEqual({ everyDays: 7, defaultConfigPath: null, throughScorer: true });
    expect(parseEvaluateArgs(['--without-scorer'])?.throughScorer).toBe(false);
    expect(parseEvaluateArgs(['--every-days', '1', '--default-config', 'old.json'])).toEqual({ everyDays: 1, defaultConfigPath: 'old.json', throughScorer: true });
    expect(parseEvaluateArgs(['--help'])).toBeNull();
    expect(() => parseEvaluateArgs(['--every-days', '0'])).toThrow(/--every-days must be a whole number of at least 1/);
    expect(() => parseEvaluateArgs(['--seed', 'x'])).toThrow(UsageError);
  });
});
