// A single Redis behind a name that moves on failover (a managed service's primary endpoint): the replica is promoted,
// the old master is made its replica, and the name points at the new master, but the scorer's connection to the old
// one stays open. Every write then answers READONLY. Until 2026-12-04 the scorer retried on that connection for
// ever, live and consuming nothing; it now reconnects on READONLY, reaches the new master through the name, sees the
// new server's identity, re-consumes from its committed offsets and goes on, losing nothing. The name is a TCP proxy
// here, pointed at the new master for new connections while the open ones stay where they were. And a replica cut off
// from its master before it is promoted: a single server names only its connected replicas, so the scorer remembers
// the ones it has seen, and commits no offset for writes the cut-off one lacks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleActivity } from '@churnscore/events/testing';
import { STATE_FIELD } from '@churnscore/state';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anHourAgo } from '../harness/stack';
import { freePort, PrivateRedis } from '../scorer/private-redis';
import { eventually, ScorerTestBed } from '../scorer/support';
import { TestResources } from './service-process';
import { TcpProxy } from './tcp-proxy';

const workDir = mkdtempSync(join(tmpdir(), 'redis-endpoint-failover-'));
const resources = new TestResources();
let first: PrivateRedis;
let second: PrivateRedis;
let proxy: TcpProxy;
let bed: ScorerTestBed;
const admins: Redis[] = [];

beforeAll(async () => {
  [first, second] = [new PrivateRedis(await freePort()), new PrivateRedis(await freePort())];
  await first.start(join(workDir, 'first'));
  await second.start(join(workDir, 'second'));
  admins.push(new Redis(first.port, '127.0.0.1'), new Redis(second.port, '127.0.0.1'));
  await admins[1]!.replicaof('127.0.0.1', first.port);
  proxy = new TcpProxy({ host: '127.0.0.1', port: first.port });
  bed = new ScorerTestBed('redis-endpoint-failover', `redis://127.0.0.1:${await proxy.listen()}`);
  await bed.setUp(1);
});
afterAll(async () => {
  try {
    await resources.release();
    // The bed's own connection went to the first server, before the failover: its clean-up writes there.
    await admins[0]!.replicaof('NO', 'ONE');
    for (const admin of admins) admin.disconnect();
    await bed.tearDown();
  } finally {
    // Whatever failed above, no server of this test outlives it.
    proxy.close();
    await Promise.all([first.kill(), second.kill()]);
    rmSync(workDir, { recursive: true, force: true });
  }
});

/** The `n`th meeting of `customerId`, an hour ago. */
const meetingOf = (customerId: string) => (n: number) =>
  sampleActivity({ customerId, eventId: `${customerId}-${n}`, activityType: 'MEETING', value: null, occurredAt: anHourAgo() });
/** How many of `customerId`'s events `server` holds applied. */
const revisionOf = (customerId: string) => (server: Redis) => async () => Number((await server.hget(bed.keys.customer(customerId).state, STATE_FIELD.revision)) ?? 0);

describe('a REDIS_URL naming a replica', () => {
  // Before the failover below, the second server is the first's replica.
  it('stops the start (exit 1) naming REDIS_URL and the master, before any write', async () => {
    const scorer = resources.startService('scorer', { ...bed.env(), REDIS_URL: `redis://127.0.0.1:${second.port}` });
    expect(await scorer.exitWithin(45_000)).toEqual({ code: 1, signal: null });
    expect(scorer.nonJsonLines()).toEqual([]);
    expect(JSON.stringify(scorer.records().at(-1))).toContain(
      `REDIS_URL: the server is a read-only replica (of 127.0.0.1:${first.port}), where the scorer can write nothing; point REDIS_URL at the master`,
    );
  }, 60_000);
});

describe('a Redis endpoint moved to a promoted replica while the scorer holds a connection to the old master', () => {
  it('is followed: the scorer reconnects on READONLY, goes on on the new master and loses no event', async () => {
    const [oldMaster, newMaster] = admins as [Redis, Redis];
    const customerId = 'moved-customer-7';
    const meeting = meetingOf(customerId);
    const revisionOn = revisionOf(customerId);

    const scorer = resources.startService('scorer', { ...bed.env(), LOG_LEVEL: 'info' });
    await bed.publish([meeting(1)]);
    await eventually(revisionOn(oldMaster), (revision) => revision === 1, 60_000, 'the first event to be applied');
    await eventually(revisionOn(newMaster), (revision) => revision === 1, 30_000, 'the replica to hold it');

    // The failover: the replica promoted, the old master made its replica, the name moved; the scorer's connection stays.
    await newMaster.replicaof('NO', 'ONE');
    await oldMaster.replicaof('127.0.0.1', second.port);
    proxy.retarget({ host: '127.0.0.1', port: second.port });

    await bed.publish([meeting(2)]);
    await eventually(revisionOn(newMaster), (revision) => revision === 2, 60_000, 'the second event to be applied on the new master');
    expect(await scorer.exitWithin(1_000)).toBe('running');
    expect(scorer.records().some((record) => String(record.msg).startsWith('re-consuming from the committed offsets'))).toBe(true);
    expect(scorer.output).not.toContain(customerId);
  }, 180_000);
});

describe('a single Redis whose replica is cut off from it, then promoted', () => {
  // After the test above, the second server is the master the name points at, the first its replica; that test's
  // scorer runs on.
  it('commits no offset for writes the cut-off replica lacks, and re-consumes them after the failover', async () => {
    const [replica, master] = admins as [Redis, Redis];
    const customerId = 'cut-off-customer-3';
    const meeting = meetingOf(customerId);
    const revisionOn = revisionOf(customerId);
    const committed = () => bed.committedOffsets(bed.topics.activity);

    await bed.publish([meeting(1)]);
    await eventually(revisionOn(replica), (revision) => revision === 1, 60_000, 'the first event applied and replicated');
    const before = await bed.topicEnd(bed.topics.activity);
    await eventually(committed, (offset) => offset === before, 20_000, 'every offset so far committed');

    // Cut off: the replica logs in to its master as a user that does not exist, and loses its link. Its master then
    // names no replica at all.
    await replica.config('SET', 'masteruser', 'nobody-by-this-name');
    await replica.config('SET', 'masterauth', 'refused');
    await master.client('KILL', 'TYPE', 'replica');
    await eventually(() => replica.info('replication'), (info) => info.includes('master_link_status:down'), 20_000, 'the replica to lose its link');

    await bed.publish([meeting(2), meeting(3)]);
    await eventually(revisionOn(master), (revision) => revision === 3, 60_000, 'the later events applied on the master');
    // Past the fsync grace (2.5 s) and a few commit ticks (1 s): before 2026-12-06 their offsets were committed by now.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(await committed()).toBe(before);

    // The failover: the cut-off replica promoted, the old master made its replica (its last writes dropped), the name moved.
    await replica.replicaof('NO', 'ONE');
    await master.replicaof('127.0.0.1', first.port);
    proxy.retarget({ host: '127.0.0.1', port: first.port });
    // Traffic goes on: the scorer's next write meets READONLY on the old master, as in the test above.
    await bed.publish([meeting(4)]);
    await eventually(revisionOn(replica), (revision) => revision === 4, 60_000, 'every event applied on the promoted replica');
    await eventually(committed, (offset) => offset === before + 3, 20_000, 'the later offsets committed');
  }, 180_000);
});
