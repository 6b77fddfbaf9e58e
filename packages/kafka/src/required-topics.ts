// The topics a command reads and writes must exist: at start (the brokers do not create topics on demand, nor should
// they) and, for the scorer, for as long as it runs. A topic deleted under a running scorer stops it without a word otherwise: an input
// topic makes kafkajs's consumer crash and restart every few hundred milliseconds for ever (three error lines each),
// an output topic leaves a unit of work waiting for a produce that never succeeds; either way the process stays alive
// and consumes nothing.
import { ConfigError, TOPIC_ENV_VARS, type TopicNames, type TopicRole } from '@churnscore/config';
import { TopicsWatch, missingTopics } from './topics-watch';
import type { Admin } from 'kafkajs';

/** How often a running scorer checks that its topics still exist: one metadata request. */
export const TOPICS_CHECK_INTERVAL_MS = 30_000;

/** The missing topics, each by its setting and how to create it. */
function missingTopicsError(topics: Partial<TopicNames>, missing: readonly string[]): ConfigError {
  return new ConfigError(
    (Object.entries(TOPIC_ENV_VARS) as Array<[TopicRole, string]>)
      .filter(([role]) => topics[role] !== undefined && missing.includes(topics[role]))
      .map(
        ([role, setting]) =>
          `${setting}: topic "${topics[role]}" does not exist on the brokers; create it with \`npm run topics:provision\` ` +
          "(it reads the same TOPIC_* settings) or your cluster's own tooling, or correct the name " +
          // A broker answers a user that may not describe a topic as if it did not exist.
          "(or, with ACLs, grant the Kafka user DESCRIBE on it: the brokers hide a topic from a user no ACL allows)",
      ),
  );
}

/**
 * The topics of these roles (every role the command uses) must exist.
 * @throws ConfigError naming the setting of each missing topic and how to create it.
 */
export async function requireTopics(admin: Pick<Admin, 'listTopics'>, topics: Partial<TopicNames>): Promise<void> {
  const missing = await missingTopics(admin, Object.values(topics));
  if (missing.length > 0) throw missingTopicsError(topics, missing);
}

/**
 * Watches the scorer's topics every TOPICS_CHECK_INTERVAL_MS (and at once when asked: the consumer crashed), calling
 * `onMissing` with the settings of those gone.
 */
export const watchRequiredTopics = (admin: Pick<Admin, 'listTopics'>, topics: TopicNames, onMissing: (missing: ConfigError) => void): TopicsWatch =>
  new TopicsWatch(admin, Object.values(topics), (missing) => onMissing(missingTopicsError(topics, missing)), TOPICS_CHECK_INTERVAL_MS);
