// Every kind of bad input of SPEC §3 as a Kafka record, for the codec's tests and the scorer's DLQ tests.
import type { InputEvent } from '@churnscore/domain';
import { frame, type RejectReason } from '@churnscore/events';
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
import type { EventsTestBed } from './support';

/** The clock against which the bad inputs are bad (occurredAt in the future is judged against it). */
export const BAD_INPUT_NOW = SAMPLE_NOW;

export interface BadInput {
  name: string;
  topic: string;
  key: string | null;
  value: Buffer | null;
  reason: RejectReason;
  field?: string;
}

/** The customer every bad input is about (the sample events' customerId). */
const BAD_INPUT_KEY = 'cust-0001';

/** A record as a producer with another schema (registered under a subject of its own) would write it. */
async function writtenWith(bed: EventsTestBed, producer: string, kind: InputEvent['kind'], schema: string, record: object): Promise<Buffer> {
  const id = await bed.register(`${bed.topicOf(kind)}-${producer}-value`, schema);
  return frame(id, avro.Type.forSchema(JSON.parse(schema) as avro.Schema).toBuffer(record));
}

function avroRecord<E extends InputEvent>(event: E): Omit<E, 'kind'> {
  const { kind: _kind, ...fields } = event;
  return fields;
}


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

/** One record per kind of bad input, on the test bed's topics. */
export async function badInputs(bed: EventsTestBed): Promise<BadInput[]> {
  const encoded = (event: InputEvent) => bed.codec.encode(bed.topicOf(event.kind), event);
  const activity = bed.topicOf('activity');
  const validActivity = await encoded(sampleActivity());
  // An eventId written as Latin-1 ("Müller", ü as the byte 0xfc): not UTF-8, as Avro strings must be.
  const latin1EventId = Buffer.from(await encoded(sampleActivity({ eventId: 'evt-MXller' })));
  latin1EventId[latin1EventId.indexOf('MXller') + 1] = 0xfc;
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
    { name: 'garbage bytes', topic: activity, key: BAD_INPUT_KEY, value: Buffer.from('definitely not avro'), reason: 'NOT_WIRE_FORMAT' },
    { name: 'shorter than the header', topic: activity, key: BAD_INPUT_KEY, value: Buffer.from([0, 0, 1]), reason: 'NOT_WIRE_FORMAT' },
    {
      name: 'unknown schema id',
      topic: activity,
      key: BAD_INPUT_KEY,
      value: frame(2_000_000_000, validActivity.subarray(5)),
      reason: 'UNKNOWN_SCHEMA_ID',
    },
    {
      name: 'producer schema lacking a field',
      topic: bed.topicOf('opportunity'),
      key: BAD_INPUT_KEY,
      value: await writtenWith(bed, 'no-currency', 'opportunity', withoutField('opportunity', 'currency'), opportunityWithoutCurrency),
      reason: 'MISSING_FIELD',
      field: 'currency',
    },
    {
      name: 'producer schema with another type',
      topic: activity,
      key: BAD_INPUT_KEY,
      value: await writtenWith(bed, 'text-time', 'activity', withFieldType('activity', 'occurredAt', 'string'), {
        ...avroRecord(sampleActivity()),
        occurredAt: 'yesterday',
      }),
      reason: 'SCHEMA_MISMATCH',
    },
    {
      name: 'enum symbol of a newer producer',
      topic: activity,
      key: BAD_INPUT_KEY,
      value: await writtenWith(bed, 'webinar', 'activity', withEnumSymbol('activity', 'activityType', 'WEBINAR'), {
        ...avroRecord(sampleActivity()),
        activityType: 'WEBINAR',
      }),
      reason: 'UNKNOWN_ENUM_SYMBOL',
      field: 'activityType',
    },
    {
      name: 'truncated body',
      topic: activity,
      key: BAD_INPUT_KEY,
      value: validActivity.subarray(0, validActivity.length - 4),
      reason: 'AVRO_DECODE_FAILED',
    },
    { name: 'a string that is not UTF-8', topic: activity, key: BAD_INPUT_KEY, value: latin1EventId, reason: 'AVRO_DECODE_FAILED' },
    { name: 'tombstone', topic: activity, key: BAD_INPUT_KEY, value: null, reason: 'EMPTY_VALUE' },
    {
      name: 'key differs from customerId',
      topic: activity,
      key: 'cust-0002',
      value: validActivity,
      reason: 'KEY_MISMATCH',
      field: 'customerId',
    },
    // The DLQ carries no events of its own, so the codec does not decode it.
    { name: 'record on a topic with no events', topic: bed.topics.dlq, key: BAD_INPUT_KEY, value: validActivity, reason: 'UNKNOWN_TOPIC' },
    ...semantic,
  ];
}

