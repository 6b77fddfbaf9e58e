import { constants } from 'node:fs';
import { access, mkdir, open, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, pathFromShell, type AppConfig, type Env } from '@churnscore/config';
import { EventEncodeError } from '@churnscore/events';
import { KafkaLoginRefusedError } from '@churnscore/kafka';
import { REPEATED_SIGNAL_WINDOW_MS } from '@churnscore/observability';
import type { ProgressStream } from './progress';

// Paths on the command line are read as the settings' are (@churnscore/config): one rule for both.
export { pathFromShell };

/** A bad command line: the message says what to change; exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * `--rate -1` as `--rate=-1`: Node's parser takes a value starting with a dash for an option and answers that the
 * argument is ambiguous, where the option's own check would say what it takes (an outside tester's `--l2 -1`).
 */
function withNegativeValuesJoined(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const takesValue = arg.startsWith('--') && !arg.includes('=') && options[arg.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i += 1;
    } else joined.push(arg);
  }
  return joined;
}

/**
 * The options of a command line with no positionals, or a UsageError that ends with the command's usage. An option
 * that takes one value given twice is refused rather than the last one silently winning (`--file a --kind customer
 * --file b --kind activity` would check only b, as an activity file).
 */
export function parseOptions<Options extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: Options, usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ args: withNegativeValuesJoined(argv, options), strict: true, allowPositionals: false, options, tokens: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${usage}`);
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || options[token.name]?.multiple === true) continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once: it takes one value\n\n${usage}`);
    seen.add(token.name);
  }
  return parsed.values;
}

/** Exit codes shared by `npm run simulate` and `npm run ingest`; documented in docs/simulator-and-ingest.md. */
export const CLI_EXIT_CODES = {
  ok: 0,
  /** ingest: at least one line was rejected. */
  linesRejected: 1,
  /** Bad arguments, an unreadable file, or invalid configuration. */
  usage: 2,
  /** The broker or the schema registry failed while publishing. */
  publishFailed: 3,
  /** Interrupted (Ctrl-C) before the work was done. */
  interrupted: 130,
} as const;

// Offline work (writing NDJSON, checking a file) talks to no broker, registry or Redis. Stand-in
// endpoints let the rest of the configuration (currency, clock skew) be read and validated as usual.
const OFFLINE_ENDPOINTS: Env = {
  KAFKA_BROKERS: 'offline.invalid:9092',
  SCHEMA_REGISTRY_URL: 'http://offline.invalid',
  REDIS_URL: 'redis://offline.invalid',
};

/** The validated configuration; `offline` fills in endpoints the command will not use. */
export function loadProducerConfig(env: Env, { offline }: { offline: boolean }): AppConfig {
  return loadConfig(offline ? { ...OFFLINE_ENDPOINTS, ...env } : env);
}

/**
 * Runs a command's main and turns its outcome into an exit code: usage and configuration problems (a topic setting
 * under whose subject no fitting schema is registered among them: running again will not help) print their message
 * (exit 2); anything else failed while publishing (exit 3).
 */
export function runCli(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const usage = error instanceof UsageError || error instanceof ConfigError || error instanceof EventEncodeError || error instanceof KafkaLoginRefusedError;
      console.error(usage ? error.message : `failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = usage ? CLI_EXIT_CODES.usage : CLI_EXIT_CODES.publishFailed;
    },
  );
}

/**
 * Aborted by the first Ctrl-C (finish the batch in flight, then stop); a second one exits at once. The copies npm and
 * tsx relay within REPEATED_SIGNAL_WINDOW_MS, as the services take them, are not a second one: they made an outside
 * tester's `npm run simulate -- --follow` exit at once, now and then, without its summary.
 */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    const firstAt = performance.now();
    controller.abort();
    process.on('SIGINT', () => {
      if (performance.now() - firstAt >= REPEATED_SIGNAL_WINDOW_MS) process.exit(CLI_EXIT_CODES.interrupted);
    });
  });
  return controller.signal;
}

/**
 * For a command with no batch to finish (train, backfill): the first Ctrl-C calls `stop`, which tidies what it must and
 * says what the interruption leaves, prints that as one line and exits at once. Node's default would end the command
 * without a word, and a user could not tell what was done or whether to run it again. Returns the un-installer.
 */
export function exitOnInterrupt(stream: ProgressStream, stop: () => string): () => void {
  const onInterrupt = () => {
    // On a terminal, below the progress line the Ctrl-C cut.
    stream.write(`${stream.isTTY === true ? '\n' : ''}interrupted: ${stop()}\n`);
    process.exit(CLI_EXIT_CODES.interrupted);
  };
  process.once('SIGINT', onInterrupt);
  return () => process.off('SIGINT', onInterrupt);
}

/** A whole number of at least `min`, for options such as --customers. */
export function integerOption(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) throw new UsageError(`--${name} must be a whole number of at least ${min}`);
  return parsed;
}

/**
 * Creates a file in `dir` and removes it, or rejects with the error the creation met. Asking for write permission
 * (access W_OK) is not enough: root is granted it under /proc, where creating a file fails (ENOENT), and an outside
 * tester's ingest published everything, then failed to write its --report there (exit 3).
 */
async function probeFileCreation(dir: string): Promise<void> {
  const probe = join(dir, `.churnscore-write-probe-${process.pid}`);
  await (await open(probe, 'wx')).close();
  await rm(probe);
}

/** A file the command can write later (a file can be created in its directory; the file, if there, is a writable file), or UsageError. */
export async function requireWritableFile(path: string, option: string): Promise<void> {
  const refused = (error: unknown) => new UsageError(`cannot write ${option} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  if (path.endsWith(sep) || path.endsWith('/')) throw new UsageError(`${option} ${path} names a directory: name a file`);
  const existing = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw refused(error);
  });
  if (existing?.isDirectory()) throw new UsageError(`${option} ${path} is a directory: name a file`);
  // An existing file is not opened: a FIFO's open would wait for a reader.
  await (existing === null ? probeFileCreation(dirname(path)) : access(path, constants.W_OK)).catch((error: unknown) => {
    throw refused(error);
  });
}

/**
 * Makes `dir` and the directories missing above it, one level at a time, and checks a file can be created in it;
 * resolves to the topmost directory it made (undefined when `dir` was there), or rejects with the file system's error,
 * having removed what it made. Node 20's recursive mkdir never settles where the kernel answers ENOENT to a new
 * directory (under /proc): an outside tester's `train --out /proc/x` hung with no output.
 */
export async function makeWritableDirectory(dir: string): Promise<string | undefined> {
  const missing: string[] = [];
  for (let at = resolve(dir); (await stat(at).catch(notFoundAsNull)) === null; at = dirname(at)) missing.unshift(at);
  try {
    for (const level of missing) await mkdir(level);
    await probeFileCreation(dir);
  } catch (error) {
    if (missing.length > 0) await rm(missing[0]!, { recursive: true, force: true });
    throw error;
  }
  return missing[0];
}

const notFoundAsNull = (error: NodeJS.ErrnoException): null => {
  if (error.code === 'ENOENT') return null;
  throw error;
};
