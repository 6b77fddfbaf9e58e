// A topic deleted under a running scorer. Before, the process stayed alive and consumed nothing, for ever: an input
// topic made kafkajs's consumer crash and restart every few hundred milliseconds (about 400 log lines a minute), an
// output topic left the unit of work waiting for a produce that never succeeds. The scorer cannot go on without its
// topics, so its liveness fails, naming the setting and the topic (the service then exits 1; started again, it refuses
// with exit 78 and the same words, as for a topic missing at start).
import { SAMPLE_NOW } from '@churnscore/events/testing';
import { Liveness } from '@churnscore/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS_CHECK_INTERVAL_MS } from '@churnscore/kafka';
import { createTopics, deleteTopics } from '../harness/stack';
import { eventually, hourlyMeetings, ManualClock, ScorerTestBed } from '../scorer/support';

describe.each([
  { role: 'activity', setting: 'TOPIC_ACTIVITY', what: 'an input topic', within: 30_000 },
  // Found by the periodic check: a unit waiting on the produce does not crash anything.
  { role: 'scoreChanged', setting: 'TOPIC_SCORE_CHANGED', what: 'an output topic', within: TOPICS_CHECK_INTERVAL_MS + 30_000 },
] as const)('$what deleted while the scorer runs', ({ role, setting, within }) => {
  const bed = new ScorerTestBed(`topic-deleted-${role}`);
  const liveness = new Liveness();
  beforeAll(() => bed.setUp(1));
  afterAll(() => bed.tearDown());

  it(`fails liveness, naming ${setting} and the topic`, async () => {
    await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now, liveness });
    const customerId = `topic-deleted-${role}`;
    await bed.publish(hourlyMeetings([customerId], 0, 3));
    await eventually(async () => (await bed.scoreHash(customerId)).revision, (revision) => revision === '3', 30_000, 'the first events applied');

    await deleteTopics([bed.topics[role]]);
    // The next event needs every topic: it is read from the activity topic and its score goes to score-changed.
    if (role !== 'activity') await bed.publish(hourlyMeetings([customerId], 3, 1));
    await eventually(async () => liveness.alive, (alive) => !alive, within, 'liveness to fail');
    expect(liveness.failedWith?.reason).toContain(`${setting}: topic "${bed.topics[role]}" does not exist on the brokers`);
    // A service exits here; the in-process scorer is stopped by the bed, which waits for the unit still trying to publish.
    await createTopics([bed.topics[role]]);
  }, within + 60_000);
});
