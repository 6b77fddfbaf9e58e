import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InputEvent } from '@churnscore/domain';
import { generateCustomerHistories, toNdjsonLine } from '@churnscore/simulator';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '@churnscore/simulator';
import { ingestFile, type IngestFileOptions } from './ingest';
import { exitCodeOf, summarise } from './report';

const NOW = Date.parse('2025-06-15T12:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'ingest-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fileWith = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** Collects what would have been published. */
function capturingPublisher(): { published: InputEvent[]; publish: NonNullable<IngestFileOptions['publish']> } {
  const published: InputEvent[] = [];
  return {
    published,
    async publish(events, onPublished) {
      for await (const event of events) published.push(event);
      onPublished(published.length);
      return published.length;
    },
  };
}

const ingest = (file: string, options: Partial<IngestFileOptions> = {}) =>
  ingestFile({ file, defaultSource: 'test', reportingCurrency: 'USD', maxFutureSkewMs: 3_600_000, clock: () => NOW, progress: null, ...options });

const OPPORTUNITIES_CSV = [
  'eventId,customerId,occurredAt,opportunityId,stage,amount,currency,probability,accountName',
  'e1,c1,2025-06-01T10:00:00Z,o1,PROPOSAL,1000,USD,,Acme',
  'e2,c1,2025-06-02T10:00:00Z,o1,NEGOTIATION,-5,USD,0.6,Acme',
  'e3,,2025-06-02T10:00:00Z,o2,LEAD,200,USD,,Initech',
  '',
  'e4,c2,"2025-06-03T10:00:00Z",o3,CLOSED_WON,300,EUR,,Umbrella',
  'e5,c2,2025-06-04T10:00:00Z,o3,CLOSED_WON,300,USD,,Umbrella',
  'e6,c3,2025-07-01T10:00:00Z,o4,LEAD,50,USD,,Hooli',
].join('\n');

describe('ingestFile', () => {
  it('publishes nothing when any line is bad, and reports every bad line with its number and reason', async () => {
    const publisher = capturingPublisher();
    const report = await ingest(fileWith('opportunities.csv', OPPORTUNITIES_CSV), { kind: 'opportunity', publish: publisher.publish });
    expect(publisher.published).toEqual([]);
    expect(report).toMatchObject({ records: 6, valid: 2, published: 0, complete: true, mode: 'all-or-nothing', ignoredFields: ['accountName'] });
    expect(report.rejected.map(({ line, reason, field }) => ({ line, reason, field }))).toEqual([
      { line: 3, reason: 'NEGATIVE_AMOUNT', field: 'amount' },
      { line: 4, reason: 'MISSING_FIELD', field: 'customerId' },
      { line: 6, reason: 'WRONG_CURRENCY', field: 'currency' },
      { line: 8, reason: 'FUTURE_OCCURRED_AT', field: 'occurredAt' },
    ]);
    expect(exitCodeOf(report)).toBe(1);
    const summary = summarise(report).join('\n');
    expect(summary).toContain('nothing published: fix the rejected lines, or pass --partial to publish the 2 valid lines');
    // The file's own path is named; its random temporary directory may hold "c1" by chance.
    const withoutPath = summary.replaceAll(dir, '');
    for (const personal of ['Acme', 'Initech', 'Umbrella', 'Hooli', 'c1', 'c2']) expect(withoutPath).not.toContain(personal);
    expect(JSON.stringify(report.rejected)).not.toMatch(/Acme|Initech|Umbrella|Hooli|"c[123]"/);
  });

  it('with partial, publishes only the good lines and still reports the bad ones', async () => {
    const publisher = capturingPublisher();
    const report = await ingest(fileWith('opportunities.csv', OPPORTUNITIES_CSV), { kind: 'opportunity', partial: true, publish: publisher.publish });
    expect(publisher.published.map((event) => event.eventId)).toEqual(['e1', 'e5']);
    expect(report).toMatchObject({ valid: 2, published: 2, mode: 'partial' });
    expect(report.rejected.map(({ line }) => line)).toEqual([3, 4, 6, 8]);
    expect(exitCodeOf(report)).toBe(1);
  });

  it('dry run checks everything and publishes nothing; a clean file exits 0', async () => {
    const clean = fileWith('clean.ndjson', '{"kind":"customer","customerId":"c1","occurredAt":"2025-06-01","segment":"SMB"}\n');
    const report = await ingest(clean, { dryRun: true });
    expect(report).toMatchObject({ records: 1, valid: 1, published: 0, mode: 'dry-run' });
    expect(exitCodeOf(report)).toBe(0);
    expect(summarise(report).at(-1)).toBe('dry run: nothing published; the file is valid');
  });

  it('publishes nothing, even with partial, from a file whose syntax breaks off', async () => {
    const publisher = capturingPublisher();
    const broken = fileWith('broken.csv', 'customerId,occurredAt,segment\nc1,2025-06-01,SMB\nc2,"2025-06-01,SMB\nc3,2025-06-01,MID_MARKET\n');
    const report = await ingest(broken, { kind: 'customer', partial: true, publish: publisher.publish });
    expect(publisher.published).toEqual([]);
    expect(report).toMatchObject({ complete: false, valid: 1, rejected: [expect.objectContaining({ line: 3, reason: 'PARSE_ERROR' })] });
    expect(summarise(report).at(-1)).toBe('nothing published: the file cannot be taken as it is (its PARSE_ERROR above says why)');
  });

  it('ingests the simulator NDJSON output unchanged, so sample data round-trips', async () => {
    const events = generateCustomerHistories({ customers: 5, days: 60, seed: 1, now: NOW }).flatMap((customer) => customer.events);
    const publisher = capturingPublisher();
    const report = await ingest(fileWith('sample.ndjson', events.map(toNdjsonLine).join('')), { publish: publisher.publish });
    expect(report.rejected).toEqual([]);
    expect(publisher.published).toEqual(events);
  });

  it('gives the same eventIds to the same export ingested twice', async () => {
    const file = fileWith('no-ids.csv', 'customerId,occurredAt,activityType,value\nc1,2025-06-01T09:00:00Z,PRODUCT_USAGE,4\nc1,2025-06-02T09:00:00Z,PRODUCT_USAGE,4\n');
    const ids = async () => {
      const publisher = capturingPublisher();
      await ingest(file, { kind: 'activity', publish: publisher.publish });
      return publisher.published.map((event) => event.eventId);
    };
    const first = await ids();
    expect(new Set(first).size).toBe(2);
    expect(await ids()).toEqual(first);
  });

  it('takes an eventId of one kind and the same id of another as two events, as the scorer does', async () => {
    const file = fileWith(
      'kinds.ndjson',
      [
        { kind: 'activity', eventId: '1001', customerId: 'c1', occurredAt: '2025-06-01T09:00:00Z', activityType: 'CALL' },
        { kind: 'opportunity', eventId: '1001', customerId: 'c1', occurredAt: '2025-06-01T09:00:00Z', opportunityId: 'O-7', stage: 'PROPOSAL', amount: 500, currency: 'USD' },
      ]
        .map((record) => JSON.stringify(record))
        .join('\n'),
    );
    const publisher = capturingPublisher();
    expect(await ingest(file, { publish: publisher.publish })).toMatchObject({ records: 2, valid: 2, published: 2 });
  });

  it('publishes what it checked, even if the file is rewritten while it is published', async () => {
    const header = 'customerId,occurredAt,activityType,value\n';
    const file = fileWith('rewritten.csv', `${header}c1,2025-06-01T09:00:00Z,CALL,1\nc2,2025-06-02T09:00:00Z,CALL,1\n`);
    const published: string[] = [];
    const report = await ingest(file, {
      kind: 'activity',
      async publish(events, onPublished) {
        // The export replaced by the next one as publication begins: a customer never checked, and lines now invalid.
        writeFileSync(file, `${header}c9,2025-06-01T09:00:00Z,CALL,1\nc9,not a time,CALL,1\nc9,2025-06-02T09:00:00Z,CALL,1\n`);
        for await (const event of events) published.push(event.customerId);
        onPublished(published.length);
        return published.length;
      },
    });
    expect(report).toMatchObject({ records: 2, valid: 2, published: 2 });
    expect(published).toEqual(['c1', 'c2']);
  });

  it('reads a pipe once, into a temporary copy, and publishes what it checked', async () => {
    const fifo = join(dir, 'export.fifo');
    execFileSync('mkfifo', [fifo]);
    const text = 'customerId,occurredAt,activityType,value\nc1,2025-06-01T09:00:00Z,PRODUCT_USAGE,4\nc2,2025-06-02T09:00:00Z,CALL,1\n';
    const writer = createWriteStream(fifo);
    writer.end(text);
    const publisher = capturingPublisher();
    const report = await ingest(fifo, { kind: 'activity', format: 'csv', publish: publisher.publish });
    // Before: the check drained the pipe, the publication read nothing, and the command said it succeeded.
    expect(report).toMatchObject({ records: 2, valid: 2, published: 2 });
    expect(publisher.published.map((event) => event.customerId)).toEqual(['c1', 'c2']);
  });

  it('publishes nothing once interrupted while copying, and leaves no copy of an interrupted file or pipe behind', async () => {
    const interrupted = AbortSignal.abort();
    const publisher = capturingPublisher();
    const file = fileWith('interrupted.csv', 'customerId,occurredAt,segment\nc1,2025-06-01,SMB\n');
    await expect(ingest(file, { kind: 'customer', publish: publisher.publish, signal: interrupted })).rejects.toThrow(/abort/i);
    expect(publisher.published).toEqual([]);

    const fifo = join(dir, 'interrupted.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = createWriteStream(fifo);
    // The read end closes on the interruption.
    writer.on('error', () => undefined);
    writer.write('customerId,occurredAt,segment\n');
    const copiesBefore = readdirSync(tmpdir()).filter((name) => name.startsWith('churnscore-export-'));
    await expect(ingest(fifo, { kind: 'customer', format: 'csv', publish: publisher.publish, signal: interrupted })).rejects.toThrow(/abort/i);
    writer.destroy();
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('churnscore-export-'))).toEqual(copiesBefore);
    expect(publisher.published).toEqual([]);
  });

  it("removes the copies of commands killed before they could (kill -9), and no running command's", async () => {
    // A pid no process holds now: that of a command that has ended.
    const ended = spawnSync('true').pid!;
    const killedCopy = join(tmpdir(), `churnscore-export-${ended}-AbC123`);
    const runningCopy = join(tmpdir(), `churnscore-export-${process.pid}-XyZ789`);
    for (const copy of [killedCopy, runningCopy]) {
      mkdirSync(copy);
      writeFileSync(join(copy, 'export'), 'customerId,occurredAt,segment\n');
    }
    try {
      const publisher = capturingPublisher();
      await ingest(fileWith('after-a-kill.csv', 'customerId,occurredAt,segment\nc1,2025-06-01,SMB\n'), { kind: 'customer', publish: publisher.publish });
      expect(publisher.published).toHaveLength(1);
      expect(existsSync(killedCopy)).toBe(false);
      expect(existsSync(runningCopy)).toBe(true);
    } finally {
      rmSync(runningCopy, { recursive: true, force: true });
      rmSync(killedCopy, { recursive: true, force: true });
    }
  });

  it('stops checking at the interruption, rather than at the end of the file, and says the check is incomplete', async () => {
    const controller = new AbortController();
    const publisher = capturingPublisher();
    const rows = Array.from({ length: 20_000 }, (_, i) => `c${i},2025-06-01,SMB`);
    const file = fileWith('interrupted-midway.csv', ['customerId,occurredAt,segment', ',2025-06-01,SMB', ...rows].join('\n'));
    // Ctrl-C as the first rejection is shown.
    const report = await ingest(file, { kind: 'customer', publish: publisher.publish, signal: controller.signal, onRejection: () => controller.abort() });
    expect(report).toMatchObject({ records: 1, valid: 0, complete: false, published: 0 });
    expect(publisher.published).toEqual([]);
  });

  it("rejects a record reusing an earlier one's eventId of the same customer with other content (the scorer would drop it)", async () => {
    const publisher = capturingPublisher();
    const file = fileWith(
      'reused-ids.csv',
      [
        'eventId,customerId,occurredAt,activityType',
        'E-1,c1,2025-06-01T09:00:00Z,CALL',
        'E-1,c1,2025-06-01T09:00:00Z,MEETING',
        'E-1,c1,2025-06-01T09:00:00Z,CALL',
        'E-1,c2,2025-06-01T09:00:00Z,MEETING',
        'E-2,c1,2025-06-02T09:00:00Z,EMAIL_SENT',
      ].join('\n'),
    );
    const report = await ingest(file, { kind: 'activity', partial: true, publish: publisher.publish });
    // The same record twice is one event (the scorer counts it once); another customer's E-1 is its own.
    expect(report.rejected).toEqual([{ line: 3, reason: 'CONFLICTING_EVENT_ID', field: 'eventId', message: 'eventId: line 2 holds another record of the customer with this eventId' }]);
    expect(publisher.published.map((event) => `${event.customerId} ${event.eventId}`)).toEqual(['c1 E-1', 'c1 E-1', 'c2 E-1', 'c1 E-2']);
  });

  it('publishes nothing, even with partial, from a file that is not UTF-8, naming its first such line', async () => {
    const publisher = capturingPublisher();
    const latin1 = join(dir, 'latin1.csv');
    writeFileSync(latin1, Buffer.from('customerId,occurredAt,segment\nM\u00fcller,2025-06-01,SMB\nM\u00f6ller,2025-06-01,SMB\n', 'latin1'));
    const report = await ingest(latin1, { kind: 'customer', partial: true, publish: publisher.publish });
    expect(publisher.published).toEqual([]);
    // Read to the end (both records counted): complete, the file refused by its rejection.
    expect(report).toMatchObject({ complete: true, records: 2, rejected: [expect.objectContaining({ line: 2, reason: 'PARSE_ERROR', ofFile: true, message: expect.stringContaining('not UTF-8') })] });
  });

  it("lists a field of a mixed-kind file with the kinds that left it out, when another kind's records carry it", async () => {
    const file = fileWith(
      'mixed-segment.csv',
      'kind,customerId,occurredAt,activityType,segment,accountName\nactivity,c1,2025-06-01T09:00:00Z,CALL,SMB,Acme\ncustomer,c1,2025-06-01,,ENTERPRISE,Acme\n',
    );
    const report = await ingest(file, { kind: undefined, dryRun: true });
    expect(report.ignoredFields).toEqual(['accountName', 'segment (on activity records)']);
  });

  it('tells the publisher every kind the file holds before the first event is sent', async () => {
    const kindsSeen: string[][] = [];
    const file = fileWith(
      'mixed.ndjson',
      ['{"kind":"customer","customerId":"c1","occurredAt":"2025-06-01","segment":"SMB"}', '{"kind":"activity","customerId":"c1","occurredAt":"2025-06-01T09:00:00Z","activityType":"CALL"}'].join('\n'),
    );
    await ingest(file, {
      publish: async (events, _onPublished, kinds) => {
        kindsSeen.push([...kinds].sort());
        let count = 0;
        for await (const event of events) count += event ? 1 : 0;
        return count;
      },
    });
    expect(kindsSeen).toEqual([['activity', 'customer']]);
  });

  it('refuses a file it cannot read or whose format it cannot tell', async () => {
    await expect(ingest(join(dir, 'missing.csv'), { dryRun: true })).rejects.toThrow(UsageError);
    await expect(ingest(fileWith('export.txt', ''), { dryRun: true })).rejects.toThrow(/--format/);
    // A missing file is missing, whatever its extension; a directory is refused before any stream fails unhandled.
    await expect(ingest(join(dir, 'missing.ndjson.txt'), { dryRun: true })).rejects.toThrow(/cannot read .*ENOENT/);
    mkdirSync(join(dir, 'a-directory.csv'));
    await expect(ingest(join(dir, 'a-directory.csv'), { dryRun: true })).rejects.toThrow(/cannot read .*: it is a directory/);
  });
});
