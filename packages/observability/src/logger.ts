import { createHash } from 'node:crypto';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured JSON logs on stdout. Event payloads are never logged; where a log line must point at a
 * customer it carries `customerRef` (see below), so logs hold no personal data.
 */
export function createLogger(options: { name: string; level?: string }): Logger {
  return pino({
    name: options.name,
    level: options.level ?? 'info',
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/**
 * A stable, non-reversible reference to a customer for logs: operators can correlate lines about
 * the same customer (and find it by hashing a known id) without the id itself landing in log storage.
 */
export function customerRef(customerId: string): string {
  return createHash('sha256').update(customerId).digest('hex').slice(0, 12);
}
