// The API's live feed with an output topic deleted under it: the API keeps serving reads, its feed says at once that
// it is not live and tries again every few seconds, and it is live again once the topic is back. Before, kafkajs
// retried the missing topic's fetches for a minute and a half while the feed said it was live, then crashed and
// restarted its consumer several times a second, with three or four log lines each time. And with partitions added to
// an output topic, the feed streams what is published there.
import { sampleScoreChanged } from '@churnscore/events/testing';
import { createKafkaClient } from '@churnscore/kafka';
import { capturingLogger } from '@churnscore/observability/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiMetrics } from '../../services/api/src/metrics';
import { LiveFeed } from '../../services/api/src/live-feed';
import type { SseMessage } from '../../services/api/src/sse-hub';
import { EventsTestBed } from '../events/support';
import { addPartitions, createTopics, deleteTopics, testStack } from '../harness/stack';
import { eventually } from '../scorer/support';

const bed = new EventsTestBed('live-feed');
const { logger, lines } = capturingLogger('live-feed-test', 'warn');
let feed: LiveFeed;
const published: SseMessage[] = [];

beforeAll(async () => {
  await bed.setUp(1);
  feed = new LiveFeed({
    kafka: createKafkaClient({ clientId: 'live-feed-test', brokers: testStack().kafkaBrokers, ssl: false, maxDecompressionRatio: 64 }, logger),
    codec: bed.codec,
    topics: bed.topics,
    groupPrefix: 'live-feed-test',
    publish: (message) => published.push(message),
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
  it('says at once that it is not live, tries again every few seconds, and is live again once the topic is back', async () => {
    await eventually(async () => feed.connected, Boolean, 60_000, 'the live feed to join its group');
    await deleteTopics([bed.topics.alerts]);
    // Its topics are checked every 5 s: not live well within 15 s (kafkajs alone took about 85 s to crash).
    await eventually(async () => feed.connected, (connected) => !connected, 15_000, 'the feed to say it is not live');
    const unavailable = (from: number) => lines.slice(from).filter((line) => line.msg === 'live updates unavailable: cannot consume the output topics').length;
    const crashes = () => lines.filter((line) => line.msg === 'live-update consumer crashed').length;
    const from = lines.length;
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    // 5 s apart: three or four tries in 15 s, each one line, and no consumer left crashing and restarting.
    expect(unavailable(from)).toBeGreaterThan(0);
    expect(unavailable(from)).toBeLessThanOrEqual(4);
    expect(crashes()).toBe(0);
    expect(feed.connected).toBe(false);

    await createTopics([bed.topics.alerts]);
    await eventually(async () => feed.connected, Boolean, 60_000, 'the live feed to be live again');
  }, 150_000);
});

// Partitions added to an output topic: the feed reads them from their latest offset once it knows of them, so it must
// know of them before the scorer's producer (which learns of them within kafkajs's five minutes) writes there.
describe('the live feed, partitions added to an output topic', () => {
  it('streams what is published to the new partitions once its metadata shows them (within seconds)', async () => {
    await eventually(async () => feed.connected, Boolean, 60_000, 'the live feed to join its group');
    await addPartitions(bed.topics.scoreChanged, 3);
    // Its metadata is read every 5 s, then it rejoins its group: well within 20 s.
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    await eventually(async () => feed.connected, Boolean, 60_000, 'the live feed to be in its group');
    const event = sampleScoreChanged({ customerId: 'live-feed-new-partition' });
    await bed.produce(bed.topics.scoreChanged, [{ key: event.customerId, value: await bed.codec.encode(bed.topics.scoreChanged, event), partition: 2 }]);
    await eventually(
      async () => published.filter((message) => message.event === 'score' && (message.data as { customerId: string }).customerId === event.customerId).length,
      (count) => count === 1,
      30_000,
      'the event on the new partition to be streamed',
    );
  }, 150_000);
});
