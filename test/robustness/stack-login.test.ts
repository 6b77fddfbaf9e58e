// The stack's own check of endpoints of one's own (npm start, npm run stack:up with REDIS_URL set): a Redis that refuses
// the login is said at once. Until 2026-12-07 it was waited for like one that does not answer, and npm start ended half a
// minute later on "Redis at redis://user:***@… did not answer within 30s", the password's refusal never named.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisAnswers } from '../../infra/src/clients';
import { createRedisClient, testStack, uniqueName } from '../harness/stack';

const redis = createRedisClient();
const user = uniqueName('stack-login');
const password = randomBytes(12).toString('hex');
const urlAs = (login: string): string => {
  const url = new URL(testStack().redisUrl);
  url.username = user;
  url.password = login;
  return url.toString();
};

beforeAll(async () => {
  await redis.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '+ping');
});
afterAll(async () => {
  await redis.call('ACL', 'DELUSER', user);
  redis.disconnect();
});

describe("the stack's check of a Redis of one's own", () => {
  it('refuses a wrong password at once, naming REDIS_URL and the refusal, and answers with the right one', async () => {
    await expect(redisAnswers(urlAs('not-the-password'))).rejects.toThrow(/^REDIS_URL: Redis refused the login \(WRONGPASS/);
    expect(await redisAnswers(urlAs(password))).toBe(true);
  });
});
