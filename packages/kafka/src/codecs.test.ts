import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { lz4Codec, registerCompressionCodecs, zstdCodec, type KafkaCompressionCodec } from './codecs';

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

registerCompressionCodecs();
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
  it.each([
    ['snappy', registered(CompressionTypes.Snappy)],
    ['lz4', lz4Codec()],
  ] as const)('%s decompresses what it compressed', async (_name, codec) => {
    const compressed = await codec.compress({ buffer: UNCOMPRESSED });
    expect(compressed.length).toBeLessThan(UNCOMPRESSED.length);
    expect((await codec.decompress(compressed)).equals(UNCOMPRESSED)).toBe(true);
  });

  it('zstd refuses to compress, saying the product only reads it', async () => {
    await expect(zstdCodec().compress({ buffer: UNCOMPRESSED })).rejects.toThrow(/reads zstd batches but writes uncompressed/);
  });
});
