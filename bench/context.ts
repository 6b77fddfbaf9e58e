import { createReporter, type Reporter } from '../infra/src/index';
import { closeSandboxSession, openSandboxSession, type SandboxSession } from '../infra/src/sandbox';

/** What every section shares: the stack, the bench's own clients, progress output, and the scorers' extra settings (`--scorer-env`). */
export type BenchContext = SandboxSession;

/** Scopes such as `throughput-2` are longer than the stack's reporter pads to: keep the messages in one column. */
const SCOPE_COLUMN = 14;

/** Progress lines with the seconds elapsed, as `npm run stack:up` prints them. */
export function createBenchReporter(): Reporter {
  const reporter = createReporter();
  return {
    step: (scope, message) => reporter.step(`${scope} `.padEnd(SCOPE_COLUMN), message),
    during: (scope, label, work) => reporter.during(`${scope} `.padEnd(SCOPE_COLUMN), label, work),
  };
}

export const openContext = (reporter: Reporter, scorerEnv: Record<string, string>): Promise<BenchContext> => openSandboxSession('bench', reporter, scorerEnv);

export const closeContext = closeSandboxSession;
