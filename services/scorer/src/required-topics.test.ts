import type { ConfigError } from '@churnscore/config';
import { DEFAULT_TOPICS } from '@churnscore/config';
import { describe, expect, it } from 'vitest';
import { TopicsWatch } from './required-topics';

const ALL = Object.values(DEFAULT_TOPICS);

describe('TopicsWatch', () => {
  it('reports a topic that no longer exists, by its setting and name', async () => {
    const missing: ConfigError[] = [];
    const watch = new TopicsWatch({ listTopics: async () => ALL.filter((topic) => topic !== DEFAULT_TOPICS.alerts) }, DEFAULT_TOPICS, (error) => missing.push(error));
    await watch.checkNow();
    expect(missing.map((error) => error.problems)).toEqual([[expect.stringContaining(`TOPIC_ALERTS: topic "${DEFAULT_TOPICS.alerts}" does not exist on the brokers`)]]);
  });

  it('lets a check that cannot reach the brokers go: an outage is waited out, not reported', async () => {
    const missing: ConfigError[] = [];
    const watch = new TopicsWatch({ listTopics: () => Promise.reject(new Error('Connection error: connect ECONNREFUSED')) }, DEFAULT_TOPICS, (error) => missing.push(error));
    await watch.checkNow();
    expect(missing).toEqual([]);
  });

  it('runs one check at a time', async () => {
    let calls = 0;
    let answer: (topics: string[]) => void = () => undefined;
    const watch = new TopicsWatch({ listTopics: () => ((calls += 1), new Promise<string[]>((resolve) => (answer = resolve))) }, DEFAULT_TOPICS, () => undefined);
    const first = watch.checkNow();
    await watch.checkNow();
    answer(ALL);
    await first;
    expect(calls).toBe(1);
  });
});
