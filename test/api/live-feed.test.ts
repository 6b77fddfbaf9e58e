// The API's live feed with an output topic deleted under it: the API keeps serving reads, and its feed tries again
// every few seconds. Before, kafkajs restarted the feed's consumer 300 ms after each crash: it crashed and restarted
// several times a second, with three or four log lines each time, for as long as the topic was missing.
import { createKafkaClient } from '@churnscore/kafka';
import { createLogger } from '@churnscore/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiMetrics } from '../../services/api/src/metrics';
import { LiveFeed } from '../../services/api/src/live-feed';
import { EventsTestBed } from '../events/support';
import { deleteTopics, testStack } from '../harness/stack';
import { eventually } from '../scorer/support';

const bed = new EventsTestBed('live-feed');
const lines: Array<{ msg: string }> = [];
const logger = createLogger({ name: 'live-feed-test', level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) } });
let feed: LiveFeed;

beforeAll(async () => {
  await bed.setUp(1);
  feed = new LiveFeed({
    kafka: createKafkaClient({ clientId: 'live-feed-test', brokers: testStack().kafkaBrokers, ssl: false }, logger),
    codec: bed.codec,
    topics: bed.topics,
    groupPrefix: 'live-feed-test',
    publish: () => undefined,
    metrics: createApiMetrics(),
    logger,
  });
  feed.start();
});
afterAll(async () => {
  await feed.stop();
  await bed.tearDown();
});

describe('the live feed, an output topic deleted under it', () => {
  it('says it is not live and tries again every few seconds, not several times a second', async () => {
    await eventually(async () => feed.connected, Boolean, 60_000, 'the live feed to join its group');
    await deleteTopics([bed.topics.alerts]);
    // kafkajs first retries the fetches of the missing topic for a while (about 85 s on a quiet machine, more than 90 s
    // under the full suite's load); then the consumer crashes.
    const crashes = (from: number) => lines.slice(from).filter((line) => line.msg === 'live-update consumer crashed').length;
    await eventually(async () => crashes(0), (count) => count > 0, 180_000, 'the feed to crash');
    expect(feed.connected).toBe(false);
    const from = lines.length;
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    // 300 ms apart, 15 s would hold dozens; 5 s apart, three or four.
    expect(crashes(from)).toBeLessThanOrEqual(4);
  }, 270_000);
});
