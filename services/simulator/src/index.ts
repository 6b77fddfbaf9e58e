export { COHORTS, SEGMENTS, SEGMENT_PROFILES, type Cohort, type Segment } from './cohorts';
export { latentState, type Decline, type Dip, type Disposition, type LatentState, type LatentTrajectory } from './latent';
export { DEFAULT_POPULATION, POPULATION_OPTIONS, populationFromOptions, type PopulationParameters } from './population';
export { createRandom, seedFrom, type Random } from './random';
export {
  generateCustomerHistories,
  generateCustomerHistory,
  planCustomers,
  streamCustomerHistories,
  type CustomerHistory,
  type CustomerPlan,
  type GeneratorOptions,
} from './generator';
export { generateLiveEvents, type LiveEventOptions } from './live';
export { toExportRecord, toNdjsonLine, writeNdjson } from './export-format';
export { pumpEvents, type PumpOptions } from './pump';
export {
  COMMAND_SEND_RETRIES,
  createEventPublisher,
  publishEvents,
  type EventEncoder,
  type EventPublisher,
  type InputTopics,
  type PublishEventsOptions,
} from './publish';
export { createTokenBucket, type RateLimiter, type TokenBucketOptions } from './rate-limiter';
export {
  formatCount,
  formatPercent,
  startProgress,
  startRateMeter,
  type ProgressDisplay,
  type ProgressOptions,
  type ProgressStream,
} from './progress';
export { CLI_EXIT_CODES, UsageError, exitOnInterrupt, integerOption, interruptSignal, loadProducerConfig, makeWritableDirectory, parseOptions, pathFromShell, requireWritableFile, runCli } from './cli-support';
export { SIMULATE_USAGE, parseSimulateArgs, runSimulateCommand, type SimulateArgs, type SimulateIo } from './simulate-command';
