export { TRAIN_EXIT_CODES, TRAIN_USAGE, parseTrainArgs, runTrainCommand, type TrainArgs, type TrainIo } from './train-command';
export { readExportHistory, type ExportHistory } from './read-history';
export { readTopicHistory, replayInputTopics, type TopicHistory, type TopicHistoryOptions } from './read-topics';
export {
  asHistory,
  describePopulation,
  parsePopulationSpec,
  planPopulation,
  simulatePopulation,
  simulatedDataset,
  simulatedSnapshotPlan,
  type SimulatedDatasetOptions,
  type SimulatedPopulation,
} from './simulated-populations';
export {
  DEFAULT_MODEL_CLOCK,
  DEFAULT_MODEL_FEATURES,
  DEFAULT_MODEL_POPULATIONS,
  TRAIN_DEFAULT_USAGE,
  formatConfigJson,
  parseTrainDefaultArgs,
  runTrainDefaultCommand,
  type TrainDefaultIo,
} from './train-default-command';
export { loadCommandScoringConfig, type CommandIo } from './command-line';
export { collectRows, yieldToEventLoop } from './snapshots';
