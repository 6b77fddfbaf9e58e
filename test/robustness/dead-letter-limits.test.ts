// Issue 9, items 3 and 4: records a real producer sends that used to stop the scorer for good. Each is
// produced by Kafka's own Java client (not the product's code path): a rejected record with a null-valued
// header, one with headers named like Object.prototype members, one with 20,000 headers, a rejected record as
// large as the broker accepts, and a backlog of 5,000 rejected records under one key. Every one must reach the DLQ (bounded to
// the broker's limit), and the consumer go on consuming; also once an operator lowered the DLQ's limit while the scorer
// ran (an outside tester's scorer stopped at its next large copy).
import { sampleOpportunity } from '@churnscore/events/testing';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAD_INPUT_NOW } from '../events/bad-inputs';
import { produceWithJavaClient, type RawRecord } from '../interop/java-producer';
import { testStack } from '../harness/stack';
import { eventually, ManualClock, ScorerTestBed } from '../scorer/support';

const bed = new ScorerTestBed('dead-letter-limits');
const BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
const NOT_WIRE_FORMAT = (size: number) => Buffer.alloc(size, 0x7b);
const BACKLOG = 5_000;

const produce = (records: RawRecord[], producerProperties?: Record<string, string>) =>
  produceWithJavaClient({ brokers: testStack().kafkaBrokers, compression: 'none', records, producerProperties });

/** The DLQ records of one test case, told apart by the key they were produced under. */
const lettersOf = async (key: string, count: number) => {
  const letters = await bed.consumeUntil(
    [bed.topics.dlq],
    (records) => records.filter((r) => r.key?.toString() === key).length >= count,
    90_000,
  );
  return letters.filter((r) => r.key?.toString() === key);
};

/** A valid event after each case: scored only if the consumer is still consuming. */
async function expectStillConsuming(customerId: string): Promise<void> {
  const event = sampleOpportunity({ customerId, eventId: `${customerId}-after`, opportunityId: 'after', occurredAt: BAD_INPUT_NOW - 60_000 });
  await produce([{ topic: bed.topics.opportunity, key: customerId, value: await bed.codec.encode(bed.topics.opportunity, event) }]);
  await eventually(() => bed.scoreHash(customerId), (score) => Number(score.revision) >= 1, 60_000, `${customerId} to be scored`);
}

beforeAll(async () => {
  await bed.setUp();
  await bed.startScorer({ clock: new ManualClock(BAD_INPUT_NOW).now });
});
afterAll(() => bed.tearDown());

describe('records that used to stop the consumer', () => {
  it('a rejected record with a null-valued header reaches the DLQ without the null, which is named', async () => {
    await produce([{ topic: bed.topics.activity, key: 'null-header', value: NOT_WIRE_FORMAT(20), headers: { trace: 't-1', absent: null } }]);
    const [letter] = await lettersOf('null-header', 1);
    expect(String(letter!.headers['dlq.reason'])).toBe('NOT_WIRE_FORMAT');
    expect(String(letter!.headers['dlq.null-headers'])).toBe('absent');
    expect(String(letter!.headers.trace)).toBe('t-1');
    await expectStillConsuming('after-null-header');
  });

  it('a rejected record as large as the broker takes reaches the DLQ truncated, saying so and where the original is', async () => {
    const value = NOT_WIRE_FORMAT(BROKER_DEFAULT_MAX_MESSAGE_BYTES - 200);
    await produce([{ topic: bed.topics.activity, key: 'huge', value }], { 'max.request.size': String(2 * BROKER_DEFAULT_MAX_MESSAGE_BYTES) });
    const [letter] = await lettersOf('huge', 1);
    expect(String(letter!.headers['dlq.reason'])).toBe('NOT_WIRE_FORMAT');
    expect(String(letter!.headers['dlq.truncated'])).toBe('value');
    expect(Number(letter!.headers['dlq.original-bytes'])).toBeGreaterThan(value.length);
    expect(String(letter!.headers['dlq.source.topic'])).toBe(bed.topics.activity);
    expect(value.subarray(0, letter!.value!.length)).toEqual(letter!.value);
    expect(letter!.value!.length).toBeGreaterThan(value.length - 2_000);
    await expectStillConsuming('after-huge');
  });

  it('a rejected record with headers named like Object.prototype members, __proto__ or a dlq.* header reaches the DLQ with them', async () => {
    // Parsed, not written as a literal: a literal's `__proto__` would set the object's prototype, not add a header.
    const headers = JSON.parse('{"toString": "t", "constructor": "c", "__proto__": "p", "dlq.reason": "FORGED"}') as Record<string, string>;
    await produce([{ topic: bed.topics.activity, key: 'prototype-headers', value: NOT_WIRE_FORMAT(20), headers }]);
    const [letter] = await lettersOf('prototype-headers', 1);
    expect(String(letter!.headers['dlq.reason'])).toBe('NOT_WIRE_FORMAT');
    expect(String(letter!.headers['dlq.replaced-headers'])).toBe('dlq.reason');
    expect(Object.getOwnPropertyNames(letter!.headers)).toEqual(expect.arrayContaining(['toString', 'constructor', '__proto__']));
    expect(['toString', 'constructor', '__proto__'].map((name) => String(Object.getOwnPropertyDescriptor(letter!.headers, name)?.value))).toEqual(['t', 'c', 'p']);
    await expectStillConsuming('after-prototype-headers');
  });

  it('a record of 20,000 headers is consumed like any other (read with a copy of every header per header, it took 75 s)', async () => {
    const headers = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`h${i}`, '']));
    await produce([{ topic: bed.topics.activity, key: 'many-headers', value: NOT_WIRE_FORMAT(20), headers }]);
    const [letter] = await lettersOf('many-headers', 1);
    expect(String(letter!.headers['dlq.reason'])).toBe('NOT_WIRE_FORMAT');
    expect(Object.keys(letter!.headers).filter((name) => name.startsWith('h'))).toHaveLength(20_000);
    await expectStillConsuming('after-many-headers');
  });

  it(`a backlog of ${BACKLOG} rejected records under one key reaches the DLQ whole, in order`, async () => {
    await produce(
      Array.from({ length: BACKLOG }, (_, i) => ({ topic: bed.topics.activity, key: 'bad-backlog', value: NOT_WIRE_FORMAT(200 + (i % 7)) })),
    );
    const letters = await lettersOf('bad-backlog', BACKLOG);
    expect(letters).toHaveLength(BACKLOG);
    const offsets = letters.map((l) => Number(l.headers['dlq.source.offset']));
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    await expectStillConsuming('after-bad-backlog');
  });
});

describe("the DLQ's max.message.bytes lowered while the scorer runs", () => {
  it('a large rejected record reaches it cut to the new limit, and the consumer goes on consuming', async () => {
    const admin = new Kafka({ clientId: 'dead-letter-limits', brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: bed.topics.dlq, configEntries: [{ name: 'max.message.bytes', value: '100000' }] }],
      });
    } finally {
      await admin.disconnect();
    }
    const value = NOT_WIRE_FORMAT(300_000);
    await produce([{ topic: bed.topics.activity, key: 'after-lowering', value }]);
    const [letter] = await lettersOf('after-lowering', 1);
    expect(String(letter!.headers['dlq.truncated'])).toBe('value');
    expect(letter!.value!.length).toBeLessThan(100_000);
    expect(value.subarray(0, letter!.value!.length)).toEqual(letter!.value);
    await expectStillConsuming('after-lowered-limit');
  });
});
