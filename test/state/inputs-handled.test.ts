// The namespace's record of how far each input partition is handled (`<p>:inputs`, `<p>:inputs:last`): the scorer's
// start compares its consumer group's offsets with it, so it may never fall behind what the namespace handled.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readInputOffsets, type RedisIdentity } from '@churnscore/state';
import { openStateTest, type StateTestContext } from './fixtures';

const TOPIC = 'crm.activity.v1';
let t: StateTestContext;
/** The identity the units' writes are meant for: the server's own, as a scorer's fence holds it. */
let identity: RedisIdentity;

beforeAll(async () => {
  t = await openStateTest('inputs-handled');
  identity = await t.store.identity();
});
afterAll(async () => {
  await t?.close();
});

const recorded = async () => Object.fromEntries((await readInputOffsets(t.redis, t.prefix)).map(({ partition, offset, lastRecord }) => [partition, { offset, lastRecord }]));

it("raises each partition's offset only, with its last record: a stalled scorer's late unit leaves the newer owner's record as it is", async () => {
  await t.store.recordInputsHandled([
    { topic: TOPIC, partition: 0, offset: '150', lastRecord: { offset: '149', digest: 'new-owner-149' } },
    { topic: TOPIC, partition: 1, offset: '10', lastRecord: { offset: '9', digest: 'first-9' } },
  ], identity);
  // The stalled scorer's unit, finished after the new owner went further on partition 0; partition 1 moves on.
  await t.store.recordInputsHandled([
    { topic: TOPIC, partition: 0, offset: '120', lastRecord: { offset: '119', digest: 'stalled-119' } },
    { topic: TOPIC, partition: 1, offset: '12', lastRecord: { offset: '11', digest: 'next-11' } },
  ], identity);
  // A chunk of records not handed out (transaction markers) raises the offset and keeps the last record below it.
  await t.store.recordInputsHandled([{ topic: TOPIC, partition: 1, offset: '14' }], identity);
  expect(await recorded()).toEqual({
    0: { offset: '150', lastRecord: { offset: '149', digest: 'new-owner-149' } },
    1: { offset: '14', lastRecord: { offset: '11', digest: 'next-11' } },
  });
});

it('compares offsets as numbers, not as text', async () => {
  await t.store.recordInputsHandled([{ topic: TOPIC, partition: 2, offset: '99' }], identity);
  await t.store.recordInputsHandled([{ topic: TOPIC, partition: 2, offset: '100' }], identity);
  expect((await recorded())[2]?.offset).toBe('100');
});

it("records nothing on a server the unit's fence does not name (one restarted since, which may have lost the unit's writes)", async () => {
  await t.store.recordInputsHandled([{ topic: TOPIC, partition: 3, offset: '40', lastRecord: { offset: '39', digest: 'd-39' } }], identity);
  expect(await t.store.recordInputsHandled([{ topic: TOPIC, partition: 3, offset: '50', lastRecord: { offset: '49', digest: 'd-49' } }], { ...identity, runId: 'a-server-gone' })).toBe('fenced');
  expect((await recorded())[3]).toEqual({ offset: '40', lastRecord: { offset: '39', digest: 'd-39' } });
});
