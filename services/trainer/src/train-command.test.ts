import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHURN_FEATURE_NAMES, DEFAULT_MODEL_CARDS_DIR, DEFAULT_SCORING_CONFIG_PATH, defaultScoringConfig, loadScoringConfigFile } from '@churnscore/scoring';
import { UsageError, generateCustomerHistories, toNdjsonLine } from '@churnscore/simulator';
import { DEFAULT_TARGET_PRECISION, DEFAULT_TRAINING_FEATURES, MIN_SETTLED_CHURNERS, alertSettings, settingsCardMisses, type ModelCard } from '@churnscore/training';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
// The training package's seeded population: a history whose churn shows in behaviour, built in memory.
import { syntheticPopulation } from '../../../packages/training/src/test-support';
import { TRAIN_EXIT_CODES, parseTrainArgs, runTrainCommand } from './train-command';

const dir = mkdtempSync(join(tmpdir(), 'train-command-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CLOCK = () => Date.parse('2025-01-15T00:00:00Z');

/** A population written as the NDJSON export `npm run ingest` reads. */
function exportOf(customers: number, name: string): string {
  const file = join(dir, name);
  const events = syntheticPopulation({ customers, days: 720, seed: 1 }).histories.flatMap((history) => history.events.map(({ event }) => event));
  writeFileSync(file, events.map(toNdjsonLine).join(''));
  return file;
}

async function run(argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runTrainCommand(argv, {
    env: {},
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text) },
    clock: CLOCK,
  });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

describe('npm run train', () => {
  it('learns from an export of one file per kind, each named with --kind in the order of the files, as from one file', async () => {
    const events = syntheticPopulation({ customers: 400, days: 720, seed: 1 }).histories.flatMap((history) => history.events.map(({ event }) => event));
    const whole = join(dir, 'whole.ndjson');
    writeFileSync(whole, events.map(toNdjsonLine).join(''));
    const perKind = (['customer', 'contract', 'opportunity', 'activity'] as const).flatMap((kind) => {
      const file = join(dir, `${kind}s.ndjson`);
      // Records without a kind field, as a CRM's per-object export has them.
      writeFileSync(file, events.filter((event) => event.kind === kind).map((event) => JSON.stringify({ ...JSON.parse(toNdjsonLine(event)), kind: undefined })).join('\n'));
      return ['--history', file, '--kind', kind];
    });
    const trained = async (argv: string[], out: string) => {
      const { code } = await run([...argv, '--out', join(dir, out), '--every-days', '14']);
      expect(code).toBe(TRAIN_EXIT_CODES.ok);
      return loadScoringConfigFile(join(dir, out, 'scoring-config.json')).version;
    };
    expect(await trained(perKind, 'per-kind')).toBe(await trained(['--history', whole], 'whole'));
  });

  it('learns from an export and writes a scoring config the scorer loads and a model card in Markdown and JSON', async () => {
    const history = exportOf(400, 'history.ndjson');
    const out = join(dir, 'model');
    const { code, stdout, stderr } = await run(['--history', history, '--out', out, '--every-days', '14']);
    expect(code).toBe(TRAIN_EXIT_CODES.ok);

    // The scorer's own loader (SCORING_CONFIG_PATH) accepts it.
    const config = loadScoringConfigFile(join(out, 'scoring-config.json'));
    const card = JSON.parse(readFileSync(join(out, 'model-card.json'), 'utf8')) as ModelCard;
    expect(card.version).toBe(config.version);
    expect(card.history.sources).toEqual([history]);
    expect(card.trainedAt).toBe('2025-01-15T00:00:00.000Z');
    expect(config.alerts.churnRiskHigh).toEqual({ openAt: card.alert.openAt, resolveBelow: card.alert.resolveBelow });
    expect(settingsCardMisses(card, config)).toEqual([]);
    expect(card.alert.precision!).toBeGreaterThanOrEqual(0.6);

    const markdown = readFileSync(join(out, 'model-card.md'), 'utf8');
    expect(markdown).toContain(`# Churn model ${config.version}`);
    for (const section of ['## Samples', '## Validation', '### Calibration', '## CHURN_RISK_HIGH', '## Coefficients']) expect(markdown).toContain(section);
    expect(markdown).toContain('within **90 days**');

    expect(stdout).toContain(`${history}: `);
    expect(stdout).toContain(`trained ${config.version}`);
    expect(stdout).toContain(`SCORING_CONFIG_PATH=${join(out, 'scoring-config.json')}`);
    // Progress on stderr: the snapshot count, then each stage.
    expect(stderr).toMatch(/snapshots +400\/400 customers +100%/);
    expect(stderr).toContain('fitting on');
  });

  it('refuses, as bad usage, to write over a model in the directory of its version, --out or not: a scorer may be loading it', async () => {
    const history = join(dir, 'history.ndjson');
    const out = join(dir, 'model');
    const version = loadScoringConfigFile(join(out, 'scoring-config.json')).version;
    // models/<version> of the working directory, as the first run would have written it without --out.
    const home = mkdtempSync(join(dir, 'cwd-'));
    mkdirSync(join(home, 'models', version), { recursive: true });
    copyFileSync(join(out, 'scoring-config.json'), join(home, 'models', version, 'scoring-config.json'));
    const cwd = vi.spyOn(process, 'cwd').mockReturnValue(home);
    try {
      // The version given: refused before the history is read.
      await expect(run(['--history', join(dir, 'none.ndjson'), '--version', version])).rejects.toThrow(
        new RegExp(`${version}, the directory of the model's version, holds a model already \\(scoring-config\\.json\\), which a scorer may be loading: give another --version or an --out`),
      );
      // The version a hash of what is learnt: refused once it is known, nothing written.
      await expect(run(['--history', history, '--every-days', '14'])).rejects.toThrow(/the directory of the model's version, holds a model already/);
      expect(readFileSync(join(home, 'models', version, 'scoring-config.json'), 'utf8')).toBe(readFileSync(join(out, 'scoring-config.json'), 'utf8'));
      expect(existsSync(join(home, 'models', version, 'model-card.json'))).toBe(false);
    } finally {
      cwd.mockRestore();
    }
  });

  it('refuses, exit 4, when the history has too few churners, and writes nothing', async () => {
    const out = join(dir, 'refused');
    const { code, stderr } = await run(['--history', exportOf(100, 'small.ndjson'), '--out', out]);
    expect(code).toBe(TRAIN_EXIT_CODES.refused);
    expect(stderr).toMatch(/training refused: too few churners and customers to learn from .* at least 50/);
    expect(stderr).not.toContain('may be the cause');
    expect(() => readFileSync(join(out, 'scoring-config.json'))).toThrow(/ENOENT/);
  });

  it('names the options away from their defaults that shape the snapshots when it refuses for too little history', async () => {
    const history = exportOf(100, 'small-with-options.ndjson');
    const fewChurners = await run(['--history', history, '--every-days', '30', '--validation-share', '0.9']);
    expect(fewChurners.code).toBe(TRAIN_EXIT_CODES.refused);
    expect(fewChurners.stderr).toContain("this run's --every-days 30 (default 7), --validation-share 0.9 (default 0.25) may be the cause: try their defaults\n");
    // Observed until 200 days in: too short a history to label a snapshot.
    const firstEvent = JSON.parse(readFileSync(history, 'utf8').split('\n')[0]!) as { occurredAt: string };
    const observedUntil = new Date(Date.parse(firstEvent.occurredAt) + 200 * 86_400_000).toISOString();
    const tooShort = await run(['--history', history, '--observed-until', observedUntil]);
    expect(tooShort.code).toBe(TRAIN_EXIT_CODES.refused);
    expect(tooShort.stderr).toMatch(/training refused: the history is too short/);
    expect(tooShort.stderr).toContain(`this run's --observed-until ${observedUntil} (default: the history's latest event) may be the cause: try its default\n`);
  });

  it('does not advise the defaults for a history too short for them to label any snapshot', async () => {
    // 200 days: a 30-day horizon labels some snapshots (too few churners among them), the default 90 none.
    const events = syntheticPopulation({ customers: 100, days: 720, seed: 1 }).histories.flatMap((history) => history.events.map(({ event }) => event));
    const first = Math.min(...events.map((event) => event.occurredAt));
    const short = join(dir, 'short.ndjson');
    writeFileSync(short, events.filter((event) => event.occurredAt < first + 200 * 86_400_000).map(toNdjsonLine).join(''));
    const { code, stderr } = await run(['--history', short, '--horizon-days', '30']);
    expect(code).toBe(TRAIN_EXIT_CODES.refused);
    expect(stderr).not.toContain('try its default');
    expect(stderr).toContain("this run's --horizon-days 30 (default 90) differ from the defaults, but this history is too short for the defaults to label any snapshot: a longer history is what may do\n");
  });

  it('on Ctrl-C says that nothing was trained and exits 130 at once, removing the --out directory it made', async () => {
    const out = join(dir, 'interrupted', 'model');
    const exits: Array<{ code: unknown; outLeft: boolean }> = [];
    // process.exit ends the run where it is, as the real one would (by throwing here, out of the Ctrl-C).
    vi.spyOn(process, 'exit').mockImplementation((code) => {
      exits.push({ code, outLeft: existsSync(join(dir, 'interrupted')) });
      throw new Error('exited');
    });
    const stderr: string[] = [];
    const io = {
      env: {},
      stdout: { write: () => true },
      // The first progress line, once the export is read: the user presses Ctrl-C then.
      stderr: { write: (text: string) => stderr.push(text) === 1 && process.emit('SIGINT') },
      clock: CLOCK,
    };
    try {
      await expect(runTrainCommand(['--history', exportOf(100, 'to-interrupt.ndjson'), '--out', out], io)).rejects.toThrow('exited');
    } finally {
      vi.restoreAllMocks();
    }
    expect(exits).toEqual([{ code: 130, outLeft: false }]);
    expect(stderr.at(-1)).toBe(`interrupted: nothing trained, no model written (${join(dir, 'interrupted')}, made for it, removed); running again is safe\n`);
    // A finished run leaves no Ctrl-C handler behind: a later Ctrl-C is the process's own again.
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('trains on nothing, exit 1, when a line of the export is rejected, and says which', async () => {
    const file = join(dir, 'bad.ndjson');
    writeFileSync(file, '{"kind":"customer","customerId":"c1","occurredAt":"2024-06-01T00:00:00Z","segment":"SMB"}\n{"kind":"customer","occurredAt":"2024-06-01T00:00:00Z"}\n');
    const { code, stdout } = await run(['--history', file]);
    expect(code).toBe(TRAIN_EXIT_CODES.linesRejected);
    expect(stdout).toContain(`${file} line 2: MISSING_FIELD customerId: is required`);
    expect(stdout).toContain('nothing trained: fix the rejected lines, or pass --partial');
    // A file that cannot be taken at all is not helped by --partial, and is not advised it.
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '');
    const partial = await run(['--history', empty, '--kind', 'customer', '--partial']);
    expect(partial.code).toBe(TRAIN_EXIT_CODES.linesRejected);
    expect(partial.stdout).toContain('nothing trained: a file cannot be taken at all, even in part: fix it');
  });

  it('with --partial, learns from the valid lines and says on the card how many it left out', async () => {
    const file = join(dir, 'partly-bad.ndjson');
    writeFileSync(file, `${readFileSync(exportOf(400, 'whole-for-partial.ndjson'), 'utf8')}{"kind":"customer","occurredAt":"2024-06-01T00:00:00Z"}\nnot json\n`);
    const out = join(dir, 'partial');
    const { code, stdout } = await run(['--history', file, '--partial', '--out', out, '--every-days', '14']);
    expect(code).toBe(TRAIN_EXIT_CODES.ok);
    expect(stdout).toMatch(/partly-bad.ndjson: \d+ records, \d+ valid, 2 rejected \((MISSING_FIELD ×1, PARSE_ERROR ×1|PARSE_ERROR ×1, MISSING_FIELD ×1)\)/);
    const card = JSON.parse(readFileSync(join(out, 'model-card.json'), 'utf8')) as ModelCard;
    expect(card.history.leftOut).toBe(2);
    expect(readFileSync(join(out, 'model-card.md'), 'utf8')).toContain('; 2 rejected records left out)');
  });
});

/** The simulator's customers, whose behaviour the default model reads (product usage included), churning 60 % a year, as an export. */
const simulatedExport = (() => {
  let file: string | undefined;
  return (): string => {
    if (file !== undefined) return file;
    file = join(dir, 'adapt.ndjson');
    const simulated = generateCustomerHistories({ customers: 500, days: 400, seed: 'adapt-test', now: CLOCK(), churnRate: 0.6 });
    writeFileSync(file, simulated.flatMap(({ events }) => events.map(toNdjsonLine)).join(''));
    return file;
  };
})();

describe('npm run train -- --adapt-base-rate', () => {
  const logOdds = (p: number): number => Math.log(p / (1 - p));

  it("moves the default model to the churn its base's settled outcomes show: the intercept fitted on them and CHURN_RISK_HIGH's thresholds chosen on them, nothing else", async () => {
    const out = join(dir, 'adapted');
    const now = CLOCK();
    const { code, stdout } = await run(['--adapt-base-rate', '--history', simulatedExport(), '--observed-until', new Date(now).toISOString(), '--out', out, '--version', 'ours-adapted']);
    expect(code).toBe(TRAIN_EXIT_CODES.ok);
    const base = defaultScoringConfig();
    const adapted = loadScoringConfigFile(join(out, 'scoring-config.json'));
    expect(adapted.version).toBe('ours-adapted');
    const { baseRate } = adapted.churn;
    // Far above the ~8 % of the default's own bases, as a base losing 60 % of its customers a year churns within 90 days.
    expect(baseRate).toBeGreaterThan(0.12);
    expect(baseRate).toBeLessThan(0.4);
    expect(adapted.churn.intercept).toBeGreaterThan(base.churn.intercept);
    const card = JSON.parse(readFileSync(join(out, 'model-card.json'), 'utf8')) as ModelCard;
    const alert = card.adaptation!.alert!;
    // Enough churners settled to choose thresholds on are enough to fit the log-odds' slope: every coefficient multiplied by it.
    const slope = card.adaptation!.slope!;
    expect(slope).toBeGreaterThan(0);
    const scaled = (coefficient: number) => Number((coefficient * slope).toPrecision(6));
    expect(adapted.churn.coefficients).toEqual(Object.fromEntries(Object.entries(base.churn.coefficients).map(([feature, c]) => [feature, scaled(c)])));
    expect(alert).toMatchObject({ targetPrecision: DEFAULT_TARGET_PRECISION, earlyWarningDays: 30, base: base.alerts.churnRiskHigh });
    expect(alert.precision).toBeGreaterThanOrEqual(DEFAULT_TARGET_PRECISION);
    const thresholds = { openAt: alert.openAt, resolveBelow: alert.resolveBelow };
    expect({ ...adapted, version: base.version, churn: base.churn }).toEqual({ ...base, ...alertSettings(base, thresholds, baseRate!) });
    // The card describes the config written beside it, as the API checks before serving it.
    expect(settingsCardMisses(card, adapted)).toEqual([]);
    // Settled: a year back from the horizon and the renewal grace before the end, no earlier than the warm-up.
    const lastSettled = new Date(now - 120 * 86_400_000).toISOString();
    expect(stdout).toMatch(
      new RegExp(`adapted ${base.version} to this base as ours-adapted: [\\d,]+ settled snapshots of \\d+ customers \\(\\d+ churning\\) as of [\\d-]+T[\\d:.]+Z to ${lastSettled}, churn within 90 days measured at `),
    );
    expect(stdout).toContain(
      `(the model was fitted at ${(base.churn.baseRate! * 100).toFixed(1)} %): log-odds' slope ${slope} (every coefficient multiplied by it), ` +
        `intercept ${base.churn.intercept} → ${adapted.churn.intercept}\n`,
    );
    expect(stdout).toContain(
      `CHURN_RISK_HIGH chosen on the settled snapshots for precision ${DEFAULT_TARGET_PRECISION}: opens at ≥ ${alert.openAt}, resolves below ${alert.resolveBelow} ` +
        `(there: precision ${alert.precision!.toFixed(3)}, recall ${alert.recall!.toFixed(3)} (${alert.earlyRecall!.toFixed(3)} at least 30 days ahead); ` +
        `${base.version}'s opens at ≥ ${base.alerts.churnRiskHigh.openAt}, resolves below ${base.alerts.churnRiskHigh.resolveBelow}: precision `,
    );
    expect(stdout).toContain(`SCORING_CONFIG_PATH=${join(out, 'scoring-config.json')}`);
    // The default's card, adapted: its figures, the moved intercept, the coefficients as the config's, and what moved
    // them, the alert's figures those of the settled snapshots.
    const baseCard = JSON.parse(readFileSync(join(DEFAULT_MODEL_CARDS_DIR, `${base.version}.json`), 'utf8')) as ModelCard;
    expect(card).toEqual({
      ...baseCard,
      version: 'ours-adapted',
      model: {
        ...baseCard.model,
        intercept: adapted.churn.intercept,
        coefficients: baseCard.model.coefficients.map((c) => ({
          ...c,
          coefficient: c.coefficient === null ? null : adapted.churn.coefficients[c.feature],
          perStandardDeviation: expect.closeTo(c.perStandardDeviation * slope, 10),
        })),
      },
      alert,
      adaptation: {
        figuresOf: base.version,
        from: base.churn.baseRate,
        to: baseRate,
        customers: expect.any(Number),
        outcomes: { snapshots: expect.any(Number), churningCustomers: expect.any(Number), firstAsOf: expect.any(String), lastAsOf: lastSettled },
        slope,
        alert,
        observedUntil: '2025-01-15T00:00:00.000Z',
      },
    });
    expect(card.adaptation!.outcomes!.churningCustomers).toBeGreaterThanOrEqual(MIN_SETTLED_CHURNERS);
    const markdown = readFileSync(join(out, 'model-card.md'), 'utf8');
    expect(markdown).toContain(`**Adapted to a base** whose customers churn within the horizon at ${(baseRate! * 100).toFixed(1)} % (the model was fitted at`);
    expect(markdown).toContain(`the log-odds' slope fitted on the same snapshots too (${slope}: every coefficient below multiplied by it) and the intercept moved accordingly`);
    expect(stdout).toContain(`${base.version}'s card, adapted`);
  });

  it('estimates the rate without labels from the risks of the customers under contract when too few churners have settled', async () => {
    const out = join(dir, 'adapted-young');
    // A base losing 3 % of its customers a year, its whole 400 days: a year of history for the features' windows, and
    // fewer than 20 churners settled.
    const quiet = join(dir, 'adapt-quiet.ndjson');
    const simulated = generateCustomerHistories({ customers: 500, days: 400, seed: 'adapt-quiet', now: CLOCK(), churnRate: 0.03 });
    writeFileSync(quiet, simulated.flatMap(({ events }) => events.map(toNdjsonLine)).join(''));
    const observedUntil = new Date(CLOCK()).toISOString();
    const { code, stdout } = await run(['--adapt-base-rate', '--history', quiet, '--observed-until', observedUntil, '--out', out]);
    expect(code).toBe(TRAIN_EXIT_CODES.ok);
    // Its 12 settled churners cannot measure the rate, but say that the estimate (5.0 %) is far above what churned (0.9 %).
    expect(stdout).toMatch(/\nwarning: the estimate is more than 2 times off the share of the settled snapshots that churned/);
    const base = defaultScoringConfig();
    const adapted = loadScoringConfigFile(join(out, 'scoring-config.json'));
    const { baseRate } = adapted.churn;
    // The intercept moved by the difference of the two rates' log-odds.
    expect(adapted.churn.intercept).toBeCloseTo(base.churn.intercept + logOdds(baseRate!) - logOdds(base.churn.baseRate!), 4);
    expect(stdout).toMatch(
      new RegExp(
        `adapted ${base.version} to this base as ${adapted.version}: \\d+ customers under contract at ${observedUntil}, churn within 90 days estimated without labels at ` +
          `[\\d.]+ % \\(the settled history holds 1?\\d churning customers, [\\d.]+ % of its [\\d,]+ snapshots churning within the horizon: 20 are needed to measure it\\)`,
      ),
    );
    const card = JSON.parse(readFileSync(join(out, 'model-card.json'), 'utf8')) as ModelCard;
    expect(card.adaptation).toEqual({ figuresOf: base.version, from: base.churn.baseRate, to: baseRate, customers: expect.any(Number), observedUntil });
    expect(readFileSync(join(out, 'model-card.md'), 'utf8')).toContain(`at an estimated ${(baseRate! * 100).toFixed(1)} %`);
  }, 90_000); // Two histories read and snapshotted: 13 s alone, more than the unit project's 30 s on a loaded machine.

  it('refuses, exit 4, to estimate the rate from a history shorter than the year the features read', async () => {
    // 200 days into the history: nothing has settled, and the 365-day windows reach before the history.
    const observedUntil = new Date(CLOCK() - 200 * 86_400_000).toISOString();
    const { code, stderr } = await run(['--adapt-base-rate', '--history', simulatedExport(), '--observed-until', observedUntil, '--out', join(dir, 'adapt-short')]);
    expect(code).toBe(TRAIN_EXIT_CODES.refused);
    expect(stderr).toMatch(/adapting refused at [\d-]+T[\d:.]+Z: the history before [\d-]+T[\d:.]+Z spans 19\d days of activity, and the model's features read 365 days/);
  });

  it('writes the config alone when the base config has no model card', async () => {
    const baseFile = join(dir, 'hand-set.json');
    writeFileSync(baseFile, JSON.stringify({ ...defaultScoringConfig(), version: 'hand-set-1' }));
    const out = join(dir, 'adapted-no-card');
    const { code, stdout } = await run(['--adapt-base-rate', '--history', simulatedExport(), '--base-config', baseFile, '--out', out]);
    expect(code).toBe(TRAIN_EXIT_CODES.ok);
    expect(loadScoringConfigFile(join(out, 'scoring-config.json')).version).toMatch(/^hand-set-1-base[\d.]+-[0-9a-f]{8}$/);
    expect(stdout).toContain('no model card: none found for hand-set-1');
    expect(() => readFileSync(join(out, 'model-card.json'))).toThrow(/ENOENT/);
  });

  it('refuses, exit 4, with no settled churners and fewer customers under contract than the estimate needs', async () => {
    // 150 days into the history: nothing has settled.
    const argv = ['--adapt-base-rate', '--history', exportOf(100, 'adapt-small.ndjson'), '--observed-until', '2023-05-31T00:00:00Z', '--out', join(dir, 'adapt-refused')];
    const { code, stderr } = await run(argv);
    expect(code).toBe(TRAIN_EXIT_CODES.refused);
    expect(stderr).toMatch(/adapting refused at [\d-]+T[\d:.]+Z: \d+ customers under contract: at least 200 .*, and the settled history holds 0 churning customers \(at least 20/);
    // The --out directory it made to check it could write there is gone with the refusal.
    expect(existsSync(join(dir, 'adapt-refused'))).toBe(false);
  });
});

it('refuses, as bad usage, an output directory that holds the base config', async () => {
  const file = join(dir, 'scoring-config.json');
  writeFileSync(file, readFileSync(DEFAULT_SCORING_CONFIG_PATH));
  await expect(run(['--adapt-base-rate', '--history', join(dir, 'none.ndjson'), '--base-config', file, '--out', dir])).rejects.toThrow(
    /--out .* holds the base config: writing there would replace it/,
  );
});

it('refuses, as bad usage and before the history is read, to adapt a base whose version leaves no room for what adapting appends', async () => {
  const file = join(dir, 'long-version.json');
  writeFileSync(file, JSON.stringify({ ...defaultScoringConfig(), version: 'a-base-version-of-fifty-characters-a-b-c-d-e-f-g-h' }));
  await expect(run(['--adapt-base-rate', '--history', join(dir, 'none.ndjson'), '--base-config', file])).rejects.toThrow(
    /the base config's version \(a-base-version-of-fifty-characters-a-b-c-d-e-f-g-h\) leaves no room for what an adaptation appends to it .*name the adapted model with --version/,
  );
});

it('refuses, as bad usage, an output directory that holds a model already: a scorer may be loading it', async () => {
  const served = join(dir, 'in-service');
  mkdirSync(served, { recursive: true });
  writeFileSync(join(served, 'scoring-config.json'), readFileSync(DEFAULT_SCORING_CONFIG_PATH));
  await expect(run(['--history', join(dir, 'none.ndjson'), '--out', served])).rejects.toThrow(/--out .*in-service holds a model already \(scoring-config\.json\), which a scorer may be loading/);
  expect(readFileSync(join(served, 'scoring-config.json'), 'utf8')).toBe(readFileSync(DEFAULT_SCORING_CONFIG_PATH, 'utf8'));
});

it('refuses a base config the scorer would refuse, as bad usage', async () => {
  const file = join(dir, 'base.json');
  writeFileSync(file, '{"version": ""}');
  await expect(run(['--history', join(dir, 'none.ndjson'), '--base-config', file])).rejects.toThrow(UsageError);
  await expect(run(['--history', join(dir, 'none.ndjson'), '--base-config', file])).rejects.toThrow(/base scoring config .* is refused: invalid scoring configuration/);
});

describe('parseTrainArgs', () => {
  // npm runs the script from the package root and says in INIT_CWD where it was typed: relative paths are from there.
  beforeEach(() => vi.stubEnv('INIT_CWD', '/home/analyst'));
  afterEach(() => vi.unstubAllEnvs());

  it('takes several exports and the training settings', () => {
    expect(parseTrainArgs(['--history', 'a.csv', '--history', '/exports/b.ndjson', '--horizon-days', '60', '--target-precision', '0.7'])).toMatchObject({
      histories: [
        { path: '/home/analyst/a.csv', kind: undefined },
        { path: '/exports/b.ndjson', kind: undefined },
      ],
      horizonDays: 60,
      everyDays: 7,
      validationShare: 0.25,
      targetPrecision: 0.7,
      l2: 1,
      outDir: null,
      observedUntil: null,
    });
    expect(parseTrainArgs(['--help'])).toBeNull();
    expect(parseTrainArgs(['--history', 'a.csv', '--out', 'models/mine', '--base-config', '../base.json'])).toMatchObject({
      outDir: '/home/analyst/models/mine',
      baseConfigPath: '/home/base.json',
    });
    expect(parseTrainArgs(['--history', 'a.csv'])).toMatchObject({ adaptBaseRate: false });
    expect(parseTrainArgs(['--from-topics', '--adapt-base-rate', '--observed-until', '2025-01-01T00:00:00Z'])).toMatchObject({ adaptBaseRate: true, observedUntil: Date.parse('2025-01-01T00:00:00Z') });
    // A time without a zone would be this machine's local time: refused, as ingest refuses it.
    expect(() => parseTrainArgs(['--from-topics', '--adapt-base-rate', '--observed-until', '2025-01-01T00:00:00'])).toThrow(/--observed-until must be an ISO 8601 date, or time with a zone/);
  });

  it('refuses a --version that is not a plain name: it names the model directory and is stamped on every output', () => {
    for (const version of ['../../escape', 'a/b', 'with space', '.hidden', '']) {
      expect(() => parseTrainArgs(['--history', 'a.csv', '--version', version]), version).toThrow(UsageError);
    }
    expect(parseTrainArgs(['--history', 'a.csv', '--version', 'churn-h60_2025.06+r1'])).toMatchObject({ version: 'churn-h60_2025.06+r1' });
  });

  it('gives every export the one --kind, or each its own in the order given', () => {
    expect(parseTrainArgs(['--history', 'a.csv', '--history', 'b.csv', '--kind', 'activity'])?.histories).toEqual([
      { path: '/home/analyst/a.csv', kind: 'activity' },
      { path: '/home/analyst/b.csv', kind: 'activity' },
    ]);
    expect(parseTrainArgs(['--history', 'c.csv', '--kind', 'customer', '--history', 'a.csv', '--kind', 'activity'])?.histories).toEqual([
      { path: '/home/analyst/c.csv', kind: 'customer' },
      { path: '/home/analyst/a.csv', kind: 'activity' },
    ]);
  });

  it('refuses an --out it cannot write to before reading the history, as bad usage', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    await expect(run(['--history', join(dir, 'none.ndjson'), '--out', join(file, 'model')])).rejects.toThrow(/cannot write the model to .*a-file\/model: ENOTDIR/);
  });

  // Node 20's recursive mkdir never settles there; root's write permission does not let a directory be made either.
  it.runIf(process.platform === 'linux')('refuses an --out under /proc at once, rather than waiting for good', async () => {
    await expect(run(['--history', join(dir, 'none.ndjson'), '--out', '/proc/churnscore-model/v1'])).rejects.toThrow(
      new UsageError('cannot write the model to /proc/churnscore-model/v1: ENOENT'),
    );
  });

  it('refuses an --observed-until before the history begins, naming its first event', async () => {
    const file = join(dir, 'one-event.ndjson');
    writeFileSync(file, '{"kind":"customer","customerId":"c1","eventId":"e1","occurredAt":"2024-06-01T00:00:00Z","segment":"SMB"}\n');
    await expect(run(['--history', file, '--observed-until', '2020-01-01T00:00:00Z'])).rejects.toThrow(
      /--observed-until 2020-01-01T00:00:00.000Z is before the history's first event \(2024-06-01T00:00:00.000Z\)/,
    );
  });

  it('refuses an --observed-until later than now', async () => {
    await expect(run(['--history', join(dir, 'none.ndjson'), '--observed-until', '2025-01-16T00:00:00Z'])).rejects.toThrow(/--observed-until 2025-01-16T00:00:00.000Z is later than now/);
  });

  it('replays the input topics instead, events known when they occurred unless --record-timestamps', () => {
    expect(parseTrainArgs(['--from-topics'])).toMatchObject({ histories: [], fromTopics: true, recordTimestamps: false });
    expect(parseTrainArgs(['--from-topics', '--record-timestamps'])).toMatchObject({ fromTopics: true, recordTimestamps: true });
    expect(parseTrainArgs(['--history', 'a.csv'])).toMatchObject({ fromTopics: false, recordTimestamps: false });
  });

  it('fits the default training features unless --features names others, or all', () => {
    expect(parseTrainArgs(['--history', 'a.csv'])?.features).toEqual(DEFAULT_TRAINING_FEATURES);
    expect(parseTrainArgs(['--history', 'a.csv', '--features', 'engagementDrop30d, openTickets'])?.features).toEqual(['engagementDrop30d', 'openTickets']);
    expect(parseTrainArgs(['--history', 'a.csv', '--features', 'all'])?.features).toEqual(CHURN_FEATURE_NAMES);
  });

  it.each([
    [[], /either --history or --from-topics is required, not both/],
    [['--history', 'a.csv', '--from-topics'], /either --history or --from-topics is required, not both/],
    [['--history', 'a.csv', '--record-timestamps'], /--record-timestamps goes with --from-topics/],
    [['--from-topics', '--partial'], /--kind, --format and --partial are for exports/],
    [['--history', 'a.csv', '--target-precision', '1'], /--target-precision must be a number between 0 and 1/],
    [['--history', 'a.csv', '--horizon-days', '0'], /--horizon-days must be a whole number of at least 1/],
    [['--history', 'a.csv', '--l2', '0'], /--l2 must be a number > 0/],
    [['--history', 'a.csv', '--observed-until', 'soon'], /--observed-until must be an ISO 8601 date, or time with a zone/],
    [['--history', 'a.csv', '--kind', 'lead'], /--kind must be one of/],
    [['--history', 'a.csv', '--history', 'b.csv', '--kind', 'activity', '--kind', 'contract', '--kind', 'customer'], /--kind is given 3 times for 2 --history files/],
    [['--history', 'a.csv', '--out', 'x', '--out', 'y'], /--out is given more than once: it takes one value/],
    [['--history', 'a.csv', '--features', 'shoeSize,openTickets'], /--features: unknown churn feature "shoeSize" \(known: daysSinceLastActivity, /],
    [['--history', 'a.csv', '--adapt-base-rate', '--l2', '2', '--every-days', '1'], /--adapt-base-rate fits nothing: --every-days, --l2 do not apply/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseTrainArgs(argv)).toThrow(UsageError);
    expect(() => parseTrainArgs(argv)).toThrow(message);
  });
});
