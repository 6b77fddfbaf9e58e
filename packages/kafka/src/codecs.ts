// A record batch arrives compressed with whatever codec its producer chose (Java and librdkafka
// producers commonly set lz4, zstd or snappy), and kafkajs ships only gzip: without these, one
// compressed batch crashes the consumer ("LZ4 compression not implemented"). All are pure JS, so
// nothing is built or downloaded at install time. What the product itself writes: docs/events.md,
// "Compression".
import kafkajs from 'kafkajs';
import snappyCodec from 'kafkajs-snappy';
import { decompress as decompressZstd } from 'fzstd';
import { compress as compressLz4Frame, decompress as decompressLz4Frame } from 'lz4js';

/** The shape kafkajs expects a codec factory to return. */
export interface KafkaCompressionCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** Kafka's lz4 is the LZ4 frame format (magic 0x184D2204), which lz4js reads and writes. */
export const lz4Codec = (): KafkaCompressionCodec => ({
  compress: async ({ buffer }) => Buffer.from(compressLz4Frame(buffer)),
  decompress: async (buffer) => Buffer.from(decompressLz4Frame(buffer)),
});

/**
 * fzstd decompresses the streaming frames Kafka's Java client (zstd-jni) and librdkafka write, whose
 * header leaves the content size out. It cannot compress, and nothing here needs it to: the
 * product's producers never choose zstd.
 */
export const zstdCodec = (): KafkaCompressionCodec => ({
  compress: () => Promise.reject(new Error('zstd compression is not available: churnscore reads zstd batches but writes uncompressed ones')),
  decompress: async (buffer) => Buffer.from(decompressZstd(buffer)),
});

/**
 * Makes every kafkajs client of the process read snappy (raw or in the xerial framing Kafka's Java
 * client writes), lz4 and zstd batches besides gzip. kafkajs keeps codecs in one module-wide table,
 * so this is idempotent and one call covers every client.
 */
export function registerCompressionCodecs(): void {
  // kafkajs is CommonJS: Node's ESM loader does not see these two as named exports (vitest would).
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  CompressionCodecs[CompressionTypes.Snappy] = snappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = zstdCodec;
}
