import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyAlertBook } from '@churnscore/scoring';
import { EVERY_CUSTOMER_RANKING, claimNamespace, createBackfilledHistoryWriter, keySchema, namespaceState, redisIdentity, serverMicroseconds, STATE_FIELD, type CustomerSnapshot, type ScoreCommit } from '@churnscore/state';
import { customerKeysPattern } from '../harness/customer-keys';
import {
  DAY,
  Feed,
  HOUR,
  NOW,
  activity,
  contract,
  insights,
  openStateTest,
  opportunity,
  profile,
  scanAll,
  score,
  scoreChanged,
  type StateTestContext,
} from './fixtures';

let t: StateTestContext;
beforeAll(async () => {
  t = await openStateTest('erase');
});
afterAll(() => t.close());

/** A score of the customer computed from `snapshot`, as the scorer commits it. */
const commitFrom = (snapshot: CustomerSnapshot): ScoreCommit => ({
  score: score(snapshot.customerId),
  insights: insights(snapshot.customerId),
  revision: snapshot.state.revision,
  incarnation: snapshot.incarnation,
  asOf: NOW,
  hasOpenAlerts: false,
  lastResolvedAt: null,
  basedOn: null,
  alertBook: null,
  outbox: [scoreChanged(score(snapshot.customerId))],
  nextDueAt: null,
});

describe('eraseCustomer', () => {
  it('deletes every key of the customer and its ranking and due entries but when the erasure occurred; later events start from nothing', async () => {
    const id = 'erase:{me}*';
    const feed = new Feed();
    await t.store.applyEvents(
      feed.items(
        activity(id, 'EMAIL_SENT', NOW - HOUR),
        opportunity(id, 'O1', 'LEAD', NOW - DAY),
        contract(id, 'C1', 'ACTIVE', NOW - DAY),
        profile(id, 'SMB', NOW - DAY),
      ),
      NOW,
    );
    const [{ incarnation }] = (await t.store.readCustomers([id], NOW)) as [CustomerSnapshot];
    await t.store.commitScores([
      {
        score: score(id, { segment: 'SMB' }),
        insights: insights(id),
        revision: 4,
        incarnation,
        asOf: NOW,
        hasOpenAlerts: true,
        lastResolvedAt: NOW - HOUR,
        basedOn: null,
        alertBook: emptyAlertBook(),
        outbox: [scoreChanged(score(id, { segment: 'SMB' }))],
        nextDueAt: NOW + DAY,
      },
    ]);
    const pattern = customerKeysPattern(t.store.keys, id);
    expect(await scanAll(t.redis, pattern)).toHaveLength(10);
    expect(await t.redis.zscore(t.store.keys.openAlerts, id)).not.toBeNull();
    expect(await t.redis.zscore(t.store.keys.resolvedAlerts, id)).not.toBeNull();

    expect(await t.store.eraseCustomer(id, NOW - 30 * 60_000)).toEqual({ deleted: 10, superseded: false });
    // Only when the erasure occurred is left: no key of the customer's data.
    const stateKey = t.store.keys.customer(id).state;
    expect(await scanAll(t.redis, pattern)).toEqual([stateKey]);
    expect(await t.redis.hgetall(stateKey)).toEqual({ [STATE_FIELD.erasedTo]: String(NOW - 30 * 60_000) });
    expect(await scanAll(t.redis, `*${'erase:%7Bme%7D\\*'}*`)).toEqual([stateKey]);
    for (const metric of ['churnRisk', 'valueAtRisk', 'health'] as const) {
      expect(await t.redis.zscore(t.store.keys.ranking(metric), id)).toBeNull();
      expect(await t.redis.zscore(t.store.keys.ranking(metric, 'SMB'), id)).toBeNull();
    }
    expect(await t.redis.zscore(t.store.keys.dueShard(t.store.keys.dueShardOf(id)), id)).toBeNull();
    expect(await t.redis.zscore(t.store.keys.openAlerts, id)).toBeNull();
    expect(await t.redis.zscore(t.store.keys.resolvedAlerts, id)).toBeNull();
    // Erased again with an earlier request: nothing of its data left to delete, and the later instant kept.
    expect(await t.store.eraseCustomer(id, NOW - DAY)).toEqual({ deleted: 0, superseded: false });
    expect(await t.redis.hgetall(stateKey)).toEqual({ [STATE_FIELD.erasedTo]: String(NOW - 30 * 60_000) });

    // Its events from before the erasure, however late they come (a redelivery, another topic's backlog, a replay),
    // bring nothing back; a later one starts from nothing.
    const late = await t.store.applyEvents(feed.items(activity(id, 'EMAIL_SENT', NOW - HOUR), profile(id, 'SMB', NOW - 30 * 60_000)), NOW);
    expect(late).toEqual([
      { outcome: 'predatesErasure', revision: 0 },
      { outcome: 'predatesErasure', revision: 0 },
    ]);
    const [gone] = await t.store.readCustomers([id], NOW);
    expect(gone?.state.revision).toBe(0);
    const [after] = await t.store.applyEvents(feed.items(activity(id, 'CALL', NOW)), NOW);
    expect(after).toEqual({ outcome: 'applied', revision: 1 });
    await t.store.commitScores([commitFrom((await t.store.readCustomers([id], NOW))[0]!)]);

    // The same request again (a redelivery, a CRM's retry, a replay), or an earlier one, once the customer came back:
    // every event before it was erased already, and what is held now came after. Nothing is erased, the ranking kept.
    for (const erasedAt of [NOW - 30 * 60_000, NOW - DAY]) {
      expect(await t.store.eraseCustomer(id, erasedAt)).toEqual({ deleted: 0, superseded: true });
    }
    const [cameBack] = await t.store.readCustomers([id], NOW);
    expect(cameBack?.state.revision).toBe(1);
    expect(cameBack?.score).not.toBeNull();
    expect(await t.redis.zscore(t.store.keys.ranking('churnRisk'), id)).not.toBeNull();
    // A later request erases what came after the first.
    expect(await t.store.eraseCustomer(id, NOW)).toMatchObject({ superseded: false });
    expect(await t.redis.hgetall(stateKey)).toEqual({ [STATE_FIELD.erasedTo]: String(NOW) });
    expect(await t.redis.zscore(t.store.keys.ranking('churnRisk'), id)).toBeNull();
    const [snapshot] = await t.store.readCustomers([id], NOW);
    expect(snapshot).toMatchObject({ score: null, alertBook: null, outbox: [], segment: null });
    expect(snapshot?.state.opportunities).toEqual([]);
  });
});

describe('a score computed before an erasure', () => {
  it('is refused once the customer is erased and created again, whatever revision the new state reached', async () => {
    const id = 'erased-while-scored';
    const feed = new Feed();
    await t.store.applyEvents(feed.items(activity(id, 'EMAIL_SENT', NOW - 2 * HOUR), activity(id, 'CALL', NOW - HOUR)), NOW);
    // A computation reads the customer (no score yet) ...
    const [before] = (await t.store.readCustomers([id], NOW)) as [CustomerSnapshot];
    // ... the customer is erased and, before it commits, two events that occurred after the erasure (a customer signing
    // again) create its state again at the same revision.
    await t.store.eraseCustomer(id, NOW - 90 * 60_000);
    await t.store.applyEvents(feed.items(activity(id, 'MEETING', NOW - HOUR), profile(id, 'SMB', NOW - HOUR)), NOW);
    const [after] = (await t.store.readCustomers([id], NOW)) as [CustomerSnapshot];
    expect(after.state.revision).toBe(before.state.revision);
    expect(after.incarnation).not.toBe(before.incarnation);

    const [stale] = await t.store.commitScores([commitFrom(before)]);
    expect(stale).toMatchObject({ written: false, conflict: true });
    expect(await t.redis.exists(t.store.keys.customer(id).score)).toBe(0);
    // Recomputed from a fresh read, as the scorer does on a conflict: written.
    const [fresh] = await t.store.commitScores([commitFrom(after)]);
    expect(fresh).toMatchObject({ written: true, conflict: false });
  });
});

describe('a back-fill computed before an erasure', () => {
  it('is written only for a customer scored in the same life as when its replay began', async () => {
    const id = 'backfilled-across-erasure';
    const feed = new Feed();
    const scoreFrom = async () => {
      const [snapshot] = (await t.store.readCustomers([id], NOW)) as [CustomerSnapshot];
      const [result] = await t.store.commitScores([commitFrom(snapshot)]);
      expect(result).toMatchObject({ written: true });
    };
    const points = [{ t: NOW - 7 * DAY, health: 40, churnRisk: 0.5, band: 'red' as const }];
    const backfillKey = t.store.keys.customer(id).backfill;
    const writerFrom = (replayBegan: string) => createBackfilledHistoryWriter(t.redis, { prefix: t.prefix, replayBegan });

    expect(await writerFrom(await serverMicroseconds(t.redis)).replace(id, points)).toBe('not-scored');
    await t.store.applyEvents(feed.items(activity(id, 'EMAIL_SENT', NOW - 2 * HOUR)), NOW);
    await scoreFrom();
    // The replay begins (its topics still hold the customer's events) ...
    const replayBegan = await serverMicroseconds(t.redis);
    expect(await writerFrom(replayBegan).replace(id, points)).toBe('written');
    // ... the customer is erased, an event after the erasure creates it again and it is scored before the back-fill writes.
    await t.store.eraseCustomer(id, NOW - 90 * 60_000);
    await t.store.applyEvents(feed.items(activity(id, 'CALL', NOW - HOUR)), NOW);
    await scoreFrom();
    expect(await writerFrom(replayBegan).replace(id, points)).toBe('created-since-replay');
    expect(await t.redis.exists(backfillKey)).toBe(0);
    // A replay begun after the new life started back-fills it.
    expect(await writerFrom(await serverMicroseconds(t.redis)).replace(id, points)).toBe('written');
    expect(await t.redis.llen(backfillKey)).toBe(1);
    // A state stored before the incarnation stamp existed has none, and was not created again since.
    await t.redis.hdel(t.store.keys.customer(id).state, STATE_FIELD.incarnation);
    expect(await writerFrom(replayBegan).replace(id, points)).toBe('written');
  });
});

describe('redisIdentity', () => {
  it('is stable while Redis keeps its data, and changes when the epoch key is lost, without writing it again', async () => {
    expect(await namespaceState(t.redis, t.prefix)).not.toBe('claimed');
    await claimNamespace(t.redis, t.prefix);
    const first = await redisIdentity(t.redis, t.prefix);
    expect(first.runId).toMatch(/^[0-9a-f]{40}$/);
    expect(first.epoch).not.toBe('');
    // Claiming again keeps the epoch: every scorer of the namespace shares it.
    await claimNamespace(t.redis, t.prefix);
    expect(await t.store.identity()).toMatchObject({ runId: first.runId, epoch: first.epoch });
    await t.redis.del(t.store.keys.epoch);
    const after = await t.store.identity();
    expect(after).toMatchObject({ runId: first.runId, epoch: '' });
    expect(await namespaceState(t.redis, t.prefix)).not.toBe('claimed');
  });

  it('tells an empty namespace from one holding customers scored without a claim (after its data set was lost)', async () => {
    const prefix = `${t.prefix}-state`;
    const keys = keySchema(prefix);
    try {
      expect(await namespaceState(t.redis, prefix)).toBe('empty');
      await t.redis.zadd(keys.ranking(EVERY_CUSTOMER_RANKING), 50, 'customer-after-the-loss');
      expect(await namespaceState(t.redis, prefix)).toBe('unclaimed');
      await claimNamespace(t.redis, prefix);
      expect(await namespaceState(t.redis, prefix)).toBe('claimed');
    } finally {
      await t.redis.del(keys.ranking(EVERY_CUSTOMER_RANKING), keys.epoch);
    }
  });
});
