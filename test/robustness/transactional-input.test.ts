// A CRM connector that writes with exactly-once semantics (Kafka Connect, Debezium, a Kafka Streams
// application) sends its events in transactions, and the records of a transaction it aborts stay in the
// log, followed by an abort marker. Here Kafka's own Java producer, not the product's code, writes
// committed and aborted transactions: the scorer applies the committed events only, every one of them,
// skips the markers, and goes on consuming; a backlog so written is caught up with once consumed (its
// last offsets are markers or aborted records no batch hands out), and its offsets committed to the end; and
// a replay of the topics (npm run train -- --from-topics, npm run backfill) ends at a partition holding nothing else.
import type { InputEvent } from '@churnscore/domain';
import { SAMPLE_NOW, sampleActivity, sampleContract, sampleOpportunity } from '@churnscore/events/testing';
import { readToEnd } from '@churnscore/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningScorer } from '../../services/scorer/src/scorer';
import { testStack, uniqueName } from '../harness/stack';
import { produceWithJavaClient, type TransactionEnd } from '../interop/java-producer';
import { dlqTotal, eventually, ManualClock, ScorerTestBed } from '../scorer/support';

const HOUR = 3_600_000;
const KEPT = 'transactions-kept';
const ABORTED_ONLY = 'transactions-aborted-only';

const bed = new ScorerTestBed('transactional-input');
let scorer: RunningScorer;
const backlogBed = new ScorerTestBed('transactional-backlog');
/** Far behind from this many records ahead (SCORER_CHUNK_SIZE): the backlog below is three times that. */
const CHUNK_SIZE = 100;

const meetings = (customerId: string, from: number, count: number): InputEvent[] =>
  Array.from({ length: count }, (_, i) =>
    sampleActivity({ customerId, eventId: `${customerId}-meeting-${from + i}`, activityType: 'MEETING', value: null, occurredAt: SAMPLE_NOW - (from + i + 1) * HOUR }),
  );

const counted = async (outcome: string): Promise<number> =>
  (await scorer.metrics.events.get()).values.filter((value) => value.labels.outcome === outcome).reduce((sum, value) => sum + value.value, 0);

beforeAll(async () => {
  await Promise.all([bed.setUp(2), backlogBed.setUp(1)]);
  scorer = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now });
});
afterAll(() => Promise.all([bed.tearDown(), backlogBed.tearDown()]));

describe('input written in transactions by a Java producer', () => {
  it('is applied from committed transactions only, and the consumer goes on consuming', async () => {
    const committedFirst = [...meetings(KEPT, 0, 5), sampleContract({ customerId: KEPT, eventId: `${KEPT}-contract` })];
    const aborted = [...meetings(KEPT, 5, 4), ...meetings(ABORTED_ONLY, 0, 3), sampleContract({ customerId: ABORTED_ONLY, eventId: `${ABORTED_ONLY}-contract` })];
    const committedLast = meetings(KEPT, 9, 1);
    const abort: TransactionEnd = { endTransaction: 'abort' };
    const commit: TransactionEnd = { endTransaction: 'commit' };
    await produceWithJavaClient({
      brokers: testStack().kafkaBrokers,
      compression: 'lz4',
      producerProperties: { 'transactional.id': uniqueName('crm-connector') },
      records: [...(await bed.records(committedFirst)), commit, ...(await bed.records(aborted)), abort, ...(await bed.records(committedLast))],
    });
    // Published after the transactions by the product's own client: once it is scored, everything before it was consumed.
    const later = sampleActivity({ customerId: 'after-transactions', eventId: 'after-transactions-1', activityType: 'MEETING', value: null, occurredAt: SAMPLE_NOW - HOUR });
    await bed.publish([later]);
    await eventually(async () => Number((await bed.scoreHash(later.customerId)).revision ?? 0), (revision) => revision === 1, 30_000, 'the later event to be scored');
    await eventually(async () => Number((await bed.scoreHash(KEPT)).revision ?? 0), (revision) => revision === committedFirst.length + committedLast.length, 30_000, 'the committed events to be scored');

    expect((await bed.insights(KEPT))?.activity.MEETING.d7).toBe(6);
    expect(await bed.redis.exists(...Object.values(bed.keys.customer(ABORTED_ONLY)))).toBe(0);
    expect(await counted('applied')).toBe(committedFirst.length + committedLast.length + 1);
    expect(await dlqTotal(scorer)).toBe(0);
  });
});

describe('a backlog written in transactions', () => {
  it('is caught up with once consumed, its offsets committed past the last marker, whatever transaction ends it', async () => {
    const customerId = 'transactional-backlog';
    const committed = meetings(customerId, 0, 3 * CHUNK_SIZE);
    const abortedTail = meetings(customerId, 3 * CHUNK_SIZE, 10);
    await produceWithJavaClient({
      brokers: testStack().kafkaBrokers,
      compression: 'none',
      producerProperties: { 'transactional.id': uniqueName('crm-backfill') },
      records: [...(await backlogBed.records(committed.slice(0, CHUNK_SIZE))), { endTransaction: 'commit' }, ...(await backlogBed.records(committed.slice(CHUNK_SIZE))), { endTransaction: 'commit' }, ...(await backlogBed.records(abortedTail)), { endTransaction: 'abort' }],
    });
    const backlogScorer = await backlogBed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now, settings: { chunkSize: CHUNK_SIZE, maxChunkSize: CHUNK_SIZE } });
    await eventually(async () => Number((await backlogBed.scoreHash(customerId)).revision ?? 0), (revision) => revision === committed.length, 30_000, 'the committed events to be scored');

    const catchingUp = async () => (await backlogScorer.metrics.partitionsCatchingUp.get()).values[0]?.value ?? 0;
    await eventually(catchingUp, (partitions) => partitions === 0, 10_000, 'the partition to be caught up with');
    const admin = new Kafka({ clientId: 'transactional-backlog', brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topic = backlogBed.topics.activity;
      const committedToEnd = async (what: string) => {
        const [end] = await admin.fetchTopicOffsets(topic);
        const committedOffset = async () => (await admin.fetchOffsets({ groupId: backlogBed.consumerGroup, topics: [topic] }))[0]!.partitions[0]!.offset;
        await eventually(committedOffset, (offset) => offset === end!.high, 10_000, `the offsets to be committed to the end of the partition ${what}`);
      };
      await committedToEnd('after the backlog');
      // Once caught up, a fetch may hold nothing but an aborted transaction (kafkajs then calls no eachBatch).
      await produceWithJavaClient({
        brokers: testStack().kafkaBrokers,
        compression: 'none',
        producerProperties: { 'transactional.id': uniqueName('crm-backfill') },
        records: [...(await backlogBed.records(meetings(customerId, 4 * CHUNK_SIZE, 10))), { endTransaction: 'abort' }],
      });
      await committedToEnd('after an aborted transaction alone');
      const lag = async () => (await backlogScorer.metrics.consumerLag.get()).values.find((value) => value.labels.topic === topic)?.value;
      await eventually(lag, (records) => records === 0, 10_000, 'the consumer lag to be 0');
      expect(Number((await backlogBed.scoreHash(customerId)).revision)).toBe(committed.length);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('a replay of topics written in transactions', () => {
  it('ends, with the committed records, when a partition holds nothing but an aborted transaction', async () => {
    const customerId = 'transactional-replay';
    await produceWithJavaClient({
      brokers: testStack().kafkaBrokers,
      compression: 'none',
      producerProperties: { 'transactional.id': uniqueName('crm-replay') },
      records: [...(await backlogBed.records([sampleOpportunity({ customerId, eventId: `${customerId}-opportunity` })])), { endTransaction: 'abort' }],
    });
    const kafka = new Kafka({ clientId: 'transactional-replay', brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const read = new Map<string, number>();
      const topics = [backlogBed.topics.activity, backlogBed.topics.opportunity];
      const replay = readToEnd({ kafka, admin, topics, groupId: uniqueName('replay'), onRecords: (topic, records) => void read.set(topic, (read.get(topic) ?? 0) + records.length) });
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the replay did not end within 20 s')), 20_000).unref());
      await Promise.race([replay, timeout]);
      expect(Object.fromEntries(read)).toEqual({ [backlogBed.topics.activity]: 3 * CHUNK_SIZE });
    } finally {
      await admin.disconnect();
    }
  }, 40_000);
});
