import type { Logger } from 'pino';

export interface StoppableService {
  stop(): Promise<void>;
}

/** sysexits.h EX_CONFIG: the process refused to start because of its configuration. */
export const EXIT_CONFIGURATION_ERROR = 78;

/**
 * The shell every service's entry point shares: start it (a configuration error refuses the start with
 * its message, which names each bad setting, and exit code 78), then run until SIGTERM or SIGINT and
 * stop cleanly (exit 0), or exit 1 if stopping fails.
 */
export function runService(
  name: string,
  start: () => Promise<{ service: StoppableService; logger: Logger }>,
  isConfigurationError: (error: unknown) => error is Error,
): void {
  start().then(
    ({ service, logger }) => {
      let stopping = false;
      const shutdown = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping');
        service.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'unclean stop');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', shutdown);
      process.on('SIGINT', shutdown);
    },
    (error: unknown) => {
      if (isConfigurationError(error)) {
        console.error(`${name}: refusing to start.\n${error.message}`);
        process.exit(EXIT_CONFIGURATION_ERROR);
      }
      console.error(`${name}: failed to start`, error);
      process.exit(1);
    },
  );
}
