import { createHmac } from 'node:crypto';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Where log lines go instead of stdout: a command's stderr (its stdout is its result), or a test's capture. */
export interface LogDestination {
  write(line: string): unknown;
}

/**
 * Structured JSON lines on stdout, or on `destination`. Event payloads are never logged; where a log line must point at a
 * customer it carries `customerRef` (see below), so logs hold no personal data. Whatever a line carries
 * is redacted on the way out (see `redactLogValue`): the logger, not every caller, is what keeps secrets
 * and customer data out of log storage.
 */
export function createLogger(options: { name: string; level?: string; destination?: LogDestination }): Logger {
  const settings = {
    name: options.name,
    level: options.level ?? 'info',
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label: string) => ({ level: label }),
      log: (fields: Record<string, unknown>) => redactLogValue(fields) as Record<string, unknown>,
    },
    serializers: {
      // `formatters.log` has already made every error safe; pino's default serializer would read the
      // result as an error again and name its type "Object".
      err: (value: unknown) => value,
      msg: (value: unknown) => (typeof value === 'string' ? maskUrlCredentials(value) : value),
    },
  };
  // Written synchronously: a process that logs why it exits and exits at once must not lose (or reorder)
  // that line, and the services log far too little for the writes to cost anything.
  const destination: DestinationStream = options.destination ? { write: (line) => void options.destination!.write(line) } : pino.destination({ dest: 1, sync: true });
  return pino(settings, destination);
}

/**
 * A reference to a customer for logs, keyed with a secret the logs do not hold (the scorer's: its Redis namespace's
 * epoch): operators who can read the key correlate lines about the same customer and find a known one (the HMAC of
 * its id), without the id itself landing in log storage. A plain hash was not enough: an outside tester recovered an
 * email-shaped id from its 12 digits in a millisecond, by hashing guesses, from the line that logged its erasure.
 */
export function customerRef(customerId: string, key: string): string {
  return createHmac('sha256', key).update(customerId).digest('hex').slice(0, 12);
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi;

/** `redis://user:secret@host` → `redis://user:***@host`, wherever it occurs in a text. */
export function maskUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1$2:***@');
}

/**
 * Properties of an error that may hold a record, a key or a credential (kafkajs and ioredis errors
 * carry some of them). Nested objects are never copied at all: ioredis' `command.args` holds a
 * script's keys and arguments (customer ids, event data) or AUTH's password, an HTTP client's
 * `config` holds its Authorization header.
 */
const UNSAFE_ERROR_PROPERTIES = new Set(['key', 'value', 'customerId', 'password', 'token', 'authorization', 'args']);

/** Where errors keep the errors they wrap: kept, made safe in turn. */
const NESTED_ERROR_PROPERTIES = ['cause', 'previousErrors', 'errors', 'lastNodeError'] as const;

const MAX_DEPTH = 6;

/**
 * JSON.parse's message for an unexpected token quotes the text around it (`Unexpected token 'x', "garbage-…" is not
 * valid JSON`): stored or received data, which may hold personal data (an outside tester found a corrupt Redis value
 * quoted in the API's log).
 */
const JSON_TEXT_QUOTED = /^Unexpected token .* is not valid JSON$/s;
const JSON_TEXT_LEFT_OUT = 'Unexpected token: not valid JSON (the text around it is left out of the log: it may hold personal data)';

/** An error's message as a log line may show it. */
function safeMessage(error: Error): string {
  return error instanceof SyntaxError && JSON_TEXT_QUOTED.test(error.message) ? JSON_TEXT_LEFT_OUT : maskUrlCredentials(error.message);
}

/** An error as a log line may show it: its type, message, stack and plain (string, number, boolean) properties. */
function safeError(error: Error, depth: number): Record<string, unknown> {
  const message = safeMessage(error);
  const safe: Record<string, unknown> = { type: error.name, message };
  // The stack opens with the message.
  if (error.stack) safe.stack = maskUrlCredentials(error.stack.replace(error.message, message));
  for (const [property, value] of Object.entries(error)) {
    if (property in safe || UNSAFE_ERROR_PROPERTIES.has(property)) continue;
    if (typeof value === 'string') safe[property] = maskUrlCredentials(value);
    else if (typeof value === 'number' || typeof value === 'boolean') safe[property] = value;
  }
  for (const property of NESTED_ERROR_PROPERTIES) {
    const nested: unknown = (error as unknown as Record<string, unknown>)[property];
    if (nested !== undefined && nested !== null) safe[property] = redactLogValue(nested, depth + 1);
  }
  return safe;
}

/**
 * What a log line may carry of any value: errors reduced to `safeError` (wherever they sit), URL
 * credentials masked in every string, and raw bytes (record keys and values) replaced by their size.
 */
export function redactLogValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskUrlCredentials(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return '[nested too deep]';
  if (value instanceof Error) return safeError(value, depth);
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((item) => redactLogValue(item, depth + 1));
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactLogValue(item, depth + 1)]));
}

/**
 * A log call for a condition that repeats while it lasts (a server that keeps refusing connections):
 * the first occurrence is logged at once, later ones at most once per `intervalMs`, each with the
 * number of occurrences left out since the previous line. Occurrences left out when the condition stops are not
 * lost: the last of them is logged once the interval is over, with the number left out before it and when it
 * happened (`lastOccurredAt`: the line's own time is later).
 */
export function rateLimitedLog(
  logger: Logger,
  level: 'warn' | 'error',
  message: string,
  intervalMs: number,
  now: () => number = Date.now,
): (fields: Record<string, unknown>) => void {
  let loggedAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  /** The last occurrence left out, logged when the interval ends unless another is logged first. */
  let lastLeftOut: { fields: Record<string, unknown>; at: number } | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  const emit = (fields: Record<string, unknown>, leftOut: number) => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    lastLeftOut = undefined;
    logger[level]({ ...fields, ...(leftOut > 0 ? { suppressed: leftOut } : {}) }, message);
    loggedAt = now();
    suppressed = 0;
  };
  return (fields) => {
    const at = now();
    if (at - loggedAt >= intervalMs) return emit(fields, suppressed);
    suppressed += 1;
    lastLeftOut = { fields, at };
    // Unreferenced: a line still owed never keeps a stopping process alive.
    flushTimer ??= setTimeout(() => {
      if (lastLeftOut !== undefined) emit({ ...lastLeftOut.fields, lastOccurredAt: new Date(lastLeftOut.at).toISOString() }, suppressed - 1);
    }, loggedAt + intervalMs - at).unref();
  };
}

/** While a dependency stays unreachable, its client's connection errors are logged at most this often. */
export const CONNECTION_ERROR_LOG_INTERVAL_MS = 30_000;

/**
 * The log call for a client's connection errors, which repeat on every reconnection attempt while a dependency is
 * away: rate-limited (CONNECTION_ERROR_LOG_INTERVAL_MS) so an outage does not flood the log.
 */
export function connectionErrorLog(logger: Logger, now?: () => number): (fields: Record<string, unknown>) => void {
  return rateLimitedLog(logger, 'error', 'connection error; the client keeps reconnecting', CONNECTION_ERROR_LOG_INTERVAL_MS, now);
}

/**
 * The error listener of a client that reconnects by itself (ioredis): each connection error becomes a
 * structured log line (redacted like every line), rate-limited so an outage does not flood the log.
 */
export function connectionErrorLogger(logger: Logger, dependency: string): (error: Error) => void {
  const log = connectionErrorLog(logger);
  return (error) => log({ dependency, err: error });
}
