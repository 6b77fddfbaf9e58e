import {
  ALERT_SEVERITIES,
  alertId,
  ALERT_TYPES,
  HEALTH_BANDS,
  type AlertBook,
  type AlertEpisode,
  type AlertSeverity,
  type AlertType,
  type CustomerInsights,
  type HealthBand,
  type Score,
  type ScoreBaseline,
} from '@churnscore/domain';
import { asPercent } from './numeric';
import type { ScoringConfig } from './config-schema';
import { signalsFor, type Signals } from './signals';

export const emptyAlertBook = (): AlertBook => ({ episodes: {}, bandBeforeDrop: null });

/** Every episode a book holds (per alert type the open one, or else the last resolved one); none for no book. */
export const alertEpisodes = (book: AlertBook | null): AlertEpisode[] =>
  Object.values(book?.episodes ?? {}).filter((episode) => episode !== undefined);

/** Severity from value at risk (reporting currency): LOW below mediumFrom, then MEDIUM, HIGH, CRITICAL. */
export function alertSeverity(valueAtRisk: number, config: ScoringConfig): AlertSeverity {
  const { mediumFrom, highFrom, criticalFrom } = config.alerts.severity;
  if (valueAtRisk >= criticalFrom) return 'CRITICAL';
  if (valueAtRisk >= highFrom) return 'HIGH';
  return valueAtRisk >= mediumFrom ? 'MEDIUM' : 'LOW';
}

/** Lower bound of a health band: the health a customer must regain to be back in it. */
const bandFloor = (band: HealthBand, config: ScoringConfig): number =>
  band === 'green' ? config.bands.health.greenMin : band === 'yellow' ? config.bands.health.redBelow : 0;

/** green is best: a larger index is a worse band. */
const isWorseBand = (band: HealthBand, than: HealthBand): boolean => HEALTH_BANDS.indexOf(band) > HEALTH_BANDS.indexOf(than);

interface AlertContext {
  score: Score;
  previous: ScoreBaseline | null;
  signals: Signals;
  book: AlertBook;
  config: ScoringConfig;
}

interface AlertRule {
  /** Why an episode opens now, or null. Asked only while none is open. */
  openReason(context: AlertContext): string | null;
  /** Why the open episode ends now, or null. */
  resolveReason(context: AlertContext): string | null;
}

const renewalIsNear = ({ signals, config }: AlertContext): boolean =>
  signals.daysToRenewal !== null && signals.daysToRenewal <= config.alerts.renewalAtRisk.withinDays;

const isSilent = ({ silentDays }: Signals, config: ScoringConfig): boolean =>
  silentDays !== null && silentDays >= config.alerts.noRecentActivity.silentDays;

const ALERT_RULES: Record<AlertType, AlertRule> = {
  /** Hysteresis: opens at ≥ openAt, resolves only below resolveBelow; in between nothing changes. */
  CHURN_RISK_HIGH: {
    openReason: ({ score, config }) => {
      const { openAt } = config.alerts.churnRiskHigh;
      return score.churnRisk >= openAt ? `churn risk ${asPercent(score.churnRisk)} ≥ ${asPercent(openAt)}` : null;
    },
    resolveReason: ({ score, config }) => {
      const { resolveBelow } = config.alerts.churnRiskHigh;
      return score.churnRisk < resolveBelow ? `churn risk ${asPercent(score.churnRisk)} < ${asPercent(resolveBelow)}` : null;
    },
  },
  /**
   * Opens when the band is worse than the previous score's; further drops stay in the same
   * episode. Resolves once health is back in the band it dropped from by recoveryMarginPoints, so
   * a score wobbling across a band edge does not open an episode per wobble.
   */
  HEALTH_BAND_DROPPED: {
    openReason: ({ score, previous }) =>
      previous !== null && isWorseBand(score.band, previous.band)
        ? `health band dropped from ${previous.band} to ${score.band} (health ${previous.health} → ${score.health})`
        : null,
    resolveReason: ({ score, book, config }) => {
      const band = book.bandBeforeDrop ?? 'red';
      const recoveredAt = bandFloor(band, config) + config.alerts.healthBandDropped.recoveryMarginPoints;
      return score.health >= recoveredAt ? `health ${score.health} is back in the ${band} band (≥ ${recoveredAt})` : null;
    },
  },
  /**
   * Opens when the renewal is within withinDays and the band is red or churn risk high. Resolves
   * when the renewal is no longer that near (renewed, pushed out, or its date passed) or the
   * customer recovered past the configured margin (health ≥ minHealth and risk < maxChurnRisk).
   */
  RENEWAL_AT_RISK: {
    openReason: (context) => {
      const { score, signals } = context;
      if (!renewalIsNear(context) || (score.band !== 'red' && score.riskBand !== 'high')) return null;
      const why = score.band === 'red' ? `health band red (health ${score.health})` : `churn risk high (${asPercent(score.churnRisk)})`;
      return `renewal in ${signals.daysToRenewal} days with ${why}`;
    },
    resolveReason: (context) => {
      const { score, config } = context;
      const { minHealth, maxChurnRisk } = config.alerts.renewalAtRisk.recovery;
      if (!renewalIsNear(context)) return `renewal no longer within ${config.alerts.renewalAtRisk.withinDays} days`;
      return score.health >= minHealth && score.churnRisk < maxChurnRisk
        ? `recovered: health ${score.health} ≥ ${minHealth} and churn risk ${asPercent(score.churnRisk)} < ${asPercent(maxChurnRisk)}`
        : null;
    },
  },
  /** Opens after silentDays without activity (see Signals.silentDays); resolves on new activity. */
  NO_RECENT_ACTIVITY: {
    openReason: ({ signals, config }) =>
      // The customer's own activity, as the silence counts it (our emails and tasks, the CSM's sentiment end none): a
      // reason of "no activity" read as false beside a page showing our email of today (an outside tester).
      isSilent(signals, config) ? `no activity from the customer for ${signals.silentDays} days` : null,
    resolveReason: ({ signals, config }) => (isSilent(signals, config) ? null : 'the customer active again'),
  },
};

// An episode can only be open while a contract is: its last one ending is the churn itself, not a recovery.
const NO_ACTIVE_CONTRACT = 'the customer churned: no active contract is left';

export interface AlertEvaluation {
  book: AlertBook;
  /** OPEN and RESOLVED episodes to publish, in ALERT_TYPES order. */
  transitions: AlertEpisode[];
}

/**
 * Advances a customer's alert episodes for a new score. Pure and idempotent: evaluating the same
 * score against the returned book yields no transitions, and a redelivered evaluation against the
 * old book reproduces the same episodes with the same alertIds.
 *
 * Alerts concern customers with at least one active contract: none opens for a prospect or a
 * churned customer, and open episodes resolve when the last contract ends. Severity is the
 * episode's peak: an OPEN episode whose value at risk reaches a higher severity is re-emitted as
 * OPEN with the same alertId and the new severity (the commit gives each published state a per-alert
 * version); it never steps down, so the re-emission cannot flap. `previous`: the score the alerts were
 * last evaluated against (HEALTH_BAND_DROPPED compares bands with it). `signals`: the insights' signals as
 * of `now`, when the caller has them already (evaluateCustomer shares the score's). The returned book
 * holds nothing back (see AlertBook.held).
 */
export function evaluateAlerts(
  current: AlertBook,
  score: Score,
  previous: ScoreBaseline | null,
  insights: CustomerInsights,
  config: ScoringConfig,
  now: number,
  signals: Signals = signalsFor(insights, config, now),
): AlertEvaluation {
  const context: AlertContext = { score, previous, signals, book: current, config };
  const hasActiveContract = insights.activeContracts > 0;
  const severity = alertSeverity(score.valueAtRisk, config);
  const figures = { valueAtRisk: score.valueAtRisk, churnRisk: score.churnRisk, health: score.health, band: score.band };
  const episodes = { ...current.episodes };
  const transitions: AlertEpisode[] = [];

  for (const alertType of ALERT_TYPES) {
    const rule = ALERT_RULES[alertType];
    const latest = episodes[alertType];
    let next: AlertEpisode | undefined;
    if (latest?.status === 'OPEN') {
      const resolveReason = hasActiveContract ? rule.resolveReason(context) : NO_ACTIVE_CONTRACT;
      if (resolveReason !== null) {
        next = { ...latest, ...figures, status: 'RESOLVED', resolvedAt: now, reason: resolveReason };
      } else if (ALERT_SEVERITIES.indexOf(severity) > ALERT_SEVERITIES.indexOf(latest.severity)) {
        next = { ...latest, ...figures, severity, reason: `severity raised from ${latest.severity} to ${severity}` };
      }
    } else {
      const openReason = hasActiveContract ? rule.openReason(context) : null;
      if (openReason !== null) {
        const episode = (latest?.episode ?? 0) + 1;
        next = {
          alertId: alertId(score.customerId, alertType, episode),
          customerId: score.customerId,
          alertType,
          status: 'OPEN',
          severity,
          episode,
          openedAt: now,
          resolvedAt: null,
          ...figures,
          reason: openReason,
        };
      }
    }
    if (next !== undefined) {
      episodes[alertType] = next;
      transitions.push(next);
    }
  }

  const drop = episodes.HEALTH_BAND_DROPPED;
  const dropOpenedNow = drop !== undefined && drop.episode !== current.episodes.HEALTH_BAND_DROPPED?.episode;
  const bandBeforeDrop = drop?.status !== 'OPEN' ? null : dropOpenedNow ? (previous?.band ?? null) : current.bandBeforeDrop;
  return { book: { episodes, bandBeforeDrop }, transitions };
}
