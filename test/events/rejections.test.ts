// Each kind of bad input of SPEC §3, sent through Kafka, is rejected with its own reason; and a rejected
// record copied to the DLQ with `dlqHeaders` keeps its original key, value and headers.
import type { InputEvent } from '@churnscore/domain';
import { dlqHeaders, frame, REJECT_REASONS, type RejectReason, type Rejection } from '@churnscore/events';
import {
  SAMPLE_NOW,
  sampleActivity,
  sampleContract,
  sampleOpportunity,
  withEnumSymbol,
  withFieldType,
  withoutField,
} from '@churnscore/events/testing';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsTestBed, type ConsumedRecord } from './support';

const bed = new EventsTestBed('rejections');

beforeAll(() => bed.setUp());
afterAll(() => bed.tearDown());

interface BadInput {
  name: string;
  topic: string;
  key: string | null;
  value: Buffer | null;
  reason: RejectReason;
  field?: string;
}

const KEY = 'cust-0001';
const CASE_HEADER = 'test.case';

/** A record as a producer with another schema (registered under a subject of its own) would write it. */
async function writtenWith(producer: string, kind: InputEvent['kind'], schema: string, record: object): Promise<Buffer> {
  const id = await bed.register(`${bed.topicOf(kind)}-${producer}-value`, schema);
  return frame(id, avro.Type.forSchema(JSON.parse(schema) as avro.Schema).toBuffer(record));
}

function avroRecord<E extends InputEvent>(event: E): Omit<E, 'kind'> {
  const { kind: _kind, ...fields } = event;
  return fields;
}

const encoded = (event: InputEvent) => bed.codec.encode(bed.topicOf(event.kind), event);

/** Well-formed records whose content breaks a rule of SPEC §3. */
const SEMANTIC_CASES = [
  ['wrong currency', sampleOpportunity({ currency: 'EUR' }), 'WRONG_CURRENCY', 'currency'],
  ['negative amount', sampleOpportunity({ amount: -100 }), 'NEGATIVE_AMOUNT', 'amount'],
  ['negative contract value', sampleContract({ totalValue: -1 }), 'NEGATIVE_AMOUNT', 'totalValue'],
  ['occurredAt in the future', sampleActivity({ occurredAt: SAMPLE_NOW + 3_600_001 }), 'FUTURE_OCCURRED_AT', 'occurredAt'],
  ['customerId too long', sampleActivity({ customerId: 'c'.repeat(129) }), 'INVALID_FIELD', 'customerId'],
  ['NPS out of 0–10', sampleActivity({ value: 11 }), 'INVALID_FIELD', 'value'],
  ['sentiment out of −2…+2', sampleActivity({ activityType: 'CSM_SENTIMENT', value: 3 }), 'INVALID_FIELD', 'value'],
  ['NPS without a score', sampleActivity({ value: null }), 'MISSING_FIELD', 'value'],
  ['probability out of 0–1', sampleOpportunity({ probability: 1.5 }), 'INVALID_FIELD', 'probability'],
  ['contract ending before it starts', sampleContract({ endDate: Date.UTC(2024, 11, 31) }), 'INVALID_FIELD', 'endDate'],
  ['empty eventId', sampleActivity({ eventId: '' }), 'INVALID_FIELD', 'eventId'],
] as const;

async function badInputs(): Promise<BadInput[]> {
  const activity = bed.topicOf('activity');
  const validActivity = await encoded(sampleActivity());
  const { currency: _currency, ...opportunityWithoutCurrency } = avroRecord(sampleOpportunity());
  const semantic = await Promise.all(
    SEMANTIC_CASES.map(async ([name, event, reason, field]) => ({
      name,
      topic: bed.topicOf(event.kind),
      key: event.customerId,
      value: await encoded(event),
      reason,
      field,
    })),
  );
  return [
    { name: 'garbage bytes', topic: activity, key: KEY, value: Buffer.from('definitely not avro'), reason: 'NOT_WIRE_FORMAT' },
    { name: 'shorter than the header', topic: activity, key: KEY, value: Buffer.from([0, 0, 1]), reason: 'NOT_WIRE_FORMAT' },
    {
      name: 'unknown schema id',
      topic: activity,
      key: KEY,
      value: frame(2_000_000_000, validActivity.subarray(5)),
      reason: 'UNKNOWN_SCHEMA_ID',
    },
    {
      name: 'producer schema lacking a field',
      topic: bed.topicOf('opportunity'),
      key: KEY,
      value: await writtenWith('no-currency', 'opportunity', withoutField('opportunity', 'currency'), opportunityWithoutCurrency),
      reason: 'MISSING_FIELD',
      field: 'currency',
    },
    {
      name: 'producer schema with another type',
      topic: activity,
      key: KEY,
      value: await writtenWith('text-time', 'activity', withFieldType('activity', 'occurredAt', 'string'), {
        ...avroRecord(sampleActivity()),
        occurredAt: 'yesterday',
      }),
      reason: 'SCHEMA_MISMATCH',
    },
    {
      name: 'enum symbol of a newer producer',
      topic: activity,
      key: KEY,
      value: await writtenWith('webinar', 'activity', withEnumSymbol('activity', 'activityType', 'WEBINAR'), {
        ...avroRecord(sampleActivity()),
        activityType: 'WEBINAR',
      }),
      reason: 'UNKNOWN_ENUM_SYMBOL',
      field: 'activityType',
    },
    {
      name: 'truncated body',
      topic: activity,
      key: KEY,
      value: validActivity.subarray(0, validActivity.length - 4),
      reason: 'AVRO_DECODE_FAILED',
    },
    { name: 'tombstone', topic: activity, key: KEY, value: null, reason: 'EMPTY_VALUE' },
    {
      name: 'key differs from customerId',
      topic: activity,
      key: 'cust-0002',
      value: validActivity,
      reason: 'KEY_MISMATCH',
      field: 'customerId',
    },
    // The DLQ carries no events of its own, so the codec does not decode it.
    { name: 'record on a topic with no events', topic: bed.topics.dlq, key: KEY, value: validActivity, reason: 'UNKNOWN_TOPIC' },
    ...semantic,
  ];
}

describe('bad input through Kafka', () => {
  it('is rejected with a distinct reason per kind, and keeps its key, value and headers in the DLQ', async () => {
    const inputs = await badInputs();
    expect(new Set(inputs.map((input) => input.reason))).toEqual(new Set(REJECT_REASONS));

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
