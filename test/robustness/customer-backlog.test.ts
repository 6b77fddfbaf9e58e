// Issue 9, item 5: one customer with thousands of events in one unit of work (a backlog in per-customer
// order, as a CRM export or the simulator's history writes it, or one very large account). One apply call
// for all of them overflowed the call stack when spreading its arguments, the scorer process exited, and
// did so again on every restart. Run as `npm run scorer` runs, as its own process, fed by Kafka's own
// Java producer.
import { sampleActivity } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../harness/stack';
import { produceWithJavaClient } from '../interop/java-producer';
import { eventually, ScorerTestBed } from '../scorer/support';
import { ServiceProcess } from './service-process';

const BACKLOG = 5_000;
const bed = new ScorerTestBed('customer-backlog');
let scorer: ServiceProcess;

beforeAll(async () => {
  await bed.setUp();
  scorer = new ServiceProcess('scorer', { ...bed.env(), LOG_LEVEL: 'info' });
  await scorer.waitForLine((line) => line.includes('"scorer started"'), 60_000, 'the scorer to start');
});
afterAll(async () => {
  await scorer?.kill();
  await bed.tearDown();
});

describe('a backlog of one customer', () => {
  it(`of ${BACKLOG} events in one unit of work is applied and scored, and the scorer keeps running`, async () => {
    const customerId = 'large-account';
    const now = Date.now();
    // Support tickets: the activity that takes the most apply arguments (day counters, SLA breach, ticket record).
    const events = Array.from({ length: BACKLOG }, (_, i) =>
      sampleActivity({
        customerId,
        eventId: `ticket-${i}`,
        activityType: 'SUPPORT_TICKET_OPENED',
        ticketId: `T-${i}`,
        slaBreached: true,
        value: null,
        occurredAt: now - (i + 1) * 60_000,
      }),
    );
    const values = await Promise.all(events.map((event) => bed.codec.encode(bed.topics.activity, event)));
    await produceWithJavaClient({
      brokers: testStack().kafkaBrokers,
      compression: 'none',
      records: values.map((value) => ({ topic: bed.topics.activity, key: customerId, value })),
    });
    await eventually(() => bed.scoreHash(customerId), (score) => Number(score.revision) === BACKLOG, 75_000, 'the backlog to be applied and scored');
    expect(await scorer.exitWithin(0)).toBe('running');
  });
});
