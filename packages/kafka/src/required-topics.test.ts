import { ConfigError, DEFAULT_TOPICS } from '@churnscore/config';
import { describe, expect, it } from 'vitest';
import { requireTopics, watchRequiredTopics } from './required-topics';

const ALL = Object.values(DEFAULT_TOPICS);
const withoutAlerts = { listTopics: async () => ALL.filter((topic) => topic !== DEFAULT_TOPICS.alerts) };

describe('the scorer’s topics', () => {
  it('are required at start: a missing one is refused by its setting and name, with how to create it', async () => {
    await expect(requireTopics(withoutAlerts, DEFAULT_TOPICS)).rejects.toThrow(ConfigError);
    await expect(requireTopics(withoutAlerts, DEFAULT_TOPICS)).rejects.toThrow(
      new RegExp(`TOPIC_ALERTS: topic "${DEFAULT_TOPICS.alerts}" does not exist on the brokers; create it with \`npm run topics:provision\``),
    );
    await expect(requireTopics({ listTopics: async () => ALL }, DEFAULT_TOPICS)).resolves.toBeUndefined();
  });

  it('are watched while it runs: one that no longer exists is reported by its setting and name', async () => {
    const missing: ConfigError[] = [];
    await watchRequiredTopics(withoutAlerts, DEFAULT_TOPICS, (error) => missing.push(error)).checkNow();
    expect(missing.map((error) => error.problems)).toEqual([[expect.stringContaining(`TOPIC_ALERTS: topic "${DEFAULT_TOPICS.alerts}" does not exist on the brokers`)]]);
  });
});
