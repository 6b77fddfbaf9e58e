// `npm run dlq`: what the DLQ holds, and the way back from it. A record is dead-lettered for what is wrong with it or
// with the setting it met (a schema not registered yet, another reporting currency, a customer's entity limit); once
// the cause is fixed, its records are sent back to the topics they came from, as they came, and the scorer applies them.
import { randomUUID } from 'node:crypto';
import { kafkaClientOptions, type AppConfig, type Env } from '@churnscore/config';
import { REJECT_REASONS, dlqRedrive, type DlqSource, type RejectReason } from '@churnscore/events';
import { connectAdmin, connectIdempotentProducer, createKafkaClient, readOnToEnd, readToEnd, requireTopics, type TopicProgress } from '@churnscore/kafka';
import { createLogger } from '@churnscore/observability';
import {
  CLI_EXIT_CODES,
  COMMAND_SEND_RETRIES,
  UsageError,
  formatCount,
  interruptSignal,
  loadProducerConfig,
  parseOptions,
  startProgress,
  type ProgressStream,
} from '@churnscore/simulator';
import type { Admin, Kafka, KafkaMessage, Producer } from 'kafkajs';

export const DLQ_USAGE = `Usage: npm run dlq -- [--reason CODE ...]
       npm run dlq -- --redrive --reason CODE

Without --redrive: reads the DLQ topic (TOPIC_DLQ) to its end and counts its records by reason and source topic
(only those of the reasons given, with --reason).

With --redrive: sends the records dead-lettered for CODE back to the topics they came from, as they came (key, value
and their own headers), for the scorer to apply once the cause is fixed (the schema registered, the setting changed).
Each run goes on where the last re-drive of CODE stopped (consumer group <CONSUMER_GROUP>.dlq-redrive.<CODE>,
committed after each batch the broker acknowledged) up to the DLQ's end at its start, so no record is sent back twice.
A copy without the original (cut to fit the DLQ, or BATCH_TOO_LARGE's placeholder) is not sent: its source topic,
partition and offset, where the original is, are listed.

  --reason CODE   ${REJECT_REASONS.join(', ')}
  --redrive       send the records of one --reason back to their source topics
  --help          show this text

Exit codes: 0 done, 2 bad usage or configuration, 3 the broker failed (running again is safe), 130 interrupted.`;

export interface DlqArgs {
  reasons: RejectReason[];
  redrive: boolean;
}

const isReason = (value: string): value is RejectReason => (REJECT_REASONS as readonly string[]).includes(value);

/** Parses the command line; null when --help was asked for. */
export function parseDlqArgs(argv: string[]): DlqArgs | null {
  const parsed = parseOptions(
    argv,
    { reason: { type: 'string', multiple: true }, redrive: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    DLQ_USAGE,
  );
  if (parsed.help) return null;
  const reasons = [...new Set(parsed.reason ?? [])];
  const unknown = reasons.filter((reason) => !isReason(reason));
  if (unknown.length > 0) throw new UsageError(`--reason ${unknown.join(', ')}: not a reason code; one of ${REJECT_REASONS.join(', ')}`);
  if (parsed.redrive && reasons.length !== 1) {
    throw new UsageError('--redrive takes exactly one --reason: fix one cause, then send back the records it dead-lettered');
  }
  return { reasons: reasons as RejectReason[], redrive: parsed.redrive };
}

export interface DlqIo {
  env: Env;
  /** The counts, or what was sent back and what could not be. */
  stdout: { write(text: string): unknown };
  /** Progress, and the Kafka client's warnings (JSON lines). */
  stderr: ProgressStream;
}

/** `npm run dlq`; resolves to the exit code. */
export async function runDlqCommand(argv: string[], io: DlqIo): Promise<number> {
  const args = parseDlqArgs(argv);
  if (args === null) {
    io.stderr.write(`${DLQ_USAGE}\n`);
    return CLI_EXIT_CODES.ok;
  }
  const config = loadProducerConfig(io.env, { offline: false });
  const kafka = createKafkaClient(kafkaClientOptions(config), createLogger({ name: 'dlq', level: config.logLevel, destination: io.stderr }));
  const admin = await connectAdmin(kafka);
  let read: readonly TopicProgress[] = [];
  const reading = startProgress(() => `DLQ ${config.topics.dlq}: ${formatCount(read.reduce((sum, topic) => sum + topic.read, 0))} records read`, {
    stream: io.stderr,
  });
  const onProgress = (progress: readonly TopicProgress[]) => {
    read = progress;
  };
  try {
    await requireTopics(admin, { dlq: config.topics.dlq });
    const report = args.redrive
      ? await redrive({ kafka, admin, config, reason: args.reasons[0]!, onProgress, signal: interruptSignal() })
      : await countRecords({ kafka, admin, config, reasons: args.reasons, onProgress });
    reading.stop();
    io.stdout.write(`${report.lines.join('\n')}\n`);
    return report.interrupted ? CLI_EXIT_CODES.interrupted : CLI_EXIT_CODES.ok;
  } finally {
    await admin.disconnect();
  }
}

interface Report {
  lines: string[];
  interrupted: boolean;
}

interface ReadContext {
  kafka: Kafka;
  admin: Admin;
  config: AppConfig;
  onProgress(topics: readonly TopicProgress[]): void;
}

/** The DLQ's records counted by reason and source topic, most first; copies cut to fit counted apart. */
async function countRecords({ kafka, admin, config, reasons, onProgress }: ReadContext & { reasons: readonly RejectReason[] }): Promise<Report> {
  const counts = new Map<string, { reason: string; topic: string; records: number; notHeld: number }>();
  const [progress] = await readToEnd({
    kafka,
    admin,
    topics: [config.topics.dlq],
    groupId: `${config.kafka.consumerGroup}.dlq-count.${randomUUID()}`,
    onProgress,
    onRecords(_topic, records) {
      for (const record of records) {
        const redrive = dlqRedrive(record);
        const reason = redrive?.reason ?? '(not a DLQ copy)';
        if (reasons.length > 0 && !(reasons as readonly string[]).includes(reason)) continue;
        const topic = redrive === null ? '-' : redrive.kind === 'resend' ? redrive.topic : redrive.source.topic;
        const key = `${reason}\u0000${topic}`;
        const count = counts.get(key) ?? { reason, topic, records: 0, notHeld: 0 };
        count.records += 1;
        if (redrive?.kind === 'not-held') count.notHeld += 1;
        counts.set(key, count);
      }
    },
  });
  const rows = [...counts.values()].sort((a, b) => b.records - a.records || a.reason.localeCompare(b.reason) || a.topic.localeCompare(b.topic));
  const total = rows.reduce((sum, row) => sum + row.records, 0);
  const width = Math.max(6, ...rows.map((row) => row.reason.length));
  return {
    interrupted: false,
    lines: [
      `${config.topics.dlq}: ${formatCount(progress?.total ?? 0)} records retained; ${formatCount(total)} ${reasons.length > 0 ? `of ${reasons.join(', ')}` : 'in all'}`,
      ...(rows.length === 0
        ? []
        : [
            `${'reason'.padEnd(width)}  ${'records'.padStart(9)}  source topic (copies without the original, cut to fit or of an unread batch: not re-drivable)`,
            ...rows.map((row) => `${row.reason.padEnd(width)}  ${formatCount(row.records).padStart(9)}  ${row.topic}${row.notHeld > 0 ? ` (${formatCount(row.notHeld)} without the original)` : ''}`),
          ]),
    ],
  };
}

/** The consumer group a re-drive of `reason` records its progress in: one per reason, as a run re-drives one. */
export const redriveGroup = (config: AppConfig, reason: RejectReason): string => `${config.kafka.consumerGroup}.dlq-redrive.${reason}`;

/**
 * Sends `reason`'s DLQ records back to their source topics, batch by batch, each acknowledged by the broker before the
 * group commits past it: interrupted or failed, a re-drive run again goes on from its last whole batch.
 */
async function redrive({ kafka, admin, config, reason, onProgress, signal }: ReadContext & { reason: RejectReason; signal: AbortSignal }): Promise<Report> {
  const groupId = redriveGroup(config, reason);
  // A second member of the group would wait, reading nothing, for partitions the first holds (an outside tester's hung).
  const [group] = (await admin.describeGroups([groupId])).groups;
  if (group !== undefined && group.members.length > 0) {
    throw new UsageError(`a re-drive of ${reason} is running already (consumer group ${groupId} has members): wait for it to end`);
  }
  const producer: Producer = await connectIdempotentProducer(kafka, { retries: COMMAND_SEND_RETRIES });
  const sent = new Map<string, number>();
  const notHeld: DlqSource[] = [];
  // A source topic deleted since: its records cannot go back, and a send to it fails for good (the tester's re-drive
  // failed after two minutes at every run, the records of its reason after it never sent). Listed, not sent.
  const existingTopics = new Set(await admin.listTopics());
  const sourceGone: DlqSource[] = [];
  // Dead-lettering is at-least-once: a crash or a rewind sends a record's copy again. One copy of each goes back.
  const sentSources = new Set<string>();
  let otherReasons = 0;
  let repeatedCopies = 0;
  try {
    await readOnToEnd({
      kafka,
      admin,
      topics: [config.topics.dlq],
      groupId,
      onProgress,
      async onRecords(_topic, _partition, records: readonly KafkaMessage[]) {
        if (signal.aborted) throw new RedriveInterrupted();
        const byTopic = new Map<string, Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | string | Array<Buffer | string>> }>>();
        for (const record of records) {
          const redrive = dlqRedrive(record);
          if (redrive === null || redrive.reason !== reason) {
            otherReasons += 1;
            continue;
          }
          const sourceKey = `${redrive.source.topic}/${redrive.source.partition}@${redrive.source.offset}`;
          if (sentSources.has(sourceKey)) {
            repeatedCopies += 1;
            continue;
          }
          sentSources.add(sourceKey);
          if (redrive.kind === 'not-held') {
            notHeld.push(redrive.source);
            continue;
          }
          if (!existingTopics.has(redrive.topic)) {
            sourceGone.push(redrive.source);
            continue;
          }
          byTopic.set(redrive.topic, [...(byTopic.get(redrive.topic) ?? []), redrive.record]);
        }
        if (byTopic.size === 0) return;
        await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        for (const [topic, messages] of byTopic) sent.set(topic, (sent.get(topic) ?? 0) + messages.length);
      },
    });
  } catch (error) {
    if (!(error instanceof RedriveInterrupted)) throw error;
  } finally {
    await producer.disconnect();
  }
  const total = [...sent.values()].reduce((sum, count) => sum + count, 0);
  return {
    interrupted: signal.aborted,
    lines: [
      `${reason}: ${formatCount(total)} records sent back${total > 0 ? ` (${[...sent].map(([topic, count]) => `${topic} ${formatCount(count)}`).join(', ')})` : ''}; ` +
        `${formatCount(otherReasons)} of other reasons passed over${repeatedCopies > 0 ? `; ${formatCount(repeatedCopies)} repeated copies of a record sent once` : ''}` +
        `${signal.aborted ? '; interrupted (running again goes on from here)' : ''}`,
      ...(notHeld.length === 0
        ? []
        : [
            `${formatCount(notHeld.length)} copies without the original (cut to fit the DLQ, or of a batch not read), not sent back; the originals are at (topic/partition@offset):`,
            ...notHeld.map(({ topic, partition, offset }) => `  ${topic}/${partition}@${offset}`),
          ]),
      ...(sourceGone.length === 0
        ? []
        : [
            `${formatCount(sourceGone.length)} of a source topic that no longer exists, not sent back (topic/partition@offset):`,
            ...sourceGone.map(({ topic, partition, offset }) => `  ${topic}/${partition}@${offset}`),
          ]),
    ],
  };
}

/** Ctrl-C: the batch in hand is not sent, and the group stays committed where the last one ended. */
class RedriveInterrupted extends Error {}
