// The pipeline on in-memory stand-ins of its seams: the real codec on a mock registry, a store that keeps
// the state store's contract in memory, a producer that records. Each test drives units of work through
// it and reads what was applied, committed, sent and acknowledged, in order, from one journal.
import { Writable } from 'node:stream';
import { DEFAULT_TOPICS } from '@churnscore/config';
import { MS_PER_DAY, type ContractState, type InputEvent, type OutputEvent } from '@churnscore/domain';
import { DLQ_HEADERS, EventEncodeError, TOPIC_ROLE_OF_KIND, type EventCodec } from '@churnscore/events';
import { inMemoryEventCodec, SAMPLE_NOW, sampleActivity, sampleContract, sampleCustomer, sampleOpportunity } from '@churnscore/events/testing';
import { RecordBatchLimit, RewindRequiredError, type BatchSender, type MessageChunk } from '@churnscore/kafka';
import { kafkaMessage, RecordingProducer } from '@churnscore/kafka/testing';
import { createLogger, customerRef } from '@churnscore/observability';
import { capturingLogger } from '@churnscore/observability/testing';
import { defaultScoringConfig } from '@churnscore/scoring';
import { writeFence, type StateStore, type WriteFence } from '@churnscore/state';
import { InMemoryStateStore } from '@churnscore/state/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { InputBacklog, NOTHING_BEHIND, type BacklogView } from './input-backlog';
import { createScorerMetrics, type ScorerMetrics } from './metrics';
import { STEP_MAX_CUSTOMERS, ScoringPipeline } from './pipeline';

const NOW = SAMPLE_NOW;
const topics = DEFAULT_TOPICS;
const fenceOf = (epoch: string): WriteFence => writeFence({ runId: 'run-1', epoch, addedMasterEpochs: {}, serverTimeMs: NOW }, NOW);
const FENCE = fenceOf('epoch-1');

let codec: EventCodec;
let journal: string[];
let store: InMemoryStateStore;
let producer: RecordingProducer;
let backlog: BacklogView;
/** CATCH_UP_SCORE_DELAY_MS: its default unless a test says otherwise. */
let catchUpScoreDelayMs: number;
const SCORE_DELAY_MS = 30_000;
beforeEach(async () => {
  catchUpScoreDelayMs = SCORE_DELAY_MS;
  codec ??= await inMemoryEventCodec();
  journal = [];
  store = new InMemoryStateStore(journal);
  producer = new RecordingProducer(journal);
  backlog = NOTHING_BEHIND;
});

let metrics: ScorerMetrics;
/** Whether another model is in service, its instances re-scoring for time (this instance one of the model before); a list: each answer in turn. */
let anotherModelInService: boolean | boolean[] = false;
beforeEach(() => {
  anotherModelInService = false;
});
const pipelineWith = (sender: BatchSender = producer, now = NOW, stateStore: StateStore = store, logger = createLogger({ name: 'pipeline-test', level: 'silent' })) =>
  new ScoringPipeline({
    store: stateStore,
    codec,
    producer: sender,
    topics,
    scoring: defaultScoringConfig(),
    clock: () => now,
    metrics: (metrics = createScorerMetrics()),
    logger,
    batchLimit: RecordBatchLimit.fixed(1_000_000),
    backlog,
    catchUp: { historyAgeMs: MS_PER_DAY, settleMs: 60_000 },
    catchUpScoreDelayMs,
    onReleased: () => journal.push('poll due customers now'),
    scoringLeftToModelInService: () => Promise.resolve(typeof anotherModelInService === 'boolean' ? anotherModelInService : anotherModelInService.shift()!),
  });

const topicOf = (event: InputEvent | OutputEvent): string => topics[TOPIC_ROLE_OF_KIND[event.kind]];

/** A chunk of one partition of `events`' topic, encoded as the CRM would send them, from `offset` on. */
async function chunkOf(events: readonly InputEvent[], { partition = 0, offset = 0 } = {}): Promise<MessageChunk> {
  const messages = await Promise.all(
    events.map(async (event, i) => kafkaMessage(offset + i, { key: event.customerId, value: await codec.encode(topicOf(event), event), timestamp: NOW })),
  );
  return { topic: topicOf(events[0]!), partition, messages, nextOffset: String(offset + messages.length) };
}

const activity = (customerId: string, eventId: string) => sampleActivity({ customerId, eventId, activityType: 'CALL', value: null });

/** Every score-changed and alert event sent, decoded, in the order sent (tombstones and the DLQ left out). */
async function outputs(): Promise<OutputEvent[]> {
  const sent = producer.records().filter(({ topic, message }) => (topic === topics.scoreChanged || topic === topics.alerts) && message.value !== null);
  return Promise.all(
    sent.map(async ({ topic, message }) => {
      const decoded = await codec.decodeOutput(topic, Buffer.from(message.key as string), message.value as Buffer);
      if (!decoded.ok) throw new Error(decoded.rejection.message);
      return decoded.event;
    }),
  );
}

/** An active contract signed 200 days ago, a call that day and not a sign of life since: the customer is silent, alerts open. */
const silentContract: ContractState = {
  contractId: 'c-1',
  contractType: 'SUBSCRIPTION',
  totalValue: 100_000,
  startDate: NOW - 200 * MS_PER_DAY,
  endDate: NOW + 200 * MS_PER_DAY,
  status: 'ACTIVE',
  occurredAt: NOW - 200 * MS_PER_DAY,
  eventId: 'contract-1',
};
const silentSinceSigning = { contracts: [silentContract], lastActivityAt: NOW - 200 * MS_PER_DAY };

describe('ScoringPipeline.handleChunks', () => {
  it("applies a unit's events, scores each touched customer once, publishes the outbox, then acknowledges it", async () => {
    const chunks = [await chunkOf([activity('c1', 'e1'), activity('c2', 'e2')]), await chunkOf([activity('c1', 'e3')], { partition: 1 })];
    await pipelineWith().handleChunks(chunks, FENCE);
    expect(journal).toEqual(['apply e1 e2 e3', 'read c1 c2', 'commit c1', 'commit c2', `send ${topics.scoreChanged} ×2`, 'ack c1 1', 'ack c2 1']);
    const published = await outputs();
    expect(published.map((event) => [event.kind, event.customerId, event.version])).toEqual([
      ['score-changed', 'c1', 1],
      ['score-changed', 'c2', 1],
    ]);
    expect(published[0]).toMatchObject({ cause: { kind: 'event', eventId: 'e3' }, previous: null });
    expect(store.stored('c1').outbox).toEqual([]);
  });

  it('dead-letters a rejected record with its reason and source, unchanged, and scores the valid ones', async () => {
    const chunk = await chunkOf([activity('c1', 'e1')]);
    const garbage = kafkaMessage(1, { key: 'c1', value: 'not avro', timestamp: NOW });
    await pipelineWith().handleChunks([{ ...chunk, messages: [...chunk.messages, garbage], nextOffset: '2' }], FENCE);
    const [dead] = producer.sent(topics.dlq);
    expect(producer.sent(topics.dlq)).toHaveLength(1);
    expect(dead?.value).toEqual(garbage.value);
    expect(dead?.headers).toMatchObject({ [DLQ_HEADERS.reason]: 'NOT_WIRE_FORMAT', [DLQ_HEADERS.sourceTopic]: chunk.topic, [DLQ_HEADERS.sourceOffset]: '1' });
    expect(journal[0]).toBe(`send ${topics.dlq} ×1`);
    expect(journal).toContain('apply e1');
  });

  it('logs a flood of records rejected for one reason in one line, not one line each (the DLQ holds every one)', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const garbage = Array.from({ length: 1_000 }, (_, i) => kafkaMessage(i, { key: 'c1', value: 'not avro', timestamp: NOW }));
    const pipeline = pipelineWith(producer, NOW, store, createLogger({ name: 'pipeline-test', level: 'warn', destination }));
    await pipeline.handleChunks([{ topic: topics.activity, partition: 0, messages: garbage, nextOffset: '1000' }], FENCE);
    expect(producer.sent(topics.dlq)).toHaveLength(1_000);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'input rejected to the DLQ', reason: 'NOT_WIRE_FORMAT', offset: '0' })]);
  });

  it('dead-letters the events the store refuses for the entity bound, unchanged, and scores the customer with the others', async () => {
    store.maxEntities = 2;
    const deal = (eventId: string, opportunityId: string) => sampleOpportunity({ customerId: 'c1', eventId, opportunityId });
    const chunk = await chunkOf([deal('e1', 'o1'), deal('e2', 'o2'), deal('e3', 'o3'), deal('e4', 'o1')]);
    await pipelineWith().handleChunks([chunk], FENCE);
    const dead = producer.sent(topics.dlq);
    expect(dead.map((message) => message.headers)).toEqual([
      expect.objectContaining({ [DLQ_HEADERS.reason]: 'ENTITY_LIMIT', [DLQ_HEADERS.field]: 'opportunityId', [DLQ_HEADERS.sourceOffset]: '2' }),
    ]);
    expect(dead[0]?.value).toEqual(chunk.messages[2]!.value);
    // Sent within the unit, before it is done and its offsets can be committed; the customer is scored with the rest.
    expect(journal).toEqual(['apply e1 e2 e3 e4', 'read c1', `send ${topics.dlq} ×1`, 'commit c1', `send ${topics.scoreChanged} ×1`, 'ack c1 1']);
    expect(store.stored('c1').score?.revision).toBe(3);

    // Consumed again after a crash before the commit: refused again, and dead-lettered again.
    await pipelineWith().handleChunks([chunk], FENCE);
    expect(producer.sent(topics.dlq)).toHaveLength(2);
    // The next unit's chunk tells the store that what precedes it is settled: consumed again later, it is a redelivery.
    await pipelineWith().handleChunks([await chunkOf([deal('e5', 'o2')], { offset: 4 })], FENCE);
    await pipelineWith().handleChunks([chunk], FENCE);
    expect(producer.sent(topics.dlq)).toHaveLength(2);
  });

  it('splits a unit at an erasure: what came before is scored, the customer erased and tombstoned, what follows starts afresh', async () => {
    const erase = sampleCustomer({ customerId: 'c1', eventId: 'e2', erase: true, segment: null });
    const chunks = [await chunkOf([activity('c1', 'e1')]), await chunkOf([erase]), await chunkOf([activity('c1', 'e3')], { offset: 1 })];
    await pipelineWith().handleChunks(chunks, FENCE);
    expect(journal).toEqual([
      'apply e1',
      'read c1',
      'commit c1',
      `send ${topics.scoreChanged} ×1`,
      'ack c1 1',
      'erase c1',
      `send ${topics.scoreChanged} ×1`,
      `send ${topics.alerts} ×1`,
      'apply e3',
      'read c1',
      'commit c1',
      `send ${topics.scoreChanged} ×1`,
      'ack c1 1',
    ]);
    expect(producer.batches[1]?.topicMessages?.map((t) => t.messages)).toEqual([[{ key: 'c1', value: null }], [{ key: 'c1', value: null }]]);
    expect((await outputs()).map((event) => event.version)).toEqual([1, 1]); // the erased customer starts over
  });

  it('reads a customer again when the snapshot read behind its apply is not the state the apply left', async () => {
    // As if the read had run before the apply (a script Redis had flushed is re-sent after it): one revision short.
    class ReadBeforeApply extends InMemoryStateStore {
      private early = true;
      override async readCustomers(customerIds: readonly string[]) {
        const snapshots = await super.readCustomers(customerIds);
        if (!this.early) return snapshots;
        this.early = false;
        return snapshots.map((snapshot) => ({ ...snapshot, state: { ...snapshot.state, revision: snapshot.state.revision - 1 } }));
      }
    }
    store = new ReadBeforeApply(journal);
    await pipelineWith().handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    expect(journal).toEqual(['apply e1', 'read c1', 'read c1', 'commit c1', `send ${topics.scoreChanged} ×1`, 'ack c1 1']);
    expect(store.stored('c1').score?.revision).toBe(1);
  });

  it('requires a rewind, scoring nothing, when the apply finds another Redis server than the fence names', async () => {
    store.runId = 'run-2';
    await expect(pipelineWith().handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE)).rejects.toThrow(RewindRequiredError);
    // The read travels right behind the apply (before its outcome is known) and is dropped: nothing is committed.
    expect(journal).toEqual(['apply e1', 'read c1']);
  });

  it('requires a rewind, publishing nothing, when Redis was replaced between the apply and the commit', async () => {
    store.beforeCommit = () => (store.runId = 'run-2');
    await expect(pipelineWith().handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE)).rejects.toThrow(RewindRequiredError);
    expect(producer.batches).toEqual([]);
  });

  it('publishes what a crash left in the outbox when the events are redelivered, and acknowledges it once sent', async () => {
    const chunk = await chunkOf([activity('c1', 'e1')]);
    const brokerDown: BatchSender = { sendBatch: () => Promise.reject(new Error('broker unreachable')) };
    await expect(pipelineWith(brokerDown).handleChunks([chunk], FENCE)).rejects.toThrow('broker unreachable');
    expect(store.stored('c1').outbox.map(({ seq, version }) => ({ seq, version }))).toEqual([{ seq: 1, version: 1 }]);

    journal.length = 0;
    await pipelineWith(producer, NOW + 1).handleChunks([chunk], FENCE); // redelivered: nothing applied, the outbox still published
    expect(journal).toEqual(['apply e1', 'read c1', 'commit c1', `send ${topics.scoreChanged} ×1`, 'ack c1 1']);
    expect((await outputs()).map((event) => [event.kind, event.version])).toEqual([['score-changed', 1]]);
    expect(store.stored('c1').outbox).toEqual([]);
  });

  it("leaves a customer re-scored for time due at its claim's lease until its outputs are published, then at its next due time", async () => {
    await pipelineWith().handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    const LEASE_MS = 300_000;
    const later = NOW + 40 * MS_PER_DAY; // the call a month old: the score has moved, and a change is published
    const registryDown: BatchSender = { sendBatch: () => Promise.reject(new Error('schema registry unreachable')) };
    store.due.set('c1', later + LEASE_MS); // as the claim's lease left it
    await expect(pipelineWith(registryDown, later).rescore([{ customerId: 'c1', cause: { kind: 'time' }, leasedUntil: later + LEASE_MS }], later, FENCE)).rejects.toThrow('unreachable');
    // Committed, unpublished: no input offset brings the customer back, its lease does.
    expect(store.stored('c1').outbox.length).toBeGreaterThan(0);
    expect(store.due.get('c1')).toBe(later + LEASE_MS);

    const leaseEnd = later + LEASE_MS;
    store.due.set('c1', leaseEnd + LEASE_MS); // claimed again once the lease ended
    await pipelineWith(producer, leaseEnd).rescore([{ customerId: 'c1', cause: { kind: 'time' }, leasedUntil: leaseEnd + LEASE_MS }], leaseEnd, FENCE);
    expect(store.stored('c1').outbox).toEqual([]);
    expect((await outputs()).some((event) => event.kind === 'score-changed' && event.cause.kind === 'time')).toBe(true);
    expect(store.due.get('c1')).toBe(store.stored('c1').score!.nextDueAt);
  });

  it('leaves a customer re-scored for time that the consumer scored at the same instant due when the stored score says, not at its lease', async () => {
    await pipelineWith().handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    const stored = store.stored('c1').score!;
    store.due.set('c1', NOW + 300_000); // as the claim's lease left it
    await pipelineWith().rescore([{ customerId: 'c1', cause: { kind: 'time' }, leasedUntil: NOW + 300_000 }], NOW, FENCE);
    // The same revision as of the same instant: not newer, refused. A clock that stands still (the evaluation's) never
    // reaches the lease's end.
    expect(store.stored('c1').score).toEqual(stored);
    expect(store.due.get('c1')).toBe(stored.nextDueAt);
  });

  it('publishes what a re-scoring refused for a stored score finds unpublished, then leaves the customer due when that score says', async () => {
    const registryDown: BatchSender = { sendBatch: () => Promise.reject(new Error('schema registry unreachable')) };
    await expect(pipelineWith(registryDown).handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE)).rejects.toThrow('unreachable');
    expect(store.stored('c1').outbox.length).toBeGreaterThan(0);
    store.due.set('c1', NOW + 300_000); // as the claim's lease left it
    await pipelineWith().rescore([{ customerId: 'c1', cause: { kind: 'time' }, leasedUntil: NOW + 300_000 }], NOW, FENCE);
    expect(store.stored('c1').outbox).toEqual([]);
    expect((await outputs()).map((event) => event.kind)).toContain('score-changed');
    expect(store.due.get('c1')).toBe(store.stored('c1').score!.nextDueAt);
  });

  it('works through a unit of more customers than a step holds step by step, each customer once, its events together and in order', async () => {
    // c0's two events at either end of the unit, one event for each of STEP_MAX_CUSTOMERS other customers.
    const others = Array.from({ length: STEP_MAX_CUSTOMERS }, (_, i) => activity(`c${i + 1}`, `e${i + 1}`));
    await pipelineWith().handleChunks([await chunkOf([activity('c0', 'first'), ...others, activity('c0', 'last')])], FENCE);
    const applied = journal.filter((line) => line.startsWith('apply '));
    expect(applied).toHaveLength(2);
    expect(applied[0]!.split(' ').slice(1, 4)).toEqual(['first', 'last', 'e1']);
    expect(applied[1]).toBe(`apply e${STEP_MAX_CUSTOMERS}`);
    // The first step is committed and published before the second is applied.
    expect(journal.indexOf(`send ${topics.scoreChanged} ×${STEP_MAX_CUSTOMERS}`)).toBeLessThan(journal.indexOf(applied[1]!));
    expect(journal.filter((line) => line.startsWith('commit '))).toHaveLength(STEP_MAX_CUSTOMERS + 1);
    expect(store.stored('c0').score?.revision).toBe(2);
  });

  it('applies a unit of many events of few customers in one step, as they came', async () => {
    const events = Array.from({ length: STEP_MAX_CUSTOMERS + 1 }, (_, i) => activity(`c${i % 3}`, `e${i}`));
    await pipelineWith().handleChunks([await chunkOf(events)], FENCE);
    expect(journal.filter((line) => line.startsWith('apply '))).toEqual([`apply ${events.map((event) => event.eventId).join(' ')}`]);
  });

  it('publishes score changes and alert transitions with the versions their commit assigned, keyed by customer', async () => {
    store.setState('c1', silentSinceSigning);
    const pipeline = pipelineWith();
    await pipeline.handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    // A customer of long standing seen for the first time: its alerts wait for the settle time (catch-up.ts).
    await pipeline.rescore([{ customerId: 'c1', cause: { kind: 'time' } }], NOW + 60_000, FENCE);
    const published = await outputs();
    const alerts = published.filter((event) => event.kind === 'alert');
    expect(alerts.length).toBeGreaterThan(0);
    expect(published.map((event) => event.version)).toEqual(published.map((_, i) => i + 1)); // score version 1, then each alert's seq
    expect(producer.sent(topics.alerts).map((m) => m.key)).toEqual(alerts.map(() => 'c1'));
  });
});

describe('ScoringPipeline.rescore', () => {
  const byTime = (customerId: string) => ({ customerId, cause: { kind: 'time' as const } });

  it('recomputes a customer whose commit lost a race from a fresh read, so nothing derives from a stale alert book', async () => {
    const pipeline = pipelineWith();
    await pipeline.handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    // Another computation of the customer (another instance, the time-driven loop) commits after our read.
    store.beforeCommit = (ours) => {
      store.beforeCommit = undefined;
      void store.commitScores([{ ...ours, asOf: ours.asOf - 1, outbox: [] }], { fence: FENCE });
    };
    journal.length = 0;
    await pipeline.rescore([byTime('c1')], NOW + 2, FENCE);
    expect(journal).toEqual(['read c1', 'commit c1', 'commit c1', 'read c1', 'commit c1']);
    expect(store.stored('c1').score).toMatchObject({ asOf: NOW + 2 });
  });

  it('scores a customer erased and created again since its read from a fresh read, not from the erased state', async () => {
    await pipelineWith().handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    await store.eraseCustomer('c1', NOW - 1);
    await store.applyEvents([{ event: activity('c1', 'e2'), topic: topics.activity, partition: 0, offset: '5', receivedAt: NOW }], NOW);
    const [before] = await store.readCustomers(['c1']);
    // While this computation runs, the customer is erased and one late event creates it again: the same revision.
    store.beforeCommit = () => {
      store.beforeCommit = undefined;
      void store.eraseCustomer('c1', NOW - 1);
      void store.applyEvents([{ event: activity('c1', 'e3'), topic: topics.activity, partition: 0, offset: '6', receivedAt: NOW }], NOW);
    };
    journal.length = 0;
    await pipelineWith().rescore([byTime('c1')], NOW + 1, FENCE, [], new Map([['c1', before!]]));
    expect(journal.filter((call) => /^(read|commit)/.test(call))).toEqual(['commit c1', 'read c1', 'commit c1']);
    expect((await store.readCustomers(['c1']))[0]!.incarnation).not.toBe(before!.incarnation);
    expect(store.stored('c1').score).toMatchObject({ revision: 1, asOf: NOW + 1 });
  });

  it('counts every customer it scores by cause, a commit retried after a lost race again', async () => {
    const pipeline = pipelineWith();
    await pipeline.handleChunks([await chunkOf([activity('c1', 'e1'), activity('c1', 'e2'), activity('c2', 'e3')])], FENCE);
    store.beforeCommit = (ours) => {
      store.beforeCommit = undefined;
      void store.commitScores([{ ...ours, asOf: ours.asOf - 1, outbox: [] }], { fence: FENCE });
    };
    await pipeline.rescore([byTime('c1')], NOW + 2, FENCE);
    const counted = (await metrics.customersScored.get()).values.map(({ labels, value }) => [labels.cause, value]);
    expect(counted).toEqual([
      ['event', 2],
      ['time', 2],
    ]);
  });

  it('gives up on a customer contended commit after commit', async () => {
    const pipeline = pipelineWith();
    await pipeline.handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    let other = 0;
    store.beforeCommit = (ours) => {
      const landsFirst = store.beforeCommit;
      store.beforeCommit = undefined;
      void store.commitScores([{ ...ours, asOf: NOW + (other += 1), outbox: [] }], { fence: FENCE });
      store.beforeCommit = landsFirst;
    };
    await expect(pipeline.rescore([byTime('c1')], NOW + 100, FENCE)).rejects.toThrow('still contended');
  });

  it('publishes a score afresh, with no previous values, when the stored one holds values no score can (a hand edit), rather than an event no schema takes', async () => {
    const pipeline = pipelineWith();
    await pipeline.handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    Object.assign(store.stored('c1').score!, { health: Number.NaN, band: 'purple' });
    await pipeline.handleChunks([await chunkOf([activity('c1', 'e2')], { offset: 1 })], FENCE);
    const [first, second] = (await outputs()).filter((event) => event.kind === 'score-changed');
    expect(second).toMatchObject({ version: first!.version + 1, previous: null, cause: { kind: 'event', eventId: 'e2' } });
    expect(second?.kind === 'score-changed' && second.explanation.topDrivers).toEqual([]);
    expect(store.stored('c1').score).toMatchObject({ health: second?.kind === 'score-changed' ? second.current.health : -1, version: second!.version });
    expect((await metrics.unreadableScores.get()).values[0]?.value).toBe(1);
  });

  it("names, by its reference only, the customer whose waiting output no schema takes, before the failure stops the scorer", async () => {
    const chunk = await chunkOf([activity('c1', 'e1')]);
    const realCodec = codec;
    codec = { ...realCodec, encode: () => Promise.reject(new EventEncodeError('event does not fit schema 6; bad fields: previous.health')) };
    try {
      const { logger, lines } = capturingLogger('pipeline-test', 'error');
      await expect(pipelineWith(producer, NOW, store, logger).handleChunks([chunk], FENCE)).rejects.toThrow(EventEncodeError);
      expect(lines).toEqual([expect.objectContaining({ customer: customerRef('c1', FENCE.epoch), kind: 'score-changed', version: 1 })]);
      expect(JSON.stringify(lines)).not.toContain('"c1"');
    } finally {
      codec = realCodec;
    }
  });

  it('applies the events but leaves their customers, due now, to the model in service while another one is rolled out, then scores again', async () => {
    const { logger, lines } = capturingLogger('pipeline-test', 'warn');
    const pipeline = pipelineWith(producer, NOW, store, logger);
    anotherModelInService = true;
    await pipeline.handleChunks([await chunkOf([activity('c1', 'e1'), activity('c2', 'e2')])], FENCE);
    expect(journal).toEqual(['apply e1 e2', 'read c1 c2']);
    expect(await outputs()).toEqual([]);
    expect(store.stored('c1').score).toBeNull();
    expect([store.due.get('c1'), store.due.get('c2')]).toEqual([NOW, NOW]);
    anotherModelInService = false;
    await pipeline.handleChunks([await chunkOf([activity('c1', 'e3')], { offset: 2 })], FENCE);
    expect(journal.slice(2)).toEqual(['apply e3', 'read c1', 'commit c1', `send ${topics.scoreChanged} ×1`, 'ack c1 1']);
    expect(lines.map((line) => line.msg)).toEqual([expect.stringContaining('leaves their scoring'), expect.stringContaining('scores the events it consumes again')]);
  });

  it('hands the customers of a step over to the model in service when its roll-out began while the step was scored', async () => {
    // Not rolled out when the step began (its customers scored with this model), rolled out by the time they were committed.
    anotherModelInService = [false, true];
    await pipelineWith().handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    expect(journal).toEqual(['apply e1', 'read c1', 'commit c1', `send ${topics.scoreChanged} ×1`, 'ack c1 1']);
    expect(store.due.get('c1')).toBe(NOW);
  });

  it("publishes a customer's score and every alert episode again in its first commit of a new Redis generation", async () => {
    store.setState('c1', silentSinceSigning);
    const pipeline = pipelineWith();
    await pipeline.handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    const first = await outputs();

    await pipeline.rescore([byTime('c1')], NOW + 1, FENCE);
    expect(await outputs()).toHaveLength(first.length); // nothing changed: nothing published

    await pipeline.rescore([byTime('c1')], NOW + 2, fenceOf('epoch-2'));
    const again = (await outputs()).slice(first.length);
    expect(again.map((event) => (event.kind === 'alert' ? event.alertId : event.kind))).toEqual(
      first.map((event) => (event.kind === 'alert' ? event.alertId : event.kind)),
    );
    expect(again[0]).toMatchObject({ kind: 'score-changed', cause: { kind: 'time' } });
  });

  it('drops the due entry of a customer without state (erased, or never seen) and commits nothing for it', async () => {
    await store.scheduleDue('ghost', NOW);
    await pipelineWith().rescore([byTime('ghost')], NOW, FENCE);
    expect(store.due.get('ghost')).toBeNull();
    expect(journal).toEqual(['read ghost']);
  });
});

describe('ScoringPipeline while a backlog loads', () => {
  const logger = createLogger({ name: 'pipeline-test', level: 'silent' });
  /** What the broker holds of the activity partition now (its high watermark). */
  let brokerEnd: number;
  let inputBacklog: InputBacklog;
  beforeEach(async () => {
    brokerEnd = 100;
    inputBacklog = new InputBacklog({
      topics: [topics.activity, topics.opportunity, topics.contract, topics.customer],
      farBehind: 10,
      brokers: {
        partitionCounts: (names) => Promise.resolve(new Map(names.map((name) => [name, 1]))),
        highWatermarks: () => Promise.resolve(new Map([[0, brokerEnd]])),
        groupPositions: () => Promise.resolve(new Map()),
      },
      // One instance: no other records a partition behind.
      shared: { record: () => Promise.resolve(), read: () => Promise.resolve([]) },
      logger,
    });
    await inputBacklog.refreshPartitionCounts();
    backlog = inputBacklog;
    // Read before the backlog: on their own, the activity below would open the customer's alerts.
    store.setState('c1', silentSinceSigning);
    inputBacklog.fetched({ topic: topics.activity, partition: 0, firstOffset: '0', highWatermark: '100' });
  });

  it('applies the events of a customer whose partition is far behind but defers its scoring: nothing published, due by the delay', async () => {
    await pipelineWith().handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    expect(journal).toEqual(['apply e1']);
    expect(await outputs()).toEqual([]);
    expect(store.stored('c1').score).toBeNull();
    expect(store.due.get('c1')).toBe(NOW + SCORE_DELAY_MS);
    expect((await metrics.scoresDeferred.get()).values[0]?.value).toBe(1);
  });

  it('leaves an earlier due time of a deferred customer as it is', async () => {
    await store.scheduleDue('c1', NOW + 5_000);
    await pipelineWith().handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    expect(store.due.get('c1')).toBe(NOW + 5_000);
  });

  it('makes the deferred customers due once the partition caught up, judges their events as history, and their alerts then open as the data supports', async () => {
    const pipeline = pipelineWith();
    await pipeline.handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    await pipeline.handleChunks([await chunkOf([activity('c2', 'e2')], { offset: 99 })], FENCE);
    // Due now: its events applied make a revision its stored score is not of, so a score as of now is newer.
    expect(store.due.get('c1')).toBe(NOW);
    expect(journal.at(-1)).toBe('poll due customers now');

    // Its first evaluation, by time, is its events' own: a customer of long standing seen for the first time is held
    // for the settle time, as it is when scored after every unit (below), lest a partition that caught up mid-load
    // leave it settled from part of its history.
    await pipeline.rescore([{ customerId: 'c1', cause: { kind: 'time' } }], NOW, FENCE);
    expect(store.stored('c1').alertBook?.held?.settlesAt).toBe(NOW + 60_000);
    await pipeline.rescore([{ customerId: 'c1', cause: { kind: 'time' } }], NOW + 60_000, FENCE);
    const published = (await outputs()).filter((event) => event.customerId === 'c1');
    expect(published.map((event) => (event.kind === 'alert' ? event.status : `score catchingUp=${event.catchingUp}`))).toEqual([
      'score catchingUp=true',
      'score catchingUp=false',
      ...published.slice(2).map(() => 'OPEN'),
    ]);
    const opened = published.flatMap((event) => (event.kind === 'alert' ? [event.alertType] : []));
    expect(opened).toContain('NO_RECENT_ACTIVITY');
    expect(opened).not.toContain('HEALTH_BAND_DROPPED');
  });

  it('leaves a deferred scoring waiting for the partition when a re-scoring for time read the customer before the unit applied', async () => {
    await pipelineWith().handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
    // The time-driven loop reads c1; its commit lands only after a unit has applied more of c1's history and deferred it.
    let unitHandled!: () => void;
    const handled = new Promise<void>((resolve) => (unitHandled = resolve));
    const commitsAfterTheUnit = new Proxy(store, {
      get: (target, name) => (name === 'commitScores' ? (...args: Parameters<StateStore['commitScores']>) => handled.then(() => target.commitScores(...args)) : Reflect.get(target, name)),
    });
    const rescoring = pipelineWith(producer, NOW, commitsAfterTheUnit).rescore([{ customerId: 'c1', cause: { kind: 'time' } }], NOW, FENCE);
    await pipelineWith().handleChunks([await chunkOf([activity('c1', 'e2')], { offset: 1 })], FENCE);
    unitHandled();
    await rescoring;
    expect(store.stored('c1').score).toMatchObject({ revision: 1 });
    expect((await store.readCustomers(['c1']))[0]!.state.revision).toBe(2);

    await pipelineWith().handleChunks([await chunkOf([activity('c2', 'e3')], { offset: 99 })], FENCE);
    // Its events applied since are unscored: due now, not after the instant of the older commit.
    expect(store.due.get('c1')).toBe(NOW);
  });

  it('keeps deferring when the broker received more, far behind again, while the backlog was worked off', async () => {
    brokerEnd = 5_000; // a load still being published
    const pipeline = pipelineWith();
    await pipeline.handleChunks([await chunkOf([activity('c1', 'e1')], { offset: 99 })], FENCE);
    expect(await outputs()).toEqual([]);
    expect(store.due.get('c1')).toBe(NOW + SCORE_DELAY_MS);
    expect(journal).not.toContain('poll due customers now');
  });

  describe('with CATCH_UP_SCORE_DELAY_MS 0 (scored after every unit)', () => {
    beforeEach(() => {
      catchUpScoreDelayMs = 0;
    });

    it('holds the alert transitions of a customer whose partition is far behind, and says so on its score', async () => {
      await pipelineWith().handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
      const published = await outputs();
      expect(published.map((event) => event.kind)).toEqual(['score-changed']);
      expect(published[0]).toMatchObject({ catchingUp: true });
      // Its first sight (a customer of long standing) holds it for the settle time as well.
      expect(store.stored('c1').alertBook?.held).toEqual({ since: NOW, baseline: null, settlesAt: NOW + 60_000 });
    });

    it('makes the held customers due once the partition caught up, and their alerts then open as the data supports', async () => {
      const pipeline = pipelineWith();
      await pipeline.handleChunks([await chunkOf([activity('c1', 'e1')])], FENCE);
      await pipeline.handleChunks([await chunkOf([activity('c2', 'e2')], { offset: 99 })], FENCE);
      // Due just after the held commit: a recomputation as of the same instant would not be newer.
      expect(store.due.get('c1')).toBe(NOW + 1);
      expect(journal.at(-1)).toBe('poll due customers now');

      // Still held by its first sight until that settles, then released with what the data supports.
      await pipeline.rescore([{ customerId: 'c1', cause: { kind: 'time' } }], NOW + 1, FENCE);
      expect(store.stored('c1').alertBook?.held?.settlesAt).toBe(NOW + 60_000);
      await pipeline.rescore([{ customerId: 'c1', cause: { kind: 'time' } }], NOW + 60_000, FENCE);
      const published = (await outputs()).filter((event) => event.customerId === 'c1');
      expect(published.map((event) => (event.kind === 'alert' ? event.status : `score catchingUp=${event.catchingUp}`))).toEqual([
        'score catchingUp=true',
        'score catchingUp=false',
        ...published.slice(2).map(() => 'OPEN'),
      ]);
      const opened = published.flatMap((event) => (event.kind === 'alert' ? [event.alertType] : []));
      expect(opened).toContain('NO_RECENT_ACTIVITY');
      // No score was published before the hold: no band to have dropped from.
      expect(opened).not.toContain('HEALTH_BAND_DROPPED');
      expect(store.stored('c1').alertBook?.held).toBeUndefined();
    });

    it('keeps holding when the broker received more, far behind again, while the backlog was worked off', async () => {
      brokerEnd = 5_000; // a load still being published
      const pipeline = pipelineWith();
      await pipeline.handleChunks([await chunkOf([activity('c1', 'e1')], { offset: 99 })], FENCE);
      expect((await outputs()).map((event) => event.kind)).toEqual(['score-changed']);
      expect(store.due.get('c1')).not.toBe(NOW + 1);
      expect(journal).not.toContain('poll due customers now');
    });
  });
});

describe('history delivered while the scorer keeps up (no lag shows it)', () => {
  /** A call of the silent customer's past, 100 days ago: a replay published oldest first reaches it before the rest. */
  const pastCall = (eventId: string) => ({ ...activity('c1', eventId), occurredAt: NOW - 100 * MS_PER_DAY });

  beforeEach(() => store.setState('c1', silentSinceSigning));

  it('holds the alert transitions of events older than the history age for the settle time', async () => {
    await pipelineWith().handleChunks([await chunkOf([pastCall('e1')])], FENCE);
    const published = await outputs();
    expect(published.map((event) => event.kind)).toEqual(['score-changed']);
    expect(published[0]).toMatchObject({ catchingUp: true });
    expect(store.stored('c1').alertBook?.held).toEqual({ since: NOW, baseline: null, settlesAt: NOW + 60_000 });
  });

  it('judges a unit by its newest event of the customer: one of today makes it live', async () => {
    // A customer the scorer knows: seen a minute before, its first sight's hold settled (a customer of long standing
    // seen for the first time is held whatever its events).
    const before = pipelineWith(producer, NOW - 60_000);
    await before.handleChunks([await chunkOf([{ ...activity('c1', 'e0'), occurredAt: NOW - 60_000 }])], FENCE);
    await before.rescore([{ customerId: 'c1', cause: { kind: 'time' } }], NOW, FENCE);
    expect(store.stored('c1').alertBook?.held).toBeUndefined();
    await pipelineWith(producer, NOW + 1).handleChunks([await chunkOf([pastCall('e1'), { ...activity('c1', 'e2'), occurredAt: NOW }], { offset: 1 })], FENCE);
    expect(store.stored('c1').alertBook?.held).toBeUndefined();
  });

  it("holds a unit whose newest activity is past and the customer's latest, whatever another topic brings of today", async () => {
    // The contract topic's record of today and the activity topic's first of the past in one unit of work; the
    // in-memory store folds nothing, so the state is set as the apply leaves it: the past call its latest activity.
    store.setState('c1', { ...silentSinceSigning, lastActivityAt: NOW - 100 * MS_PER_DAY });
    const changedToday = sampleContract({ customerId: 'c1', eventId: 'k1', contractId: 'sales', occurredAt: NOW - 60_000, startDate: NOW - 300 * MS_PER_DAY, endDate: NOW - MS_PER_DAY, status: 'EXPIRED' });
    await pipelineWith().handleChunks([await chunkOf([changedToday]), await chunkOf([pastCall('e1')])], FENCE);
    expect(store.stored('c1').alertBook?.held).toEqual({ since: NOW, baseline: null, settlesAt: NOW + 60_000 });
  });
});
