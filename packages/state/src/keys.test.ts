import { TEXT_FIELD_MAX_LENGTH, textFieldProblem } from '@churnscore/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeKeyPart, encodeKeyPart, fnv1a32, keySchema } from './keys';

describe('customer ids in keys', () => {
  it('escapes the hash-tag braces and the escape character, reversibly', () => {
    for (const id of ['plain-42', 'a{b}c', '%7B', '}{', 'x:y:z', 'ünï©ødé ✓', '%%{{}}%']) {
      const encoded = encodeKeyPart(id);
      expect(encoded).not.toMatch(/[{}]/);
      expect(decodeKeyPart(encoded)).toBe(id);
    }
    expect(encodeKeyPart('acme:{eu}%1')).toBe('acme:%7Beu%7D%251');
  });

  it('puts every key of a customer under one hash tag', () => {
    const keys = keySchema('chs:v1').customer('a{b}');
    expect(Object.values(keys).every((key) => key.startsWith('chs:v1:cust:{a%7Bb%7D}:'))).toBe(true);
    expect(keys.score).toBe('chs:v1:cust:{a%7Bb%7D}:score');
  });

  it('refuses customerIds outside 1–128 characters (code points, as validation counts) and prefixes with braces', () => {
    expect(() => keySchema().customer('')).toThrow(RangeError);
    expect(() => keySchema().customer('x'.repeat(129))).toThrow(RangeError);
    expect(() => keySchema().customer('😀'.repeat(129))).toThrow(RangeError);
    expect(() => keySchema('{chs}')).toThrow(RangeError);
  });

  it('makes keys for every customerId input validation accepts, 100 emoji (200 UTF-16 units) included', () => {
    expect(keySchema('p').customer('😀'.repeat(100)).state).toBe(`p:cust:{${'😀'.repeat(100)}}:state`);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: TEXT_FIELD_MAX_LENGTH.customerId }), (customerId) => {
        fc.pre(textFieldProblem(customerId, TEXT_FIELD_MAX_LENGTH.customerId) === null);
        expect(() => keySchema().customer(customerId)).not.toThrow();
      }),
      { seed: 9 },
    );
  });

  it('names rankings overall and per segment, and due shards with their own hash tag', () => {
    const keys = keySchema('chs:v1', 16);
    expect(keys.ranking('churnRisk')).toBe('chs:v1:rank:churnRisk');
    expect(keys.ranking('health', 'MID {MARKET}')).toBe('chs:v1:rank:health:seg:MID %7BMARKET%7D');
    expect(keys.dueShard(3)).toBe('chs:v1:due:{3}');
    expect(keys.epoch).toBe('chs:v1:epoch');
  });

  it('assigns shards by FNV-1a of the UTF-8 customerId (stable across processes)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    const keys = keySchema('chs:v1', 16);
    expect(keys.dueShardOf('foobar')).toBe(0xbf9cf968 % 16);
  });
});
