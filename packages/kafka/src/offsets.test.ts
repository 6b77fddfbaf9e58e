import { KafkaJSError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { committedOffsets, partitionOffsets } from './offsets';

const OFFSETS = [{ topic: 't', partitions: [{ partition: 0, offset: '42', metadata: null }] }];
/** No waiting between attempts: the tests are about which errors are waited out, not how long. */
const RETRY = { attempts: 3, initialDelayMs: 0, maxDelayMs: 0 };

/** The error a broker that is still loading its groups answers with (COORDINATOR_LOAD_IN_PROGRESS, retriable). */
const coordinatorLoading = () => new KafkaJSError('The coordinator is loading and hence can\'t process requests for this group', { retriable: true });

/** An admin whose fetchOffsets fails with `failures` in turn, then answers OFFSETS. */
function adminFailing(...failures: Error[]) {
  let calls = 0;
  return {
    admin: {
      fetchOffsets: async () => {
        calls += 1;
        const failure = failures.shift();
        if (failure) throw failure;
        return OFFSETS;
      },
    },
    calls: () => calls,
  };
}

describe('committedOffsets', () => {
  it('waits out a group coordinator that is still loading, as a broker that just started answers', async () => {
    const { admin, calls } = adminFailing(coordinatorLoading(), coordinatorLoading());
    await expect(committedOffsets(admin, 'g', ['t'], RETRY)).resolves.toEqual(OFFSETS);
    expect(calls()).toBe(3);
  });

  it('gives up after the attempts allowed, with the broker’s error', async () => {
    const { admin, calls } = adminFailing(coordinatorLoading(), coordinatorLoading(), coordinatorLoading());
    await expect(committedOffsets(admin, 'g', ['t'], RETRY)).rejects.toThrow('The coordinator is loading');
    expect(calls()).toBe(3);
  });

  it('throws any other error at once', async () => {
    const denied = new KafkaJSError('Not authorized to access group', { retriable: false });
    const { admin, calls } = adminFailing(denied);
    await expect(committedOffsets(admin, 'g', ['t'], RETRY)).rejects.toThrow('Not authorized');
    expect(calls()).toBe(1);
  });
});

describe('partitionOffsets', () => {
  /** What a partition whose leader is not elected yet answers (a topic just created), retriable. */
  const notLeader = () => new KafkaJSError('This server is not the leader for that topic-partition', { retriable: true });

  it("waits out a partition whose leader is still being elected, as a topic just created answers", async () => {
    const failures = [notLeader(), notLeader()];
    let calls = 0;
    const admin = {
      fetchTopicOffsets: async () => {
        calls += 1;
        const failure = failures.shift();
        if (failure) throw failure;
        return [{ partition: 0, offset: '7', low: '2', high: '7' }];
      },
    };
    await expect(partitionOffsets(admin, 't', RETRY)).resolves.toEqual(new Map([[0, { low: 2, high: 7 }]]));
    expect(calls).toBe(3);
  });

  it('throws any other error at once', async () => {
    let calls = 0;
    const admin = {
      fetchTopicOffsets: async () => {
        calls += 1;
        throw new KafkaJSError('This server does not host this topic-partition', { retriable: false });
      },
    };
    await expect(partitionOffsets(admin, 't', RETRY)).rejects.toThrow('does not host');
    expect(calls).toBe(1);
  });
});
