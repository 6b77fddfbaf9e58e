import { ConfigError, loadConfig } from '@churnscore/config';
import { createLogger, runService } from '@churnscore/observability';
import { loadScoringConfigFile, ScoringConfigError } from '@churnscore/scoring';
import { RedisLoginRefusedError } from '@churnscore/state';
import { startApi } from './api';

runService(
  'api',
  async ({ liveness }) => {
    const config = loadConfig();
    const scoring = loadScoringConfigFile(config.scoringConfigPath);
    const logger = createLogger({ name: 'api', level: config.logLevel });
    return { logger, service: await startApi({ config, scoring, logger, liveness }) };
  },
  (error): error is Error => error instanceof ConfigError || error instanceof ScoringConfigError || error instanceof RedisLoginRefusedError,
);
