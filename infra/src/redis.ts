import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { redisAnswers, redisVersion } from './clients';
import type { Component, LaunchSpec } from './component';
import { componentDataDir } from './component';
import type { Reporter } from './progress';
import { STACK_HOST } from './settings';
import type { StackSettings } from './settings';

const execFileAsync = promisify(execFile);

/** `redis-server --version` → "7.0.15", or null when redis-server is not installed. */
async function installedRedisVersion(): Promise<string | null> {
  try {
    const { stdout } = await execFileAsync('redis-server', ['--version']);
    return /v=(\S+)/.exec(stdout)?.[1] ?? 'unknown';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Installs Debian's redis-server with apt-get, as root or through password-less sudo. */
async function installRedis(reporter: Reporter): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && !(await canSudo())) {
    throw new Error('redis-server is not installed and installing it needs root: run `sudo apt-get install -y redis-server`.');
  }
  const run = (args: string[]) =>
    execFileAsync(asRoot ? 'apt-get' : 'sudo', asRoot ? args : ['-n', 'apt-get', ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      maxBuffer: 32 * 1024 * 1024,
    });
  reporter.step('redis', 'redis-server is not installed: installing it with apt-get (first run only)');
  try {
    await reporter.during('redis', 'running apt-get update', run(['update', '-qq']));
    await reporter.during('redis', 'installing redis-server', run(['install', '-y', '-qq', '--no-install-recommends', 'redis-server']));
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    throw new Error(`redis: apt-get could not install redis-server: ${failure.stderr?.trim() || failure.message}`);
  }
}

async function canSudo(): Promise<boolean> {
  try {
    await execFileAsync('sudo', ['-n', 'true']);
    return true;
  } catch {
    return false;
  }
}

/** The installed redis-server's version, installing it first when it is missing. */
async function ensureRedisServer(reporter: Reporter): Promise<string> {
  const version = await installedRedisVersion();
  if (version !== null) return version;
  await installRedis(reporter);
  const installed = await installedRedisVersion();
  if (installed === null) throw new Error('redis: apt-get finished but redis-server is still not on PATH');
  return installed;
}

async function prepare(settings: StackSettings, reporter: Reporter): Promise<LaunchSpec> {
  const version = await ensureRedisServer(reporter);
  const dataDir = componentDataDir(settings, 'redis');
  mkdirSync(dataDir, { recursive: true });
  const port = settings.ports.redis.port;
  reporter.step('redis', `starting Redis ${version} on ${STACK_HOST}:${port}`);
  return {
    command: 'redis-server',
    args: [
      '--port',
      String(port),
      '--bind',
      STACK_HOST,
      '--dir',
      dataDir,
      // SPEC §8's durability model: an append-only file fsynced every second, nothing else.
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      // Stay in the foreground: the stack owns the process through its pid file and log.
      '--daemonize',
      'no',
      '--logfile',
      '',
    ],
  };
}

export const redisComponent: Component = {
  name: 'redis',
  title: 'Redis',
  ports: (settings) => [settings.ports.redis],
  address: (endpoints) => endpoints.redisUrl,
  install: async (_settings, reporter) => {
    await ensureRedisServer(reporter);
  },
  prepare,
  // Redis rewrites its process title to "redis-server 127.0.0.1:16379".
  matchesArgv: (argv) => (argv[0] ?? '').includes('redis-server'),
  answers: (endpoints) => redisAnswers(endpoints.redisUrl),
  version: (endpoints) => redisVersion(endpoints.redisUrl),
  startTimeoutMs: 15_000,
  stopGraceMs: 10_000,
};
