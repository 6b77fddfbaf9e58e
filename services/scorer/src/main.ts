import { ConfigError, loadConfig } from '@churnscore/config';
import { createLogger, runService, watchEventLoop } from '@churnscore/observability';
import { loadScoringConfigFile, ScoringConfigError } from '@churnscore/scoring';
import { EventEncodeError, SchemaRegistryAccessRefusedError } from '@churnscore/events';
import { ClockSkewError, RedisEvictsStateError, RedisLoginRefusedError } from '@churnscore/state';
import { KafkaLoginRefusedError } from '@churnscore/kafka';
import { startScorer } from './scorer';

runService(
  'scorer',
  async ({ liveness }) => {
    const config = loadConfig();
    const scoring = loadScoringConfigFile(config.scoringConfigPath);
    const logger = createLogger({ name: 'scorer', level: config.logLevel });
    // A unit of work stuck on the thread itself, which the stall watch (a timer on that thread) cannot see.
    watchEventLoop({ service: 'scorer', limitMs: config.scorer.stallLimitMs });
    return { logger, service: await startScorer({ config, scoring, logger, liveness }) };
  },
  (error): error is Error => error instanceof ConfigError ||
    error instanceof ScoringConfigError ||
    error instanceof RedisLoginRefusedError ||
    error instanceof RedisEvictsStateError ||
    error instanceof ClockSkewError ||
    error instanceof KafkaLoginRefusedError ||
    error instanceof SchemaRegistryAccessRefusedError ||
    // At start, only the check of the output topics' schemas throws it: no subject is registered (or usable).
    error instanceof EventEncodeError,
);
