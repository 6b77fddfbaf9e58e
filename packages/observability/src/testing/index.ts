import { createLogger, type Logger } from '../logger';

/** A log line as a test reads it: the JSON object the logger wrote. */
export type LogLine = Record<string, unknown> & { msg?: string };

/**
 * A logger whose lines are kept, parsed, instead of written to stdout: what an operator's log storage would hold, for
 * a test to look at (what was logged, and that nothing it must not hold was). Redacted as every logger's lines are.
 */
export function capturingLogger(name: string, level = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { logger: createLogger({ name, level, destination: { write: (line) => lines.push(JSON.parse(line) as LogLine) } }), lines };
}
