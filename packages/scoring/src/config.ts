import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import defaultConfigJson from '../config/default.json' with { type: 'json' };
import { CHURN_FEATURE_NAMES } from './churn';
import { ScoringConfigSchema, listOf, type ScoringConfig } from './config-schema';

/** Absolute path of the shipped default configuration, for services that read it (or an override) at start. */
export const DEFAULT_SCORING_CONFIG_PATH = fileURLToPath(new URL('../config/default.json', import.meta.url));
/** Where the model card of the default configuration's churn model lies: `<version>.md` and `<version>.json` (docs/scoring.md §16). */
export const DEFAULT_MODEL_CARDS_DIR = fileURLToPath(new URL('../model-cards/', import.meta.url));

export interface ConfigIssue {
  /** JSON path of the offending setting, e.g. `scorecards[1].measures[2].weight`. */
  path: string;
  message: string;
}

/** An invalid scoring configuration: the message lists every problem, one line per setting. */
export class ScoringConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(
      `invalid scoring configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((issue) => `  ${issue.path}: ${issue.message}`).join('\n'),
    );
    this.name = 'ScoringConfigError';
    this.issues = issues;
  }
}

/** `["scorecards", 1, "weight"]` → `scorecards[1].weight`; the root is `(root)`. */
function formatPath(path: readonly PropertyKey[]): string {
  const text = path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
  return text === '' ? '(root)' : text;
}

const joinPath = (parent: string, key: string): string => (parent === '(root)' ? key : `${parent}.${key}`);

/** Checks that need more than one setting at a time; run once the shape is known to be right. */
function semanticIssues(config: ScoringConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const requireLess = (lowerPath: string, lower: number, upperPath: string, upper: number, why = ''): void => {
    if (!(lower < upper)) issues.push({ path: lowerPath, message: `must be < ${upperPath} (${upper})${why}` });
  };

  const { health, risk } = config.bands;
  requireLess('bands.health.redBelow', health.redBelow, 'bands.health.greenMin', health.greenMin);
  requireLess('bands.risk.mediumMin', risk.mediumMin, 'bands.risk.highMin', risk.highMin);

  const { lifecycle } = config;
  if (!(lifecycle.declineTrendRatio < 1)) {
    issues.push({ path: 'lifecycle.declineTrendRatio', message: 'must be < 1 (a ratio below 1 means engagement fell)' });
  }
  if (!(lifecycle.growthTrendRatio > 1)) {
    issues.push({ path: 'lifecycle.growthTrendRatio', message: 'must be > 1 (a ratio above 1 means engagement rose)' });
  }
  requireLess('lifecycle.onboardingDays', lifecycle.onboardingDays, 'lifecycle.growthTenureDays', lifecycle.growthTenureDays);

  const measureIndex = new Map<string, number>();
  config.measures.forEach((measure, index) => {
    const path = `measures[${index}]`;
    const earlier = measureIndex.get(measure.id);
    if (earlier === undefined) measureIndex.set(measure.id, index);
    else issues.push({ path: `${path}.id`, message: `duplicate measure id "${measure.id}" (also measures[${earlier}])` });

    measure.points.forEach((point, pointIndex) => {
      const before = measure.points[pointIndex - 1];
      if (before === undefined) return;
      const pointPath = `${path}.points[${pointIndex}]`;
      if (!(point.value > before.value)) {
        issues.push({ path: `${pointPath}.value`, message: `must be > the previous point's value (${before.value})` });
      }
      const worse = measure.direction === 'higherIsBetter' ? point.score < before.score : point.score > before.score;
      if (worse) {
        const relation = measure.direction === 'higherIsBetter' ? 'below' : 'above';
        issues.push({
          path: `${pointPath}.score`,
          message: `must not be ${relation} the previous point's score (${before.score}) in a ${measure.direction} measure`,
        });
      }
    });
  });

  const scorecardIndex = new Map<string, number>();
  config.scorecards.forEach((scorecard, index) => {
    const path = `scorecards[${index}]`;
    const earlier = scorecardIndex.get(scorecard.id);
    if (earlier === undefined) scorecardIndex.set(scorecard.id, index);
    else issues.push({ path: `${path}.id`, message: `duplicate scorecard id "${scorecard.id}" (also scorecards[${earlier}])` });

    const used = new Set<string>();
    scorecard.measures.forEach((entry, entryIndex) => {
      const entryPath = `${path}.measures[${entryIndex}].measure`;
      if (!measureIndex.has(entry.measure)) issues.push({ path: entryPath, message: `unknown measure "${entry.measure}"` });
      else if (used.has(entry.measure)) issues.push({ path: entryPath, message: `measure "${entry.measure}" is listed twice` });
      used.add(entry.measure);
    });
  });
  const lastIndex = config.scorecards.length - 1;
  const fallback = config.scorecards[lastIndex];
  if (fallback !== undefined && (fallback.match.segments !== undefined || fallback.match.phases !== undefined)) {
    issues.push({
      path: `scorecards[${lastIndex}].match`,
      message: 'the last scorecard is the default and must match every customer: use {}',
    });
  }

  for (const feature of Object.keys(config.churn.coefficients)) {
    if (!(CHURN_FEATURE_NAMES as readonly string[]).includes(feature)) {
      issues.push({
        path: `churn.coefficients.${feature}`,
        message: `unknown churn feature (known: ${listOf(CHURN_FEATURE_NAMES)})`,
      });
    }
  }

  const { churnRiskHigh, renewalAtRisk, severity } = config.alerts;
  requireLess(
    'alerts.churnRiskHigh.resolveBelow',
    churnRiskHigh.resolveBelow,
    'alerts.churnRiskHigh.openAt',
    churnRiskHigh.openAt,
    ': the gap between them is the hysteresis that stops flapping',
  );
  if (!(renewalAtRisk.recovery.minHealth >= health.redBelow)) {
    issues.push({
      path: 'alerts.renewalAtRisk.recovery.minHealth',
      message: `must be ≥ bands.health.redBelow (${health.redBelow}), or a recovered customer could still be red`,
    });
  }
  if (!(renewalAtRisk.recovery.maxChurnRisk <= risk.highMin)) {
    issues.push({
      path: 'alerts.renewalAtRisk.recovery.maxChurnRisk',
      message: `must be ≤ bands.risk.highMin (${risk.highMin}), or a recovered customer could still be high risk`,
    });
  }
  requireLess('alerts.severity.mediumFrom', severity.mediumFrom, 'alerts.severity.highFrom', severity.highFrom);
  requireLess('alerts.severity.highFrom', severity.highFrom, 'alerts.severity.criticalFrom', severity.criticalFrom);
  return issues;
}

/**
 * Validates a parsed JSON document as a scoring configuration. Throws ScoringConfigError naming
 * every bad setting by its JSON path: wrong shapes and unknown settings first; once the shape is
 * right, the rules that relate settings (ordered thresholds, monotonic points, known measures,
 * hysteresis, a default scorecard last).
 */
export function parseScoringConfig(json: unknown): ScoringConfig {
  const parsed = ScoringConfigSchema.safeParse(json, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? 'unknown setting' : undefined),
  });
  if (!parsed.success) {
    throw new ScoringConfigError(
      parsed.error.issues.flatMap((issue) => {
        const path = formatPath(issue.path);
        return issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ path: joinPath(path, key), message: issue.message }))
          : [{ path, message: issue.message }];
      }),
    );
  }
  const issues = semanticIssues(parsed.data);
  if (issues.length > 0) throw new ScoringConfigError(issues);
  return parsed.data;
}

/**
 * Reads and validates a scoring configuration file: the services' one piece of I/O for this package,
 * kept apart from the pure core. An unreadable file or invalid JSON is a ScoringConfigError too, so a
 * service refuses to start with one kind of message for every configuration problem.
 */
export function loadScoringConfigFile(path: string): ScoringConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ScoringConfigError([{ path: '(file)', message: `${path} is not readable JSON: ${(error as Error).message}` }]);
  }
  return parseScoringConfig(json);
}

/** The shipped default configuration (config/default.json), validated. */
export const defaultScoringConfig = (): ScoringConfig => parseScoringConfig(defaultConfigJson);

/** JSON with every object's keys sorted: the same contents give the same text whatever order a file wrote them in. */
const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );

/**
 * What a scorer rolls out and names its model by in Redis (`<p>:model`): the config's version and a digest of its
 * contents. A config edited without a new version is then rolled out again, every customer re-scored by it, rather
 * than reaching only the customers whose events or due times came next (an outside tester's thresholds, lowered under
 * the same version, gave half the base the new bands and left the rest on the old ones, 2026-12-07).
 */
export const scoringConfigIdentity = (config: ScoringConfig): string =>
  `${config.version}#${createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 12)}`;
