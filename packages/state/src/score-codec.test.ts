import { describe, expect, it } from 'vitest';
import { flattenFields } from './score-codec';

describe('flattenFields', () => {
  it('joins nested names with dots and leaves out nulls', () => {
    expect(flattenFields({ a: 1, b: { c: 'x', d: null, e: { f: 0 } }, g: null })).toEqual(['a', '1', 'b.c', 'x', 'b.e.f', '0']);
  });
});
