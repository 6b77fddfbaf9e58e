import { createRequire } from 'node:module';
import { capturingLogger } from '@churnscore/observability/testing';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaLogCreator, kafkaLogLevel, keyPartition } from './client';

/** kafkajs' own table of broker error codes and the messages its errors carry. */
const kafkaErrorMessage = (type: string): string => {
  const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error') as { errorCodes: Array<{ type: string; message: string }> };
  const found = errorCodes.find((code) => code.type === type);
  if (!found) throw new Error(`kafkajs knows no error ${type}`);
  return found.message;
};

describe('kafkaLogLevel', () => {
  it('logs the routine answers of a rebalance at info, not error', () => {
    for (const type of ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'MEMBER_ID_REQUIRED']) {
      // What kafkajs' Connection logs at level error for a response carrying the code.
      expect(kafkaLogLevel(logLevel.ERROR, 'Response Heartbeat(key: 12, version: 3)', kafkaErrorMessage(type)), type).toBe('info');
    }
    expect(kafkaLogLevel(logLevel.WARN, 'The group is rebalancing, re-joining', kafkaErrorMessage('REBALANCE_IN_PROGRESS'))).toBe('info');
  });

  it('logs a member expelled by its group at warn: it stalled, and re-joins', () => {
    const expelled = kafkaErrorMessage('UNKNOWN_MEMBER_ID');
    expect(kafkaLogLevel(logLevel.ERROR, 'Response Heartbeat(key: 12, version: 3)', expelled)).toBe('warn');
    expect(kafkaLogLevel(logLevel.ERROR, 'The coordinator is not aware of this member, re-joining the group', expelled)).toBe('warn');
  });

  it('logs a coordinator still loading or moving at warn: kafkajs retries, as it must after every broker start', () => {
    for (const type of ['GROUP_LOAD_IN_PROGRESS', 'GROUP_COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR_FOR_GROUP']) {
      expect(kafkaLogLevel(logLevel.ERROR, 'Response InitProducerId(key: 22, version: 1)', kafkaErrorMessage(type)), type).toBe('warn');
    }
  });

  it("logs at debug the warning of a command's bounded retries, which it sets so as to end when the broker fails", () => {
    expect(kafkaLogLevel(logLevel.WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees', undefined)).toBe('debug');
  });

  it('keeps every other line at its own level', () => {
    expect(kafkaLogLevel(logLevel.ERROR, 'Crash: KafkaJSNonRetriableError: Specified group generation id is not valid', undefined)).toBe('error');
    expect(kafkaLogLevel(logLevel.ERROR, 'Response Metadata(key: 3, version: 6)', kafkaErrorMessage('UNKNOWN_TOPIC_OR_PARTITION'))).toBe('error');
    expect(kafkaLogLevel(logLevel.WARN, 'Consumer group received unsubscribed topics', undefined)).toBe('warn');
    expect(kafkaLogLevel(logLevel.INFO, 'The group is rebalancing, re-joining', undefined)).toBe('info');
    expect(kafkaLogLevel(logLevel.DEBUG, 'Response Heartbeat(key: 12, version: 3)', kafkaErrorMessage('REBALANCE_IN_PROGRESS'))).toBe('debug');
  });
});

describe('kafkaLogCreator', () => {
  it('logs a broker that cannot be reached at most once every 30 s, saying how many lines it left out', () => {
    const { logger, lines } = capturingLogger('kafka-log-test');
    let now = 0;
    const log = kafkaLogCreator(logger, () => now)(logLevel.ERROR);
    const entry = (namespace: string, message: string, level = logLevel.ERROR) =>
      log({ namespace, level, label: 'ERROR', log: { timestamp: '', logger: 'kafkajs', message, broker: '127.0.0.1:9092' } });
    // What kafkajs logs on every retry of every connection while the broker is away.
    for (let second = 0; second < 60; second += 1, now += 1_000) {
      entry('Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092');
      entry('BrokerPool', 'Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED');
    }
    entry('Consumer', 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    expect(lines.map(({ msg, detail, suppressed }) => ({ msg, detail, suppressed }))).toEqual([
      { msg: 'connection error; the client keeps reconnecting', detail: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', suppressed: undefined },
      { msg: 'connection error; the client keeps reconnecting', detail: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', suppressed: 59 },
      // Anything else kafkajs says is logged as it comes: here, the consumer crashing after its retries.
      { msg: 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED 127.0.0.1:9092', detail: undefined, suppressed: undefined },
    ]);
    expect(lines[0]).toMatchObject({ level: 'error', component: 'kafkajs', dependency: 'kafka', namespace: 'Connection', broker: '127.0.0.1:9092' });
  });
});

describe('keyPartition', () => {
  // Computed with Kafka's own Java client (kafka-clients 4.1.2): Utils.toPositive(Utils.murmur2(utf8(key))) % n.
  it.each([
    ['cust-0001', [1, 4, 4]],
    ['acme-thriving', [2, 5, 11]],
    ['wayne-handchecked', [0, 3, 15]],
    ['ünïcödé-客户', [0, 0, 6]],
  ])('puts %s where the Java client does, in topics of 3, 6 and 24 partitions', (key, partitions) => {
    expect([3, 6, 24].map((count) => keyPartition(key, count))).toEqual(partitions);
  });
});
