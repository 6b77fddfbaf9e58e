// A Redis Cluster slot left half moved (a reshard that failed or was interrupted: the slot MIGRATING on one master,
// IMPORTING on the other, some of a customer's keys on each) refuses every script on that customer's keys with
// TRYAGAIN, and the units of work that hold one of its events fail for as long as it stays so, every partition in them
// with it. Pausing is what SPEC §8 asks of an outage; what an outside tester found (adv54 F1) was the scorers ready
// throughout, for 8.5 minutes of nothing applied. Readiness now says the work is not getting done; once the move is
// ended, every event is applied once.
import calculateSlot from 'cluster-key-slot';
import { SAMPLE_NOW } from '@churnscore/events/testing';
import { describe, expect, it } from 'vitest';
import { clusterScorer, dlqTotal, eventually, hourlyMeetings } from '../scorer/support';
import { clusterNodes, hasRedisServer, redisCli } from '../state/local-redis';

const MASTERS = 3;
const CUSTOMERS = 12;

describe.skipIf(!hasRedisServer)('a Redis Cluster slot left half moved', () => {
  const t = clusterScorer('cluster-open-slot', MASTERS);

  const customerIds = Array.from({ length: CUSTOMERS }, (_, c) => `cluster-open-slot-${c}`);
  const appliedRevisions = async () => (await t.bed.store.readCustomers(customerIds, SAMPLE_NOW)).map(({ state }) => state.revision);
  const holds = (port: number, key: string) => redisCli(port, 'exists', key) === '1';
  const readiness = async () => (await (await fetch(`http://127.0.0.1:${t.scorer.httpPort}/readyz`)).json()) as { ready: boolean; checks: Record<string, boolean> };

  it('makes the scorer not ready while its units fail, and applies every event once the move is ended', async () => {
    await t.bed.publish(hourlyMeetings(customerIds, 0, 2));
    await eventually(appliedRevisions, (r) => r.every((revision) => revision === 2), 60_000, 'the first events applied');

    // What a reshard cut short leaves: the customer's slot open on both masters, one of its keys already moved.
    const stuck = t.bed.keys.customer(customerIds[0]!);
    const slot = calculateSlot(stuck.state);
    const masters = clusterNodes(t.cluster.ports[0]!).filter((node) => node.servesSlots);
    const source = masters.find((node) => holds(node.port, stuck.state))!;
    const target = masters.find((node) => node !== source)!;
    redisCli(target.port, 'cluster', 'setslot', String(slot), 'importing', source.id);
    redisCli(source.port, 'cluster', 'setslot', String(slot), 'migrating', target.id);
    expect(redisCli(source.port, 'migrate', '127.0.0.1', String(target.port), stuck.act, '0', '5000')).toBe('OK');

    await t.bed.publish(hourlyMeetings(customerIds, 2, 2));
    await eventually(readiness, (r) => r.checks.work === false && !r.ready, 90_000, 'readiness to say the work is not getting done');
    expect(t.liveness.alive).toBe(true);

    // Ended as `redis-cli --cluster fix` may: the moved key back, the slot stable on both.
    redisCli(target.port, 'migrate', '127.0.0.1', String(source.port), stuck.act, '0', '5000');
    for (const node of [source, target]) redisCli(node.port, 'cluster', 'setslot', String(slot), 'stable');
    await eventually(appliedRevisions, (r) => r.every((revision) => revision === 4), 120_000, "every customer's 4 events applied once");
    await eventually(readiness, (r) => r.ready && r.checks.work === true, 30_000, 'ready again');
    expect(await dlqTotal(t.scorer)).toBe(0);
    await t.bed.expectSubscriberEndsWithRedis(customerIds, SAMPLE_NOW);
  }, 300_000);
});
