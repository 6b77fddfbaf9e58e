// A record batch of a few kilobytes can decompress to gigabytes (a "decompression bomb": zstd repeats a 128 KiB
// block for four bytes, gzip and lz4 shrink zeros a thousand- and 250-fold). A consumer that runs out of memory on
// one restarts, fetches the same batch and runs out again: one batch stopped the scorer for good. Here Kafka's own
// Java producer writes batches past KAFKA_MAX_DECOMPRESSION_RATIO in every codec: each of their records goes to the
// DLQ as BATCH_TOO_LARGE, at its own offset, and the scorer goes on applying what follows.
import { SAMPLE_NOW, sampleActivity } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningScorer } from '../../services/scorer/src/scorer';
import { testStack } from '../harness/stack';
import { produceWithJavaClient, type KafkaCompressionType } from '../interop/java-producer';
import { eventually, ManualClock, ScorerTestBed } from '../scorer/support';

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const satisfies readonly KafkaCompressionType[];
/** Snappy expands ~21-fold at most: the ratio is set below that, so that a snappy batch can be past it too. */
const MAX_DECOMPRESSION_RATIO = 16;
const RECORDS_PER_BOMB = 10;
/** Ten records of 40 KB of zeros share one batch (the Java producer's are 512 KiB here) that shrinks far past 16-fold. */
const BOMB_VALUE = Buffer.alloc(40_000);

const bed = new ScorerTestBed('decompression-bomb');
let scorer: RunningScorer;

beforeAll(async () => {
  await bed.setUp(1);
  scorer = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now, kafka: { maxDecompressionRatio: MAX_DECOMPRESSION_RATIO } });
});
afterAll(() => bed.tearDown());

describe('a batch decompressing past KAFKA_MAX_DECOMPRESSION_RATIO', () => {
  it('is not read: each of its records is dead-lettered as BATCH_TOO_LARGE, and the events after it are applied', async () => {
    const brokers = testStack().kafkaBrokers;
    const after = CODECS.map((codec) =>
      sampleActivity({ customerId: `after-${codec}`, eventId: `after-${codec}`, activityType: 'MEETING', value: null, occurredAt: SAMPLE_NOW - 3_600_000 }),
    );
    for (const [i, compression] of CODECS.entries()) {
      const bomb = Array.from({ length: RECORDS_PER_BOMB }, () => ({ topic: bed.topics.activity, key: `bomb-${compression}`, value: BOMB_VALUE }));
      await produceWithJavaClient({ brokers, compression, records: bomb });
      // The events after it, written by the same Java client with the same codec: a batch within the ratio.
      await produceWithJavaClient({ brokers, compression, records: await bed.records([after[i]!]) });
    }

    const letters = await bed.consume([bed.topics.dlq], CODECS.length * RECORDS_PER_BOMB, 60_000);
    const offsets = letters.map((letter) => Number(letter.headers['dlq.source.offset'])).sort((a, b) => a - b);
    // One partition, each bomb followed by one event: bombs at 0–9, 11–20, 22–31, 33–42.
    expect(offsets).toEqual(CODECS.flatMap((_, i) => Array.from({ length: RECORDS_PER_BOMB }, (_, j) => i * (RECORDS_PER_BOMB + 1) + j)));
    for (const letter of letters) {
      expect(String(letter.headers['dlq.reason'])).toBe('BATCH_TOO_LARGE');
      expect([letter.key, letter.value?.length]).toEqual([null, 0]);
      expect(String(letter.headers['dlq.source.topic'])).toBe(bed.topics.activity);
      const codec = CODECS[Math.floor(Number(letter.headers['dlq.source.offset']) / (RECORDS_PER_BOMB + 1))]!;
      expect(String(letter.headers['dlq.message'])).toMatch(new RegExp(`^its ${codec} batch of \\d+ bytes decompresses to more than 16 times that \\(KAFKA_MAX_DECOMPRESSION_RATIO\\)`));
    }

    for (const event of after) {
      await eventually(() => bed.revisions([event.customerId]), ([revision]) => revision === 1, 30_000, `${event.customerId} to be scored`);
    }
    const dlq = await scorer.metrics.dlq.get();
    expect(dlq.values.find((value) => value.labels.reason === 'BATCH_TOO_LARGE')?.value).toBe(CODECS.length * RECORDS_PER_BOMB);
    const applied = (await scorer.metrics.events.get()).values.filter((value) => value.labels.outcome === 'applied');
    expect(applied.reduce((sum, value) => sum + value.value, 0)).toBe(CODECS.length);
  });

  it('leaves zstd frames declaring a window far larger than the bound (Java, level 22) read to the same events', async () => {
    // Each frame declares 128 MiB, which the zstd reader allocated and shifted per block: ~90 ms a batch (docs/events.md).
    const event = sampleActivity({ customerId: 'zstd-level-22', eventId: 'zstd-level-22', activityType: 'MEETING', value: null, occurredAt: SAMPLE_NOW - 3_600_000 });
    await produceWithJavaClient({
      brokers: testStack().kafkaBrokers,
      compression: 'zstd',
      producerProperties: { 'compression.zstd.level': '22' },
      records: await bed.records([event]),
    });
    await eventually(() => bed.revisions([event.customerId]), ([revision]) => revision === 1, 30_000, 'the level-22 event to be scored');
  });
});
