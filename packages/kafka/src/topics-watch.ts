// A topic deleted under a running client sends no event: kafkajs retries the fetches of its partitions (or the
// produce to it) for a long while, then crashes and restarts the consumer every few hundred milliseconds for ever. So
// the services ask the brokers now and then whether their topics still exist.
import type { Admin } from 'kafkajs';

/**
 * The topics of `wanted` the brokers do not have (one metadata request).
 * @throws when the brokers cannot be asked.
 */
export async function missingTopics(admin: Pick<Admin, 'listTopics'>, wanted: readonly string[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  return wanted.filter((topic) => !existing.has(topic));
}

/**
 * Checks every `intervalMs`, and at once when asked, that the `wanted` topics exist, and calls `onMissing` with those
 * that do not. A check that cannot reach the brokers proves nothing and is let go: an outage is waited out (whether
 * the brokers answer is the readiness's and the consumer's to judge). One check at a time.
 */
export class TopicsWatch {
  private timer: NodeJS.Timeout | null = null;
  private checking = false;

  constructor(
    private readonly admin: Pick<Admin, 'listTopics'>,
    private readonly wanted: readonly string[],
    private readonly onMissing: (missing: string[]) => void,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.stop();
    this.timer = setInterval(() => void this.checkNow(), this.intervalMs).unref();
  }

  async checkNow(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const missing = await missingTopics(this.admin, this.wanted);
      if (missing.length > 0) this.onMissing(missing);
    } catch {
      // The brokers could not be asked: nothing is known to be missing.
    } finally {
      this.checking = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
