import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '@churnscore/config';
import { createLogger } from '@churnscore/observability';
import { parseScoringConfig, ScoringConfigError } from '@churnscore/scoring';
import { startApi } from './api';

/** Refuses to start on a bad setting, naming it; then serves until SIGTERM / SIGINT. */
async function main(): Promise<void> {
  let config;
  let scoring;
  try {
    config = loadConfig();
    scoring = parseScoringConfig(JSON.parse(readFileSync(config.scoringConfigPath, 'utf8')));
  } catch (error) {
    if (error instanceof ConfigError || error instanceof ScoringConfigError || error instanceof SyntaxError) {
      console.error(`api: refusing to start.\n${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger({ name: 'api', level: config.logLevel });
  if (config.apiToken === null) logger.warn('API_TOKEN is not set: the API is open to anyone who can reach it (development only)');
  const api = await startApi({ config, scoring, logger });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    api.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('api: failed to start', error);
  process.exit(1);
});
