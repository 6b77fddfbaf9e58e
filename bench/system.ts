import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, release, totalmem } from 'node:os';
import { join, sep } from 'node:path';
import { loadSettings } from '../infra/src/index';
import { REPO_ROOT } from '../infra/src/settings';
import { STACK_COMPONENTS, inspectComponent } from '../infra/src/stack';
import { externalStatus, localStatus } from '../infra/src/status';
import type { BenchContext } from './context';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memory: string;
  kernel: string;
  node: string;
  /** Component name → version, as `npm run stack:status` reports them (null: unknown, e.g. an external Kafka). */
  stack: Record<string, string | null>;
  stackMode: 'local' | 'external';
  /** The commit measured, `+` when the working tree had changes on top of it. */
  sourceRevision: string | null;
}

const outputOf = (command: string, args: string[]): string | null => {
  try {
    return execFileSync(command, args, { encoding: 'utf8', cwd: REPO_ROOT }).trim();
  } catch {
    return null;
  }
};

function sourceRevision(): string | null {
  const commit = outputOf('git', ['rev-parse', '--short', 'HEAD']);
  if (commit === null) return null;
  return outputOf('git', ['status', '--porcelain'])?.length ? `${commit}+` : commit;
}

/**
 * The workspace packages that resolve outside this checkout, each with where it resolves: a tree whose node_modules
 * links to another checkout's (a `git worktree` sharing one `npm ci`) would run that checkout's packages, and
 * its figures would be labelled with this tree's commit. Benches back to back of two commits compared one checkout's
 * packages with themselves that way (docs/performance.md, "How two trees are compared").
 */
export function packagesOfAnotherCheckout(): string[] {
  const rootManifest = join(REPO_ROOT, 'package.json');
  const workspaceDirs = (JSON.parse(readFileSync(rootManifest, 'utf8')) as { workspaces: string[] }).workspaces.map((glob) => glob.replace(/\/\*$/, ''));
  const manifests = workspaceDirs.flatMap((dir) => readdirSync(join(REPO_ROOT, dir)).map((entry) => join(REPO_ROOT, dir, entry, 'package.json'))).filter(existsSync);
  const require = createRequire(rootManifest);
  return manifests.flatMap((manifest) => {
    const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string };
    let resolved: string;
    try {
      resolved = require.resolve(name);
    } catch {
      return []; // no entry point (a service run by its path): nothing imports it by name
    }
    return resolved.startsWith(REPO_ROOT + sep) ? [] : [`${name} → ${resolved}`];
  });
}

export async function machineInfo(context: BenchContext): Promise<MachineInfo> {
  const { stack } = context;
  const statuses = stack.mode === 'local' ? await localStatus(loadSettings()) : await externalStatus(stack);
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return {
    cpus: availableParallelism(),
    cpuModel,
    // `free -h`'s "Mem:" line says what the machine had free for the run, not only its size.
    memory: outputOf('free', ['-h'])?.split('\n').find((line) => line.startsWith('Mem:')) ?? `${(totalmem() / 2 ** 30).toFixed(1)} GiB total`,
    kernel: release(),
    node: process.version,
    stack: Object.fromEntries(statuses.map((status) => [status.component, status.version])),
    stackMode: stack.mode,
    sourceRevision: sourceRevision(),
  };
}

const CLOCK_TICKS_PER_SECOND = Number(outputOf('getconf', ['CLK_TCK']) ?? 100);

/** User + system CPU seconds of a process from /proc/<pid>/stat; null when it is gone or not readable. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is the 3rd field, utime the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

async function redisCpuSeconds(context: BenchContext): Promise<number> {
  const info = await context.redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** The broker's pid when it is this checkout's local stack (an external broker is not ours to watch). */
async function localKafkaPid(context: BenchContext): Promise<number | null> {
  if (context.stack.mode !== 'local') return null;
  const kafka = STACK_COMPONENTS.find((component) => component.name === 'kafka')!;
  const state = await inspectComponent(loadSettings(), kafka);
  return state.kind === 'ours' || state.kind === 'other-stack' ? state.pid : null;
}

/** Cores used, on average, by each process that does the work of a measurement. */
export type CpuUse = Record<string, number | null>;

/**
 * Measures how busy each process was over an interval: on a small machine the scorer, Redis and the
 * broker compete for the same cores, and which of them is saturated says what limits a number.
 * Redis reports its own CPU (INFO cpu); the broker and the scorer processes are read from /proc.
 */
export async function startCpuMeter(context: BenchContext, scorers: Record<string, () => number | null>): Promise<{ stop(): Promise<CpuUse> }> {
  const kafkaPid = await localKafkaPid(context);
  const sample = async () => ({
    at: performance.now(),
    bench: process.cpuUsage(),
    redis: await redisCpuSeconds(context),
    kafka: kafkaPid === null ? null : processCpuSeconds(kafkaPid),
    scorers: Object.fromEntries(Object.entries(scorers).map(([name, read]) => [name, read()])),
  });
  const start = await sample();
  return {
    async stop() {
      const end = await sample();
      const seconds = (end.at - start.at) / 1000;
      const cores = (from: number | null, to: number | null) => (from === null || to === null ? null : (to - from) / seconds);
      const benchCpu = process.cpuUsage(start.bench);
      return {
        ...Object.fromEntries(Object.keys(scorers).map((name) => [name, cores(start.scorers[name] ?? null, end.scorers[name] ?? null)])),
        redis: cores(start.redis, end.redis),
        kafka: cores(start.kafka, end.kafka),
        bench: (benchCpu.user + benchCpu.system) / 1e6 / seconds,
      };
    },
  };
}

/** Microseconds Redis has spent running scripts (EVALSHA and EVAL) since its counters were last reset: `INFO commandstats`. */
async function scriptMicroseconds(context: BenchContext): Promise<number> {
  const info = await context.redis.info('commandstats');
  let total = 0;
  for (const [, usec] of info.matchAll(/^cmdstat_eval(?:sha)?:calls=\d+,usec=(\d+)/gm)) total += Number(usec);
  return total;
}

/**
 * Seconds Redis spent running scripts over an interval: what the scorer's calls (apply, read, commit, acknowledge,
 * claim) cost Redis itself, apart from its I/O, and apart from the scorer's CPU the CPU line adds it to. Within a
 * few per cent from run to run where the CPU line moves by ten or more, so a change to a script shows here first.
 * Counters are read, never reset, so other clients' figures are left alone; their scripts are counted too.
 */
export async function startScriptTimeMeter(context: BenchContext): Promise<{ stop(): Promise<number> }> {
  const before = await scriptMicroseconds(context);
  return {
    async stop() {
      return ((await scriptMicroseconds(context)) - before) / 1e6;
    },
  };
}

interface AofSample {
  size: number;
  baseSize: number;
  rewriting: boolean;
}

async function aofSample(context: BenchContext): Promise<AofSample | null> {
  const info = await context.redis.info('persistence');
  const field = (name: string) => new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1];
  if (field('aof_enabled') !== '1') return null;
  return {
    size: Number(field('aof_current_size')),
    baseSize: Number(field('aof_base_size')),
    rewriting: field('aof_rewrite_in_progress') === '1',
  };
}

/** How often the AOF meter samples: what a rewrite can hide is the writes of about one interval. */
const AOF_SAMPLE_MS = 100;

/**
 * Bytes Redis appended to its append-only file over an interval (null when AOF is off). Counted as the growth of
 * the incremental part (`aof_current_size` − `aof_base_size`) from sample to sample, writes made during a rewrite
 * included. When a rewrite finishes (the base size changes) the file becomes the new base and the incremental part
 * starts again from about nothing; whatever it holds beyond what was counted during the rewrite is added. What a
 * rewrite can hide is the writes between the last sample and its end, about one interval. (`aof_rewrites` is no
 * guide: Redis 7 counts a rewrite when it starts, and taking that for its end counted the whole incremental file
 * again, 818 instead of 489 bytes per event in a one-process run.) The writes of everything else using the same
 * Redis are counted too.
 */
export async function startAofMeter(context: BenchContext): Promise<{ stop(): Promise<number | null> }> {
  let previous = await aofSample(context);
  let written = 0;
  let sinceRewriteBegan = 0;
  const account = (next: AofSample | null) => {
    if (previous === null || next === null) return;
    const incremental = next.size - next.baseSize;
    if (next.baseSize !== previous.baseSize) {
      written += Math.max(0, incremental - sinceRewriteBegan);
      sinceRewriteBegan = 0;
    } else {
      const appended = Math.max(0, incremental - (previous.size - previous.baseSize));
      written += appended;
      if (next.rewriting || previous.rewriting) sinceRewriteBegan += appended;
    }
    previous = next;
  };
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(async () => account(await aofSample(context))).catch(() => undefined);
  }, AOF_SAMPLE_MS);
  return {
    async stop() {
      clearInterval(timer);
      await sampling;
      if (previous === null) return null;
      account(await aofSample(context));
      return written;
    },
  };
}
