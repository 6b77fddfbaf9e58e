import { spawn, execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { sleep } from './progress';

const execFileAsync = promisify(execFile);

export function readPidFile(path: string): number | null {
  if (!existsSync(path)) return null;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function writePidFile(path: string, pid: number): void {
  writeFileSync(path, `${pid}\n`);
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * An exited process stays in the table until its parent reaps it. Ours are orphans reaped by the
 * init process, which some sandboxes do only every few seconds; an exited server is not running.
 */
function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may contain spaces, so look after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** What /proc says about a process; null when it is gone or not readable. */
export interface ProcessInfo {
  pid: number;
  argv: string[];
  cwd: string | null;
}

export function processInfo(pid: number): ProcessInfo | null {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((part) => part !== '');
    let cwd: string | null = null;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // Another user's process: the command line is readable, the working directory is not.
    }
    return { pid, argv, cwd };
  } catch {
    return null;
  }
}

/** The command line shortened for an error message. */
export function describeCommand(info: ProcessInfo): string {
  const command = info.argv.join(' ');
  return command.length > 160 ? `${command.slice(0, 157)}...` : command;
}

export interface DetachedProcess {
  pid: number;
  /** null while running; the exit code or signal once it has exited. */
  exitStatus(): string | null;
}

export interface SpawnSpec {
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
}

/**
 * Starts a server process in its own session with stdout and stderr appended to `logFile`, so it
 * outlives the CLI (and the test run) that started it. The previous run's log is kept as `.prev.log`.
 */
export function spawnDetached(spec: SpawnSpec): DetachedProcess {
  if (existsSync(spec.logFile)) renameSync(spec.logFile, spec.logFile.replace(/\.log$/, '.prev.log'));
  const logFd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    let status: string | null = null;
    child.on('exit', (code, signal) => {
      status = signal !== null ? `signal ${signal}` : `exit code ${code}`;
    });
    child.on('error', (error) => {
      status = error.message;
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    return { pid: child.pid, exitStatus: () => status };
  } finally {
    closeSync(logFd);
  }
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function stopProcess(pid: number, graceMs: number): Promise<'stopped' | 'killed'> {
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(100);
  }
  signal(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
  return 'killed';
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** True when nothing listens on host:port, checked by binding it ourselves. */
export function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The process listening on a TCP port, found with `ss`; null when `ss` is missing or cannot tell. */
export async function portHolder(port: number): Promise<ProcessInfo | null> {
  try {
    const { stdout } = await execFileAsync('ss', ['-Hltnp', `sport = :${port}`]);
    const match = /pid=(\d+)/.exec(stdout);
    return match?.[1] === undefined ? null : processInfo(Number(match[1]));
  } catch {
    return null;
  }
}
