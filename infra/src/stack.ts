import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Component } from './component';
import { componentDataDir, componentLogFile, componentPidFile } from './component';
import { kafkaComponent } from './kafka';
import { withLock } from './lock';
import type { ProcessInfo } from './processes';
import {
  describeCommand,
  isAlive,
  isPortFree,
  portHolder,
  processInfo,
  readPidFile,
  removeFile,
  spawnDetached,
  stopProcess,
  writePidFile,
} from './processes';
import type { Reporter } from './progress';
import { waitUntil } from './progress';
import { redisComponent } from './redis';
import { registryComponent } from './registry';
import { STACK_HOST, localEndpoints } from './settings';
import type { PortSetting, StackEndpoints, StackSettings } from './settings';

export const STACK_COMPONENTS: readonly Component[] = [kafkaComponent, registryComponent, redisComponent];

/** Where a component of the local stack stands, as found from pid files, /proc and its ports. */
export type ComponentState =
  | { kind: 'ours'; pid: number }
  /** Another checkout's stack holds the port: usable, but not ours to stop. */
  | { kind: 'other-stack'; pid: number; stackDir: string }
  | { kind: 'port-taken'; port: PortSetting; holder: ProcessInfo | null }
  | { kind: 'stopped' };

/** Our process is the pid in our pid file, running the expected program from our data folder. */
function isOwnProcess(settings: StackSettings, component: Component, info: ProcessInfo | null): info is ProcessInfo {
  return info !== null && info.cwd === componentDataDir(settings, component.name) && component.matchesArgv(info.argv);
}

/**
 * The stack folder of a process that another checkout's stack started: its working directory is
 * `<stack>/data/<component>` and `<stack>/run/<component>.pid` names it.
 */
function otherStackDir(component: Component, info: ProcessInfo): string | null {
  if (info.cwd === null || basename(info.cwd) !== component.name || basename(dirname(info.cwd)) !== 'data') return null;
  const stackDir = dirname(dirname(info.cwd));
  return readPidFile(join(stackDir, 'run', `${component.name}.pid`)) === info.pid && component.matchesArgv(info.argv) ? stackDir : null;
}

export async function inspectComponent(settings: StackSettings, component: Component): Promise<ComponentState> {
  const pidFile = componentPidFile(settings, component.name);
  const pid = readPidFile(pidFile);
  if (pid !== null) {
    if (isAlive(pid) && isOwnProcess(settings, component, processInfo(pid))) return { kind: 'ours', pid };
    // The process died (or the machine rebooted and the pid now belongs to something else).
    removeFile(pidFile);
  }
  for (const port of component.ports(settings)) {
    if (await isPortFree(port.port, STACK_HOST)) continue;
    const holder = await portHolder(port.port);
    const otherStack = holder === null ? null : otherStackDir(component, holder);
    if (holder !== null && otherStack !== null) return { kind: 'other-stack', pid: holder.pid, stackDir: otherStack };
    return { kind: 'port-taken', port, holder };
  }
  return { kind: 'stopped' };
}

export function portTakenMessage(component: Component, port: PortSetting, holder: ProcessInfo | null): string {
  const by = holder === null ? 'another process (not visible to this user)' : `pid ${holder.pid}: ${describeCommand(holder)}`;
  return (
    `${component.name}: port ${port.port} on ${STACK_HOST} is already in use by ${by}. ` +
    `Stop that process, or choose another port: ${port.envVar}=<port> npm run stack:up`
  );
}

export type UpOutcome = 'started' | 'running' | 'other-stack';

/** Brings one component to "answering": reuses ours or another checkout's, else starts it. */
async function bringUp(settings: StackSettings, component: Component, reporter: Reporter): Promise<UpOutcome> {
  const endpoints = localEndpoints(settings);
  const state = await inspectComponent(settings, component);
  switch (state.kind) {
    case 'ours':
      await assertListensOnConfiguredPorts(settings, component, state.pid);
      await waitUntil(reporter, component.name, `${component.title} (pid ${state.pid})`, () => component.answers(endpoints), {
        timeoutMs: component.startTimeoutMs,
        abortIf: () => (isAlive(state.pid) ? null : `pid ${state.pid} exited; see ${componentLogFile(settings, component.name)}`),
      });
      reporter.step(component.name, `already running (pid ${state.pid})`);
      await component.provision?.(settings, reporter);
      return 'running';
    case 'other-stack':
      if (!(await component.answers(endpoints))) {
        throw new Error(`${component.name}: the stack of ${state.stackDir} holds its port but does not answer; run stack:down there.`);
      }
      reporter.step(component.name, `reusing the one started from ${state.stackDir} (pid ${state.pid})`);
      return 'other-stack';
    case 'port-taken':
      throw new Error(portTakenMessage(component, state.port, state.holder));
    case 'stopped':
      await start(settings, component, reporter);
      await component.provision?.(settings, reporter);
      return 'started';
  }
}

/** A port change (STACK_*_PORT) only applies at start: say so instead of waiting on the wrong port. */
async function assertListensOnConfiguredPorts(settings: StackSettings, component: Component, pid: number): Promise<void> {
  for (const port of component.ports(settings)) {
    if (await isPortFree(port.port, STACK_HOST)) {
      throw new Error(
        `${component.name}: running (pid ${pid}) but not on port ${port.port} (${port.envVar}); it was started with ` +
          'other settings. Run `npm run stack:down` and start again to apply them.',
      );
    }
  }
}

async function start(settings: StackSettings, component: Component, reporter: Reporter): Promise<void> {
  const launch = await component.prepare(settings, reporter);
  const cwd = componentDataDir(settings, component.name);
  mkdirSync(cwd, { recursive: true });
  const logFile = componentLogFile(settings, component.name);
  const pidFile = componentPidFile(settings, component.name);
  const begun = Date.now();
  const child = spawnDetached({ ...launch, cwd, logFile });
  writePidFile(pidFile, child.pid);
  try {
    await waitUntil(reporter, component.name, component.title, () => component.answers(localEndpoints(settings)), {
      timeoutMs: component.startTimeoutMs,
      abortIf: () => {
        const status = child.exitStatus();
        return status === null ? null : `${component.title} exited (${status}) while starting:\n${tail(logFile, 20)}`;
      },
    });
  } catch (error) {
    // Leave nothing half-started behind: the next stack:up must start from a clean slate.
    if (isAlive(child.pid)) await stopProcess(child.pid, component.stopGraceMs);
    removeFile(pidFile);
    throw error;
  }
  reporter.step(component.name, `ready in ${((Date.now() - begun) / 1000).toFixed(1)}s (pid ${child.pid}, log ${logFile})`);
}

function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export interface UpResult {
  endpoints: StackEndpoints;
  /** True when this call started at least one component. */
  started: boolean;
}

/** Starts what is not running yet, in parallel, and waits until all three answer. */
export async function upLocal(settings: StackSettings, reporter: Reporter): Promise<UpResult> {
  for (const dir of [settings.dataDir, settings.runDir, settings.logDir]) mkdirSync(dir, { recursive: true });
  return withLock(join(settings.runDir, 'stack.lock'), reporter, async () => {
    const results = await Promise.allSettled(STACK_COMPONENTS.map((component) => bringUp(settings, component, reporter)));
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [errorMessage(result.reason)] : []));
    if (failures.length > 0) throw new Error(failures.join('\n'));
    return {
      endpoints: localEndpoints(settings),
      started: results.some((result) => result.status === 'fulfilled' && result.value === 'started'),
    };
  });
}

/** Stops exactly the processes named by our pid files; anything else is left alone. */
export async function downLocal(settings: StackSettings, reporter: Reporter): Promise<void> {
  mkdirSync(settings.runDir, { recursive: true });
  await withLock(join(settings.runDir, 'stack.lock'), reporter, async () => {
    await Promise.all(STACK_COMPONENTS.map((component) => stopComponent(settings, component, reporter)));
  });
}

async function stopComponent(settings: StackSettings, component: Component, reporter: Reporter): Promise<void> {
  const pidFile = componentPidFile(settings, component.name);
  const pid = readPidFile(pidFile);
  if (pid === null) {
    reporter.step(component.name, 'not running');
    return;
  }
  if (!isAlive(pid) || !isOwnProcess(settings, component, processInfo(pid))) {
    removeFile(pidFile);
    reporter.step(component.name, `not running (removed the stale pid file of pid ${pid})`);
    return;
  }
  const begun = Date.now();
  const how = await stopProcess(pid, component.stopGraceMs);
  removeFile(pidFile);
  const seconds = ((Date.now() - begun) / 1000).toFixed(1);
  reporter.step(component.name, how === 'stopped' ? `stopped (pid ${pid}, ${seconds}s)` : `killed after ${seconds}s (pid ${pid} ignored SIGTERM)`);
}

/** Deletes the data and logs of the local stack (stopping it first); the download cache stays. */
export async function resetLocal(settings: StackSettings, reporter: Reporter): Promise<void> {
  await downLocal(settings, reporter);
  for (const dir of [settings.dataDir, settings.logDir, join(settings.stackDir, 'conf')]) {
    rmSync(dir, { recursive: true, force: true });
  }
  reporter.step('stack', `deleted ${settings.dataDir} and ${settings.logDir}`);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
