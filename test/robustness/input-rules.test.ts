// Issue 9, items 2, 7, 8 and 10: the input rules of docs/events.md, through the real stack. Every record is
// written by Kafka's own Java producer (test/interop), its Avro bytes built here from the registered schema
// (by hand where avsc cannot write them: a corrupt boolean, a long beyond 2^53), never by the product's codec.
// Each rule-breaking record must land in the DLQ with its own reason and field, each valid edge case must be
// scored, and the scorer must go on consuming afterwards.
import type { InputEventKind } from '@churnscore/domain';
import { schemaSource, valueSubject } from '@churnscore/events';
import { decodeStoredInsights } from '@churnscore/state';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../harness/stack';
import { produceWithJavaClient, type RawRecord } from '../interop/java-producer';
import { eventually, ManualClock, ScorerTestBed } from '../scorer/support';

const NOW = Date.UTC(2025, 5, 1, 12);
const HOUR = 3_600_000;
const DAY = 86_400_000;
const CASE_HEADER = 'test.case';
const JAVA_LONG_MAX = 2n ** 63n - 1n;
const AVRO_INT_MAX = 2 ** 31 - 1;

const bed = new ScorerTestBed('input-rules');

// ---- Avro bodies, as any producer's library would write them --------------------------------------------

type Fields = Record<string, unknown>;
const envelope = (customerId: string, eventId: string, occurredAt = NOW - HOUR): Fields => ({ eventId, customerId, occurredAt, source: 'java-crm' });
const activity = (customerId: string, eventId: string, fields: Fields): Fields => ({
  ...envelope(customerId, eventId),
  activityType: 'MEETING',
  value: null,
  ticketId: null,
  slaBreached: null,
  ...fields,
});
const contract = (customerId: string, eventId: string, fields: Fields): Fields => ({
  ...envelope(customerId, eventId),
  contractId: eventId,
  contractType: 'SUBSCRIPTION',
  totalValue: 50_000,
  currency: 'USD',
  startDate: Date.UTC(2025, 0, 1) / DAY,
  endDate: Date.UTC(2026, 0, 1) / DAY,
  status: 'ACTIVE',
  ...fields,
});
const opportunity = (customerId: string, eventId: string, fields: Fields): Fields => ({
  ...envelope(customerId, eventId),
  opportunityId: eventId,
  stage: 'PROPOSAL',
  amount: 10_000,
  currency: 'USD',
  probability: null,
  openQuotes: null,
  ...fields,
});

// Hand-written Avro binary encoding for what avsc refuses to write (Avro spec, "Binary Encoding").
const zigzagVarint = (n: bigint): Buffer => {
  let rest = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  const bytes: number[] = [];
  while (rest >= 0x80n) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return Buffer.from(bytes);
};
const avroString = (text: string): Buffer => {
  const utf8 = Buffer.from(text, 'utf8');
  return Buffer.concat([zigzagVarint(BigInt(utf8.length)), utf8]);
};
/** A CustomerEvent body: no segment (union branch 0, null), and `eraseByte` where Avro allows only 0 or 1. */
const customerEventBody = (customerId: string, eventId: string, occurredAt: bigint, eraseByte: number): Buffer =>
  Buffer.concat([avroString(eventId), avroString(customerId), zigzagVarint(occurredAt), avroString('java-crm'), Buffer.from([0, eraseByte])]);

// ---- the records ---------------------------------------------------------------------------------------

type Expected = { dlq: { reason: string; field?: string } } | 'scored';
interface Case {
  name: string;
  kind: InputEventKind;
  key: string;
  /** The Avro body: fields avsc encodes with the registered schema, or bytes written by hand. */
  body: Fields | Buffer;
  expected: Expected;
}

const EMOJI_ID = '😀'.repeat(100);
const OLD_CONTRACT_CO = 'contract-since-1965';
const TICKET_CO = 'ticket-closed-same-ms';
const HUGE_CONTRACTS_CO = 'huge-contracts';
const ERASE_TARGET = 'not-to-be-erased';
const TICKET_AT = NOW - 2 * HOUR;

const CASES: Case[] = [
  // item 2: 100 code points (200 UTF-16 units) is within 1–128 characters
  { name: '100-emoji customerId', kind: 'activity', key: EMOJI_ID, body: activity(EMOJI_ID, 'emoji-1', {}), expected: 'scored' },
  // item 10: valid, and rejected before
  {
    name: 'contract started in 1965',
    kind: 'contract',
    key: OLD_CONTRACT_CO,
    body: contract(OLD_CONTRACT_CO, 'ctr-1965', { startDate: Date.UTC(1965, 0, 1) / DAY }),
    expected: 'scored',
  },
  // item 10: a ticket closed in the millisecond it was opened, the open's eventId sorting higher
  {
    name: 'ticket opened',
    kind: 'activity',
    key: TICKET_CO,
    body: activity(TICKET_CO, 'z-open', { activityType: 'SUPPORT_TICKET_OPENED', ticketId: 'T-1', occurredAt: TICKET_AT }),
    expected: 'scored',
  },
  {
    name: 'ticket closed the same millisecond',
    kind: 'activity',
    key: TICKET_CO,
    body: activity(TICKET_CO, 'a-close', { activityType: 'SUPPORT_TICKET_CLOSED', ticketId: 'T-1', occurredAt: TICKET_AT }),
    expected: 'scored',
  },
  // item 10: lenient rules that now reject
  {
    name: 'newline in customerId',
    kind: 'activity',
    key: 'line\nbreak',
    body: activity('line\nbreak', 'ctl-1', {}),
    expected: { dlq: { reason: 'INVALID_FIELD', field: 'customerId' } },
  },
  {
    name: 'NUL in eventId',
    kind: 'activity',
    key: 'ctl-co',
    body: activity('ctl-co', 'nul\u0000id', {}),
    expected: { dlq: { reason: 'INVALID_FIELD', field: 'eventId' } },
  },
  {
    name: 'occurredAt in 1970',
    kind: 'activity',
    key: 'epoch-co',
    body: activity('epoch-co', 'epoch-1', { occurredAt: Date.UTC(1970, 0, 2) }),
    expected: { dlq: { reason: 'INVALID_FIELD', field: 'occurredAt' } },
  },
  {
    name: 'ticket closed without ticketId',
    kind: 'activity',
    key: 'close-co',
    body: activity('close-co', 'close-1', { activityType: 'SUPPORT_TICKET_CLOSED' }),
    expected: { dlq: { reason: 'MISSING_FIELD', field: 'ticketId' } },
  },
  {
    name: 'usage of 1e300',
    kind: 'activity',
    key: 'usage-co',
    body: activity('usage-co', 'usage-1', { activityType: 'PRODUCT_USAGE', value: 1e300 }),
    expected: { dlq: { reason: 'INVALID_FIELD', field: 'value' } },
  },
  {
    name: 'deal of 1e300',
    kind: 'opportunity',
    key: 'deal-co',
    body: opportunity('deal-co', 'deal-1', { amount: 1e300 }),
    expected: { dlq: { reason: 'INVALID_FIELD', field: 'amount' } },
  },
  {
    name: 'contract ending at the last Avro int day',
    kind: 'contract',
    key: 'forever-co',
    body: contract('forever-co', 'ctr-forever', { endDate: AVRO_INT_MAX }),
    expected: { dlq: { reason: 'INVALID_FIELD', field: 'endDate' } },
  },
  // item 8: two of these made value at risk Infinity
  ...[1, 2].map(
    (n): Case => ({
      name: `contract ${n} of 1.79e308`,
      kind: 'contract',
      key: HUGE_CONTRACTS_CO,
      body: contract(HUGE_CONTRACTS_CO, `ctr-huge-${n}`, { totalValue: 1.79e308 }),
      expected: { dlq: { reason: 'INVALID_FIELD', field: 'totalValue' } },
    }),
  ),
  { name: 'huge-contracts activity', kind: 'activity', key: HUGE_CONTRACTS_CO, body: activity(HUGE_CONTRACTS_CO, 'huge-meeting', {}), expected: 'scored' },
  // item 10: a long beyond JavaScript's safe integers is out of range, not a corrupt record
  {
    name: 'occurredAt of Long.MAX',
    kind: 'customer',
    key: 'long-max-co',
    body: customerEventBody('long-max-co', 'long-max-1', JAVA_LONG_MAX, 0),
    expected: { dlq: { reason: 'INVALID_FIELD', field: 'occurredAt' } },
  },
  // item 7: a boolean byte of 2 is corrupt, not "true"
  {
    name: 'erase byte 0x02',
    kind: 'customer',
    key: ERASE_TARGET,
    body: customerEventBody(ERASE_TARGET, 'erase-1', BigInt(NOW - HOUR), 2),
    expected: { dlq: { reason: 'AVRO_DECODE_FAILED' } },
  },
];

async function wireFormat(kind: InputEventKind, body: Fields | Buffer): Promise<Buffer> {
  const { id, schema } = await bed.registry.getLatestSchemaMetadata(valueSubject(bed.topicOf(kind)));
  const header = Buffer.alloc(5);
  header.writeInt32BE(id!, 1);
  const avroBody = Buffer.isBuffer(body) ? body : avro.Type.forSchema(JSON.parse(schema) as avro.Schema).toBuffer(body);
  return Buffer.concat([header, avroBody]);
}

async function produce(cases: readonly Case[]): Promise<void> {
  const records: RawRecord[] = await Promise.all(
    cases.map(async ({ name, kind, key, body }) => ({
      topic: bed.topicOf(kind),
      key,
      value: await wireFormat(kind, body),
      headers: { [CASE_HEADER]: name },
    })),
  );
  await produceWithJavaClient({ brokers: testStack().kafkaBrokers, records, compression: 'none' });
}

const scoredRevision = (customerId: string, revision: number, what: string) =>
  eventually(() => bed.scoreHash(customerId), (score) => Number(score.revision) === revision, 60_000, what);

const rejections = CASES.flatMap((c) => (c.expected === 'scored' ? [] : [{ name: c.name, ...c.expected.dlq }]));
beforeAll(async () => {
  await bed.setUp();
  await bed.startScorer({ clock: new ManualClock(NOW).now });
  // A customer with state, which the corrupt erase request must leave alone.
  await produce([{ name: 'erase target', kind: 'activity', key: ERASE_TARGET, body: activity(ERASE_TARGET, 'target-1', {}), expected: 'scored' }]);
  await scoredRevision(ERASE_TARGET, 1, 'the erase target to be scored');
  await produce(CASES);
});
afterAll(() => bed.tearDown());

describe('input rules through the real stack', () => {
  it('writes the hand-made Avro bodies as the registered schema reads them', () => {
    const customerType = avro.Type.forSchema(JSON.parse(schemaSource('customer')) as avro.Schema);
    expect(customerType.fromBuffer(customerEventBody('c', 'e', 42n, 1))).toMatchObject({ eventId: 'e', customerId: 'c', occurredAt: 42, segment: null, erase: true });
  });

  it('sends each rule-breaking record to the DLQ with its own reason and field', async () => {
    const letters = await bed.consume([bed.topics.dlq], rejections.length, 60_000);
    const got = letters.map((letter) => ({
      name: String(letter.headers[CASE_HEADER]),
      reason: String(letter.headers['dlq.reason']),
      ...(letter.headers['dlq.field'] === undefined ? {} : { field: String(letter.headers['dlq.field']) }),
    }));
    expect(got.sort((a, b) => a.name.localeCompare(b.name))).toEqual([...rejections].sort((a, b) => a.name.localeCompare(b.name)));
  });

  it('scores a customerId of 100 emoji', async () => {
    await scoredRevision(EMOJI_ID, 1, 'the 100-emoji customer to be scored');
  });

  it('counts a contract that started in 1965', async () => {
    await scoredRevision(OLD_CONTRACT_CO, 1, 'the 1965 contract to be scored');
    const insights = await bed.insightsHash(OLD_CONTRACT_CO);
    expect({ activeContracts: insights.activeContracts, firstContractStartAt: insights.firstContractStartAt }).toEqual({
      activeContracts: '1',
      firstContractStartAt: String(Date.UTC(1965, 0, 1)),
    });
  });

  it('counts a ticket closed in the millisecond it was opened as closed, whatever the eventIds', async () => {
    await scoredRevision(TICKET_CO, 2, 'both ticket events to be applied and scored');
    expect(decodeStoredInsights(TICKET_CO, await bed.insightsHash(TICKET_CO))?.openTickets).toBe(0);
  });

  it('keeps value at risk finite: contracts beyond the money maximum never count', async () => {
    const score = await scoredRevision(HUGE_CONTRACTS_CO, 1, 'the huge-contracts customer to be scored');
    expect(Number(score.valueAtRisk)).toBe(0);
    expect(decodeStoredInsights(HUGE_CONTRACTS_CO, await bed.insightsHash(HUGE_CONTRACTS_CO))?.totalContractValue).toBe(0);
  });

  it('does not erase a customer on a corrupt erase flag', async () => {
    expect(Number((await bed.scoreHash(ERASE_TARGET)).revision)).toBe(1);
  });

  it('goes on consuming after all of them', async () => {
    await produce([{ name: 'afterwards', kind: 'activity', key: 'afterwards-co', body: activity('afterwards-co', 'after-1', {}), expected: 'scored' }]);
    await scoredRevision('afterwards-co', 1, 'a record produced afterwards to be scored');
  });
});
