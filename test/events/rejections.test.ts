// Each kind of bad input of SPEC §3, sent through Kafka, is rejected with its own reason; and a rejected
// record copied to the DLQ with `dlqHeaders` keeps its original key, value and headers.
import { DECODE_REJECT_REASONS, dlqHeaders, type Rejection } from '@churnscore/events';
import { SAMPLE_NOW } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badInputs } from './bad-inputs';
import { EventsTestBed, type ConsumedRecord } from './support';

const bed = new EventsTestBed('rejections');

beforeAll(() => bed.setUp());
afterAll(() => bed.tearDown());

const CASE_HEADER = 'test.case';

describe('bad input through Kafka', () => {
  it('is rejected with a distinct reason per kind, and keeps its key, value and headers in the DLQ', async () => {
    const inputs = await badInputs(bed);
    expect(new Set(inputs.map((input) => input.reason))).toEqual(new Set(DECODE_REJECT_REASONS));

    for (const input of inputs) {
      await bed.produce(input.topic, [{ key: input.key, value: input.value, headers: { [CASE_HEADER]: input.name } }]);
    }
    const records = await bed.consume([...new Set(inputs.map((input) => input.topic))], inputs.length);
    const caseOf = (record: ConsumedRecord) => inputs.find((input) => input.name === String(record.headers[CASE_HEADER]))!;

    const rejections: Array<[ConsumedRecord, Rejection]> = [];
    for (const record of records) {
      const input = caseOf(record);
      const result = await bed.codec.decode(record.topic, record.key, record.value, SAMPLE_NOW);
      expect(result.ok, input.name).toBe(false);
      if (result.ok) continue;
      expect({ case: input.name, reason: result.rejection.reason, field: result.rejection.field }).toEqual({
        case: input.name,
        reason: input.reason,
        field: input.field,
      });
      // Messages name fields and limits only: never an identifier or other content.
      expect(result.rejection.message).not.toMatch(/cust-|ccccc|definitely|yesterday/);
      rejections.push([record, result.rejection]);
    }

    const failedAt = SAMPLE_NOW;
    for (const [record, rejection] of rejections) {
      const source = { topic: record.topic, partition: record.partition, offset: record.offset };
      await bed.produce(bed.topics.dlq, [
        { key: record.key, value: record.value, headers: { ...record.headers, ...dlqHeaders(rejection, source, failedAt) } },
      ]);
    }
    const alreadyOnDlq = inputs.filter((input) => input.topic === bed.topics.dlq).length;
    const dead = (await bed.consume([bed.topics.dlq], alreadyOnDlq + rejections.length)).filter(
      (record) => record.headers['dlq.reason'] !== undefined,
    );
    expect(dead).toHaveLength(rejections.length);
    for (const letter of dead) {
      const [original, rejection] = rejections.find(([record]) => caseOf(record) === caseOf(letter))!;
      expect(letter.key).toEqual(original.key);
      expect(letter.value).toEqual(original.value);
      expect(String(letter.headers['dlq.reason'])).toBe(rejection.reason);
      expect(String(letter.headers['dlq.source.topic'])).toBe(original.topic);
      expect(String(letter.headers['dlq.source.offset'])).toBe(original.offset);
    }
  });
});
