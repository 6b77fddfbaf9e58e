// Slots moved between the masters of a Redis Cluster (redis-cli --cluster reshard) while the scorer applies events to
// the customers in them: a slot being migrated answers ASK and TRYAGAIN, and a customer's keys are on two masters for a
// moment. Every event must be applied once, none in the DLQ, and the scorer keep running. A third of the slots (and so
// of the 400 customers) move while one event per customer is published every ~20 ms.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { clusterScorer, dlqTotal, eventually, hourlyMeetings } from '../scorer/support';
import { hasRedisServer, redisCli } from '../state/local-redis';

const CUSTOMERS = 400;

describe.skipIf(!hasRedisServer)('slots moved between Redis Cluster masters while the scorer runs', () => {
  const t = clusterScorer('reshard', 3);
  const customerIds = Array.from({ length: CUSTOMERS }, (_, c) => `reshard-${c}`);

  it('applies every event once, with nothing in the DLQ', async () => {
    const [from, to] = [t.cluster.ports[0]!, t.cluster.ports[1]!];
    const reshard = spawn('redis-cli', [
      ...['--cluster', 'reshard', `127.0.0.1:${from}`],
      ...['--cluster-from', redisCli(from, 'cluster', 'myid'), '--cluster-to', redisCli(to, 'cluster', 'myid')],
      ...['--cluster-slots', '5461', '--cluster-yes', '--cluster-pipeline', '1'],
    ]);
    let output = '';
    reshard.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const done = once(reshard, 'exit');
    let finished = false;
    void done.then(() => (finished = true));
    let rounds = 0;
    while (!finished) {
      await t.bed.publish(hourlyMeetings(customerIds, rounds, 1));
      rounds++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [code] = await done;
    expect(code, output.slice(-500)).toBe(0);
    // The events kept coming while the slots moved (about a hundred rounds in the runs of 2026-12-04).
    expect(rounds).toBeGreaterThan(10);
    await t.bed.publish(hourlyMeetings(customerIds, rounds, 1));
    rounds++;
    await eventually(
      () => t.bed.revisions(customerIds).catch(() => [0]),
      (revisions) => revisions.every((revision) => revision === rounds),
      60_000,
      'every event applied once',
    );
    expect(await dlqTotal(t.scorer)).toBe(0);
    expect(t.liveness.alive).toBe(true);
  }, 300_000);
});
