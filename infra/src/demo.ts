import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadConfig, stateSettings, type AppConfig } from '@churnscore/config';
import { loadScoringConfigFile, scoringConfigIdentity } from '@churnscore/scoring';
import { anotherModelServes, createRedis, createStateStore, requireRedisAnswer } from '@churnscore/state';
import { withAdmin } from './clients';
import { ensureStack, provisionStack } from './index';
import type { Reporter } from './progress';
import { REPO_ROOT, loadSettings, redactUrl } from './settings';
import type { StackEndpoints } from './settings';
import { downLocal } from './stack';

/** The lines a shell (or another service) needs to reach the stack. */
export function endpointExports(endpoints: StackEndpoints): string[] {
  return [
    `export KAFKA_BROKERS=${endpoints.kafkaBrokers.join(',')}`,
    `export SCHEMA_REGISTRY_URL=${endpoints.schemaRegistryUrl}`,
    `export REDIS_URL=${redactUrl(endpoints.redisUrl)}`,
  ];
}

export interface DemoOptions {
  /** Synthetic customers the simulator publishes a 400-day history for. */
  customers: number;
  /** Live events per second once the history is in. */
  liveRate: number;
  /** Carry on when existing topics differ from their spec (a topic given more partitions: docs/operations.md, Topics). */
  allowDrift?: boolean;
}

const DEFAULT_DEMO_OPTIONS: DemoOptions = { customers: 300, liveRate: 20 };

const STOP_GRACE_MS = 15_000;
const READY_TIMEOUT_MS = 120_000;

/**
 * The read API serves customer data only with a token (or when told to run open): the demo lets it use the
 * API_TOKEN of the environment, or hands it a fresh one it prints, unless API_ALLOW_ANONYMOUS is set.
 */
export function demoApiAccess(env: NodeJS.ProcessEnv): { settings: NodeJS.ProcessEnv; loginLines: string[] } {
  if (/^(true|1|yes)$/i.test(env.API_ALLOW_ANONYMOUS ?? '')) {
    return { settings: {}, loginLines: ['  API token:       none (API_ALLOW_ANONYMOUS is set: the API is open)'] };
  }
  const hint = '                   (the dashboard asks for it; the API wants it as Authorization: Bearer <token>)';
  if (env.API_TOKEN) return { settings: {}, loginLines: ['  API token:       the API_TOKEN of your environment', hint] };
  const token = randomBytes(18).toString('base64url');
  return { settings: { API_TOKEN: token }, loginLines: [`  API token:       ${token}`, hint] };
}

/**
 * The consumer group the demo's scorer uses when CONSUMER_GROUP is not set: one per Redis namespace. A stack the demo
 * ran on before keeps its topics and its group's offsets; a new namespace (another REDIS_KEY_PREFIX, or a release with
 * another key contract) must be built from the topics' start, which a group that already consumed them would refuse
 * (exit 78, docs/operations.md "Replaying into a fresh namespace"), so each namespace gets its own group.
 */
export function demoConsumerGroup(env: NodeJS.ProcessEnv, config: AppConfig): { CONSUMER_GROUP: string } | Record<string, never> {
  if (env.CONSUMER_GROUP) return {};
  return { CONSUMER_GROUP: `churnscore-demo-${config.redis.keyPrefix.replace(/[^A-Za-z0-9._-]/g, '.')}` };
}

/** A service of the product run from its TypeScript entry point, logging to `.stack/logs/demo-<name>.log`. */
function startService(name: string, entry: string, args: string[], env: NodeJS.ProcessEnv, logDir: string, progressToConsole = false): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, entry), ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(logDir, `demo-${name}.log`), { flags: 'a' });
  child.stdout?.pipe(log);
  // The simulator's progress line is what shows the demo is alive; everything else goes to the logs.
  child.stderr?.pipe(progressToConsole ? process.stderr : log);
  return child;
}

/** Whether the service became ready; false, at once, when the demo is stopping (another service failed, or Ctrl-C). */
async function waitUntilReady(name: string, url: string, reporter: Reporter, stopping: () => boolean): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const probe = async () => {
    while (Date.now() < deadline) {
      if (stopping()) return false;
      const ok = await fetch(url).then((r) => r.ok, () => false);
      if (ok) return true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`${name} did not become ready at ${url} within ${READY_TIMEOUT_MS / 1000}s (see .stack/logs/demo-${name}.log)`);
  };
  const ready = await reporter.during(name, 'waiting for readiness', probe());
  if (ready) reporter.step(name, `ready (${url})`);
  return ready;
}

/**
 * Whether the input topics hold records already: an earlier start's history (the simulator's event ids follow its
 * clock, so publishing it again would add a second copy, every customer's activity doubled, as an outside tester
 * found), or data a user ingested. The history goes only to empty topics.
 */
async function inputTopicsHoldRecords(brokers: string[], { topics }: AppConfig): Promise<boolean> {
  return withAdmin(brokers, async (admin) => {
    for (const topic of [topics.activity, topics.opportunity, topics.contract, topics.customer]) {
      if ((await admin.fetchTopicOffsets(topic)).some(({ high }) => Number(high) > 0)) return true;
    }
    return false;
  });
}

/**
 * The mark of the model another scorer re-scores this namespace with right now (its served mark, which expires when no
 * instance renews it), when it is not the model the demo's scorer would run; null otherwise.
 */
async function modelServedByAnotherScorer(config: AppConfig): Promise<string | null> {
  const redis = createRedis({ ...config.redis, connectionName: 'churnscore-demo' });
  try {
    // Its client waits out an outage without end: a refused login or a Redis that never answers would hang npm start.
    await requireRedisAnswer(redis);
    const store = createStateStore(redis, { prefix: config.redis.keyPrefix, ...stateSettings(config) });
    const model = scoringConfigIdentity(loadScoringConfigFile(config.scoringConfigPath));
    const inService = await store.modelInService(Date.now());
    return anotherModelServes(model, inService) ? inService.servedBy : null;
  } finally {
    redis.disconnect();
  }
}

/** Whether another process listens on `host:port` already (binding it fails with EADDRINUSE). */
export async function portTaken(host: string, port: number): Promise<boolean> {
  const server = createServer();
  return new Promise<boolean>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(true) : reject(error)));
    server.listen(port, host, () => server.close(() => resolve(false)));
  });
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * `npm start`: the whole product on one machine. Brings up (or reuses) the stack, starts the scorer
 * and the read API, publishes a year of simulated CRM history, then keeps live traffic flowing until
 * Ctrl-C, which stops everything this command started (the stack too, if it was not already running).
 */
export async function runDemo(reporter: Reporter, overrides: Partial<DemoOptions> = {}): Promise<number> {
  const options = { ...DEFAULT_DEMO_OPTIONS, ...overrides };
  const stack = await ensureStack({ reporter });
  await provisionStack(stack, { reporter, allowDrift: options.allowDrift });
  const settings = loadSettings();
  const apiAccess = demoApiAccess(process.env);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...apiAccess.settings,
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
    REDIS_URL: stack.redisUrl,
  };
  const running = new Set<ChildProcess>();
  let stopping: Promise<number> | null = null;
  // Once: whatever asks again (a service failing meanwhile, another signal) waits for the same stop.
  const stopAll = (exitCode: number): Promise<number> =>
    (stopping ??= (async () => {
      reporter.step('demo', 'stopping the services');
      await Promise.all([...running].map(stopService));
      if (stack.started && stack.mode === 'local') await downLocal(settings, reporter);
      return exitCode;
    })());
  const supervise = (name: string, child: ChildProcess, onExit: (code: number) => void) => {
    running.add(child);
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (stopping === null) onExit(code ?? (signal ? 1 : 0));
    });
    reporter.step(name, `started (pid ${child.pid})`);
  };

  return new Promise<number>((resolve) => {
    const fail = (name: string) => (code: number) => {
      reporter.step(name, `exited unexpectedly with code ${code}; see .stack/logs/demo-${name}.log`);
      void stopAll(1).then(resolve);
    };
    // Every signal after the first is the same request: a Ctrl-C reaches this process from the terminal and again through
    // npm, which passes it on (taken once, the second ended the demo by Node's default action mid-stop, leaving the
    // stack it had started running). The stop is bounded anyway: STOP_GRACE_MS per service, then SIGKILL.
    const interrupt = () => void stopAll(0).then(resolve);
    process.on('SIGINT', interrupt);
    process.on('SIGTERM', interrupt);

    const run = async () => {
      // The ports the services will listen on, read as they read them: API_PORT and HTTP_PORT, or their defaults. A bad
      // setting stops the demo here, and what it started with it.
      const config = loadConfig(env);
      const { apiPort, httpPort: scorerPort } = config;
      for (const [setting, host, port] of [['HTTP_PORT', config.httpHost, scorerPort], ['API_PORT', config.apiHost, apiPort]] as const) {
        // Taken by another process, its answers would read as the service's readiness, and the dashboard address printed
        // would be that process's (an outside tester's npm start, until the service exited with no word of the port).
        if (await portTaken(host, port)) throw new Error(`port ${port} (${setting}) is in use by another process: set ${setting} to a free port`);
      }
      const served = await modelServedByAnotherScorer(config);
      if (served !== null) {
        // An outside tester's npm start, its endpoints those of a deployment, rolled the default model over the
        // deployment's customers (alerts opened by one model, resolved by the other) and added simulated customers to them.
        throw new Error(
          `a scorer of another model (${served}) serves this namespace (REDIS_KEY_PREFIX ${config.redis.keyPrefix}) right now: npm start would score its customers with the demo's model and publish simulated traffic into its topics; for your own data run npm run scorer and npm run api, for the demo another namespace and topics`,
        );
      }
      Object.assign(env, demoConsumerGroup(env, config));
      supervise('scorer', startService('scorer', 'services/scorer/src/main.ts', [], env, settings.logDir), fail('scorer'));
      supervise('api', startService('api', 'services/api/src/main.ts', [], env, settings.logDir), fail('api'));
      const ready = await Promise.all([
        waitUntilReady('scorer', `http://127.0.0.1:${scorerPort}/readyz`, reporter, () => stopping !== null),
        waitUntilReady('api', `http://127.0.0.1:${apiPort}/readyz`, reporter, () => stopping !== null),
      ]);
      if (!ready.every(Boolean)) return;
      console.log(
        [
          '',
          `  Dashboard:       http://127.0.0.1:${apiPort}/`,
          `  Read API:        http://127.0.0.1:${apiPort}/openapi.json`,
          ...apiAccess.loginLines,
          `  Scorer metrics:  http://127.0.0.1:${scorerPort}/metrics`,
          ...endpointExports(stack).map((line) => `  ${line}`),
          '',
          '  Ctrl-C stops everything this command started.',
          '',
        ].join('\n'),
      );
      const simulatorArgs = ['--customers', String(options.customers), '--days', '400'];
      const startLiveTraffic = () => {
        const live = startService('simulator-live', 'services/simulator/src/cli.ts', [...simulatorArgs, '--follow', '--no-history', '--rate', String(options.liveRate)], env, settings.logDir);
        supervise('simulator-live', live, fail('simulator-live'));
      };
      const historyPublished = await inputTopicsHoldRecords(stack.kafkaBrokers, config);
      // Stopped meanwhile: nothing more is started (what stopAll did not see would be left running).
      if (stopping !== null) return;
      if (historyPublished) {
        reporter.step('simulator', `the input topics hold records (an earlier start's history, or data of your own): no history published; live traffic at ${options.liveRate} events/s (npm run stack:reset starts afresh)`);
        startLiveTraffic();
        return;
      }
      const history = startService('simulator', 'services/simulator/src/cli.ts', [...simulatorArgs, '--rate', '0'], env, settings.logDir, true);
      supervise('simulator', history, (code) => {
        if (code !== 0) return fail('simulator')(code);
        reporter.step('simulator', `history published; live traffic at ${options.liveRate} events/s`);
        startLiveTraffic();
      });
    };
    run().catch((error: unknown) => {
      reporter.step('demo', error instanceof Error ? error.message : String(error));
      void stopAll(1).then(resolve);
    });
  });
}
