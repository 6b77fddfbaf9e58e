import { Session, type Profiler } from 'node:inspector/promises';

/** Starts V8's sampling profiler on this process; `stop` returns the profile (Chrome DevTools' .cpuprofile format). */
export async function startCpuProfile(): Promise<{ stop(): Promise<Profiler.Profile> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

/**
 * Where CPU time goes, by the code it is spent in. The first matching rule names a sample's
 * category, so the more specific paths come first.
 */
const CATEGORIES: ReadonlyArray<readonly [category: string, matches: (url: string, fn: string) => boolean]> = [
  ['idle (waiting on Redis / Kafka)', (_url, fn) => fn === '(idle)'],
  ['garbage collection', (_url, fn) => fn === '(garbage collector)'],
  ['V8 / native (program)', (_url, fn) => fn === '(program)'],
  ['Avro decode/encode + validation', (url) => /packages\/events\/|node_modules\/(avsc|@confluentinc)\//.test(url)],
  ['scoring (insights, scorecards, churn, alerts, due)', (url) => url.includes('packages/scoring/')],
  ['state store + ioredis (commands, replies)', (url) => /packages\/state\/|node_modules\/(ioredis|@ioredis|redis-parser|denque|cluster-key-slot)\//.test(url)],
  ['kafkajs + consumer loop', (url) => /packages\/kafka\/|node_modules\/kafkajs\//.test(url)],
  ['scorer pipeline glue', (url) => url.includes('services/scorer/')],
  ['logging + metrics', (url) => /node_modules\/(pino|prom-client)/.test(url)],
  ['bench (poller, instrumentation)', (url) => url.includes('/bench/')],
  ['Node internals (sockets, buffers, timers, JSON)', (url) => url.startsWith('node:') || url === ''],
];
const OTHER = 'other';

export interface ProfileSummary {
  /** Sampled milliseconds by category, busiest first. */
  categories: Array<{ category: string; ms: number; shareOfBusy: number }>;
  /** The functions with the most self time. */
  topFunctions: Array<{ fn: string; where: string; ms: number; shareOfBusy: number }>;
  busyMs: number;
  idleMs: number;
}

const shortPath = (url: string): string => url.replace(/^file:\/\//, '').replace(/^.*?\/(node_modules|packages|services|bench)\//, '$1/');

export function summariseProfile(profile: Profiler.Profile, topCount = 15): ProfileSummary {
  // Self time of a node: its share of the samples times the profile's duration.
  const totalSamples = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
  const msPerSample = totalSamples === 0 ? 0 : (profile.endTime - profile.startTime) / 1000 / totalSamples;
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, { fn: string; where: string; ms: number }>();
  for (const node of profile.nodes) {
    const ms = (node.hitCount ?? 0) * msPerSample;
    if (ms === 0) continue;
    const { url, functionName, lineNumber } = node.callFrame;
    const category = CATEGORIES.find(([, matches]) => matches(url, functionName))?.[0] ?? OTHER;
    byCategory.set(category, (byCategory.get(category) ?? 0) + ms);
    const fn = functionName || '(anonymous)';
    // tsx compiles each TypeScript module onto line 1, so only the file says where such a function lives.
    const where = url === '' ? '' : lineNumber > 0 ? `${shortPath(url)}:${lineNumber + 1}` : shortPath(url);
    const key = `${fn}@${where}`;
    const entry = byFunction.get(key) ?? { fn, where, ms: 0 };
    entry.ms += ms;
    byFunction.set(key, entry);
  }
  const idleMs = byCategory.get(CATEGORIES[0]![0]) ?? 0;
  const busyMs = [...byCategory.values()].reduce((a, b) => a + b, 0) - idleMs;
  const share = (ms: number) => (busyMs === 0 ? 0 : ms / busyMs);
  return {
    categories: [...byCategory]
      .filter(([category]) => category !== CATEGORIES[0]![0])
      .sort((a, b) => b[1] - a[1])
      .map(([category, ms]) => ({ category, ms, shareOfBusy: share(ms) })),
    topFunctions: [...byFunction.values()]
      .filter(({ fn }) => fn !== '(idle)')
      .sort((a, b) => b.ms - a.ms)
      .slice(0, topCount)
      .map((entry) => ({ ...entry, shareOfBusy: share(entry.ms) })),
    busyMs,
    idleMs,
  };
}
