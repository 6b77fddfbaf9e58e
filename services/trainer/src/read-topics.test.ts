import { describe, expect, it } from 'vitest';
import { ReplayPosition, describeReplay, describeReplayReport } from './read-topics';

describe('the replay position', () => {
  it('takes each partition from its earliest retained record up to the end taken at the start, and no further', () => {
    const position = new ReplayPosition([
      { topic: 'activity', partition: 0, low: 5, high: 7 },
      { topic: 'activity', partition: 1, low: 0, high: 0 },
      { topic: 'contract', partition: 0, low: 0, high: 1 },
    ]);
    expect(position.topics).toEqual([
      { topic: 'activity', read: 0, total: 2 },
      { topic: 'contract', read: 0, total: 1 },
    ]);
    expect(position.done).toBe(false);

    expect(position.take('activity', 0, 5)).toBe(true);
    expect(position.take('activity', 0, 6)).toBe(true);
    // Appended after the replay started: not part of it.
    expect(position.take('activity', 0, 7)).toBe(false);
    // An empty partition is done from the start, and anything appended to it later is not read.
    expect(position.take('activity', 1, 0)).toBe(false);
    expect(position.done).toBe(false);
    expect(position.take('contract', 0, 0)).toBe(true);
    expect(position.done).toBe(true);
    expect(position.topics).toEqual([
      { topic: 'activity', read: 2, total: 2 },
      { topic: 'contract', read: 1, total: 1 },
    ]);
  });

  it('is done with a partition whose last records before the end are not messages (compacted away, transaction markers)', () => {
    const position = new ReplayPosition([{ topic: 'customer', partition: 0, low: 0, high: 10 }]);
    position.take('customer', 0, 3);
    expect(position.done).toBe(false);
    position.passed('customer', 0, 10);
    expect(position.done).toBe(true);
    expect(position.topics).toEqual([{ topic: 'customer', read: 1, total: 10 }]);
  });
});

describe('what the replay says', () => {
  it('shows records read of the total topic by topic while it runs', () => {
    const line = describeReplay(
      [
        { topic: 'crm.activity.v1', read: 1500, total: 3000 },
        { topic: 'crm.contract.v1', read: 2, total: 2 },
      ],
      (n) => n.toLocaleString('en-US'),
    );
    expect(line).toBe('replaying  crm.activity.v1 1,500/3,000  crm.contract.v1 2/2');
  });

  it('reports the records left out by the reasons the scorer would dead-letter them for', () => {
    const topics = [{ topic: 'crm.activity.v1', read: 12, total: 12 }];
    expect(describeReplayReport({ topics, rejected: [] })).toBe('crm.activity.v1: 12 records\nno record rejected\n');
    expect(
      describeReplayReport({
        topics,
        rejected: [
          { reason: 'NOT_WIRE_FORMAT', count: 2 },
          { reason: 'KEY_MISMATCH', count: 1 },
        ],
      }),
    ).toBe('crm.activity.v1: 12 records\n3 records rejected as the scorer rejects them (NOT_WIRE_FORMAT 2, KEY_MISMATCH 1): left out\n');
  });
});
