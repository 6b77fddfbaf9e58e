// MAX_ENTITIES_PER_CUSTOMER through the scorer: events that would add an entity past the bound reach the DLQ as
// ENTITY_LIMIT, unchanged, while the customer's other events and other customers are scored; and those a crashed run
// applied as refused but never dead-lettered (the crash fell between the apply and the DLQ send, before the offsets
// were committed) reach it when the records are consumed again.
import type { OpportunityEvent } from '@churnscore/domain';
import { SAMPLE_NOW, sampleActivity, sampleOpportunity } from '@churnscore/events/testing';
import { createStateStore } from '@churnscore/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningScorer } from '../../services/scorer/src/scorer';
import { eventually, ManualClock, ScorerTestBed } from './support';

const MAX_ENTITIES = 10;
const HOUR = 3_600_000;
const bed = new ScorerTestBed('entity-limit');

/** A customer's opportunities, one new id each: the last two are past the bound. */
const newDeals = (customerId: string): OpportunityEvent[] =>
  Array.from({ length: MAX_ENTITIES + 2 }, (_, n) =>
    sampleOpportunity({ customerId, eventId: `${customerId}-deal-${n}`, opportunityId: `line-item-${n}`, occurredAt: SAMPLE_NOW - HOUR }),
  );
const crashed = newDeals('limit-crashed');
const live = newDeals('limit-live');
const liveUpdate = sampleOpportunity({ customerId: 'limit-live', eventId: 'limit-live-update', opportunityId: 'line-item-0', stage: 'NEGOTIATION', occurredAt: SAMPLE_NOW });
const other = sampleActivity({ customerId: 'limit-other', eventId: 'limit-other-1', activityType: 'MEETING', value: null, occurredAt: SAMPLE_NOW - HOUR });

let scorer: RunningScorer;

beforeAll(async () => {
  // One partition: the opportunities' offsets are their places in the topic.
  await bed.setUp(1);
  await bed.publish(crashed);
  // What a scorer that crashed after the apply left: every record applied (or refused), nothing sent, no offset committed.
  const crashedStore = createStateStore(bed.redis, { prefix: bed.prefix, maxEntities: MAX_ENTITIES });
  const results = await crashedStore.applyEvents(
    crashed.map((event, offset) => ({ event, topic: bed.topics.opportunity, partition: 0, offset: String(offset) })),
    SAMPLE_NOW,
  );
  expect(results.filter((result) => result.outcome === 'refused')).toHaveLength(2);
  await bed.publish([...live, liveUpdate, other]);
  scorer = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now, state: { maxEntities: MAX_ENTITIES } });
});
afterAll(() => bed.tearDown());

describe('events past MAX_ENTITIES_PER_CUSTOMER', () => {
  it('reach the DLQ as ENTITY_LIMIT, a crashed run’s too, while everything else is scored', async () => {
    const letters = await bed.consume([bed.topics.dlq], 4, 60_000);
    const records = await bed.records([...crashed, ...live]);
    const expected = [10, 11, 22, 23];
    expect(letters.map((letter) => Number(letter.headers['dlq.source.offset'])).sort((a, b) => a - b)).toEqual(expected);
    for (const letter of letters) {
      const offset = Number(letter.headers['dlq.source.offset']);
      expect(String(letter.headers['dlq.reason'])).toBe('ENTITY_LIMIT');
      expect(String(letter.headers['dlq.field'])).toBe('opportunityId');
      expect(String(letter.headers['dlq.source.topic'])).toBe(bed.topics.opportunity);
      expect(String(letter.headers['dlq.message'])).toContain('MAX_ENTITIES_PER_CUSTOMER');
      expect(letter.key?.toString()).toBe(records[offset]!.key);
      expect(letter.value).toEqual(records[offset]!.value);
    }

    await eventually(() => bed.scoreHash('limit-live'), (score) => Number(score.revision) === MAX_ENTITIES + 1, 30_000, 'the live customer’s other events to be scored');
    await eventually(() => bed.scoreHash('limit-crashed'), (score) => Number(score.revision) === MAX_ENTITIES, 30_000, 'the crashed run’s customer to be scored');
    await eventually(() => bed.scoreHash('limit-other'), (score) => Number(score.revision) === 1, 30_000, 'the other customer to be scored');
    const [liveState] = await bed.store.readCustomers(['limit-live'], SAMPLE_NOW);
    expect(liveState!.state.opportunities).toHaveLength(MAX_ENTITIES);
    expect(liveState!.state.opportunities.find((deal) => deal.opportunityId === 'line-item-0')?.stage).toBe('NEGOTIATION');

    const refused = (await scorer.metrics.events.get()).values.filter((value) => value.labels.outcome === 'refused').reduce((sum, value) => sum + value.value, 0);
    expect(refused).toBe(4);
    expect((await scorer.metrics.dlq.get()).values.find((value) => value.labels.reason === 'ENTITY_LIMIT')?.value).toBe(4);
  });
});
