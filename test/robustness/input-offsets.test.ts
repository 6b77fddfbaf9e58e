// An input topic deleted and created again numbers its records from 0 again, below the offset watermarks every
// customer's state holds for it: its new records would be taken for redeliveries and dropped without a trace. The
// scorer records how far each input partition was consumed (`<p>:inputs`) and stops instead, saying why and how
// to rebuild: refusing to start when it finds a partition ending before that offset, and failing its liveness
// (the process exits) when a fetch shows it while running. Nothing is dropped as a redelivery either way. And
// records the topic's retention deleted before the scorer read them (it was stopped longer than they are kept)
// are said and counted at its start, where kafkajs would move past them without a word; and so are records deleted
// ahead of a scorer that runs (an outside tester's `kafka-delete-records` while the scorer was paused left no trace).
import { ConfigError } from '@churnscore/config';
import { sampleActivity, SAMPLE_NOW } from '@churnscore/events/testing';
import type { Liveness } from '@churnscore/observability';
import { readInputOffsets } from '@churnscore/state';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningScorer } from '../../services/scorer/src/scorer';
import { createTopics, deleteTopics, testStack } from '../harness/stack';
import { freePort } from '../scorer/private-redis';
import { eventually, ManualClock, RecordingLiveness, ScorerTestBed } from '../scorer/support';
import { statusWithin, TestResources } from './service-process';

const FIRST = 20;
const AFTER = 5;
const stopped = new ScorerTestBed('recreated-topic-stopped');
const running = new ScorerTestBed('recreated-topic-running');
const retained = new ScorerTestBed('deleted-unread');
const grown = new ScorerTestBed('recreated-topic-grown');
const regrouped = new ScorerTestBed('group-offsets-deleted');
const deletedAhead = new ScorerTestBed('deleted-ahead');
const beds = [stopped, running, retained, grown, regrouped, deletedAhead];
const resources = new TestResources();
beforeAll(() => Promise.all(beds.map((bed) => bed.setUp(1))));
afterAll(async () => {
  await resources.release();
  await Promise.all(beds.map((bed) => bed.tearDown()));
});

const meetings = (customerId: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) =>
    sampleActivity({ customerId, eventId: `${customerId}-${from + i}`, activityType: 'MEETING', value: null, occurredAt: SAMPLE_NOW - (from + i + 1) * 60_000 }),
  );
/** Waits until clients seeded with each of the stack's brokers are told `records` records in `topic`. */
async function untilServedEverywhere(topic: string, records: number): Promise<void> {
  const admins = testStack().kafkaBrokers.map((broker) => new Kafka({ brokers: [broker], logLevel: logLevel.NOTHING }).admin());
  await Promise.all(admins.map((admin) => admin.connect()));
  try {
    const served = async () => {
      try {
        const answers = await Promise.all(admins.map(async (admin) => (await admin.fetchTopicOffsets(topic)).reduce((sum, { high }) => sum + Number(high), 0)));
        return answers.every((count) => count === records);
      } catch {
        return false;
      }
    };
    await eventually(served, Boolean, 30_000, `every broker to serve ${topic}`);
  } finally {
    await Promise.all(admins.map((admin) => admin.disconnect()));
  }
}

/** Deletes partition 0's records before `offset`, as `kafka-delete-records` does. */
async function deleteRecordsBefore(topic: string, offset: number): Promise<void> {
  const admin = new Kafka({ clientId: 'deleted-unread', brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    // kafkajs deletes records only of topics whose metadata it holds.
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(offset) }] });
  } finally {
    await admin.disconnect();
  }
}

const revisionOf = async (bed: ScorerTestBed, customerId: string) => Number((await bed.scoreHash(customerId)).revision ?? 0);
const redelivered = async (scorer: RunningScorer) =>
  (await scorer.metrics.events.get()).values.filter((value) => value.labels.outcome === 'redelivered').reduce((sum, value) => sum + value.value, 0);

/** The first records consumed and their offsets committed and recorded. */
async function consumeFirst(bed: ScorerTestBed, customerId: string, liveness?: Liveness): Promise<RunningScorer> {
  const scorer = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now, liveness });
  await bed.publish(meetings(customerId, 0, FIRST));
  await eventually(() => revisionOf(bed, customerId), (revision) => revision === FIRST, 30_000, 'the first events to be scored');
  const recorded = async () => (await readInputOffsets(bed.redis, bed.prefix)).find(({ topic, partition }) => topic === bed.topics.activity && partition === 0)?.offset;
  await eventually(recorded, (offset) => offset === String(FIRST), 30_000, 'the offsets to be recorded');
  return scorer;
}

async function recreateActivityTopic(bed: ScorerTestBed, customerId: string): Promise<void> {
  await deleteTopics([bed.topics.activity]);
  await createTopics([bed.topics.activity], 1);
  await bed.publish(meetings(customerId, FIRST, AFTER));
}

const WENT_BACK = `ends at offset ${AFTER}, before offset ${FIRST} that this namespace consumed it to`;


describe('an input topic deleted and created again', () => {
  it('while the scorer is stopped: it refuses to start, naming the partition and how to rebuild', async () => {
    const customerId = 'recreated-while-stopped';
    await stopped.stopScorer(await consumeFirst(stopped, customerId));
    await recreateActivityTopic(stopped, customerId);

    const refusal = await stopped.startScorer({ clock: new ManualClock(SAMPLE_NOW).now }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ConfigError);
    expect(String(refusal)).toContain(`REDIS_KEY_PREFIX: input partition ${stopped.topics.activity}/0 ${WENT_BACK}`);
    expect(String(refusal)).toContain('set a new REDIS_KEY_PREFIX');
    expect(await revisionOf(stopped, customerId)).toBe(FIRST);
  }, 90_000);

  it('while the scorer runs: its liveness fails before any new record is dropped as a redelivery', async () => {
    const customerId = 'recreated-while-running';
    const liveness = new RecordingLiveness();
    const scorer = await consumeFirst(running, customerId, liveness);
    await recreateActivityTopic(running, customerId);

    // A fetch between the deletion and the creation may show the topic missing first (the topics watch then fails the
    // liveness, as CI once saw): either way the process would exit there. This one goes on, as a process whose exit is
    // slow would, so the first fetch of the new topic must find it gone back.
    const wentBack = `input partition ${running.topics.activity}/0 ${WENT_BACK}`;
    await eventually(async () => liveness.reasons, (reasons) => reasons.some((reason) => reason.startsWith(wentBack)), 60_000, 'the liveness to fail for the partition that went back');
    const first = liveness.reasons[0]!;
    expect(first.startsWith(wentBack) || first.startsWith('a topic the scorer reads or writes no longer exists: TOPIC_ACTIVITY'), first).toBe(true);
    expect(await redelivered(scorer)).toBe(0);
    expect(await revisionOf(running, customerId)).toBe(FIRST);
    // The process would have exited here; in this one, the consumer would go on failing the batch.
    await running.stopScorer(scorer);
  }, 90_000);
});

// A recreated topic that already holds more records than were consumed from the old one ends past the recorded
// offset: only the record at the last consumed offset tells the logs apart. Kafka deleted the group's offsets with the
// topic, so the scorer would read the new log from its start; it reads that record back first.
describe('an input topic deleted and created again, grown past the offset consumed before the scorer starts', () => {
  it('is refused at the start (the record at the last consumed offset is another one), naming the partition', async () => {
    const customerId = 'recreated-and-grown';
    await grown.stopScorer(await consumeFirst(grown, customerId));
    await deleteTopics([grown.topics.activity]);
    await createTopics([grown.topics.activity], 1);
    await grown.publish(meetings(customerId, 100, FIRST + AFTER));
    // The scenario is a topic re-created before the scorer starts, not during its start: a broker can still answer
    // UNKNOWN_TOPIC_OR_PARTITION for the new topic a few seconds after the publication (CI saw the start fail on it once).
    await untilServedEverywhere(grown.topics.activity, FIRST + AFTER);

    const refusal = await grown.startScorer({ clock: new ManualClock(SAMPLE_NOW).now }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ConfigError);
    expect(String(refusal)).toContain(
      `REDIS_KEY_PREFIX: input partition ${grown.topics.activity}/0 holds another record at offset ${FIRST - 1} than the one this namespace consumed there, ` +
        'and its consumer group no offset: the topic was deleted and created again.',
    );
    expect(String(refusal)).toContain('set a new REDIS_KEY_PREFIX');
    expect(await revisionOf(grown, customerId)).toBe(FIRST);
  }, 90_000);

  it('is told from the same log read again when the group lost its offsets: the start goes on, and nothing is applied twice', async () => {
    const customerId = 'group-offsets-deleted';
    await regrouped.stopScorer(await consumeFirst(regrouped, customerId));
    const admin = new Kafka({ brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.deleteGroups([regrouped.consumerGroup]);
    } finally {
      await admin.disconnect();
    }

    const scorer = await regrouped.startScorer({ clock: new ManualClock(SAMPLE_NOW).now });
    await regrouped.publish(meetings(customerId, FIRST, 1));
    await eventually(() => revisionOf(regrouped, customerId), (revision) => revision === FIRST + 1, 30_000, 'the new event to be applied');
    expect(await redelivered(scorer)).toBe(FIRST);
    await regrouped.stopScorer(scorer);
  }, 90_000);
});

describe("input records the topic's retention deleted before the scorer read them", () => {
  it('are counted at its start, and the records after them applied', async () => {
    const customerId = 'deleted-unread';
    await retained.stopScorer(await consumeFirst(retained, customerId));
    // Published while the scorer is stopped; the first three then deleted, as retention deletes the oldest segments.
    await retained.publish(meetings(customerId, FIRST, AFTER));
    await deleteRecordsBefore(retained.topics.activity, FIRST + 3);

    const scorer = await retained.startScorer({ clock: new ManualClock(SAMPLE_NOW).now });
    await eventually(() => revisionOf(retained, customerId), (revision) => revision === FIRST + AFTER - 3, 30_000, 'the records after the deleted ones to be scored');
    const deletedUnread = (await scorer.metrics.events.get()).values.find((value) => value.labels.outcome === 'deleted_unread');
    expect(deletedUnread).toMatchObject({ labels: { topic: retained.topics.activity }, value: 3 });
  }, 90_000);
});

describe('input records deleted ahead of a scorer that runs', () => {
  it('are said and counted as they are passed, and the records after them applied', async () => {
    const customerId = 'deleted-ahead';
    const port = await freePort();
    // A session long enough that the member stays in its group while the process is paused.
    const scorer = resources.startService('scorer', { ...deletedAhead.env(), HTTP_PORT: String(port), KAFKA_SESSION_TIMEOUT_MS: '60000' });
    await eventually(() => statusWithin(`http://127.0.0.1:${port}/readyz`, 1_000), (status) => status === 200, 60_000, 'the scorer to be ready');
    await deletedAhead.publish(meetings(customerId, 0, 1));
    await eventually(() => revisionOf(deletedAhead, customerId), (revision) => revision === 1, 30_000, 'the first event to be applied');

    // Paused past its fetch's longest wait (kafkajs's 5 s), so that the records below reach it by no fetch in flight.
    scorer.signal('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await deletedAhead.publish(meetings(customerId, 1, 10));
    await deleteRecordsBefore(deletedAhead.topics.activity, 6);
    scorer.signal('SIGCONT');

    await eventually(() => revisionOf(deletedAhead, customerId), (revision) => revision === 1 + 5, 30_000, 'the records after the deleted ones to be applied');
    const metrics = await eventually(
      async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
      (text) => text.includes('outcome="deleted_unread"'),
      10_000,
      'the deleted records to be counted',
    );
    expect(metrics).toContain(`churnscore_events_total{topic="${deletedAhead.topics.activity}",outcome="deleted_unread"} 5`);
    expect(scorer.records().filter((record) => record.level === 'error' && String(record.msg).startsWith('input records deleted'))).toEqual([
      expect.objectContaining({ topic: deletedAhead.topics.activity, partition: 0, from: 1, to: 6 }),
    ]);
  }, 120_000);
});
