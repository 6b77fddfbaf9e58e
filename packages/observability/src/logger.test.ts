import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { connectionErrorLogger, createLogger, customerRef, maskUrlCredentials, rateLimitedLog } from './logger';

/** A logger whose lines are kept, parsed, instead of written to stdout. */
function capturedLogger(level = 'info') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ name: 'test', level, destination });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** The shape of ioredis' ReplyError: the command, with every argument, is an enumerable property. */
function replyError(message: string, command: { name: string; args: unknown[] }): Error {
  return Object.assign(new Error(message), { name: 'ReplyError', command });
}

const CUSTOMER = 'acme-customer-4711';
const PASSWORD = 'hunter2-very-secret';
const EVENT_DATA = '{"contractValue":125000}';

describe('the logger', () => {
  it('keeps the password of a refused Redis login out of the line', () => {
    const { logger, lines } = capturedLogger();
    const error = replyError('WRONGPASS invalid username-password pair or user is disabled.', { name: 'auth', args: ['scorer', PASSWORD] });
    logger.error({ err: error }, 'redis error');
    logger.error(error);
    expect(lines.join('\n')).not.toContain(PASSWORD);
    expect(lines.join('\n')).toContain('WRONGPASS invalid username-password pair');
  });

  it('keeps the keys and arguments of a rejected script out of the line, wherever the error sits', () => {
    const { logger, records, lines } = capturedLogger();
    const rejected = replyError("NOPERM this user has no permissions to run the 'evalsha' command", {
      name: 'evalsha',
      args: ['0123abcd', 4, `chs:v1:{${CUSTOMER}}:state`, `chs:v1:{${CUSTOMER}}:seen`, EVENT_DATA, Buffer.from(CUSTOMER)],
    });
    // A failed MULTI/pipeline: ioredis keeps the errors of the commands before it, each with its command.
    const aborted = Object.assign(new Error('EXECABORT Transaction discarded because of previous errors.'), {
      name: 'ReplyError',
      previousErrors: [rejected],
    });
    // kafkajs logs the error of eachBatch under `error`; the scorer under `err`; a wrapper under `cause`.
    logger.error({ topic: 'crm.activity.v1', partition: 3, error: rejected }, 'Error when calling eachBatch');
    logger.warn({ err: aborted }, 'offset commit failed');
    logger.warn({ err: new Error('apply failed', { cause: rejected }) }, 'unit failed');
    logger.warn({ nested: { deeper: [rejected] } }, 'somewhere else');
    expect(lines.join('\n')).not.toContain(CUSTOMER);
    expect(lines.join('\n')).not.toContain('contractValue');
    const [eachBatch, commit, unit] = records();
    expect(eachBatch).toMatchObject({
      level: 'error',
      topic: 'crm.activity.v1',
      partition: 3,
      error: { type: 'ReplyError', message: "NOPERM this user has no permissions to run the 'evalsha' command" },
      msg: 'Error when calling eachBatch',
    });
    expect((eachBatch!.error as { stack: string }).stack).toMatch(/^ReplyError: NOPERM/);
    expect(commit).toMatchObject({ err: { type: 'ReplyError', previousErrors: [{ type: 'ReplyError', message: expect.stringMatching(/^NOPERM/) }] } });
    expect(unit).toMatchObject({ err: { type: 'Error', message: 'apply failed', cause: { type: 'ReplyError' } } });
  });

  it("keeps the text JSON.parse quotes out of the line (a corrupt stored value), wherever the error sits", () => {
    const { logger, lines, records } = capturedLogger();
    const parseError = (text: string) => {
      try {
        JSON.parse(text);
      } catch (error) {
        return error as Error;
      }
      throw new Error('parsed');
    };
    const short = parseError(`${CUSTOMER} churn risk`);
    const long = parseError(`{"reason":x"churn risk of ${CUSTOMER} is high and rising fast"}`);
    logger.error({ err: short }, 'could not read a customer');
    logger.error({ err: new Error('could not read the alert book', { cause: long }) }, 'could not read a customer');
    expect(lines.join('\n')).not.toContain(CUSTOMER);
    expect(lines.join('\n')).not.toContain('churn ri');
    expect(records()[0]).toMatchObject({ err: { type: 'SyntaxError', message: expect.stringMatching(/^Unexpected token: not valid JSON/), stack: expect.stringMatching(/^SyntaxError: Unexpected token: not valid JSON/) } });
    // Other messages of JSON.parse name no text, and stay as they are.
    logger.error({ err: parseError('{"a":') }, 'truncated');
    expect(records()[2]).toMatchObject({ err: { message: expect.stringMatching(/JSON/) } });
  });

  it('keeps plain properties of errors that help operators (codes, brokers, retry counts)', () => {
    const { logger, records } = capturedLogger();
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED', port: 6379, retriable: true, config: { headers: { authorization: 'Basic abc' } } });
    logger.error({ err: error }, 'failed');
    const [record] = records();
    expect(record!.err).toEqual({ type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:6379', stack: expect.any(String), code: 'ECONNREFUSED', port: 6379, retriable: true });
  });

  it('masks the password of any URL in a line, its message included', () => {
    const { logger, lines } = capturedLogger();
    logger.info({ redisUrl: `rediss://scorer:${PASSWORD}@redis.internal:6380/0` }, `connecting to redis://:${PASSWORD}@10.0.0.5:6379`);
    logger.error(new Error(`could not reach redis://scorer:${PASSWORD}@redis.internal:6380`));
    expect(lines.join('\n')).not.toContain(PASSWORD);
    expect(lines.join('\n')).toContain('rediss://scorer:***@redis.internal:6380/0');
    expect(maskUrlCredentials('http://user:pw@host/path and https://plain.example/')).toBe('http://user:***@host/path and https://plain.example/');
  });

  it('logs the size of raw bytes (record keys and values), never the bytes', () => {
    const { logger, lines } = capturedLogger();
    logger.warn({ key: Buffer.from(CUSTOMER), value: new Uint8Array(42) }, 'undecodable');
    expect(lines.join('\n')).not.toContain(CUSTOMER);
    expect(JSON.parse(lines[0]!)).toMatchObject({ key: `[${CUSTOMER.length} bytes]`, value: '[42 bytes]' });
  });

  it('refers to a customer by a stable reference that is not the id, nor a hash of it anyone could compute', () => {
    expect(customerRef(CUSTOMER, 'key')).toMatch(/^[0-9a-f]{12}$/);
    expect(customerRef(CUSTOMER, 'key')).toBe(customerRef(CUSTOMER, 'key'));
    expect(customerRef(CUSTOMER, 'key')).not.toContain(CUSTOMER);
    expect(customerRef(CUSTOMER, 'another key')).not.toBe(customerRef(CUSTOMER, 'key'));
    expect(customerRef(CUSTOMER, 'key')).not.toBe(createHash('sha256').update(CUSTOMER).digest('hex').slice(0, 12));
  });
});

describe('rateLimitedLog', () => {
  it('logs the first occurrence at once, then at most once per interval with the number left out', () => {
    let now = 1_000;
    const { logger, records } = capturedLogger();
    const log = rateLimitedLog(logger, 'warn', 'redis down', 10_000, () => now);
    log({ attempt: 1 });
    now += 4_000;
    log({ attempt: 2 });
    now += 4_000;
    log({ attempt: 3 });
    now += 2_000;
    log({ attempt: 4 });
    now += 1;
    log({ attempt: 5 });
    expect(records().map(({ attempt, suppressed, level, msg }) => ({ attempt, suppressed, level, msg }))).toEqual([
      { attempt: 1, suppressed: undefined, level: 'warn', msg: 'redis down' },
      { attempt: 4, suppressed: 2, level: 'warn', msg: 'redis down' },
    ]);
  });

  it('logs the last occurrence left out once the interval is over, when no other comes to carry the count', () => {
    vi.useFakeTimers({ now: 1_000 });
    try {
      const { logger, records } = capturedLogger();
      const log = rateLimitedLog(logger, 'warn', 'input rejected to the DLQ', 10_000);
      for (let offset = 0; offset < 1_000; offset += 1) log({ offset });
      vi.advanceTimersByTime(9_999);
      expect(records().map(({ offset, suppressed }) => ({ offset, suppressed }))).toEqual([{ offset: 0, suppressed: undefined }]);
      vi.advanceTimersByTime(1);
      expect(records().map(({ offset, suppressed, lastOccurredAt }) => ({ offset, suppressed, lastOccurredAt }))).toEqual([
        { offset: 0, suppressed: undefined, lastOccurredAt: undefined },
        { offset: 999, suppressed: 998, lastOccurredAt: new Date(1_000).toISOString() },
      ]);
      // Logged: the next occurrence waits for the interval again, and nothing is owed once it is logged.
      log({ offset: 1_000 });
      vi.advanceTimersByTime(60_000);
      expect(records().map(({ offset }) => offset)).toEqual([0, 999, 1_000]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('makes a client connection error a redacted JSON line naming the dependency', () => {
    const { logger, records } = capturedLogger();
    connectionErrorLogger(logger, 'redis')(replyError('WRONGPASS invalid username-password pair or user is disabled.', { name: 'auth', args: ['u', PASSWORD] }));
    expect(records()).toEqual([
      expect.objectContaining({ level: 'error', dependency: 'redis', err: expect.objectContaining({ type: 'ReplyError' }) }),
    ]);
    expect(JSON.stringify(records())).not.toContain(PASSWORD);
  });
});
