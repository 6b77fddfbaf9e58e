// A service run by `runService`, for run-service.test.ts: RUN_SERVICE_FIXTURE picks how it behaves.
import { createLogger } from './logger';
import { runService } from './run-service';

class FixtureConfigError extends Error {}

const behaviour = process.env.RUN_SERVICE_FIXTURE;

// What a real service's sockets do: keep the process running until it is told to stop.
setInterval(() => undefined, 60_000);

runService(
  'fixture',
  async ({ liveness }) => {
    // Through the console on purpose: the shell turns it into a JSON line too.
    console.log('starting');
    if (behaviour === 'refuse') throw new FixtureConfigError('SOME_SETTING: expected something else, got "x"');
    if (behaviour === 'slow-start') await new Promise(() => undefined);
    const logger = createLogger({ name: 'fixture' });
    if (behaviour === 'cannot-go-on') {
      setTimeout(() => liveness.fail('the consumer stopped', new Error('could not reach redis://scorer:hunter2@redis:6379')), 100);
    }
    if (behaviour === 'throws') setTimeout(() => Promise.reject(new Error('nobody handles this')), 100);
    logger.info('started');
    // A stop that waits on a dependency that never answers.
    if (behaviour === 'hung-stop') return { logger, service: { stop: () => new Promise<void>(() => undefined) } };
    // A stop whose last calls a dependency refuses (a Redis that stopped answering closes the connection).
    if (behaviour === 'failed-stop') return { logger, service: { stop: () => Promise.reject(new Error('Connection is closed.')) } };
    // A stop that finishes its work in hand first.
    if (behaviour === 'slow-stop') {
      return { logger, service: { stop: () => new Promise((resolve) => setTimeout(resolve, 500)).then(() => logger.info('service stopped')) } };
    }
    return { logger, service: { stop: async () => logger.info('service stopped') } };
  },
  (error): error is Error => error instanceof FixtureConfigError,
  { stopDeadlineMs: Number(process.env.RUN_SERVICE_FIXTURE_STOP_DEADLINE_MS ?? 60_000) },
);
