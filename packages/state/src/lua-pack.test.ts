import { describe, expect, it } from 'vitest';
import { packForLua, type LuaPackValue } from './lua-pack';

const hex = (values: readonly LuaPackValue[]) => packForLua([values]).toString('hex');

describe('packForLua', () => {
  it('writes each integer in the shortest MessagePack form that holds it', () => {
    expect(hex([0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER])).toBe(
      '9a' + '00' + '7f' + 'cc80' + 'ccff' + 'cd0100' + 'cdffff' + 'ce00010000' + 'ceffffffff' + 'cf0000000100000000' + 'cf001fffffffffffff',
    );
    expect(hex([-1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER])).toBe(
      '9a' + 'ff' + 'e0' + 'd0df' + 'd080' + 'd1ff7f' + 'd18000' + 'd2ffff7fff' + 'd280000000' + 'd3ffffffff7fffffff' + 'd3ffe0000000000001',
    );
  });

  it('writes text as UTF-8 and raw bytes as they are, both as str (the bin type is one Redis cannot unpack)', () => {
    expect(hex(['', 'a', 'é', Buffer.from([0x00, 0xff])])).toBe('94' + 'a0' + 'a161' + 'a2c3a9' + 'a200ff');
    expect(packForLua([['x'.repeat(31)]]).subarray(0, 2).toString('hex')).toBe('91bf');
    expect(packForLua([['x'.repeat(32)]]).subarray(0, 3).toString('hex')).toBe('91d920');
    expect(packForLua([['x'.repeat(256)]]).subarray(0, 4).toString('hex')).toBe('91da0100');
    expect(packForLua([['x'.repeat(65_536)]]).subarray(0, 6).toString('hex')).toBe('91db00010000');
  });

  it('writes text the same whether it is ASCII or not, at every length form', () => {
    for (const length of [0, 1, 31, 32, 255, 256]) {
      const ascii = 'a'.repeat(length);
      const packed = packForLua([[ascii]]);
      expect(packed.subarray(packed.length - length).toString('utf8')).toBe(ascii);
      expect(packed.length).toBe(1 + (length <= 31 ? 1 : length <= 255 ? 2 : 3) + length);
    }
    expect(hex(['aé', 'é'.repeat(100)]).slice(0, 14)).toBe('92' + 'a361c3a9' + 'd9c8');
  });

  it('heads the array with its length in the shortest form', () => {
    expect(hex(Array.from({ length: 15 }, () => 0)).slice(0, 2)).toBe('9f');
    expect(hex(Array.from({ length: 16 }, () => 0)).slice(0, 6)).toBe('dc0010');
    expect(hex(Array.from({ length: 65_536 }, () => 0)).slice(0, 10)).toBe('dd00010000');
  });

  it('packs the groups one after another as one array', () => {
    expect(packForLua([[1], [], [2, 'a']]).toString('hex')).toBe(hex([1, 2, 'a']));
    expect(packForLua([]).toString('hex')).toBe('90');
  });

  it('grows past its scratch space and hands out copies that the next call does not overwrite', () => {
    const large = packForLua([['y'.repeat(200_000)]]);
    const small = packForLua([['z']]);
    expect(large.length).toBe(1 + 5 + 200_000);
    expect(large.subarray(6).every((byte) => byte === 'y'.charCodeAt(0))).toBe(true);
    expect(small.toString('hex')).toBe('91a17a');
  });

  it('refuses what a Lua number would not hold exactly', () => {
    expect(() => packForLua([[0.5]])).toThrow(RangeError);
    expect(() => packForLua([[2 ** 53]])).toThrow(RangeError);
    expect(() => packForLua([[Number.NaN]])).toThrow(RangeError);
  });
});
