import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { textLengthProblem } from './input-limits';

/** The rule as SPEC §3 states it: 1 to maxLength characters, a character being a code point. */
const byCodePoints = (value: string, maxLength: number) => {
  const length = [...value].length;
  return length < 1 || length > maxLength ? `must be 1–${maxLength} characters` : null;
};

describe('textLengthProblem', () => {
  it('counts code points: a surrogate pair is one character, an unpaired surrogate one too', () => {
    expect(textLengthProblem('😀'.repeat(4), 4)).toBeNull();
    expect(textLengthProblem('😀'.repeat(5), 4)).toBe('must be 1–4 characters');
    expect(textLengthProblem('\ud83d'.repeat(5), 4)).toBe('must be 1–4 characters');
    expect(textLengthProblem('\ude00\ud83d😀', 3)).toBeNull();
    expect(textLengthProblem('', 4)).toBe('must be 1–4 characters');
  });

  it('agrees with counting the characters of any string, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '😀', '\ud83d', '\ude00', 'é'), maxLength: 40 }), fc.integer({ min: 1, max: 30 }), (value, maxLength) => {
        expect(textLengthProblem(value, maxLength)).toBe(byCodePoints(value, maxLength));
      }),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer({ min: 1, max: 30 }), (value, maxLength) => {
        expect(textLengthProblem(value, maxLength)).toBe(byCodePoints(value, maxLength));
      }),
      { numRuns: 2_000 },
    );
  });
});
