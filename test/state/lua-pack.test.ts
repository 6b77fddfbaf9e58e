// What the apply script receives: values packed by packForLua are unpacked by the Lua of a real Redis (its
// `cmsgpack`) into the same text, bytes and numbers.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { packForLua, type LuaPackValue } from '../../packages/state/src/lua-pack';
import { createRedisClient } from '../harness/stack';

// Each value as its Lua type and its bytes (a number formatted without exponent, as the scripts write them).
const UNPACK_EACH = `
local values = cmsgpack.unpack(ARGV[1])
local reply = {}
for _, value in ipairs(values) do
  reply[#reply + 1] = type(value)
  reply[#reply + 1] = type(value) == 'number' and string.format('%.0f', value) or value
end
return reply`;

const asLua = (value: LuaPackValue): [string, Buffer] =>
  typeof value === 'number' ? ['number', Buffer.from(String(value))] : ['string', typeof value === 'string' ? Buffer.from(value, 'utf8') : value];

const value: fc.Arbitrary<LuaPackValue> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.maxSafeInteger(),
  fc.integer({ min: -300, max: 70_000 }),
);

describe('packForLua, read by the Lua of Redis', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createRedisClient();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('unpacks to the values packed, group after group, whatever their kinds and sizes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(value, { maxLength: 12 }), { maxLength: 6 }), async (groups) => {
        const reply = (await redis.callBuffer('EVAL', UNPACK_EACH, 0, packForLua(groups))) as Buffer[];
        expect(reply.map((part) => part.toString('hex'))).toEqual(groups.flat().flatMap(asLua).map((part) => (typeof part === 'string' ? Buffer.from(part) : part).toString('hex')));
      }),
      { numRuns: 200, seed: 20_261_202 },
    );
  });

  it('unpacks an array longer than 65,535 values', async () => {
    const values = Array.from({ length: 70_000 }, (_, n) => n);
    const count = await redis.eval('return #cmsgpack.unpack(ARGV[1])', 0, packForLua([values]));
    expect(count).toBe(70_000);
  });
});
