// A record batch arrives compressed with whatever codec its producer chose (Java and librdkafka
// producers commonly set lz4, zstd or snappy), and kafkajs ships only gzip: without these, one
// compressed batch crashes the consumer ("LZ4 compression not implemented"). All are pure JS, so
// nothing is built or downloaded at install time. What the product itself writes: docs/events.md,
// "Compression".
//
// Every codec decompresses within a bound: a batch of a hundred kilobytes can decompress to gigabytes (zstd
// repeats a 128 KiB block for four bytes), and a consumer that runs out of memory on it restarts, fetches the
// same batch and runs out again, for good. A batch past the bound is not read: its records are handed out as
// placeholders (`unreadBatchRejection`), which the scorer dead-letters one by one, and the partition goes on.
import { promisify } from 'node:util';
import { gzip, unzip } from 'node:zlib';
import { kMaxLength } from 'node:buffer';
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { rejected, type Rejected } from '@churnscore/events';
import snappyCodec from 'kafkajs-snappy';
import { Decompress as ZstdStream } from 'fzstd';
import { compress as compressLz4Frame, decompress as decompressLz4Frame } from 'lz4js';

/** The shape kafkajs expects a codec factory to return. */
export interface KafkaCompressionCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

export type CodecName = 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** The codec's number in a record batch's attributes (their lowest three bits). */
const CODEC_ATTRIBUTE: Readonly<Record<CodecName, number>> = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** What a consumer knows of a batch it did not read. */
interface UnreadBatch {
  codec: CodecName;
  /** The batch's records as they arrived, compressed. */
  compressedBytes: number;
  /** How many times its compressed size a batch may decompress to. */
  maxDecompressionRatio: number;
}

const unreadBatches = new WeakMap<ArrayBufferLike, UnreadBatch>();

/**
 * Why a record is refused when it is the placeholder of a batch that was not read; undefined for every record read
 * from its batch. Placeholders are told by the memory their values live in, which no producer can write: a header or
 * a value would be forgeable.
 */
export function unreadBatchRejection(value: Buffer | null): Rejected | undefined {
  const batch = value === null ? undefined : unreadBatches.get(value.buffer);
  if (batch === undefined) return undefined;
  const { codec, compressedBytes, maxDecompressionRatio } = batch;
  return rejected(
    'BATCH_TOO_LARGE',
    `its ${codec} batch of ${compressedBytes} bytes decompresses to more than ${maxDecompressionRatio} times that (KAFKA_MAX_DECOMPRESSION_RATIO): no record of it was read`,
  );
}

export const OVER_THE_BOUND = Symbol('over the bound');
type Inflated = Buffer | typeof OVER_THE_BOUND;

const gunzip = promisify(unzip);
const gzipAsync = promisify(gzip);

/** kafkajs's own gzip codec reads gzip and zlib streams (`unzip`): so does this one, within `limit`. */
async function inflateGzip(compressed: Buffer, limit: number): Promise<Inflated> {
  try {
    return await gunzip(compressed, { maxOutputLength: limit });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return OVER_THE_BOUND;
    throw error;
  }
}

/**
 * Snappy's longest copy, 64 bytes, takes 3: no snappy stream expands more than ~22-fold, and one whose declared
 * lengths lie is refused by the broker, which decompresses every compressed batch it accepts to validate its records.
 * So it is decompressed whole and then measured.
 */
async function inflateSnappy(compressed: Buffer, limit: number): Promise<Inflated> {
  const inflated = await snappyCodec().decompress(compressed);
  return inflated.length > limit ? OVER_THE_BOUND : inflated;
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_MAX_BLOCK_SIZE: Readonly<Record<number, number>> = { 4: 65_536, 5: 262_144, 6: 1_048_576, 7: 4_194_304 };
const LZ4_UNCOMPRESSED_BLOCK = 0x80000000;

/**
 * The most an LZ4 frame can decompress to: its block size for each compressed block, the size of each stored one.
 * The content size a frame may declare is not trusted (Kafka's own reader ignores it).
 */
function lz4FrameBound(frame: Buffer): number {
  if (frame.length < 7 || frame.readUInt32LE(0) !== LZ4_MAGIC) throw new Error('lz4: not an LZ4 frame');
  const flags = frame[4]!;
  const blockSize = LZ4_MAX_BLOCK_SIZE[(frame[5]! >> 4) & 7];
  if (blockSize === undefined) throw new Error('lz4: invalid block size in the frame descriptor');
  const blockChecksums = (flags & 0x10) !== 0;
  let at = 6 + ((flags & 0x08) !== 0 ? 8 : 0) + 1;
  let bound = 0;
  while (at + 4 <= frame.length) {
    const word = frame.readUInt32LE(at);
    if (word === 0) break;
    const stored = (word & LZ4_UNCOMPRESSED_BLOCK) !== 0;
    const length = word & ~LZ4_UNCOMPRESSED_BLOCK;
    bound += stored ? length : blockSize;
    at += 4 + length + (blockChecksums ? 4 : 0);
  }
  return bound;
}

/**
 * lz4js writes into an output of the size it is given and drops what falls past its end (a typed array's writes do),
 * returning at most that size: an output of one byte more than the limit, when the frame could hold more, tells a
 * frame past the limit without holding more than that in memory.
 */
async function inflateLz4(compressed: Buffer, limit: number): Promise<Inflated> {
  const inflated = decompressLz4Frame(compressed, Math.min(lz4FrameBound(compressed), limit + 1));
  return inflated.length > limit ? OVER_THE_BOUND : Buffer.from(inflated.buffer, inflated.byteOffset, inflated.length);
}

const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames' magic numbers are 0x184D2A50 to 0x184D2A5F. */
const isZstdSkippable = (magic: number) => magic >>> 4 === 0x184d2a5;
const ZSTD_MAX_BLOCK = 131_072;
const ZSTD_RLE_BLOCK = 1;
const ZSTD_RESERVED_BLOCK = 3;

/**
 * `frames` with each zstd frame's window cut to what `limit` lets the frame use, or OVER_THE_BOUND when a frame
 * declares content larger than the limit. A frame's window is how far back its matches may reach, and fzstd allocates
 * it and shifts it whole for every block it decodes: Kafka's Java producer at `compression.zstd.level=22` declares
 * 128 MiB for a batch of a hundred bytes, and each such batch took ~90 ms, enough of them a stall of minutes. No match
 * reaches further back than the output so far, which the limit caps (plus the block that crosses it), so the cut
 * window changes no output; it is written into a copy of the frames' headers, whose layout (RFC 8878, 3.1.1) this walks.
 * Anything it does not recognise is left for fzstd to judge.
 */
export function zstdWindowsWithin(frames: Buffer, limit: number): Buffer | typeof OVER_THE_BOUND {
  const windowsToCut: number[] = [];
  const windowExponent = Math.max(0, Math.ceil(Math.log2(limit + ZSTD_MAX_BLOCK)) - 10);
  let at = 0;
  while (at + 8 <= frames.length) {
    const magic = frames.readUInt32LE(at);
    if (isZstdSkippable(magic)) {
      at += 8 + frames.readUInt32LE(at + 4);
      continue;
    }
    if (magic !== ZSTD_MAGIC) break;
    const descriptor = frames[at + 4]!;
    const contentSizeFlag = descriptor >> 6;
    const singleSegment = (descriptor >> 5) & 1;
    const hasChecksum = (descriptor >> 2) & 1;
    let pos = at + 5;
    const windowAt = singleSegment ? -1 : pos++;
    pos += [0, 1, 2, 4][descriptor & 3]!;
    const contentSizeBytes = contentSizeFlag === 0 ? singleSegment : 1 << contentSizeFlag;
    if (pos + contentSizeBytes > frames.length) break;
    const contentSize =
      contentSizeBytes === 8 ? frames.readUInt32LE(pos) + frames.readUInt32LE(pos + 4) * 2 ** 32
      : contentSizeBytes === 0 ? 0
      : frames.readUIntLE(pos, contentSizeBytes) + (contentSizeBytes === 2 ? 256 : 0);
    if (contentSize > limit) return OVER_THE_BOUND;
    pos += contentSizeBytes;
    // A single-segment frame's window is its content size, just checked.
    if (windowAt >= 0 && frames[windowAt]! >> 3 > windowExponent) windowsToCut.push(windowAt);
    for (let last = false; !last; ) {
      if (pos + 3 > frames.length) break;
      const header = frames.readUIntLE(pos, 3);
      const type = (header >> 1) & 3;
      if (type === ZSTD_RESERVED_BLOCK) break;
      last = (header & 1) === 1;
      pos += 3 + (type === ZSTD_RLE_BLOCK ? 1 : header >> 3);
    }
    at = pos + (hasChecksum ? 4 : 0);
  }
  if (windowsToCut.length === 0) return frames;
  // A copy: the compressed bytes are a slice of the fetch response kafkajs holds.
  const cut = Buffer.from(frames);
  for (const windowAt of windowsToCut) cut[windowAt] = windowExponent << 3;
  return cut;
}

/** fzstd hands out each block as it decompresses it: counting them stops a zstd bomb at the limit. */
async function inflateZstd(compressed: Buffer, limit: number): Promise<Inflated> {
  const frames = zstdWindowsWithin(compressed, limit);
  if (frames === OVER_THE_BOUND) return OVER_THE_BOUND;
  const blocks: Uint8Array[] = [];
  let length = 0;
  const stream = new ZstdStream((block) => {
    length += block.length;
    if (length > limit) throw OVER_THE_BOUND;
    blocks.push(block);
  });
  try {
    stream.push(frames, true);
  } catch (thrown) {
    if (thrown === OVER_THE_BOUND) return OVER_THE_BOUND;
    throw thrown;
  }
  return Buffer.concat(blocks, length);
}

/**
 * A record batch's header as it precedes its records (`RecordBatch` v2 of the Kafka protocol): the record count is
 * its last field, the batch's length its second.
 */
const BATCH_HEADER = { bytes: 61, length: 8, magic: 16, attributes: 21, lastOffsetDelta: 23, recordCount: 57 } as const;
/** The bytes the batch's length counts besides its records: every header field after the length itself. */
const BATCH_LENGTH_OVERHEAD = BATCH_HEADER.bytes - BATCH_HEADER.length - 4;

/**
 * kafkajs hands a codec only the compressed records, never the batch's header, and decodes as many records from what
 * the codec returns as the header counts. The header precedes those bytes in the same fetch response, of which
 * kafkajs's decoder hands the codec a slice: it is read there, and every field that can be checked against the slice
 * (the batch's length, its magic number, its codec) must agree, or the process stops rather than guess.
 */
function batchHeaderOf(compressed: Buffer, codec: CodecName): { recordCount: number; lastOffsetDelta: number } {
  const problem = (what: string) =>
    new Error(`a ${codec} batch decompresses past KAFKA_MAX_DECOMPRESSION_RATIO, and its header cannot be read to skip it (${what}): this kafkajs lays out fetched batches differently`);
  if (compressed.byteOffset < BATCH_HEADER.bytes) throw problem('no header before the records');
  const header = Buffer.from(compressed.buffer, compressed.byteOffset - BATCH_HEADER.bytes, BATCH_HEADER.bytes);
  if (header.readInt32BE(BATCH_HEADER.length) !== BATCH_LENGTH_OVERHEAD + compressed.length) throw problem('its length does not match');
  if (header.readInt8(BATCH_HEADER.magic) !== 2) throw problem('not a v2 record batch');
  if ((header.readInt16BE(BATCH_HEADER.attributes) & 7) !== CODEC_ATTRIBUTE[codec]) throw problem(`not a ${codec} batch`);
  const recordCount = header.readInt32BE(BATCH_HEADER.recordCount);
  const lastOffsetDelta = header.readInt32BE(BATCH_HEADER.lastOffsetDelta);
  if (recordCount < 1 || recordCount > lastOffsetDelta + 1) throw problem('its record count does not fit its offsets');
  return { recordCount, lastOffsetDelta };
}

/** kafkajs's own encoder of a record inside a batch, the twin of the decoder that reads the placeholders back. */
const encodeRecord = createRequire(import.meta.url)('kafkajs/src/protocol/recordBatch/record/v0') as (record: {
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer;
}) => { buffer: Buffer };

/**
 * What the codec returns for a batch past the bound: one placeholder record per record of the batch, at the batch's
 * offsets, with no key, an empty value and no headers; its memory is registered, so `unreadBatchRejection` knows them.
 * A batch of an uncompacted topic (the input topics) holds every offset up to its last; should one have gaps, the
 * placeholders take the first offsets and the last, so that the partition still resumes after the batch.
 */
function placeholderRecords(compressed: Buffer, codec: CodecName, maxDecompressionRatio: number): Buffer {
  const { recordCount, lastOffsetDelta } = batchHeaderOf(compressed, codec);
  const records = Array.from({ length: recordCount }, (_, i) =>
    encodeRecord({ offsetDelta: i === recordCount - 1 ? lastOffsetDelta : i, key: null, value: Buffer.alloc(0) }).buffer,
  );
  // Buffer.alloc never hands out a slice of the shared pool (Buffer.concat may), so the registered memory is the
  // placeholders' alone.
  const placeholders = Buffer.alloc(records.reduce((bytes, record) => bytes + record.length, 0));
  records.reduce((at, record) => at + record.copy(placeholders, at), 0);
  unreadBatches.set(placeholders.buffer, { codec, compressedBytes: compressed.length, maxDecompressionRatio });
  return placeholders;
}

function boundedCodec(
  codec: CodecName,
  maxDecompressionRatio: number,
  inflate: (compressed: Buffer, limit: number) => Promise<Inflated>,
  compress: KafkaCompressionCodec['compress'],
): () => KafkaCompressionCodec {
  return () => ({
    compress,
    async decompress(compressed) {
      const inflated = await inflate(compressed, Math.min(kMaxLength, compressed.length * maxDecompressionRatio));
      return inflated === OVER_THE_BOUND ? placeholderRecords(compressed, codec, maxDecompressionRatio) : inflated;
    },
  });
}

const compressGzip: KafkaCompressionCodec['compress'] = ({ buffer }) => gzipAsync(buffer);
const compressSnappy: KafkaCompressionCodec['compress'] = (encoder) => snappyCodec().compress(encoder);
/** Kafka's lz4 is the LZ4 frame format (magic 0x184D2204), which lz4js reads and writes. */
const compressLz4: KafkaCompressionCodec['compress'] = async ({ buffer }) => Buffer.from(compressLz4Frame(buffer));
/**
 * fzstd decompresses the streaming frames Kafka's Java client (zstd-jni) and librdkafka write, whose
 * header leaves the content size out. It cannot compress, and nothing here needs it to: the
 * product's producers never choose zstd.
 */
const refuseZstd: KafkaCompressionCodec['compress'] = () =>
  Promise.reject(new Error('zstd compression is not available: churnscore reads zstd batches but writes uncompressed ones'));

/** Every codec, each decompressing at most `maxDecompressionRatio` times a batch's compressed size. */
export function compressionCodecs(maxDecompressionRatio: number): Readonly<Record<CodecName, () => KafkaCompressionCodec>> {
  return {
    gzip: boundedCodec('gzip', maxDecompressionRatio, inflateGzip, compressGzip),
    snappy: boundedCodec('snappy', maxDecompressionRatio, inflateSnappy, compressSnappy),
    lz4: boundedCodec('lz4', maxDecompressionRatio, inflateLz4, compressLz4),
    zstd: boundedCodec('zstd', maxDecompressionRatio, inflateZstd, refuseZstd),
  };
}

/**
 * Makes every kafkajs client of the process read gzip, snappy (raw or in the xerial framing Kafka's Java client
 * writes), lz4 and zstd batches, each within `maxDecompressionRatio` (KAFKA_MAX_DECOMPRESSION_RATIO). kafkajs keeps
 * codecs in one module-wide table, so one call covers every client; the services of a process share one config.
 */
export function registerCompressionCodecs(maxDecompressionRatio: number): void {
  // kafkajs is CommonJS: Node's ESM loader does not see these two as named exports (vitest would).
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  const codecs = compressionCodecs(maxDecompressionRatio);
  CompressionCodecs[CompressionTypes.GZIP] = codecs.gzip;
  CompressionCodecs[CompressionTypes.Snappy] = codecs.snappy;
  CompressionCodecs[CompressionTypes.LZ4] = codecs.lz4;
  CompressionCodecs[CompressionTypes.ZSTD] = codecs.zstd;
}
