// SPEC §8: exactly-once effect across rebalances. While a stream is being consumed, a second scorer joins the group
// (partitions taken from the first in the middle of its work) and then the first leaves (its partitions handed to the
// second): every record is applied exactly once, nothing goes to the DLQ, and the score-changed and alert events that
// both published, read by a subscriber de-duplicating by version, end with what Redis holds.
import { SAMPLE_NOW } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dlqTotal, eventually, hourlyMeetings, ManualClock, ScorerTestBed, scoresDeferredTotal } from '../scorer/support';

const CUSTOMERS = 60;
const EVENTS = 100;
const PARTITIONS = 6;
/** Small units of work, so that each rebalance lands in the middle of the stream rather than after it. */
const SMALL_UNITS = { chunkSize: 20, maxChunkSize: 20 };

const bed = new ScorerTestBed('rebalance');
const customerIds = Array.from({ length: CUSTOMERS }, (_, c) => `rebalance-${c}`);
const clock = new ManualClock(SAMPLE_NOW);

beforeAll(() => bed.setUp(PARTITIONS));
afterAll(() => bed.tearDown());

const applied = async () => (await bed.revisions(customerIds)).reduce((a, b) => a + b, 0);

describe('a scorer joining and another leaving while a stream is consumed', () => {
  it('applies every record exactly once, and the outputs end with what Redis holds', async () => {
    const events = hourlyMeetings(customerIds, 0, EVENTS);
    const part = (from: number, to: number) => events.slice(Math.floor(events.length * from), Math.floor(events.length * to));
    // Sent in small batches while the scorers work, as a live stream arrives.
    const stream = async (slice: typeof events) => {
      for (let start = 0; start < slice.length; start += CUSTOMERS) await bed.publish(slice.slice(start, start + CUSTOMERS));
    };

    // A backlog for the first scorer, still arriving when the second joins and takes some of its partitions.
    const backlog = stream(part(0, 0.6));
    const first = await bed.startScorer({ clock: clock.now, settings: SMALL_UNITS });
    await eventually(applied, (count) => count >= events.length / 10, 60_000, 'the first scorer to be into the backlog');
    const second = await bed.startScorer({ clock: clock.now, settings: SMALL_UNITS });
    await backlog;
    await stream(part(0.6, 0.8));
    await eventually(async () => (await second.metrics.events.get()).values.some((value) => value.labels.outcome === 'applied'), Boolean, 60_000, 'the second scorer to apply records of partitions it was given');
    // Each instance holds the same partition numbers of every input topic: all of its customers' records.
    const { protocol, members } = await bed.groupAssignments();
    expect(protocol).toBe('CoPartitionedAssigner');
    const partitionNumbers = members.map((assignment) => [...new Set(Object.values(assignment).map((partitions) => [...partitions].sort((a, b) => a - b).join(',')))]);
    expect(partitionNumbers.map((numbers) => numbers.length)).toEqual([1, 1]);
    expect(partitionNumbers.flatMap((numbers) => numbers[0]!.split(',').map(Number)).sort((a, b) => a - b)).toEqual([...Array(PARTITIONS).keys()]);

    // The first leaves while the rest arrives: its partitions, and whatever it had not committed, go to the second.
    const rest = stream(part(0.8, 1));
    const firstDlq = await dlqTotal(first);
    const firstDeferred = await scoresDeferredTotal(first);
    await bed.stopScorer(first);
    await rest;
    await eventually(
      () => bed.revisions(customerIds),
      (revisions) => revisions.every((revision) => revision === EVENTS),
      120_000,
      `every customer's ${EVENTS} events applied once`,
    );
    expect(firstDlq + (await dlqTotal(second))).toBe(0);
    // The backlog had customers deferred, so the check below means something.
    expect(firstDeferred + (await scoresDeferredTotal(second))).toBeGreaterThan(0);
    // A customer the first scorer deferred (its partition far behind) and left unscored is due by
    // CATCH_UP_SCORE_DELAY_MS in Redis: the second, which never knew it waited, scores it once that passes.
    clock.set(SAMPLE_NOW + bed.config().scorer.catchUpScoreDelayMs);
    await eventually(
      () => bed.store.readCustomers(customerIds, clock.now()),
      (snapshots) => snapshots.every((snapshot) => snapshot.score?.revision === snapshot.state.revision && snapshot.outbox.length === 0),
      60_000,
      'every customer scored with all its events',
    );
    await bed.expectSubscriberEndsWithRedis(customerIds, clock.now());
  }, 240_000);
});
