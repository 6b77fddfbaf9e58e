import { describe, expect, it } from 'vitest';
import { RedisDurabilityGate } from './durability';

/** A Redis identity and a clock the test moves by hand. */
function fixture(grace = 2_000) {
  const world = { identity: 'run-a/epoch-1', now: 1_000 };
  const gate = new RedisDurabilityGate(async () => world.identity, grace, () => world.now);
  return { world, gate };
}

describe('RedisDurabilityGate', () => {
  it('vouches for writes only once the fsync grace has passed', async () => {
    const { world, gate } = fixture();
    const mark = await gate.mark();
    expect(await gate.check(mark)).toBe('pending');
    world.now += 1_999;
    expect(await gate.check(mark)).toBe('pending');
    world.now += 1;
    expect(await gate.check(mark)).toBe('durable');
  });

  it('reports writes as lost when Redis restarted or lost its data set since they were made', async () => {
    const { world, gate } = fixture();
    const mark = await gate.mark();
    world.identity = 'run-b/epoch-1'; // restart: new run id
    world.now += 5_000;
    expect(await gate.check(mark)).toBe('lost');
  });

  it('never vouches for writes that straddled an identity change', async () => {
    const { world, gate } = fixture();
    await gate.mark();
    world.identity = 'run-a/epoch-2'; // data set replaced between two chunks
    const straddling = await gate.mark();
    world.now += 5_000;
    expect(await gate.check(straddling)).toBe('lost');
    expect(await gate.check(await gate.mark())).toBe('pending');
  });
});
