// `npm run dlq` against the real stack and scorer: the DLQ counted by reason and source topic, and a reason's records
// sent back to their source topics once its cause is fixed (here a customer's entity limit raised), as they came, so
// that the scorer applies them; a second re-drive sends nothing again.
import { SAMPLE_NOW, sampleOpportunity } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDlqCommand } from '../../services/dlq/src/index';
import { eventually, ManualClock, ScorerTestBed } from './support';

const HOUR = 3_600_000;
const bed = new ScorerTestBed('dlq-redrive');
const customerId = 'redrive-deals';
const deals = Array.from({ length: 3 }, (_, n) =>
  sampleOpportunity({ customerId, eventId: `${customerId}-${n}`, opportunityId: `deal-${n}`, occurredAt: SAMPLE_NOW - HOUR }),
);

async function dlq(...argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await runDlqCommand(argv, { env: bed.env(), stdout: { write: (text: string) => (stdout += text) }, stderr: { write: () => true } });
  return { code, stdout };
}

beforeAll(async () => {
  await bed.setUp(1);
  // The deals as their producer sent them, the last with a header of its own; and a record no Avro reader takes.
  const records = await bed.records(deals);
  await bed.produce(
    bed.topics.opportunity,
    records.map(({ key, value }, n) => ({ key, value, ...(n === 2 ? { headers: { trace: 'trace-2' } } : {}) })),
  );
  await bed.produce(bed.topics.activity, [{ key: customerId, value: Buffer.from('{"not":"avro"}') }]);
}, 60_000);
afterAll(() => bed.tearDown());

describe('npm run dlq', () => {
  it("counts the DLQ by reason and source topic, and sends a fixed reason's records back to be applied, once", async () => {
    const limited = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now, state: { maxEntities: 1 } });
    const letters = await bed.consume([bed.topics.dlq], 3, 60_000);
    await bed.stopScorer(limited);
    // Dead-lettering is at-least-once (a crash before the offsets' commit sends a copy again): one deal's copy twice.
    const refused = letters.find((letter) => String(letter.headers['dlq.reason']) === 'ENTITY_LIMIT')!;
    await bed.produce(bed.topics.dlq, [{ key: refused.key, value: refused.value, headers: refused.headers }]);

    const counted = await dlq();
    expect(counted.code).toBe(0);
    expect(counted.stdout).toMatch(new RegExp(`^${bed.topics.dlq}: 4 records retained; 4 in all\n`));
    expect(counted.stdout).toMatch(new RegExp(`ENTITY_LIMIT +3  ${bed.topics.opportunity}\n`));
    expect(counted.stdout).toMatch(new RegExp(`NOT_WIRE_FORMAT +1  ${bed.topics.activity}\n`));
    expect((await dlq('--reason', 'NOT_WIRE_FORMAT')).stdout).toMatch(/: 4 records retained; 1 of NOT_WIRE_FORMAT\n/);

    // The cause fixed (the limit raised), the records it dead-lettered go back where they came from, as they came.
    const sentBack = await dlq('--redrive', '--reason', 'ENTITY_LIMIT');
    expect(sentBack).toEqual({ code: 0, stdout: `ENTITY_LIMIT: 2 records sent back (${bed.topics.opportunity} 2); 1 of other reasons passed over; 1 repeated copies of a record sent once\n` });
    const opportunityLog = await bed.consume([bed.topics.opportunity], 5);
    for (const [resent, original] of [3, 4].map((offset) => [opportunityLog[offset]!, opportunityLog[offset - 2]!] as const)) {
      expect(resent.key).toEqual(original.key);
      expect(resent.value).toEqual(original.value);
      expect(Object.keys(resent.headers)).toEqual(Object.keys(original.headers));
    }
    expect(String(opportunityLog[4]!.headers.trace)).toBe('trace-2');

    const scorer = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now });
    await eventually(async () => (await bed.store.readCustomers([customerId], SAMPLE_NOW))[0]?.state.opportunities.length ?? 0, (count) => count === 3, 30_000, 'every deal applied');
    await bed.stopScorer(scorer);

    // Run again, the re-drive goes on where the last stopped: nothing is sent twice.
    expect(await dlq('--redrive', '--reason', 'ENTITY_LIMIT')).toEqual({ code: 0, stdout: 'ENTITY_LIMIT: 0 records sent back; 0 of other reasons passed over\n' });
    expect(await bed.topicEnd(bed.topics.opportunity)).toBe(5);
  }, 120_000);

  it('lists a record whose source topic no longer exists rather than fail on it, and refuses a second re-drive of a reason running', async () => {
    const gone = `${bed.topics.opportunity}-deleted`;
    await bed.produce(bed.topics.dlq, [
      { key: 'k', value: Buffer.from([0]), headers: { 'dlq.reason': 'ENTITY_LIMIT', 'dlq.source.topic': gone, 'dlq.source.partition': '0', 'dlq.source.offset': '5' } },
    ]);
    expect(await dlq('--redrive', '--reason', 'ENTITY_LIMIT')).toEqual({
      code: 0,
      stdout: `ENTITY_LIMIT: 0 records sent back; 0 of other reasons passed over\n1 of a source topic that no longer exists, not sent back (topic/partition@offset):\n  ${gone}/0@5\n`,
    });

    const running = bed.kafka.consumer({ groupId: `${bed.consumerGroup}.dlq-redrive.ENTITY_LIMIT` });
    await running.connect();
    try {
      const joined = new Promise((resolve) => running.on(running.events.GROUP_JOIN, resolve));
      await running.subscribe({ topics: [bed.topics.dlq] });
      await running.run({ autoCommit: false, eachMessage: async () => undefined });
      await joined;
      await expect(dlq('--redrive', '--reason', 'ENTITY_LIMIT')).rejects.toThrow(/a re-drive of ENTITY_LIMIT is running already/);
    } finally {
      await running.disconnect();
    }
  }, 60_000);

  it('refuses a re-drive of no reason, or of several, and a code that is no reason', async () => {
    await expect(dlq('--redrive')).rejects.toThrow(/--redrive takes exactly one --reason/);
    await expect(dlq('--redrive', '--reason', 'ENTITY_LIMIT', '--reason', 'WRONG_CURRENCY')).rejects.toThrow(/exactly one --reason/);
    await expect(dlq('--reason', 'TOO_LATE')).rejects.toThrow(/--reason TOO_LATE: not a reason code/);
  });
});
