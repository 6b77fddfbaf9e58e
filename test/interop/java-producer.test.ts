import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsTestBed } from '../events/support';
import { testStack } from '../harness/stack';
import { produceWithJavaClient } from './java-producer';

describe('produceWithJavaClient', () => {
  const bed = new EventsTestBed('java-producer');
  beforeAll(() => bed.setUp(2));
  afterAll(() => bed.tearDown());

  it('delivers keys, values, headers and partitions as given, nulls included, in order', async () => {
    const topic = bed.topics.activity;
    await produceWithJavaClient({
      brokers: testStack().kafkaBrokers,
      // gzip: kafkajs reads it without extra codecs, so this checks the wrapper alone.
      compression: 'gzip',
      records: [
        { topic, partition: 1, key: 'customer-1', value: Buffer.from([0, 1, 2]), headers: { source: 'crm', trace: null } },
        { topic, partition: 1, key: null, value: null },
        { topic, partition: 1, key: Buffer.from([0xff]), value: Buffer.from('third') },
      ],
    });

    const records = await bed.consume([topic], 3);
    expect(records.map(({ partition, key, value, headers }) => ({ partition, key, value, headers }))).toEqual([
      { partition: 1, key: Buffer.from('customer-1'), value: Buffer.from([0, 1, 2]), headers: { source: Buffer.from('crm'), trace: null } },
      { partition: 1, key: null, value: null, headers: {} },
      { partition: 1, key: Buffer.from([0xff]), value: Buffer.from('third'), headers: {} },
    ]);
  });

  it('rejects with the Java client\'s reason when a record cannot be produced', async () => {
    await expect(
      produceWithJavaClient({
        brokers: testStack().kafkaBrokers,
        compression: 'none',
        records: [{ topic: `${bed.topics.activity}-missing`, key: 'k', value: Buffer.from('v') }],
        producerProperties: { 'max.block.ms': '2000' },
      }),
    ).rejects.toThrow(/not present in metadata/);
  });
});
