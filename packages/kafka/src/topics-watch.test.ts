import { describe, expect, it } from 'vitest';
import { TopicsWatch, missingTopics } from './topics-watch';

const WANTED = ['crm.activity.v1', 'customer.alerts.v1'];
const INTERVAL_MS = 1_000;

describe('missingTopics', () => {
  it('names the wanted topics the brokers do not have, in the order wanted', async () => {
    expect(await missingTopics({ listTopics: async () => ['other', 'crm.activity.v1'] }, [...WANTED, 'third'])).toEqual(['customer.alerts.v1', 'third']);
    expect(await missingTopics({ listTopics: async () => WANTED }, WANTED)).toEqual([]);
  });
});

describe('TopicsWatch', () => {
  it('reports the topics that no longer exist', async () => {
    const reported: string[][] = [];
    const watch = new TopicsWatch({ listTopics: async () => ['crm.activity.v1'] }, WANTED, (missing) => reported.push(missing), INTERVAL_MS);
    await watch.checkNow();
    expect(reported).toEqual([['customer.alerts.v1']]);
  });

  it('reports nothing while every topic exists', async () => {
    const reported: string[][] = [];
    const watch = new TopicsWatch({ listTopics: async () => WANTED }, WANTED, (missing) => reported.push(missing), INTERVAL_MS);
    await watch.checkNow();
    expect(reported).toEqual([]);
  });

  it('lets a check that cannot reach the brokers go: an outage is waited out, not reported', async () => {
    const reported: string[][] = [];
    const watch = new TopicsWatch({ listTopics: () => Promise.reject(new Error('Connection error: connect ECONNREFUSED')) }, WANTED, (missing) => reported.push(missing), INTERVAL_MS);
    await watch.checkNow();
    expect(reported).toEqual([]);
  });

  it('runs one check at a time', async () => {
    let calls = 0;
    let answer: (topics: string[]) => void = () => undefined;
    const watch = new TopicsWatch({ listTopics: () => ((calls += 1), new Promise<string[]>((resolve) => (answer = resolve))) }, WANTED, () => undefined, INTERVAL_MS);
    const first = watch.checkNow();
    await watch.checkNow();
    answer(WANTED);
    await first;
    expect(calls).toBe(1);
  });
});
