// MessagePack as the Lua of Redis reads it with `cmsgpack.unpack`: one flat array of text, raw bytes and integers.
// Redis's cmsgpack predates MessagePack's bin type (it refuses 0xc4), so raw bytes go as str, which Lua reads
// as the same bytes; a general MessagePack library would write a Buffer as bin. Only what a script is sent is
// written: no maps, no nesting, no floats (a Lua number is a double, so integers are exact up to 2⁵³).

/** A value a script can unpack: text (UTF-8), raw bytes, or a safe integer. */
export type LuaPackValue = string | Buffer | number;

const FIXARRAY_MAX = 15;
const FIXSTR_MAX = 31;
const POSITIVE_FIXINT_MAX = 127;
const NEGATIVE_FIXINT_MIN = -32;
const UINT8_MAX = 0xff;
const ASCII_MAX = 0x7f;
const UINT16_MAX = 0xffff;
const UINT32_MAX = 0xffff_ffff;
const TWO_TO_32 = 2 ** 32;
const BYTE_VALUES = 0x100;

/** The type bytes written (MessagePack specification, "formats"). */
const FORMAT = {
  fixarray: 0x90,
  fixstr: 0xa0,
  uint8: 0xcc,
  uint16: 0xcd,
  uint32: 0xce,
  uint64: 0xcf,
  int8: 0xd0,
  int16: 0xd1,
  int32: 0xd2,
  int64: 0xd3,
  str8: 0xd9,
  str16: 0xda,
  str32: 0xdb,
  array16: 0xdc,
  array32: 0xdd,
} as const;

/** Writes one call's values into a scratch buffer that grows as needed and is reused from call to call. */
class LuaPackWriter {
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private at = 0;

  pack(groups: readonly (readonly LuaPackValue[])[]): Buffer {
    this.at = 0;
    let count = 0;
    for (const group of groups) count += group.length;
    this.lengthHeader(count, FIXARRAY_MAX, FORMAT.fixarray, null, FORMAT.array16, FORMAT.array32);
    for (const group of groups) {
      for (const value of group) {
        if (typeof value === 'number') this.integer(value);
        else if (typeof value === 'string') this.text(value);
        else this.bytes(value);
      }
    }
    // A copy: the caller's command is written to the socket later, and the scratch buffer is reused before then.
    return Buffer.from(this.scratch.subarray(0, this.at));
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.scratch.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.scratch.length, this.at + bytes));
    this.scratch.copy(grown, 0, 0, this.at);
    this.scratch = grown;
  }

  /** A str's or an array's header: the shortest form its length fits (`str8` exists for str only). */
  private lengthHeader(length: number, fixMax: number, fix: number, eight: number | null, sixteen: number, thirtyTwo: number): void {
    this.reserve(5);
    if (length <= fixMax) {
      this.scratch[this.at++] = fix | length;
    } else if (eight !== null && length <= UINT8_MAX) {
      this.scratch[this.at++] = eight;
      this.scratch[this.at++] = length;
    } else if (length <= UINT16_MAX) {
      this.scratch[this.at++] = sixteen;
      this.at = this.scratch.writeUInt16BE(length, this.at);
    } else {
      this.scratch[this.at++] = thirtyTwo;
      this.at = this.scratch.writeUInt32BE(length, this.at);
    }
  }

  private strHeader(length: number): void {
    this.lengthHeader(length, FIXSTR_MAX, FORMAT.fixstr, FORMAT.str8, FORMAT.str16, FORMAT.str32);
  }

  private text(value: string): void {
    if (value.length <= UINT8_MAX && this.asciiText(value)) return;
    const length = Buffer.byteLength(value, 'utf8');
    this.strHeader(length);
    this.reserve(length);
    this.at += this.scratch.write(value, this.at, length, 'utf8');
  }

  /**
   * Short ASCII text written byte by byte, as most of what a script is sent is (field names, counters, offsets):
   * measuring and writing it through Buffer's native calls cost more than the copy. False, with nothing written,
   * for text that is not ASCII.
   */
  private asciiText(value: string): boolean {
    const length = value.length;
    const start = this.at;
    // Room for the header and the text at once: the buffer must not be replaced while it is written to.
    this.reserve(5 + length);
    this.strHeader(length);
    const s = this.scratch;
    for (let k = 0; k < length; k++) {
      const code = value.charCodeAt(k);
      if (code > ASCII_MAX) {
        this.at = start;
        return false;
      }
      s[this.at++] = code;
    }
    return true;
  }

  private bytes(value: Buffer): void {
    this.strHeader(value.length);
    this.reserve(value.length);
    this.at += value.copy(this.scratch, this.at);
  }

  private integer(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`only safe integers are packed for Lua, got ${value}`);
    this.reserve(9);
    const s = this.scratch;
    if (value >= 0) {
      if (value <= POSITIVE_FIXINT_MAX) {
        s[this.at++] = value;
      } else if (value <= UINT8_MAX) {
        s[this.at++] = FORMAT.uint8;
        s[this.at++] = value;
      } else if (value <= UINT16_MAX) {
        s[this.at++] = FORMAT.uint16;
        this.at = s.writeUInt16BE(value, this.at);
      } else if (value <= UINT32_MAX) {
        s[this.at++] = FORMAT.uint32;
        this.at = s.writeUInt32BE(value, this.at);
      } else {
        s[this.at++] = FORMAT.uint64;
        this.at = s.writeUInt32BE(Math.floor(value / TWO_TO_32), this.at);
        this.at = s.writeUInt32BE(value % TWO_TO_32, this.at);
      }
    } else if (value >= NEGATIVE_FIXINT_MIN) {
      // Its two's complement byte, 0xe0 (−32) to 0xff (−1).
      s[this.at++] = BYTE_VALUES + value;
    } else if (value >= -0x80) {
      s[this.at++] = FORMAT.int8;
      this.at = s.writeInt8(value, this.at);
    } else if (value >= -0x8000) {
      s[this.at++] = FORMAT.int16;
      this.at = s.writeInt16BE(value, this.at);
    } else if (value >= -0x8000_0000) {
      s[this.at++] = FORMAT.int32;
      this.at = s.writeInt32BE(value, this.at);
    } else {
      s[this.at++] = FORMAT.int64;
      this.at = s.writeBigInt64BE(BigInt(value), this.at);
    }
  }
}

/** Packing is synchronous, so one writer serves every call of the process. */
const writer = new LuaPackWriter();

/**
 * The values of the groups, in order, as one flat MessagePack array, for a script to read with
 * `cmsgpack.unpack(ARGV[…])` (groups rather than one array: joining them first cost more than packing them).
 */
export const packForLua = (groups: readonly (readonly LuaPackValue[])[]): Buffer => writer.pack(groups);
