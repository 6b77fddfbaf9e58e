// The topics the scorer reads and writes must exist: at start (the brokers do not create topics on demand, nor should
// they) and for as long as it runs. A topic deleted under a running scorer stops it without a word otherwise: an input
// topic makes kafkajs's consumer crash and restart every few hundred milliseconds for ever (three error lines each),
// an output topic leaves a unit of work waiting for a produce that never succeeds; either way the process stays alive
// and consumes nothing.
import { ConfigError, TOPIC_ENV_VARS, type TopicNames, type TopicRole } from '@churnscore/config';
import type { Admin } from 'kafkajs';

/** How often a running scorer checks that its topics still exist: one metadata request. */
export const TOPICS_CHECK_INTERVAL_MS = 30_000;

/**
 * @throws ConfigError naming the setting of each missing topic and how to create it.
 */
export async function requireTopics(admin: Pick<Admin, 'listTopics'>, topics: TopicNames): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const problems = (Object.entries(TOPIC_ENV_VARS) as Array<[TopicRole, string]>)
    .filter(([role]) => !existing.has(topics[role]))
    .map(
      ([role, setting]) =>
        `${setting}: topic "${topics[role]}" does not exist on the brokers; create it with \`npm run topics:provision\` ` +
        "(it reads the same TOPIC_* settings) or your cluster's own tooling, or correct the name",
    );
  if (problems.length > 0) throw new ConfigError(problems);
}

/**
 * Checks every TOPICS_CHECK_INTERVAL_MS, and at once when asked (the consumer crashed), that the topics still exist,
 * and calls `onMissing` when one does not. A check that cannot reach the brokers proves nothing and is let go: an
 * outage is waited out. One check at a time.
 */
export class TopicsWatch {
  private timer: NodeJS.Timeout | null = null;
  private checking = false;

  constructor(
    private readonly admin: Pick<Admin, 'listTopics'>,
    private readonly topics: TopicNames,
    private readonly onMissing: (missing: ConfigError) => void,
    private readonly intervalMs = TOPICS_CHECK_INTERVAL_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.checkNow(), this.intervalMs).unref();
  }

  async checkNow(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await requireTopics(this.admin, this.topics);
    } catch (error) {
      if (error instanceof ConfigError) this.onMissing(error);
    } finally {
      this.checking = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
