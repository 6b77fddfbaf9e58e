import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compress as compressLz4Frame } from 'lz4js';
import { describe, expect, it } from 'vitest';
import { compressionCodecs, OVER_THE_BOUND, registerCompressionCodecs, unreadBatchRejection, zstdWindowsWithin, type CodecName, type KafkaCompressionCodec } from './codecs';

// What Kafka 4.1.2's Java client wrote for UNCOMPRESSED, made with
// `Compression.of(type).build().wrapForOutput(buffer, RecordBatch.MAGIC_VALUE_V2)` from the stack's jars:
// snappy in the xerial framing (two 32 KiB blocks), lz4 as an LZ4 frame, zstd as a streaming frame
// whose header leaves the content size out.
const UNCOMPRESSED = Buffer.from(Array.from({ length: 2600 }, (_, i) => `churnscore ${i % 7} `).join(''));
const WRITTEN_BY_KAFKA_JAVA_CLIENT = {
  snappy:
    'glNOQVBQWQAAAAABAAAAAQAABi6AgAIwY2h1cm5zY29yZSAwIB0NADEuDQAAMi4NAAAzLg0AADQuDQAANS4NAAA2Lg0A/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsA/lsAZlsAAAAAXYgIQHJlIDAgY2h1cm5zY29yZSAxLg0AADIuDQAAMy4NAAA0Lg0AADUuDQAANi4NAP5bAP5bAP5bAP5bAP5bAP5bAP5bAP5bAP5bAP5bAP5bAP5bAP5bAP5bAKZbAA==',
  lz4:
    'BCJNGGBAgrYAAADXY2h1cm5zY29yZSAwIA0AGDENABgyDQAYMw0AGDQNABg1DQAYNg0AD1sA////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////DlByZSAyIAAAAAA=',
  zstd:
    'KLUv/QBYjCAAWqPMDxDAJWPALoDTXuWXmZkcCg4O+wD2APYA5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yEhGAYTAIgqEQGAG5yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccgeccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OeUup9zllLuccpdT7nLKXU65yyl3OQViyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfc5ZS7nHKXU+5yyl1OucspdznlLqfcDYonqBQA//sD4z8BFOAD8D8AAPCiQgX8//8fAQAA',
};

// The fixture is repetitive text, ~200-fold compressible where events compress two- to threefold: read with the
// widest ratio allowed, the formats are what these tests are about.
const FIXTURE_RATIO = 100_000;
registerCompressionCodecs(FIXTURE_RATIO);
const registered = (type: CompressionTypes.Snappy | CompressionTypes.LZ4 | CompressionTypes.ZSTD): KafkaCompressionCodec =>
  CompressionCodecs[type]() as KafkaCompressionCodec;

describe('registerCompressionCodecs', () => {
  it.each([
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ] as const)('makes kafkajs read what the Java client compressed with %s', async (name, type) => {
    const decompressed = await registered(type).decompress(Buffer.from(WRITTEN_BY_KAFKA_JAVA_CLIENT[name], 'base64'));
    expect(decompressed.equals(UNCOMPRESSED)).toBe(true);
  });
});

describe('codecs', () => {
  const codecs = compressionCodecs(FIXTURE_RATIO);
  it.each(['gzip', 'snappy', 'lz4'] as const)('%s decompresses what it compressed', async (name) => {
    const codec = codecs[name]();
    const compressed = await codec.compress({ buffer: UNCOMPRESSED });
    expect(compressed.length).toBeLessThan(UNCOMPRESSED.length);
    expect((await codec.decompress(compressed)).equals(UNCOMPRESSED)).toBe(true);
  });

  it('zstd refuses to compress, saying the product only reads it', async () => {
    await expect(codecs.zstd().compress({ buffer: UNCOMPRESSED })).rejects.toThrow(/reads zstd batches but writes uncompressed/);
  });
});

// kafkajs's own decoding of a fetched record batch, which calls the registered codecs: what a consumer hands out.
const kafkajsInternals = createRequire(import.meta.url);
const RecordBatchDecoder = kafkajsInternals('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<{ records: { offset: string; key: Buffer | null; value: Buffer | null }[] }>;
const KafkajsDecoder = kafkajsInternals('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;

const CODEC_ATTRIBUTE: Record<CodecName, number> = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** A v2 record batch of `recordCount` records at `firstOffset`, as a fetch response carries it (its CRC is not checked). */
function recordBatch(codec: CodecName, compressedRecords: Buffer, recordCount: number, firstOffset: number): Buffer {
  const header = Buffer.alloc(61);
  header.writeBigInt64BE(BigInt(firstOffset), 0);
  header.writeInt32BE(49 + compressedRecords.length, 8);
  header.writeInt8(2, 16);
  header.writeInt16BE(CODEC_ATTRIBUTE[codec], 21);
  header.writeInt32BE(recordCount - 1, 23);
  header.writeBigInt64BE(1_750_000_000_000n, 27);
  header.writeBigInt64BE(1_750_000_000_000n, 35);
  header.writeBigInt64BE(-1n, 43);
  header.writeInt16BE(-1, 51);
  header.writeInt32BE(-1, 53);
  header.writeInt32BE(recordCount, 57);
  return Buffer.concat([header, compressedRecords]);
}

const encodeRecord = kafkajsInternals('kafkajs/src/protocol/recordBatch/record/v0') as (record: { offsetDelta: number; key: null; value: Buffer }) => { buffer: Buffer };

/** Records as the Kafka protocol writes them inside a batch (kafkajs's encoder): no key, a value, no headers. */
const uncompressedRecords = (values: readonly Buffer[]): Buffer =>
  Buffer.concat(values.map((value, offsetDelta) => encodeRecord({ offsetDelta, key: null, value }).buffer));

/**
 * A zstd frame of `blocks` RLE blocks of 128 KiB, four bytes each: the kind of batch that made a consumer allocate
 * gigabytes (this one: 100,000 blocks, 400 KB, 13 GB decompressed). The window is 128 KiB, the frame's size unsaid.
 */
function zstdRleBomb(blocks: number): Buffer {
  const frame = Buffer.alloc(6 + 4 * blocks);
  frame.writeUInt32LE(0xfd2fb528, 0);
  frame[4] = 0x00; // no content size, no checksum, no dictionary, not single-segment
  frame[5] = 7 << 3; // window 2^(10+7) = 128 KiB
  for (let i = 0; i < blocks; i += 1) {
    const last = i === blocks - 1 ? 1 : 0;
    frame.writeUIntLE((131_072 << 3) | (1 << 1) | last, 6 + 4 * i, 3);
    frame[6 + 4 * i + 3] = 0x2a;
  }
  return frame;
}

describe('a batch decompressing past KAFKA_MAX_DECOMPRESSION_RATIO', () => {
  const bombs: Record<CodecName, () => Promise<Buffer>> = {
    gzip: async () => gzipSync(uncompressedRecords([Buffer.alloc(8_000_000), Buffer.alloc(8_000_000)])),
    snappy: () => compressionCodecs(64).snappy().compress({ buffer: uncompressedRecords([Buffer.alloc(1_000_000), Buffer.alloc(1_000_000)]) }),
    lz4: async () => Buffer.from(compressLz4Frame(uncompressedRecords([Buffer.alloc(8_000_000), Buffer.alloc(8_000_000)]))),
    zstd: async () => zstdRleBomb(100_000),
  };
  // Snappy expands ~21-fold at most: its bomb is past the lowest ratio allowed, 16, the others past the default.
  const RATIO: Record<CodecName, number> = { gzip: 64, snappy: 16, lz4: 64, zstd: 64 };

  it.each(['gzip', 'snappy', 'lz4', 'zstd'] as const)(
    '%s: kafkajs hands out one placeholder per record, at the batch offsets, refused as BATCH_TOO_LARGE',
    async (codec) => {
      registerCompressionCodecs(RATIO[codec]);
      try {
        const compressed = await bombs[codec]();
        const batch = recordBatch(codec, compressed, 2, 1_000);
        const { records } = await RecordBatchDecoder(new KafkajsDecoder(Buffer.concat([batch, batch.subarray(0, 30)])));
        expect(records.map((record) => record.offset)).toEqual(['1000', '1001']);
        for (const record of records) {
          expect(record.key).toBeNull();
          expect(unreadBatchRejection(record.value)).toEqual({
            ok: false,
            rejection: {
              reason: 'BATCH_TOO_LARGE',
              message: `its ${codec} batch of ${compressed.length} bytes decompresses to more than ${RATIO[codec]} times that (KAFKA_MAX_DECOMPRESSION_RATIO): no record of it was read`,
            },
          });
        }
      } finally {
        registerCompressionCodecs(FIXTURE_RATIO);
      }
    },
  );

  it.each(['gzip', 'snappy', 'lz4'] as const)('%s: a batch within the ratio is read whole, and none of its records is a placeholder', async (codec) => {
    const values = [Buffer.from('a churnscore event '.repeat(40)), Buffer.from('another one '.repeat(40))];
    const compressed = await compressionCodecs(64)[codec]().compress({ buffer: uncompressedRecords(values) });
    const { records } = await RecordBatchDecoder(new KafkajsDecoder(recordBatch(codec, compressed, 2, 7)));
    expect(records.map((record) => [record.offset, record.value?.toString()])).toEqual([
      ['7', values[0]!.toString()],
      ['8', values[1]!.toString()],
    ]);
    expect(records.map((record) => unreadBatchRejection(record.value))).toEqual([undefined, undefined]);
  });

  it('a value a producer wrote empty is no placeholder', () => {
    expect(unreadBatchRejection(Buffer.alloc(0))).toBeUndefined();
    expect(unreadBatchRejection(null)).toBeUndefined();
  });

  it('stops rather than guess when the bytes before the records are not their batch header', async () => {
    const bomb = zstdRleBomb(10_000);
    const elsewhere = Buffer.concat([Buffer.alloc(61), bomb]).subarray(61);
    await expect(compressionCodecs(64).zstd().decompress(elsewhere)).rejects.toThrow(/its header cannot be read to skip it \(its length does not match\)/);
  });
});

describe('zstd frames declaring a window larger than the bound lets them use', () => {
  // A batch of one 76-byte record as Kafka's Java producer writes it with compression.zstd.level=22: its frame declares a
  // 128 MiB window (descriptor 0x88), which the zstd reader allocated and shifted for every block (~90 ms a batch).
  const LEVEL_22 = Buffer.from('KLUv/QCIDAIAVAOUAQAAABR4MXByb2JlLWMwUgAAAAABZTHKopbJyGgGYWR2CAAAAAIQLmNhc2UOeDFwcm9iZQMAWMD6aTAqZhMBAAA=', 'base64');
  const WINDOW_DESCRIPTOR = 5;

  it('are read with the window cut to the bound and a block, to the same bytes', async () => {
    const limit = 64 * LEVEL_22.length;
    const cut = zstdWindowsWithin(LEVEL_22, limit) as Buffer;
    expect(LEVEL_22[WINDOW_DESCRIPTOR]).toBe(0x88);
    // 2^(10+8) = 256 KiB: the smallest power of two holding the limit (4,928 bytes) and a block (128 KiB)
    expect(cut[WINDOW_DESCRIPTOR]).toBe(8 << 3);
    expect(Buffer.concat([cut.subarray(0, WINDOW_DESCRIPTOR), cut.subarray(WINDOW_DESCRIPTOR + 1)])).toEqual(
      Buffer.concat([LEVEL_22.subarray(0, WINDOW_DESCRIPTOR), LEVEL_22.subarray(WINDOW_DESCRIPTOR + 1)]),
    );
    const read = await compressionCodecs(64).zstd().decompress(LEVEL_22);
    // What fzstd reads from the frame as it came (its declared window whole).
    expect(read.toString('base64')).toBe('lAEAAAAUeDFwcm9iZS1jMFIAAAAAARR4MXByb2JlLWUxFHgxcHJvYmUtYzDKopbJyGgGYWR2CAAAAAIQYWR2LmNhc2UOeDFwcm9iZQ==');
  });

  it('leave a window already within the bound as it is, uncopied, and refuse a frame declaring more content than the bound', () => {
    expect(zstdWindowsWithin(LEVEL_22, 1_000_000_000)).toBe(LEVEL_22);
    const declaringTerabyte = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xc0, ...[0, 0, 0, 0, 0, 1, 0, 0], 0x01, 0x00, 0x00]);
    expect(zstdWindowsWithin(declaringTerabyte, 1_000_000)).toBe(OVER_THE_BOUND);
  });
});
