// `<p>:inputs:behind` and `<p>:inputs:history-loading` against a real Redis: what one scorer instance records of its
// partitions and of the load it sees, every other reads.
import { readHistoryLoading, readPartitionsBehind, recordHistoryLoading, recordPartitionsBehind } from '@churnscore/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateTest, type StateTestContext } from './fixtures';

describe('partitions recorded behind', () => {
  let t: StateTestContext;
  beforeAll(async () => {
    t = await openStateTest('partitions-behind');
  });
  afterAll(() => t.close());

  it('reads back what the owners recorded: a partition behind until its owner records it caught up', async () => {
    await recordPartitionsBehind(t.redis, [
      { topic: 'crm.activity.v1', partition: 0, behind: true },
      { topic: 'crm.activity.v1', partition: 11, behind: true },
      { topic: 'crm.contract.v1', partition: 0, behind: false },
    ], t.prefix);
    await recordPartitionsBehind(t.redis, [{ topic: 'crm.contract.v1', partition: 11, behind: true }], t.prefix);
    await recordPartitionsBehind(t.redis, [{ topic: 'crm.activity.v1', partition: 0, behind: false }], t.prefix);
    const read = await readPartitionsBehind(t.redis, t.prefix);
    expect(read.sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
      { topic: 'crm.activity.v1', partition: 11 },
      { topic: 'crm.contract.v1', partition: 11 },
    ]);
    expect(await t.keysUnderPrefix()).toEqual([`${t.prefix}:inputs:behind`]);
  });

  it('reads until when an instance said a load of history arrives, while Redis keeps it', async () => {
    expect(await readHistoryLoading(t.redis, t.prefix)).toBeNull();
    const until = Date.UTC(2026, 4, 20, 12, 31, 0);
    await recordHistoryLoading(t.redis, until, 300, t.prefix);
    expect(await readHistoryLoading(t.redis, t.prefix)).toBe(until);
    const ttl = await t.redis.pttl(`${t.prefix}:inputs:history-loading`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await readHistoryLoading(t.redis, t.prefix)).toBeNull();
  });
});
