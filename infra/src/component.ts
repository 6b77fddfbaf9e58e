import { join } from 'node:path';
import type { Reporter } from './progress';
import type { ComponentName, PortSetting, StackEndpoints, StackSettings } from './settings';

/** How to run a component's server process; its working directory is the component's data folder. */
export interface LaunchSpec {
  command: string;
  args: string[];
}

/** One server of the local stack: how to fetch, configure, start, recognise and probe it. */
export interface Component {
  name: ComponentName;
  title: string;
  ports(settings: StackSettings): PortSetting[];
  /** The address clients use, as shown by `stack:status`. */
  address(endpoints: StackEndpoints): string;
  /** Fetches or installs the binaries when missing (the slow first-run part); nothing else. */
  install(settings: StackSettings, reporter: Reporter): Promise<void>;
  /** Installs if needed, writes configuration, prepares storage, and says how to launch. */
  prepare(settings: StackSettings, reporter: Reporter): Promise<LaunchSpec>;
  /** Whether a process command line (as in /proc) is this component's server. */
  matchesArgv(argv: string[]): boolean;
  answers(endpoints: StackEndpoints): Promise<boolean>;
  /**
   * Brings the state the stack promises inside a running, answering server up to date (Kafka's SCRAM
   * user); run on every `stack:up` of our own server, so it must be idempotent and quick when nothing is missing.
   */
  provision?(settings: StackSettings, reporter: Reporter): Promise<void>;
  /** The running version; `local` says whether the endpoints are this stack's own. */
  version(endpoints: StackEndpoints, local: boolean): Promise<string | null>;
  startTimeoutMs: number;
  /** How long SIGTERM may take before SIGKILL. */
  stopGraceMs: number;
}

export const componentDataDir = (settings: StackSettings, name: ComponentName): string => join(settings.dataDir, name);
export const componentPidFile = (settings: StackSettings, name: ComponentName): string => join(settings.runDir, `${name}.pid`);
export const componentLogFile = (settings: StackSettings, name: ComponentName): string => join(settings.logDir, `${name}.log`);
/** Generated configuration files, rewritten on every start so port changes take effect. */
export const configDir = (settings: StackSettings): string => join(settings.stackDir, 'conf');
