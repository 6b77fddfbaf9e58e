// `npm run train -- --from-topics` replays the input topics through the real broker and registry and learns the
// same model as training on the same events from an export (and adapts the default to the same churn rate): what the
// scorer accepts is what training learns from.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InputEvent } from '@churnscore/domain';
import { runSimulateCommand } from '@churnscore/simulator';
import { TRAIN_EXIT_CODES, runTrainCommand } from '@churnscore/trainer';
import type { ModelCard } from '@churnscore/training';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsTestBed } from '../events/support';
import { testStack, uniqueName } from '../harness/stack';
import { producerEnv, quietStream } from '../simulator/support';

const bed = new EventsTestBed('train-from-topics');
const dir = mkdtempSync(join(tmpdir(), 'train-from-topics-'));
// The replay's consumer group is named after the client id: a private one shows that no group is left behind.
const env = { ...producerEnv(bed), KAFKA_CLIENT_ID: uniqueName('train-replay') };
beforeAll(() => bed.setUp(3));
afterAll(async () => {
  await bed.tearDown();
  rmSync(dir, { recursive: true, force: true });
});

const NOW = '2025-06-15T12:00:00Z';
const CLOCK = () => Date.parse('2025-06-16T00:00:00Z');
// 440 customers over 15 months with a high churn rate: enough churners in training and in validation to train on, and
// enough settled churners (20) to measure the base's churn rate on.
const SIMULATION = ['--customers', '440', '--days', '450', '--seed', 'train-from-topics', '--churn-rate', '0.6', '--now', NOW, '--rate', '0'];

async function train(argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runTrainCommand(argv, {
    env,
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text), isTTY: false },
    clock: CLOCK,
  });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

const simulate = (argv: string[]): Promise<number> =>
  runSimulateCommand([...SIMULATION, ...argv], { env, stdout: process.stdout, stderr: quietStream, signal: new AbortController().signal });

const readCard = (out: string): ModelCard => JSON.parse(readFileSync(join(out, 'model-card.json'), 'utf8')) as ModelCard;

async function replayGroups(): Promise<string[]> {
  const admin = new Kafka({ clientId: 'train-from-topics-test', brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.listGroups()).groups.map(({ groupId }) => groupId).filter((groupId) => groupId.startsWith(env.KAFKA_CLIENT_ID));
  } finally {
    await admin.disconnect();
  }
}

describe('npm run train -- --from-topics', () => {
  it('learns from the retained input topics the model an export of the same events gives, leaving out what the scorer rejects', async () => {
    expect(await simulate([])).toBe(0);
    const exportFile = join(dir, 'history.ndjson');
    expect(await simulate(['--emit', 'ndjson', '--out', exportFile])).toBe(0);
    // Records the scorer dead-letters: not in the wire format, and a valid event keyed by another customer.
    const stray: InputEvent = { kind: 'customer', eventId: 'stray-1', customerId: 'sim-000001', occurredAt: Date.parse('2025-06-01T00:00:00Z'), source: 'test', segment: 'SMB', erase: false };
    await bed.produce(bed.topics.activity, [{ key: 'sim-000001', value: Buffer.from('not avro') }]);
    await bed.produce(bed.topics.customer, [{ key: 'sim-000002', value: await bed.codec.encode(bed.topics.customer, stray) }]);

    const fromTopics = join(dir, 'from-topics');
    const replay = await train(['--from-topics', '--out', fromTopics, '--every-days', '14']);
    expect(replay.stderr).not.toContain('refused');
    expect(replay.code).toBe(TRAIN_EXIT_CODES.ok);
    const fromExport = join(dir, 'from-export');
    const exported = await train(['--history', exportFile, '--out', fromExport, '--every-days', '14']);
    expect(exported.code).toBe(TRAIN_EXIT_CODES.ok);

    const { history: replayed, ...card } = readCard(fromTopics);
    const { history: fromFile, ...expected } = readCard(fromExport);
    // Same samples, positives, coefficients, validation and thresholds, hence the same version.
    expect(card).toEqual(expected);
    expect(replayed.observedUntil).toBe(fromFile.observedUntil);
    expect(replayed.sources).toEqual([bed.topics.activity, bed.topics.opportunity, bed.topics.contract, bed.topics.customer].map((topic) => `kafka:${topic}`));
    expect(readFileSync(join(fromTopics, 'scoring-config.json'), 'utf8')).toBe(readFileSync(join(fromExport, 'scoring-config.json'), 'utf8'));

    const exportLines = readFileSync(exportFile, 'utf8').trimEnd().split('\n').length;
    expect(replay.stdout).toContain('2 records rejected as the scorer rejects them (NOT_WIRE_FORMAT 1, KEY_MISMATCH 1): left out');
    const recordsRead = [...replay.stdout.matchAll(/: (\d+) records\n/g)].reduce((sum, [, count]) => sum + Number(count), 0);
    expect(recordsRead).toBe(exportLines + 2);
    // Progress by topic on stderr; the group was never committed to and is gone.
    expect(replay.stderr).toContain(`${bed.topics.activity} `);
    expect(replay.stderr).toMatch(/snapshots +440\/440 customers/);

    // The same topics with each event known from its record's timestamp: the load's instant, a history of no length.
    // The refusal says so rather than only "too short" (an independent user's replay of a bulk-loaded topic).
    const byRecordTime = await train(['--from-topics', '--record-timestamps', '--out', join(dir, 'by-record-time')]);
    expect(byRecordTime.code).toBe(TRAIN_EXIT_CODES.refused);
    expect(byRecordTime.stderr).toMatch(/training refused: the history is too short.*a history published in bulk carries its load time: leave it out/);

    // Moving the default to this base's churn rate reads the replay as it reads the export, too.
    const adaptedFromTopics = await train(['--adapt-base-rate', '--from-topics', '--out', join(dir, 'adapted-from-topics')]);
    expect(adaptedFromTopics.code).toBe(TRAIN_EXIT_CODES.ok);
    expect((await train(['--adapt-base-rate', '--history', exportFile, '--out', join(dir, 'adapted-from-export')])).code).toBe(TRAIN_EXIT_CODES.ok);
    const adaptedConfig = (out: string) => readFileSync(join(dir, out, 'scoring-config.json'), 'utf8');
    expect(adaptedConfig('adapted-from-topics')).toBe(adaptedConfig('adapted-from-export'));
    expect(adaptedFromTopics.stdout).toMatch(/adapted default-[\d.]+ to this base as default-[\d.]+-base[\d.]+-[0-9a-f]{8}: [\d,]+ settled snapshots of \d+ customers \(\d+ churning\)/);
    expect(await replayGroups()).toEqual([]);
  }, 300_000);

  it('refuses, exit 4, when the topics hold nothing to learn from', async () => {
    const empty = new EventsTestBed('train-from-empty-topics');
    await empty.setUp();
    try {
      const stderr: string[] = [];
      const code = await runTrainCommand(['--from-topics', '--out', join(dir, 'empty')], {
        env: { ...producerEnv(empty), KAFKA_CLIENT_ID: env.KAFKA_CLIENT_ID },
        stdout: { write: () => true },
        stderr: { write: (text: string) => stderr.push(text) },
        clock: CLOCK,
      });
      expect(code).toBe(TRAIN_EXIT_CODES.refused);
      expect(stderr.join('')).toContain('training refused: the input topics hold no events to learn from');
    } finally {
      await empty.tearDown();
    }
  });

  it('refuses at once, naming the setting, when an input topic does not exist', async () => {
    const missing = uniqueName('train-missing.crm.activity.v1');
    // Before: the replay retried the topic's partitions for about 80 s, then failed with the broker's words.
    await expect(
      runTrainCommand(['--from-topics', '--out', join(dir, 'missing')], {
        env: { ...env, TOPIC_ACTIVITY: missing },
        stdout: { write: () => true },
        stderr: quietStream,
        clock: CLOCK,
      }),
    ).rejects.toThrow(new RegExp(`TOPIC_ACTIVITY: topic "${missing}" does not exist on the brokers; create it with \`npm run topics:provision\``));
  });
});
