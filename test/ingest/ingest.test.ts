// Ingest through the real broker and registry: a file with good and bad lines publishes nothing by
// default, only the good lines with --partial, and reports each bad line by number and reason.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runIngestCommand } from '@churnscore/ingest';
import { uniqueName } from '../harness/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsTestBed } from '../events/support';
import { byEventId, consumeInputEvents, inputRecordCount, producerEnv, quietStream } from '../simulator/support';

const bed = new EventsTestBed('ingest');
const dir = mkdtempSync(join(tmpdir(), 'ingest-it-'));
beforeAll(() => bed.setUp());
afterAll(async () => {
  await bed.tearDown();
  rmSync(dir, { recursive: true, force: true });
});

const NOW = Date.parse('2025-06-15T12:00:00Z');
const CONTRACTS = [
  'customerId,occurredAt,contractId,contractType,totalValue,currency,startDate,endDate,status,accountOwner',
  'c-1,2025-06-01T09:00:00Z,k-1,SUBSCRIPTION,24000,USD,2025-06-01,2026-05-31,ACTIVE,Pat',
  'c-1,2025-06-02T09:00:00Z,k-2,SERVICE,-100,USD,2025-06-01,2026-05-31,ACTIVE,Pat',
  'c-2,2025-06-03T09:00:00Z,k-3,SALES,5000,GBP,2025-06-01,2025-08-31,ACTIVE,Sam',
  'c-2,2025-06-03T09:00:00Z,k-4,SALES,5000,USD,2025-06-01,2025-08-31,SIGNED,Sam',
  '"c-3","2025-06-04T09:00:00+02:00",k-5,SUBSCRIPTION,"12,000",USD,2025-06-01,2026-05-31,ACTIVE,Kim',
  'c-3,2025-06-05T09:00:00Z,k-5,SUBSCRIPTION,12000,USD,2025-06-01,2026-05-31,RENEWED,Kim',
  'c-4,2025-06-06T09:00:00Z,k-6,SUBSCRIPTION,9000,USD,2025-06-10,2025-06-01,ACTIVE,Lee',
].join('\n');
const EXPECTED_REJECTIONS = [
  'line 3: NEGATIVE_AMOUNT totalValue: must be ≥ 0',
  'line 4: WRONG_CURRENCY currency: must be the reporting currency USD, got GBP',
  'line 5: UNKNOWN_ENUM_SYMBOL status: must be one of ACTIVE, RENEWED, EXPIRED, CANCELLED',
  'line 6: INVALID_FIELD totalValue: must be a decimal number',
  'line 8: INVALID_FIELD endDate: must not be before startDate',
];

async function ingest(file: string, ...flags: string[]): Promise<{ code: number; printed: string[] }> {
  const output: string[] = [];
  const code = await runIngestCommand(['--file', file, '--kind', 'contract', ...flags], {
    env: producerEnv(bed),
    stdout: { write: (text: string) => output.push(text) },
    stderr: quietStream,
    clock: () => NOW,
  });
  return { code, printed: output.join('').split('\n').filter(Boolean) };
}

describe('npm run ingest', () => {
  const file = join(dir, 'contracts.csv');
  beforeAll(() => writeFileSync(file, CONTRACTS));

  it('publishes nothing when a line is bad, and reports each bad line by number and reason', async () => {
    const { code, printed } = await ingest(file);
    expect(code).toBe(1);
    expect(printed.slice(0, EXPECTED_REJECTIONS.length)).toEqual(EXPECTED_REJECTIONS);
    expect(printed.at(-1)).toBe('nothing published: fix the rejected lines, or pass --partial to publish the 2 valid lines');
    expect(printed.join('\n')).not.toMatch(/Pat|Sam|Kim|Lee|c-\d/);
    expect(await inputRecordCount(bed)).toBe(0);
  });

  it('with --partial publishes only the good lines, decodable by the scorer, with stable eventIds', async () => {
    const { code, printed } = await ingest(file, '--partial');
    expect(code).toBe(1);
    expect(printed.slice(0, EXPECTED_REJECTIONS.length)).toEqual(EXPECTED_REJECTIONS);
    expect(printed.at(-1)).toBe('published 2 events; 5 rejected lines were not');

    const published = (await consumeInputEvents(bed, 2, NOW)).sort(byEventId);
    const states = published.map((event) => (event.kind === 'contract' ? `${event.contractId} ${event.status}` : event.kind));
    expect(states.sort()).toEqual(['k-1 ACTIVE', 'k-5 RENEWED']);
    expect(published.every((event) => event.source === 'ingest' && /^ingest-[0-9a-f]{32}$/.test(event.eventId))).toBe(true);
    expect(await inputRecordCount(bed)).toBe(2);

    // Ingesting the same file again re-sends the same eventIds, which the scorer counts once.
    await ingest(file, '--partial');
    const twice = await consumeInputEvents(bed, 4, NOW);
    expect(new Set(twice.map((event) => event.eventId))).toEqual(new Set(published.map((event) => event.eventId)));
  });

  it('publishes nothing when a topic the file needs has no schema registered, rather than stop halfway', async () => {
    const mixed = join(dir, 'mixed.ndjson');
    const activities = Array.from({ length: 2_500 }, (_, i) => JSON.stringify({ kind: 'activity', eventId: `a-${i}`, customerId: `c-${i % 50}`, occurredAt: '2025-06-01T09:00:00Z', activityType: 'CALL' }));
    const contract = JSON.stringify({ kind: 'contract', eventId: 'k-1', customerId: 'c-1', occurredAt: '2025-06-01T09:00:00Z', contractId: 'k-1', contractType: 'SUBSCRIPTION', totalValue: 1000, currency: 'USD', startDate: '2025-06-01', endDate: '2026-05-31', status: 'ACTIVE' });
    writeFileSync(mixed, [...activities, contract].join('\n'));
    const before = await inputRecordCount(bed);
    const unregistered = uniqueName('ingest-unregistered.crm.contract.v1');
    await expect(
      runIngestCommand(['--file', mixed], { env: { ...producerEnv(bed), TOPIC_CONTRACT: unregistered }, stdout: quietStream, stderr: quietStream, clock: () => NOW }),
    ).rejects.toThrow(new RegExp(`${unregistered}-value`));
    // Before: 2,000 activity events were on their topic when the contract's encoding failed.
    expect(await inputRecordCount(bed)).toBe(before);
  });

  it('names KAFKA_BROKERS within seconds when no broker answers, rather than retry for minutes', async () => {
    // Found by an outside tester (adv51 F15): a typo in KAFKA_BROKERS printed "publishing 0/2 events" for 2 min 11 s.
    const valid = join(dir, 'valid.csv');
    writeFileSync(valid, CONTRACTS.split('\n').slice(0, 2).join('\n'));
    // A port nothing listens on: one the system gave and took back.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    await expect(
      runIngestCommand(['--file', valid, '--kind', 'contract'], { env: { ...producerEnv(bed), KAFKA_BROKERS: `127.0.0.1:${port}` }, stdout: quietStream, stderr: quietStream, clock: () => NOW }),
    ).rejects.toThrow(/^KAFKA_BROKERS: no broker answered \(.*ECONNREFUSED/);
  }, 60_000);
});
