import { describe, expect, it } from 'vitest';
import { recordDigest } from '@churnscore/kafka';
import { kafkaMessage } from '@churnscore/kafka/testing';
import { InputOffsetsGuard, InputOffsetsWentBackError, inputsHandledTo } from './input-offsets-guard';

const TOPIC = 'crm.activity.v1';

describe('InputOffsetsGuard', () => {
  it('stops a partition whose log ends before the offset it was consumed to, and only that', () => {
    const guard = new InputOffsetsGuard('Rebuild the namespace.');
    guard.handledTo(TOPIC, 0, 20);
    expect(() => guard.check(TOPIC, 0, 20)).not.toThrow();
    expect(() => guard.check(TOPIC, 0, 25)).not.toThrow();
    // Never consumed here: nothing to compare with.
    expect(() => guard.check(TOPIC, 1, 0)).not.toThrow();
    expect(() => guard.check(TOPIC, 0, 5)).toThrow(InputOffsetsWentBackError);
    expect(() => guard.check(TOPIC, 0, 5)).toThrow(`input partition ${TOPIC}/0 ends at offset 5, before offset 20 that this namespace consumed it to`);
    expect(() => guard.check(TOPIC, 0, 5)).toThrow(/Rebuild the namespace\.$/);
  });

  it('takes offsets committed lower (an operator reset them) for where the partition stands', () => {
    const guard = new InputOffsetsGuard('');
    guard.handledTo(TOPIC, 0, 20);
    guard.handledTo(TOPIC, 0, 3);
    expect(() => guard.check(TOPIC, 0, 5)).not.toThrow();
  });
});

describe('inputsHandledTo', () => {
  it("gives where each chunk leaves its partition, with the last record handed out below it; a chunk of records not handed out gives none", () => {
    const [first, last] = [kafkaMessage(3), kafkaMessage(4)];
    expect(
      inputsHandledTo([
        { topic: TOPIC, partition: 0, messages: [first, last], nextOffset: '9' },
        { topic: TOPIC, partition: 1, messages: [], nextOffset: '15' },
      ]),
    ).toEqual([
      { topic: TOPIC, partition: 0, offset: '9', lastRecord: { offset: '4', digest: recordDigest(last.key, last.value) } },
      { topic: TOPIC, partition: 1, offset: '15' },
    ]);
  });
});
