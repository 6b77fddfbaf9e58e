import { format } from 'node:util';
import { Liveness } from './liveness';
import { createLogger, type Logger } from './logger';

export interface StoppableService {
  stop(): Promise<void>;
}

/** What the shell hands a starting service. */
export interface ServiceContext {
  /** The service turns it red when it cannot go on; the shell then exits with EXIT_CANNOT_GO_ON. */
  liveness: Liveness;
}

/** sysexits.h EX_CONFIG: the process refused to start because of its configuration. */
export const EXIT_CONFIGURATION_ERROR = 78;

/** The process failed to start, or cannot go on: a supervisor should restart it. */
export const EXIT_CANNOT_GO_ON = 1;

/**
 * How long a stop may take before the process exits anyway (exit 1): a service finishing its work in hand stops
 * within seconds, one waiting on a dependency that hangs would never stop. Under Kubernetes' default grace period
 * (30 s), so that the exit, and the line saying why, are the service's own rather than a SIGKILL's.
 */
export const STOP_DEADLINE_MS = 20_000;

/**
 * A stop signal again within this long is the one stop request delivered twice, not a second request: a signal sent to
 * the process group (systemd's default, `timeout`, Ctrl-C) reaches the service and also `npm run`, which passes it on,
 * and a tool that started the service may pass on another (Ctrl-C's SIGINT, then `npm start`'s SIGTERM: an outside
 * tester's every Ctrl-C of the demo ended in an unfinished stop).
 */
export const REPEATED_SIGNAL_WINDOW_MS = 1_000;

export interface RunServiceOptions {
  /** Default STOP_DEADLINE_MS. */
  stopDeadlineMs?: number;
}

/** Libraries that print through `console` (ioredis' warnings, say) still produce JSON lines. */
function routeConsoleTo(logger: () => Logger): void {
  const levels = { debug: 'debug', log: 'info', info: 'info', warn: 'warn', error: 'error' } as const;
  for (const [method, level] of Object.entries(levels)) {
    console[method as keyof typeof levels] = (...args: unknown[]) => logger()[level]({ source: 'console' }, format(...args));
  }
}

/**
 * The shell every service's entry point shares. Everything it prints is a JSON log line on stdout.
 *
 * - Start the service. A configuration error refuses the start with its message, which names each bad
 *   setting, and exit code 78; any other failure to start exits 1.
 * - SIGTERM or SIGINT at any moment stops cleanly with exit 0: once started, the service is stopped
 *   (exit 1 if stopping fails, takes longer than the stop deadline, or a second signal comes first, later than
 *   REPEATED_SIGNAL_WINDOW_MS after the first); before
 *   that, the process exits at once, as a start in progress has not consumed or served anything yet.
 * - When the service reports that it cannot go on (its liveness turns red), or an error escapes every
 *   handler, the process exits at once with EXIT_CANNOT_GO_ON, so that a supervisor restarts it.
 */
export function runService(
  name: string,
  start: (context: ServiceContext) => Promise<{ service: StoppableService; logger: Logger }>,
  isConfigurationError: (error: unknown) => error is Error,
  { stopDeadlineMs = STOP_DEADLINE_MS }: RunServiceOptions = {},
): void {
  // The service's own logger once it has one (it knows LOG_LEVEL); until then, the shell's.
  let logger = createLogger({ name });
  routeConsoleTo(() => logger);
  let running: StoppableService | null = null;
  let stopping = false;
  const liveness = new Liveness();

  liveness.onFailure(({ reason, error }) => {
    if (stopping) return;
    logger.fatal({ err: error, reason, exitCode: EXIT_CANNOT_GO_ON }, 'cannot go on: exiting so that a supervisor restarts the service');
    process.exit(EXIT_CANNOT_GO_ON);
  });
  process.on('uncaughtException', (error) => liveness.fail('an error escaped every handler', error));
  process.on('unhandledRejection', (error) => liveness.fail('a rejected promise was not handled', error));

  let firstSignal: { signal: NodeJS.Signals; at: number } | null = null;
  const shutdown = (signal: NodeJS.Signals) => {
    if (firstSignal !== null) {
      if (performance.now() - firstSignal.at < REPEATED_SIGNAL_WINDOW_MS) return;
      logger.fatal({ signal }, 'a second signal while stopping: exiting without finishing the stop');
      process.exit(EXIT_CANNOT_GO_ON);
    }
    firstSignal = { signal, at: performance.now() };
    stopping = true;
    logger.info({ signal }, 'stopping');
    if (running === null) {
      logger.info('stopped before the start completed');
      process.exit(0);
    }
    setTimeout(() => {
      logger.fatal({ stopDeadlineMs }, 'the stop did not finish within its deadline (a dependency hangs?): exiting');
      process.exit(EXIT_CANNOT_GO_ON);
    }, stopDeadlineMs);
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        // The exit's reason is the last line, at fatal like every other (a Redis that hangs fails the stop's last writes).
        logger.fatal({ err: error, reason: 'the stop failed: a dependency refused or did not answer its last calls', exitCode: EXIT_CANNOT_GO_ON }, 'the stop did not finish cleanly: exiting');
        process.exit(EXIT_CANNOT_GO_ON);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  start({ liveness }).then(
    (started) => {
      logger = started.logger;
      running = started.service;
    },
    (error: unknown) => {
      if (isConfigurationError(error)) {
        logger.fatal({ reason: error.message, exitCode: EXIT_CONFIGURATION_ERROR }, 'refusing to start: fix the settings named in reason');
        process.exit(EXIT_CONFIGURATION_ERROR);
      }
      logger.fatal({ err: error, exitCode: EXIT_CANNOT_GO_ON }, 'failed to start');
      process.exit(EXIT_CANNOT_GO_ON);
    },
  );
}
