import { KafkaJSError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { committedOffsets } from './offsets';

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
