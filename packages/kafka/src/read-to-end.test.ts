import { describe, expect, it } from 'vitest';
import { ReplayPosition } from './read-to-end';

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
