// Pure, deterministic scoring: insights → health, bands, churn risk, lifecycle, explanation,
// alerts and the next time-driven due instant. No I/O; the clock is always a parameter.
export { computeInsights, DEFAULT_STAGE_PROBABILITY, type InsightsOptions } from './insights';
export { LONGEST_WINDOW_DAYS } from './calendar';
export {
  DEFAULT_MODEL_CARDS_DIR,
  DEFAULT_SCORING_CONFIG_PATH,
  defaultScoringConfig,
  loadScoringConfigFile,
  parseScoringConfig,
  ScoringConfigError,
  scoringConfigIdentity,
  type ConfigIssue,
} from './config';
export {
  MODEL_VERSION,
  SCORECARD_PHASES,
  ScoringConfigSchema,
  type MeasureDefinition,
  type ScorecardDefinition,
  type ScorecardPhase,
  type ScoringConfig,
} from './config-schema';
export { roundTo } from './numeric';
export { MEASURE_INPUT_NAMES, type MeasureInputName } from './measure-inputs';
export { CHURN_FEATURE_NAMES, RENEWAL_PROXIMITY_HORIZON_DAYS, SILENCE_CAP_DAYS, churnFeatureDirection, logOdds, logistic, type ChurnFeatureName } from './churn';
export {
  BASELINE_RISK_SIGNALS,
  churnFeatureValue,
  churnLogitOf,
  churnRiskOf,
  churnSnapshot,
  type BaselineRiskSignal,
  type ChurnSnapshot,
} from './churn-features';
export { ENGAGEMENT_ACTIVITY_TYPES } from './signals';
export { healthBand, isSignificantChange, riskBand, scoreCustomer } from './score';
export { TOP_DRIVERS_PER_UNIT } from './drivers';
export { describeDriver } from './driver-text';
export { alertEpisodes, alertSeverity, emptyAlertBook, evaluateAlerts, type AlertEvaluation } from './alerts';
export { nextDueAt } from './due';
export { evaluateCustomer, type CustomerEvaluation, type CustomerEvaluationInput, type EvaluationOptions } from './evaluate';
export type { CatchUpPolicy } from './catch-up';
export { compareUtf8, CustomerFold, foldEvents, type FoldOptions, type FoldOutcome, type ReceivedEvent } from './fold';
