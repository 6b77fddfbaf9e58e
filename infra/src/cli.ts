// Entry point of the `stack:*`, `topics:provision`, `schemas:register` and `start` npm scripts.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { componentLogFile } from './component';
import { endpointExports, runDemo } from './demo';
import { ensureStack, provisionStack } from './index';
import { createReporter } from './progress';
import type { Reporter } from './progress';
import { registerSchemas } from './schemas';
import { COMPONENTS, externalEndpoints, loadSettings, localEndpoints } from './settings';
import type { ComponentName } from './settings';
import { STACK_COMPONENTS, downLocal, errorMessage, resetLocal } from './stack';
import { externalStatus, formatStatusTable, localStatus } from './status';
import { provisionTopics } from './topics';

const USAGE = `Usage: tsx infra/src/cli.ts <command> [options]   (or the npm scripts in package.json)

Commands:
  up                 start (or reuse) Kafka, the registry and Redis, then provision topics and schemas
  down               stop the processes this stack started (and nothing else)
  status             health, version and address of each component; exit code 1 if any is unhealthy
  logs [component]   print the last lines of the logs (kafka, registry, redis); -f to follow
  reset              stop the stack and delete its data (asks; --yes to skip the question)
  topics             create the SPEC topics, report existing ones that differ (--allow-drift to only warn)
  schemas            register schemas/*.avsc with the registry
  fetch              download/install the binaries only (Maven, apt), start nothing
  demo               what \`npm start\` runs: the stack, scorer, read API and dashboard, and simulated CRM traffic

Options:
  -y, --yes          confirm \`reset\` without asking
  -f, --follow       keep following the logs
  -n, --lines <n>    lines of log to show (default 50)
  --allow-drift      let \`up\`/\`topics\`/\`demo\` carry on when existing topics differ from their spec
  -h, --help         this text

Ports, folders and endpoints come from the environment: see docs/operations.md.`;

const OPTIONS = {
  yes: { type: 'boolean', short: 'y' },
  follow: { type: 'boolean', short: 'f' },
  lines: { type: 'string', short: 'n' },
  'allow-drift': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flags = { yes?: boolean; follow?: boolean; lines?: string; 'allow-drift'?: boolean };

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const reporter = createReporter();
  switch (command) {
    case 'up':
      return up(reporter, values);
    case 'down':
      await downLocal(loadSettings(), reporter);
      return 0;
    case 'status':
      return status();
    case 'logs':
      return logs(rest[0], values);
    case 'reset':
      return reset(reporter, values);
    case 'topics':
      await provisionTopics(currentEndpoints().kafkaBrokers, { reporter, allowDrift: values['allow-drift'] });
      return 0;
    case 'schemas':
      await registerSchemas(currentEndpoints().schemaRegistryUrl, { reporter });
      return 0;
    case 'fetch':
      return fetchBinaries(reporter);
    case 'demo':
      return runDemo(reporter, { allowDrift: values['allow-drift'] });
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** The endpoints to provision: the external ones when set, else the local stack's. */
function currentEndpoints() {
  return externalEndpoints() ?? localEndpoints(loadSettings());
}

async function up(reporter: Reporter, flags: Flags): Promise<number> {
  const stack = await ensureStack({ reporter });
  if (stack.mode === 'external') {
    // Someone else's services: report on them, change nothing (provisioning is an explicit command).
    reporter.step('stack', 'KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL are set: nothing started. ' +
      'Run topics:provision / schemas:register to provision them.');
    return status();
  }
  await provisionStack(stack, { reporter, allowDrift: flags['allow-drift'] });
  reporter.step('stack', stack.started ? 'ready' : 'ready (was already running)');
  console.log(endpointExports(stack).map((line) => `  ${line}`).join('\n'));
  return 0;
}

async function status(): Promise<number> {
  const external = externalEndpoints();
  let rows;
  if (external !== null) {
    console.log('Endpoints from KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL:');
    rows = await externalStatus(external);
  } else {
    const settings = loadSettings();
    console.log(`Local stack in ${settings.stackDir}:`);
    rows = await localStatus(settings);
  }
  console.log(formatStatusTable(rows));
  return rows.every((row) => row.healthy) ? 0 : 1;
}

function logs(component: string | undefined, flags: Flags): Promise<number> {
  if (component !== undefined && !COMPONENTS.includes(component as ComponentName)) {
    throw new UsageError(`unknown component "${component}" (expected one of ${COMPONENTS.join(', ')})`);
  }
  const lines = flags.lines ?? '50';
  if (!/^\d+$/.test(lines)) throw new UsageError(`--lines wants a number, got "${lines}"`);
  const settings = loadSettings();
  const names = component === undefined ? COMPONENTS : [component as ComponentName];
  const files = names.map((name) => componentLogFile(settings, name)).filter((file) => existsSync(file));
  if (files.length === 0) {
    console.log(`No logs yet in ${settings.logDir}: the stack has not run from this checkout.`);
    return Promise.resolve(0);
  }
  // tail prints a "==> file <==" header per file when there are several, and -F survives restarts.
  const child = spawn('tail', ['-n', lines, ...(flags.follow ? ['-F'] : []), ...files], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 0));
  });
}

async function reset(reporter: Reporter, flags: Flags): Promise<number> {
  const settings = loadSettings();
  if (!flags.yes) {
    if (!process.stdin.isTTY) {
      console.error(`stack:reset deletes everything in ${settings.dataDir}. Without a terminal to ask, pass --yes (npm run stack:reset -- --yes).`);
      return 2;
    }
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await prompt.question(`Delete all Kafka, registry and Redis data in ${settings.dataDir}? [y/N] `);
    prompt.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      console.log('Nothing deleted.');
      return 1;
    }
  }
  await resetLocal(settings, reporter);
  reporter.step('stack', 'reset done; `npm run stack:up` starts afresh');
  return 0;
}

async function fetchBinaries(reporter: Reporter): Promise<number> {
  const settings = loadSettings();
  await Promise.all(STACK_COMPONENTS.map((component) => component.install(settings, reporter)));
  reporter.step('stack', `binaries ready in ${settings.cacheDir}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`error: ${errorMessage(error)}`);
    if (error instanceof UsageError) console.error('Run with --help for usage.');
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
