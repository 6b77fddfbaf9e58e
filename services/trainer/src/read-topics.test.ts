import { describe, expect, it } from 'vitest';
import { describeReplay, describeReplayReport } from './read-topics';

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
