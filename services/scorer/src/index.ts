export { startScorer, tuningFrom, type RunningScorer, type ScorerOptions, type ScorerTuning } from './scorer';
