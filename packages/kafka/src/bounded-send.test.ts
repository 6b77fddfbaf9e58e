import { describe, expect, it } from 'vitest';
import { sendWithinLimit } from './bounded-send';
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
