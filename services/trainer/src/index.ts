export { TRAIN_EXIT_CODES, TRAIN_USAGE, parseTrainArgs, runTrainCommand, type TrainArgs, type TrainIo } from './train-command';
export { readExportHistory, type ExportHistory } from './read-history';
