import { ConfigError, loadConfig } from '@churnscore/config';
import { createLogger, runService } from '@churnscore/observability';
import { loadScoringConfigFile, ScoringConfigError } from '@churnscore/scoring';
import { startApi } from './api';

runService(
  'api',
  async () => {
    const config = loadConfig();
    const scoring = loadScoringConfigFile(config.scoringConfigPath);
    const logger = createLogger({ name: 'api', level: config.logLevel });
    if (config.apiToken === null) logger.warn('API_TOKEN is not set: the API is open to anyone who can reach it (development only)');
    return { logger, service: await startApi({ config, scoring, logger }) };
  },
  (error): error is Error => error instanceof ConfigError || error instanceof ScoringConfigError,
);
