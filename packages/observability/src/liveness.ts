/** Why a process can no longer do its work. */
export interface LivenessFailure {
  reason: string;
  error: unknown;
}

/**
 * Whether the process can still do its work. A service turns it red when it cannot go on (its Kafka
 * consumer stopped for good, say): `/healthz` then answers 503, and the service shell (`runService`)
 * exits non-zero so that a supervisor restarts the process. Never a live process that does nothing.
 */
export class Liveness {
  private failure: LivenessFailure | null = null;
  private readonly listeners: Array<(failure: LivenessFailure) => void> = [];

  get alive(): boolean {
    return this.failure === null;
  }

  /** The first failure reported, or null while alive. */
  get failedWith(): LivenessFailure | null {
    return this.failure;
  }

  /** Turns liveness red for good; only the first failure counts. */
  fail(reason: string, error?: unknown): void {
    if (this.failure) return;
    this.failure = { reason, error };
    for (const listener of this.listeners) listener(this.failure);
  }

  onFailure(listener: (failure: LivenessFailure) => void): void {
    this.listeners.push(listener);
  }
}
