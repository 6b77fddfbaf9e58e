import { describe, expect, it } from 'vitest';
import { parseIsoInstant } from './iso-instant';

describe('parseIsoInstant', () => {
  it.each([
    ['2025-03-01', Date.UTC(2025, 2, 1)],
    ['2025-03-01T09:30:00Z', Date.UTC(2025, 2, 1, 9, 30)],
    ['2025-03-01T09:30Z', Date.UTC(2025, 2, 1, 9, 30)],
    ['2025-03-01 09:30:15.250Z', Date.UTC(2025, 2, 1, 9, 30, 15, 250)],
    ['2025-03-01T11:30:00+02:00', Date.UTC(2025, 2, 1, 9, 30)],
    ['2025-03-01T04:30:00-0500', Date.UTC(2025, 2, 1, 9, 30)],
    ['2025-03-01T09:30:00.123456789Z', Date.UTC(2025, 2, 1, 9, 30, 0, 123)],
  ])('reads %s', (text, expected) => expect(parseIsoInstant(text)).toBe(expected));

  it.each(['2025-02-30', '2025-13-01T00:00:00Z', '2025-03-01T24:00:00Z', '2025-03-01T09:30:00', '20250301', '1718000000000', 'yesterday', ''])(
    'refuses %j',
    (text) => expect(parseIsoInstant(text)).toBeNull(),
  );
});
