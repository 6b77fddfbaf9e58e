export { startScorer, type RunningScorer, type ScorerOptions } from './scorer';
