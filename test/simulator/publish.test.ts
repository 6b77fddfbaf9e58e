// The simulator publishes a generated history through the real broker and registry, and every record
// comes back decodable by the scorer's codec, keyed by customerId, equal to what was generated.
import { loadConfig } from '@churnscore/config';
import { createEventPublisher, generateCustomerHistories, runSimulateCommand } from '@churnscore/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsTestBed } from '../events/support';
import { byEventId, consumeInputEvents, inputRecordCount, producerEnv, quietStream } from './support';

const bed = new EventsTestBed('simulator');
beforeAll(() => bed.setUp());
afterAll(() => bed.tearDown());

const NOW = '2025-06-15T12:00:00Z';

describe('npm run simulate', () => {
  it('publishes every customer history to the input topics in the Confluent wire format', async () => {
    const argv = ['--customers', '8', '--days', '45', '--seed', 'it', '--now', NOW, '--rate', '0'];
    const code = await runSimulateCommand(argv, {
      env: producerEnv(bed),
      stdout: process.stdout,
      stderr: quietStream,
      signal: new AbortController().signal,
    });
    expect(code).toBe(0);

    const expected = generateCustomerHistories({ customers: 8, days: 45, seed: 'it', now: Date.parse(NOW) }).flatMap((customer) => customer.events);
    const consumed = await consumeInputEvents(bed, expected.length, Date.parse(NOW));
    expect(consumed.sort(byEventId)).toEqual([...expected].sort(byEventId));
    expect(await inputRecordCount(bed)).toBe(expected.length);
    expect(new Set(consumed.map((event) => event.kind))).toEqual(new Set(['activity', 'opportunity', 'contract', 'customer']));
  });

  it('fails, rather than retrying for good, when the broker does not take its records (a topic that is gone)', async () => {
    // Subjects registered, the topics never created: every send is refused as for a topic deleted mid-run.
    const gone = new EventsTestBed('simulator-gone');
    await gone.registerSchemas();
    // Two retries rather than COMMAND_SEND_RETRIES' two minutes of backoff: the bound is what is under test.
    const publisher = createEventPublisher(loadConfig(producerEnv(gone)), 'simulator-test', { sendRetries: 2 });
    try {
      const [customer] = generateCustomerHistories({ customers: 1, days: 10, seed: 'gone', now: Date.parse(NOW) });
      await expect(publisher.publish({ events: customer!.events })).rejects.toThrow();
    } finally {
      await publisher.close();
      await gone.tearDown();
    }
  }, 60_000);
});
