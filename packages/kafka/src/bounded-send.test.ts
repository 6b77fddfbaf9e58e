import type { Producer, ProducerBatch } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { sendWithinLimit } from './bounded-send';

/** A producer that records each sendBatch call's messages. */
function recordingProducer(): { producer: Producer; calls: ProducerBatch[] } {
  const calls: ProducerBatch[] = [];
  const producer = {
    sendBatch: (batch: ProducerBatch) => {
      calls.push(structuredClone(batch));
      return Promise.resolve([]);
    },
  } as unknown as Producer;
  return { producer, calls };
}

const message = (i: number, bytes: number) => ({ key: `k${i}`, value: Buffer.alloc(bytes, i) });

describe('sendWithinLimit', () => {
  it('splits a large send into calls within the limit, keeping the order of every topic', async () => {
    const { producer, calls } = recordingProducer();
    const dlq = Array.from({ length: 5_000 }, (_, i) => message(i, 250));
    const alerts = Array.from({ length: 10 }, (_, i) => message(i, 100));
    await sendWithinLimit(producer, [{ topic: 'dlq', messages: dlq }, { topic: 'alerts', messages: alerts }], 100_000);

    expect(calls.length).toBeGreaterThan(10);
    for (const call of calls) {
      const bytes = call.topicMessages!.flatMap((t) => t.messages).reduce((sum, m) => sum + (m.value as Buffer).length, 0);
      expect(bytes).toBeLessThanOrEqual(100_000);
      expect(call.acks).toBe(-1);
    }
    const sent = (topic: string) => calls.flatMap((c) => c.topicMessages!.filter((t) => t.topic === topic).flatMap((t) => t.messages.map((m) => m.key)));
    expect(sent('dlq')).toEqual(dlq.map((m) => m.key));
    expect(sent('alerts')).toEqual(alerts.map((m) => m.key));
  });

  it('sends a small batch in one call, and nothing at all for no messages', async () => {
    const { producer, calls } = recordingProducer();
    await sendWithinLimit(producer, [{ topic: 'a', messages: [message(1, 10)] }, { topic: 'b', messages: [message(2, 10)] }], 100_000);
    expect(calls).toHaveLength(1);
    await sendWithinLimit(producer, [], 100_000);
    expect(calls).toHaveLength(1);
  });
});
