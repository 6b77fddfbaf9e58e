// SPEC §8: a broker outage pauses the scorer with backoff, and it resumes without loss. Here the broker (one of the
// test's own, test/harness/private-kafka.ts) is killed while the scorer consumes a backlog, stays away, and comes back
// on the same data: every record is applied exactly once, nothing goes to the DLQ, the process stays alive through
// the outage, readiness says it cannot work while the broker is away and is ready again after, and the score-changed
// events a subscriber reads end with what Redis holds.
import { SAMPLE_NOW } from '@churnscore/events/testing';
import { Liveness } from '@churnscore/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningScorer } from '../../services/scorer/src/scorer';
import { PrivateKafka } from '../harness/private-kafka';
import { testStack } from '../harness/stack';
import { dlqTotal, eventually, hourlyMeetings, ManualClock, ScorerTestBed } from '../scorer/support';

const CUSTOMERS = 12;
const EVENTS_BEFORE = 40;
const EVENTS_AFTER = 10;
/** Longer than the consumer's session timeout and several of kafkajs's retries: the scorer must wait, not give up. */
const OUTAGE_MS = 15_000;

// The private broker runs on the local stack's Kafka jars and Java; containers and external services offer neither.
describe.skipIf(testStack().kafkaSaslBrokers === undefined)('a Kafka broker outage', () => {
  let broker: PrivateKafka;
  let bed: ScorerTestBed;
  let scorer: RunningScorer;
  const liveness = new Liveness();

  beforeAll(async () => {
    broker = await PrivateKafka.start();
    bed = new ScorerTestBed('broker-outage', undefined, { kafkaBrokers: broker.brokers });
    await bed.setUp(3);
    scorer = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now, liveness });
  }, 120_000);
  afterAll(async () => {
    // The bed removes its topics through the broker: back from an outage a failed test left it in.
    if (broker && !broker.running) await broker.start();
    await bed?.tearDown();
    await broker?.remove();
  }, 60_000);

  const customerIds = Array.from({ length: CUSTOMERS }, (_, c) => `broker-outage-${c}`);
  const meetings = (from: number, count: number) => hourlyMeetings(customerIds, from, count);
  const revisions = () => bed.revisions(customerIds);
  const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
  const readiness = async () => (await fetch(`http://127.0.0.1:${scorer.httpPort}/readyz`)).status;

  it('pauses while the broker is away and applies every record exactly once when it is back', async () => {
    await bed.publish(meetings(0, EVENTS_BEFORE));
    // Killed while the scorer works through the backlog (or just after): applied, uncommitted and unpublished work is in flight.
    await eventually(revisions, (r) => sum(r) > 0, 30_000, 'the scorer to start on the backlog');
    await broker.crash();

    await eventually(readiness, (status) => status === 503, OUTAGE_MS, 'readiness to report the broker away');
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    expect(liveness.alive).toBe(true);

    await broker.start();
    await bed.publish(meetings(EVENTS_BEFORE, EVENTS_AFTER));
    const expected = EVENTS_BEFORE + EVENTS_AFTER;
    await eventually(revisions, (r) => r.every((revision) => revision === expected), 120_000, `every customer's ${expected} events applied`);
    await eventually(readiness, (status) => status === 200, 30_000, 'readiness after the outage');
    expect(liveness.alive).toBe(true);
    expect(await dlqTotal(scorer)).toBe(0);

    await bed.expectSubscriberEndsWithRedis(customerIds, SAMPLE_NOW);
  }, 240_000);
});
