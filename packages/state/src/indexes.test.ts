import { describe, expect, it } from 'vitest';
import type { LifecycleStage } from '@churnscore/domain';
import type { RedisClient } from './connection';
import { MEMBERS_PER_INDEX_COMMAND, RESOLVED_ALERTS_INDEXED, customerIndexes } from './indexes';
import { keySchema } from './keys';
import type { CommitResult, ScoreCommit } from './scripts/commit-score';
import type { ScriptRunner } from './scripts/lua-script';

/** The sorted-set commands and moveLeasedDues calls the indexes send, recorded instead of sent. */
function recordingRedis() {
  const commands: Array<{ command: 'zadd' | 'zrem' | 'zremrangebyrank' | 'moveLeasedDues'; key: string; args: Array<string | number | Buffer> }> = [];
  const redis = {
    zadd: async (key: string, ...args: Array<string | number>) => void commands.push({ command: 'zadd', key, args }),
    zrem: async (key: string, ...args: string[]) => void commands.push({ command: 'zrem', key, args }),
    zremrangebyrank: async (key: string, ...args: number[]) => void commands.push({ command: 'zremrangebyrank', key, args }),
  };
  const moveLeasedDues: ScriptRunner = async ({ keys: [key], args }) => void commands.push({ command: 'moveLeasedDues', key: key!, args: [...args] });
  return { redis: redis as unknown as RedisClient, moveLeasedDues, commands };
}

/** The indexes of `recorded` (recordingRedis). */
const indexesOf = ({ redis, moveLeasedDues }: ReturnType<typeof recordingRedis>) => customerIndexes(redis, keys, moveLeasedDues);

const keys = keySchema('t');

/** A significant commit (it publishes its score) of a customer never committed before. */
function firstCommit(
  customerId: string,
  segment: string,
  nextDueAt: number | null,
  lifecycleStage: LifecycleStage = 'MATURE',
  lastResolvedAt: number | null = null,
): { commit: ScoreCommit; result: CommitResult } {
  const score = { customerId, segment, lifecycleStage, churnRisk: 0.3, valueAtRisk: 300, health: 70 };
  const commit = { score, outbox: [{ kind: 'score-changed' }], hasOpenAlerts: false, lastResolvedAt, nextDueAt, revision: 1, asOf: 1 } as unknown as ScoreCommit;
  return { commit, result: { written: true, conflict: false, fenced: false, version: 1, previousScore: null, outbox: [], eventsAppliedSince: false } };
}

describe('the index follow-ups of a batch of commits', () => {
  it('travel as one ZADD per sorted set, not one command per entry, in commands of at most MEMBERS_PER_INDEX_COMMAND members', async () => {
    const recorded = recordingRedis();
    const { commands } = recorded;
    const customers = MEMBERS_PER_INDEX_COMMAND + 100;
    const followUps = Array.from({ length: customers }, (_, i) => firstCommit(`c-${i}`, 'SMB', 1_000));
    await indexesOf(recorded).followCommits(followUps, '', 1);

    const membersPerKey = new Map<string, number>();
    // No customer has an alert: the alert indexes lose them all, in one ZREM each (two: more than fit one).
    expect(commands.filter((c) => c.command === 'zrem').map((c) => c.key)).toEqual([keys.openAlerts, keys.openAlerts, keys.resolvedAlerts, keys.resolvedAlerts]);
    for (const { key, args } of commands.filter((c) => c.command === 'zadd')) {
      expect(args.length / 2).toBeLessThanOrEqual(MEMBERS_PER_INDEX_COMMAND);
      membersPerKey.set(key, (membersPerKey.get(key) ?? 0) + args.length / 2);
    }
    const rankings = ['churnRisk', 'valueAtRisk', 'health'] as const;
    // Every customer in each overall and SMB ranking, and in its due shard.
    for (const metric of rankings) {
      expect(membersPerKey.get(keys.ranking(metric))).toBe(customers);
      expect(membersPerKey.get(keys.ranking(metric, 'SMB'))).toBe(customers);
    }
    const dueEntries = [...membersPerKey].filter(([key]) => key.startsWith('t:due:')).reduce((sum, [, n]) => sum + n, 0);
    expect(dueEntries).toBe(customers);
    // Two commands for each ranking and for each alert index (the members do not fit one), one per due shard at most.
    expect(commands.length).toBeLessThanOrEqual(2 * 2 * rankings.length + 2 * 2 + keys.dueShards);
  });

  it('removes in one ZREM per sorted set what leaves it: no due time, no open or resolved alert', async () => {
    const recorded = recordingRedis();
    const { commands } = recorded;
    const followUps = ['a', 'b', 'c'].map((id) => firstCommit(id, 'SMB', null));
    await indexesOf(recorded).followCommits(followUps, '', 1);
    const removals = commands.filter((c) => c.command === 'zrem');
    expect(removals.find((c) => c.key === keys.openAlerts)?.args).toEqual(['a', 'b', 'c']);
    expect(removals.find((c) => c.key === keys.resolvedAlerts)?.args).toEqual(['a', 'b', 'c']);
    expect(removals.filter((c) => c.key.startsWith('t:due:')).flatMap((c) => c.args).sort()).toEqual(['a', 'b', 'c']);
    // Nothing entered the resolved-alert index: nothing to trim.
    expect(commands.filter((c) => c.command === 'zremrangebyrank')).toEqual([]);
  });

  it('enter a customer whose alerts resolved in the resolved-alert index by when, then trim it to the RESOLVED_ALERTS_INDEXED latest', async () => {
    const recorded = recordingRedis();
    const { commands } = recorded;
    await indexesOf(recorded).followCommits([firstCommit('a', 'SMB', null, 'MATURE', 5_000), firstCommit('b', 'SMB', null)], '', 1);
    const touching = commands.filter((c) => c.key === keys.resolvedAlerts);
    expect(touching).toEqual([
      { command: 'zadd', key: keys.resolvedAlerts, args: [5_000, 'a'] },
      { command: 'zrem', key: keys.resolvedAlerts, args: ['b'] },
      { command: 'zremrangebyrank', key: keys.resolvedAlerts, args: [0, -(RESOLVED_ALERTS_INDEXED + 1)] },
    ]);
  });

  it('rank a customer without an active contract by value at risk alone (0): a churned customer or a prospect cannot churn', async () => {
    const recorded = recordingRedis();
    const { commands } = recorded;
    const followUps = [firstCommit('signed', 'SMB', null), firstCommit('gone', 'SMB', null, 'CHURNED'), firstCommit('lead', 'SMB', null, 'PROSPECT')];
    await indexesOf(recorded).followCommits(followUps, '', 1);
    const members = (command: 'zadd' | 'zrem', key: string) =>
      commands.filter((c) => c.command === command && c.key === key).flatMap((c) => c.args.filter((arg) => typeof arg === 'string'));
    for (const segment of [null, 'SMB']) {
      expect(members('zadd', keys.ranking('valueAtRisk', segment)).sort()).toEqual(['gone', 'lead', 'signed']);
      for (const metric of ['churnRisk', 'health'] as const) {
        expect(members('zadd', keys.ranking(metric, segment))).toEqual(['signed']);
        // Removed, not merely left out: a customer whose last contract ended was in them until then.
        expect(members('zrem', keys.ranking(metric, segment)).sort()).toEqual(['gone', 'lead']);
      }
    }
  });
});

describe("a customer's due entry, decided by the consumer and the time-driven loop at once", () => {
  const dueWrites = (commands: ReturnType<typeof recordingRedis>['commands']) =>
    commands.filter((c) => c.key.startsWith('t:due:')).map(({ command, args }) => ({ command, args }));

  /** A commit of `c` that the store refused: the score stored, newer, is the one given. */
  const refused = (customerId: string, storedNextDueAt: number, storedRevision: number) => {
    const { commit } = firstCommit(customerId, 'SMB', null);
    const previousScore = { ...commit.score, revision: storedRevision, asOf: 1, nextDueAt: storedNextDueAt };
    return { commit, result: { written: false, conflict: false, fenced: false, version: 1, previousScore, outbox: [], eventsAppliedSince: false } as unknown as CommitResult };
  };

  it('is not written from a commit sent before the one whose follow-up decided it already', async () => {
    const recorded = recordingRedis();
    const { commands } = recorded;
    const indexes = indexesOf(recorded);
    const earlier = indexes.sequence();
    const later = indexes.sequence();
    // The later call's follow-up came first (the earlier one's waited for the rest of its batch).
    await indexes.followCommits([refused('a', 60_000, 2)], '', later);
    await indexes.followCommits([firstCommit('a', 'SMB', 86_400_000)], '', earlier);
    expect(dueWrites(commands)).toEqual([{ command: 'zadd', args: [60_000, 'a'] }]);
    // Not trusted either: the next commit's follow-up sends its due time, even one equal to the dropped one's.
    const next = { ...firstCommit('a', 'SMB', 86_400_000), result: { ...firstCommit('a', 'SMB', null).result, previousScore: { revision: 1, asOf: 1 } as never } };
    await indexes.followCommits([next], '', indexes.sequence());
    expect(dueWrites(commands).at(-1)).toEqual({ command: 'zadd', args: [86_400_000, 'a'] });
  });

  it("is not written from a read sent before a commit whose follow-up decided it, nor from a delivery the commit's follow-up did not wait for", async () => {
    const recorded = recordingRedis();
    const { commands } = recorded;
    const indexes = indexesOf(recorded);
    const read = indexes.sequence();
    const { commit, result } = firstCommit('a', 'SMB', 60_000);
    await indexes.followCommits([{ commit, result: { ...result, outbox: [{}] as never } }], '', indexes.sequence());
    await indexes.followStoredDues([{ customerId: 'a', dueAt: 86_400_000, leasedUntil: 300_000 }], read);
    // The commit's due time was not left to its delivery (no lease): a delivery of it changes nothing.
    await indexes.followDeliveries([commit]);
    expect(dueWrites(commands)).toEqual([{ command: 'zadd', args: [60_000, 'a'] }]);
  });

  it('is not written from a commit sent before the due time was set outright (a release of held alerts)', async () => {
    const recorded = recordingRedis();
    const { commands } = recorded;
    const indexes = indexesOf(recorded);
    const commitSent = indexes.sequence();
    await indexes.scheduleDue('a', 1_001);
    await indexes.followCommits([firstCommit('a', 'SMB', 86_400_000)], '', commitSent);
    expect(dueWrites(commands)).toEqual([{ command: 'zadd', args: [1_001, 'a'] }]);
  });

  it("follows a re-scoring's delivery once, from its claim's lease, unless a later commit decided the due entry meanwhile", async () => {
    const recorded = recordingRedis();
    const { commands } = recorded;
    const indexes = indexesOf(recorded);
    const waiting = (customerId: string) => {
      const { commit, result } = firstCommit(customerId, 'SMB', 86_400_000);
      return { commit, result: { ...result, outbox: [{}] as never } };
    };
    const [a, b] = [waiting('a'), waiting('b')];
    await indexes.followCommits([a, b], '', indexes.sequence(), new Map([['a', 300_000], ['b', 300_000]]));
    expect(dueWrites(commands)).toEqual([]);
    await indexes.followCommits([refused('b', 60_000, 2)], '', indexes.sequence());
    await indexes.followDeliveries([a.commit, b.commit]);
    await indexes.followDeliveries([a.commit]);
    expect(dueWrites(commands)).toEqual([
      { command: 'zadd', args: [60_000, 'b'] },
      { command: 'moveLeasedDues', args: ['a', 300_000, 86_400_000] },
    ]);
  });
});
