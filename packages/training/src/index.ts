// Training data for the churn model from a customer base's own history: point-in-time feature snapshots computed
// with the scorer's pure code, and churn labels from the customers' contract events.
export { DEFAULT_RENEWAL_GRACE_DAYS, activeSpells, spellAt, type ActiveSpell } from './churn';
export {
  DEFAULT_HORIZON_DAYS,
  DEFAULT_WARM_UP_DAYS,
  buildDataset,
  groupByCustomer,
  splitByTime,
  type AsOfSchedule,
  type CustomerHistory,
  type Dataset,
  type DatasetOptions,
  type DatasetRow,
  type HistoryEvent,
  type TimeSplit,
  type TimeSplitOptions,
} from './dataset';
