import { describe, expect, it } from 'vitest';
import { dlqHeaders, dlqRecord, dlqRedrive, type DlqRecord } from './dlq';
import { recordBytes } from './record-size';

describe('dlqHeaders', () => {
  const source = { topic: 'crm.opportunity.v1', partition: 3, offset: '9007199254740993' };

  it('describes why and where the record failed', () => {
    const rejection = {
      reason: 'WRONG_CURRENCY' as const,
      message: 'currency: must be the reporting currency USD, got EUR',
      field: 'currency',
    };
    expect(dlqHeaders(rejection, source, Date.UTC(2025, 5, 1, 12, 30))).toEqual({
      'dlq.reason': 'WRONG_CURRENCY',
      'dlq.message': 'currency: must be the reporting currency USD, got EUR',
      'dlq.field': 'currency',
      'dlq.source.topic': 'crm.opportunity.v1',
      'dlq.source.partition': '3',
      'dlq.source.offset': '9007199254740993',
      'dlq.failed-at': '2025-06-01T12:30:00.000Z',
    });
  });

  it('leaves out the field when no single field is to blame', () => {
    const headers = dlqHeaders({ reason: 'NOT_WIRE_FORMAT', message: 'value is not in the Confluent wire format' }, source, 0);
    expect(headers).not.toHaveProperty('dlq.field');
    expect(headers['dlq.reason']).toBe('NOT_WIRE_FORMAT');
  });
});

describe('dlqRecord', () => {
  const source = { topic: 'crm.activity.v1', partition: 0, offset: '42' };
  const rejection = { reason: 'AVRO_DECODE_FAILED' as const, message: 'Avro body does not decode' };
  const FAILED_AT = Date.UTC(2025, 5, 1);
  const LIMIT = 10_000;

  it('keeps the original key, value and headers when they fit', () => {
    const record = { key: Buffer.from('acme'), value: Buffer.from([0, 1, 2]), headers: { trace: Buffer.from('t-1') } };
    const copy = dlqRecord(record, rejection, source, FAILED_AT, LIMIT);
    expect(copy.key).toEqual(record.key);
    expect(copy.value).toEqual(record.value);
    expect(copy.headers).toMatchObject({ trace: Buffer.from('t-1'), 'dlq.reason': 'AVRO_DECODE_FAILED', 'dlq.source.offset': '42' });
    expect(copy.headers).not.toHaveProperty('dlq.truncated');
  });

  it('drops null header values, which a producer cannot send, and names them', () => {
    const record = { key: Buffer.from('acme'), value: Buffer.from('x'), headers: { empty: null, kept: 'yes', mixed: [Buffer.from('a'), null] } };
    const copy = dlqRecord(record, rejection, source, FAILED_AT, LIMIT);
    expect(copy.headers).not.toHaveProperty('empty');
    expect(copy.headers.kept).toBe('yes');
    expect(copy.headers.mixed).toEqual(Buffer.from('a'));
    expect(copy.headers['dlq.null-headers']).toBe('empty,mixed');
  });

  it('keeps a header named __proto__ or like an Object.prototype member as a header', () => {
    const headers = Object.defineProperty({ toString: Buffer.from('t') }, '__proto__', { value: Buffer.from('p'), enumerable: true });
    const copy = dlqRecord({ key: Buffer.from('acme'), value: Buffer.from('x'), headers }, rejection, source, FAILED_AT, LIMIT);
    expect(Object.getOwnPropertyDescriptor(copy.headers, '__proto__')?.value).toEqual(Buffer.from('p'));
    expect(Object.getPrototypeOf(copy.headers)).toBe(Object.prototype);
    expect(copy.headers.toString).toEqual(Buffer.from('t'));
  });

  it("gives an original header named like one of its own way to its own, and names it", () => {
    const record = { key: Buffer.from('acme'), value: Buffer.from('x'), headers: { 'dlq.reason': 'FORGED', 'dlq.source.offset': '1', trace: 't' } };
    const copy = dlqRecord(record, rejection, source, FAILED_AT, LIMIT);
    expect(copy.headers).toMatchObject({ 'dlq.reason': 'AVRO_DECODE_FAILED', 'dlq.source.offset': '42', trace: 't', 'dlq.replaced-headers': 'dlq.reason,dlq.source.offset' });
  });

  it('cuts the value first to stay within the limit, and says what was cut and how big the original was', () => {
    const record = { key: Buffer.from('acme'), value: Buffer.alloc(50_000, 7), headers: { trace: 't-1' } };
    const copy = dlqRecord(record, rejection, source, FAILED_AT, LIMIT);
    expect(recordBytes(copy)).toBeLessThanOrEqual(LIMIT);
    expect(copy.key).toEqual(record.key);
    expect(copy.headers.trace).toBe('t-1');
    expect(copy.value!.length).toBeGreaterThan(LIMIT / 2);
    expect(record.value.subarray(0, copy.value!.length)).toEqual(copy.value);
    expect(copy.headers['dlq.truncated']).toBe('value');
    expect(copy.headers['dlq.original-bytes']).toBe(String(recordBytes(record)));
  });

  it('cuts large original headers and then the key when the value alone is not enough', () => {
    const record = { key: Buffer.alloc(20_000, 1), value: Buffer.alloc(100, 2), headers: { big: Buffer.alloc(20_000, 3) } };
    const copy = dlqRecord(record, rejection, source, FAILED_AT, LIMIT);
    expect(recordBytes(copy)).toBeLessThanOrEqual(LIMIT);
    expect(copy.headers['dlq.truncated']).toBe('headers,key,value');
    expect(copy.headers['dlq.reason']).toBe('AVRO_DECODE_FAILED');
  });
});

describe('dlqRedrive', () => {
  const source = { topic: 'crm.activity.v1', partition: 2, offset: '42' };
  const rejection = { reason: 'UNKNOWN_SCHEMA_ID' as const, message: 'schema id 7 is not in the registry' };
  /** The copy as a consumer reads it back from the DLQ topic: every header value a Buffer. */
  const asConsumed = (copy: DlqRecord) => ({
    key: copy.key,
    value: copy.value,
    headers: Object.fromEntries(Object.entries(copy.headers).map(([name, value]) => [name, Array.isArray(value) ? value.map((one) => Buffer.from(one)) : Buffer.from(value)])),
  });

  it('sends the record back to its source topic as it came: key, value and its own headers, none of the DLQ ones', () => {
    const headers = JSON.parse('{"trace":"t-1","__proto__":"p","multi":["a","b"],"dlq.reason":"forged"}') as Record<string, string | string[]>;
    const original = { key: Buffer.from('acme'), value: Buffer.from([0, 0, 0, 0, 7, 1]), headers };
    const redrive = dlqRedrive(asConsumed(dlqRecord(original, rejection, source, 0, 10_000)));
    expect(redrive).toMatchObject({ kind: 'resend', reason: 'UNKNOWN_SCHEMA_ID', topic: 'crm.activity.v1', record: { key: original.key, value: original.value } });
    const sent = (redrive as Extract<typeof redrive, { kind: 'resend' }>).record.headers;
    expect(Object.keys(sent).sort()).toEqual(['__proto__', 'multi', 'trace']);
    expect(String(sent.trace)).toBe('t-1');
    expect((sent.multi as Buffer[]).map(String)).toEqual(['a', 'b']);
  });

  it('names where the original is of a copy cut to fit, or of an unread batch\'s placeholder, rather than send what it holds', () => {
    const original = { key: Buffer.from('acme'), value: Buffer.alloc(5_000, 1) };
    expect(dlqRedrive(asConsumed(dlqRecord(original, rejection, source, 0, 1_000)))).toEqual({ kind: 'not-held', reason: 'UNKNOWN_SCHEMA_ID', source });
    const placeholder = dlqRecord({ key: null, value: Buffer.alloc(0) }, { reason: 'BATCH_TOO_LARGE', message: 'not read' }, source, 0, 10_000);
    expect(dlqRedrive(asConsumed(placeholder))).toEqual({ kind: 'not-held', reason: 'BATCH_TOO_LARGE', source });
  });

  it('is null for a record that is no DLQ copy', () => {
    expect(dlqRedrive({ key: null, value: Buffer.from('x'), headers: { trace: Buffer.from('t') } })).toBeNull();
  });
});
