import { describe, expect, it, vi } from 'vitest';
import { RedisLoginRefusedError, requireRedisLogin, type RedisClient } from './connection';

/** A client whose PING settles as given, or never. */
const redisAnswering = (ping: () => Promise<string>) => ({ ping, disconnect: vi.fn() }) as unknown as RedisClient & { disconnect: ReturnType<typeof vi.fn> };

describe('requireRedisLogin', () => {
  it('resolves true when Redis answers', async () => {
    await expect(requireRedisLogin(redisAnswering(async () => 'PONG'), 1_000)).resolves.toBe(true);
  });

  it('refuses a login Redis rejected, naming REDIS_URL and Redis\' reply, and disconnects', async () => {
    for (const reply of [
      'WRONGPASS invalid username-password pair or user is disabled.',
      'NOAUTH Authentication required.',
      "NOPERM this user has no permissions to run the 'ping' command",
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    ]) {
      const redis = redisAnswering(() => Promise.reject(Object.assign(new Error(reply), { command: { name: 'auth', args: ['user', 'secret'] } })));
      const refusal = requireRedisLogin(redis, 1_000);
      await expect(refusal).rejects.toBeInstanceOf(RedisLoginRefusedError);
      await expect(refusal).rejects.toThrow(`REDIS_URL: Redis refused the login (${reply})`);
      await expect(refusal).rejects.not.toThrow(/secret/);
      expect(redis.disconnect).toHaveBeenCalled();
    }
  });

  it('resolves false when no answer comes in time, or an error that waiting may fix', async () => {
    vi.useFakeTimers();
    try {
      const silent = requireRedisLogin(redisAnswering(() => new Promise<string>(() => undefined)), 3_000);
      await vi.advanceTimersByTimeAsync(3_000);
      await expect(silent).resolves.toBe(false);
    } finally {
      vi.useRealTimers();
    }
    await expect(requireRedisLogin(redisAnswering(() => Promise.reject(new Error('LOADING Redis is loading the dataset in memory'))), 1_000)).resolves.toBe(false);
  });
});
