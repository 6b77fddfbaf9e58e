// Training data for the churn model from a customer base's own history: point-in-time feature snapshots computed
// with the scorer's pure code, and churn labels from the customers' contract events.
export { DEFAULT_RENEWAL_GRACE_DAYS, activeSpells, spellAt, type ActiveSpell } from './churn';
export {
  DEFAULT_HORIZON_DAYS,
  DEFAULT_WARM_UP_DAYS,
  buildDataset,
  customerRows,
  customerSnapshots,
  foldAsOf,
  groupByCustomer,
  knownSpan,
  planSnapshots,
  splitByTime,
  usableEvents,
  type AsOfSchedule,
  type CustomerHistory,
  type Dataset,
  type DatasetOptions,
  type DatasetRow,
  type FoldedAsOf,
  type HistoryEvent,
  type SnapshotPlan,
  type StateSnapshot,
  type TimeSplit,
  type TimeSplitOptions,
} from './dataset';
export {
  DEFAULT_L2,
  DEFAULT_TRAINING_FEATURES,
  DEFAULT_VALIDATION_SHARE,
  MIN_CHURNING_CUSTOMERS,
  MIN_CUSTOMERS,
  TrainingRefusedError,
  riskTrajectories,
  sampleCounts,
  trainChurnModel,
  type TrainOptions,
  type TrainingResult,
} from './train';
export {
  AdaptationRefusedError,
  adaptToBaseRate,
  adaptToRows,
  crossSectionPlan,
  estimateBaseRate,
  type AdaptationRefusal,
  type AdaptedConfig,
  type BaseRateAdaptation,
} from './base-rate';
export {
  TRAINED_MODEL_FILES,
  adaptedModelCard,
  findModelCard,
  formatRate,
  isModelCard,
  renderModelCard,
  type ModelCard,
  type PassedOverCard,
  type RankingScore,
  type SampleCounts,
} from './model-card';
export {
  DEFAULT_TARGET_PRECISION,
  EARLY_WARNING_DAYS,
  MIN_ALERT_HYSTERESIS,
  THRESHOLD_STEP,
  alertOpenings,
  alertOutcome,
  chooseAlertThresholds,
  replayAlert,
  type AlertOutcome,
  type AlertPoint,
  type AlertThresholds,
  type RiskPoint,
  type ThresholdChoice,
} from './thresholds';
export { averagePrecision, calibrationTable, outcomeAt, rocAuc, type CalibrationBin, type CalibrationTable, type ScoredSample, type ThresholdOutcome } from './metrics';
export { fitLogisticRegression, type LogisticRegressionFit, type LogisticRegressionOptions } from './logistic-regression';
