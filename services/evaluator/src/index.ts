export { EVALUATE_USAGE, parseEvaluateArgs, runEvaluateCommand, type EvaluateIo } from './evaluate-command';
export {
  EVALUATION_CLOCK,
  EVALUATION_POPULATIONS,
  TARGETS,
  judgeTargets,
  reportSignals,
  scoreHeldOutCustomer,
  type HeldOutRow,
  type SignalReport,
} from './evaluation';
export { renderEvaluation, type EvaluationSummary } from './render';
