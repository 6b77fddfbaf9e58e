// What a commit and an apply write: Redis replicates a script by its effects, so every write command a script
// runs is appended to the AOF and sent to replicas at full size. Counted on a Redis of the test's own, whose
// command statistics no other test touches (docs/redis-contract.md, "Only what changed is written").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createStateStore, type CustomerSnapshot, type StateStore } from '@churnscore/state';
import { freePort, PrivateRedis } from '../scorer/private-redis';
import { Feed, HOUR, NOW, activity, insights, score, scoreChanged } from './fixtures';

const workDir = mkdtempSync(join(tmpdir(), 'state-writes-'));
let server: PrivateRedis;
let redis: Redis;
let store: StateStore;

beforeAll(async () => {
  server = new PrivateRedis(await freePort());
  await server.start(workDir);
  redis = new Redis(server.port, '127.0.0.1');
  store = createStateStore(redis, { prefix: 'writes' });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.kill();
  rmSync(workDir, { recursive: true, force: true });
});

/** Calls of each of `commands` since the last CONFIG RESETSTAT, by command name (none made: absent). */
async function callsOf(commands: readonly string[]): Promise<Record<string, number>> {
  const stats = await redis.info('commandstats');
  const calls = [...stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].map(([, command, n]) => [command!, Number(n)] as const);
  return Object.fromEntries(calls.filter(([command]) => commands.includes(command)));
}
/** Calls of each write command. */
const writeCalls = () => callsOf(['hset', 'hincrby', 'hdel', 'set', 'append', 'setrange', 'setbit', 'del', 'rpush', 'zadd']);
/** Calls of each command that reads a string. */
const stringReads = () => callsOf(['get', 'getrange', 'strlen', 'getbit']);

it("writes a customer's state hash once per apply call, not once per event", async () => {
  const feed = new Feed();
  const items = feed.items(...[1, 2, 3, 4, 5].map((n) => activity('busy', 'EMAIL_SENT', NOW - n * HOUR)));
  await redis.config('RESETSTAT');
  const results = await store.applyEvents(items, NOW);
  expect(results.map((r) => [r.outcome, r.revision])).toEqual([1, 2, 3, 4, 5].map((n) => ['applied', n]));
  expect(await writeCalls()).toEqual({ hset: 1, set: 2 }); // state; act and seen
});

it("appends a busy customer's new dedupe records instead of writing its whole window again, until the window's front leaves", async () => {
  const feed = new Feed();
  const call = (n: number) => activity('chatty', 'CALL', NOW - HOUR, { eventId: `chatty-${n}` });
  // 1,500 records of 11 bytes: past the length from which the window grows by APPEND
  await store.applyEvents(feed.items(...Array.from({ length: 1_500 }, (_, n) => call(n))), NOW);
  await redis.config('RESETSTAT');
  await store.applyEvents(feed.items(call(1_500), call(1_501)), NOW);
  // state; act; the two new records of seen, and their bits in its index (six each) and the index's header
  expect(await writeCalls()).toEqual({ hset: 1, set: 1, append: 1, setbit: 12, setrange: 1 });
  await redis.config('RESETSTAT');
  // A week and two hours later the first arrivals leave the front: the rest is written whole, once, and is short
  // again (one record): its index goes.
  await store.applyEvents(feed.items(call(1_502)), NOW + 170 * HOUR);
  expect(await writeCalls()).toEqual({ hset: 1, set: 2, del: 1 });
});

it("looks a busy customer's new eventId up in its window's index, reading of the window only its length and first record", async () => {
  const feed = new Feed();
  const call = (n: number) => activity('indexed', 'CALL', NOW - HOUR, { eventId: `indexed-${n}` });
  await store.applyEvents(feed.items(...Array.from({ length: 1_500 }, (_, n) => call(n))), NOW);
  await redis.config('RESETSTAT');
  const [fresh] = await store.applyEvents(feed.items(call(1_500)), NOW);
  expect(fresh?.outcome).toBe('applied');
  // get: the day buckets (act) alone; getrange: the window's first record and the index's header; at most six
  // probes of its one filter, the first bit found clear ruling the eventId out
  const reads = await stringReads();
  expect({ get: reads.get, getrange: reads.getrange, strlen: reads.strlen }).toEqual({ get: 1, getrange: 2, strlen: 1 });
  expect(reads.getbit).toBeGreaterThanOrEqual(1);
  expect(reads.getbit).toBeLessThanOrEqual(6);
});

it('writes nothing of insights, alert book or score fields that a commit leaves unchanged', async () => {
  await store.applyEvents(new Feed().items(activity('steady', 'EMAIL_SENT', NOW - HOUR)), NOW);
  const [{ incarnation }] = (await store.readCustomers(['steady'], NOW)) as [CustomerSnapshot];
  const first = { score: score('steady'), insights: insights('steady', { openTickets: 1 }), revision: 1, incarnation, asOf: NOW, alertBook: null, nextDueAt: NOW + HOUR, hasOpenAlerts: false, lastResolvedAt: null };
  await store.commitScores([{ ...first, outbox: [scoreChanged(first.score)], basedOn: null }]);
  await redis.config('RESETSTAT');
  await store.commitScores([{ ...first, asOf: NOW + 1, outbox: [], basedOn: { revision: 1, asOf: NOW } }]);
  // Only asOf moved: one HSET of the score hash; no index entry is sent again.
  expect(await writeCalls()).toEqual({ hset: 1, del: 1 }); // del: the absent alert book
});
