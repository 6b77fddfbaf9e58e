import { describe, expect, it } from 'vitest';
import { dlqHeaders } from './dlq';

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
