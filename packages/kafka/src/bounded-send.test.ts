import { ConfigError } from '@churnscore/config';
import type { Admin, ProducerBatch, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RecordBatchLimit, RecordBatchLimitLoweredError, RecordBatchRefusedError, sendWithinLimit } from './bounded-send';
import { RecordingProducer } from './testing';

const message = (i: number, bytes: number) => ({ key: `k${i}`, value: Buffer.alloc(bytes, i) });

describe('sendWithinLimit', () => {
  it('splits a large send into calls within the limit, keeping the order of every topic', async () => {
    const producer = new RecordingProducer();
    const calls = producer.batches;
    const dlq = Array.from({ length: 5_000 }, (_, i) => message(i, 250));
    const alerts = Array.from({ length: 10 }, (_, i) => message(i, 100));
    await sendWithinLimit(producer, [{ topic: 'dlq', messages: dlq }, { topic: 'alerts', messages: alerts }], 100_000);

    expect(calls.length).toBeGreaterThan(10);
    for (const call of calls) {
      const bytes = call.topicMessages!.flatMap((t) => t.messages).reduce((sum, m) => sum + (m.value as Buffer).length, 0);
      expect(bytes).toBeLessThanOrEqual(100_000);
      expect(call.acks).toBe(-1);
    }
    expect(producer.sent('dlq').map((m) => m.key)).toEqual(dlq.map((m) => m.key));
    expect(producer.sent('alerts').map((m) => m.key)).toEqual(alerts.map((m) => m.key));
  });

  it('sends a small batch in one call, and nothing at all for no messages', async () => {
    const producer = new RecordingProducer();
    const calls = producer.batches;
    await sendWithinLimit(producer, [{ topic: 'a', messages: [message(1, 10)] }, { topic: 'b', messages: [message(2, 10)] }], 100_000);
    expect(calls).toHaveLength(1);
    await sendWithinLimit(producer, [], 100_000);
    expect(calls).toHaveLength(1);
  });
});

/** A topic whose `max.message.bytes` an operator may change: the broker refuses a larger batch, as Kafka does. */
class TopicWithLimit extends RecordingProducer {
  constructor(public maxMessageBytes: number) {
    super();
  }

  readonly admin = {
    describeConfigs: () =>
      Promise.resolve({ resources: [{ resourceName: 'dlq', configEntries: [{ configName: 'max.message.bytes', configValue: String(this.maxMessageBytes) }] }] }),
  } as unknown as Admin;

  override sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const bytes = (batch.topicMessages ?? []).flatMap((t) => t.messages).reduce((sum, m) => sum + (m.value as Buffer).length, 0);
    if (bytes > this.maxMessageBytes) {
      return Promise.reject(Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { type: 'MESSAGE_TOO_LARGE', retriable: false }));
    }
    return super.sendBatch(batch);
  }
}

describe('RecordBatchLimit', () => {
  const messages = Array.from({ length: 20 }, (_, i) => message(i, 10_000));

  it("reads the topics' limit, and again once lowered under it: the send fails once, to be retried within the new limit", async () => {
    const topic = new TopicWithLimit(200_000);
    const limit = await RecordBatchLimit.read(topic.admin, ['dlq']);
    expect(limit.bytes).toBe(200_000 - 1024);
    await limit.send(topic, [{ topic: 'dlq', messages }]);
    expect(topic.batches).toHaveLength(2);

    topic.maxMessageBytes = 50_000;
    await expect(limit.send(topic, [{ topic: 'dlq', messages }])).rejects.toThrow(
      new RecordBatchLimitLoweredError('dlq refused a record batch of up to 198976 bytes: their max.message.bytes now allows 48976, which the next attempt keeps within'),
    );
    expect(limit.bytes).toBe(50_000 - 1024);
    await limit.send(topic, [{ topic: 'dlq', messages }]);
    expect(topic.sent('dlq').slice(-20).map((m) => m.key)).toEqual(messages.map((m) => m.key));
  });

  it('is a lasting refusal, which kafkajs does not retry, when the limit read is the same: something else refuses the size', async () => {
    const topic = new TopicWithLimit(200_000);
    const limit = RecordBatchLimit.fixed(500_000);
    const refused = limit.send(topic, [{ topic: 'alerts', messages: [...messages, ...messages] }]);
    await expect(refused).rejects.toBeInstanceOf(RecordBatchRefusedError);
    await expect(refused).rejects.toMatchObject({ retriable: false, message: expect.stringContaining('alerts refused a record batch of up to 500000 bytes') });
  });

  it('refuses a limit that leaves no room for a record, naming the topic and the least it needs, at start and when read again', async () => {
    const tooSmall = /topic dlq: max\.message\.bytes 300 leaves no room for the records the service sends .* it needs at least 2048/;
    await expect(RecordBatchLimit.read(new TopicWithLimit(300).admin, ['dlq'])).rejects.toThrow(tooSmall);
    await expect(RecordBatchLimit.read(new TopicWithLimit(300).admin, ['dlq'])).rejects.toBeInstanceOf(ConfigError);
    const topic = new TopicWithLimit(200_000);
    const limit = await RecordBatchLimit.read(topic.admin, ['dlq']);
    topic.maxMessageBytes = 300;
    await expect(limit.send(topic, [{ topic: 'dlq', messages }])).rejects.toThrow(tooSmall);
  });

  it('passes any other failure on as it is', async () => {
    const failing = { sendBatch: () => Promise.reject(new Error('Connection is closed.')) };
    await expect(RecordBatchLimit.fixed(1_000).send(failing, [{ topic: 'a', messages: [message(1, 10)] }])).rejects.toThrow('Connection is closed.');
  });
});
