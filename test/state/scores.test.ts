import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertBook, Explanation, OutputMessage } from '@churnscore/domain';
import { createReadStore, createStateStore, decodeAlertBook, decodeScoreHistoryEntry, RESOLVED_ALERTS_INDEXED, SCORE_HISTORY_LENGTH, writeFence, type CommitOptions, type ScoreCommit } from '@churnscore/state';
import { DAY, Feed, HOUR, MINUTE, NOW, activity, alert, alertEpisode, insights, openStateTest, score, scoreChanged, type StateTestContext } from './fixtures';

let t: StateTestContext;
beforeAll(async () => {
  t = await openStateTest('scores');
});
afterAll(() => t.close());

/** The incarnation of each customer's state, as its first read gave it: the commits name it. */
const incarnations = new Map<string, string>();

/** Gives a customer state (revision 1), so that scores can be committed for it. */
async function customerWithState(customerId: string) {
  await t.store.applyEvents(new Feed().items(activity(customerId, 'EMAIL_SENT', NOW - HOUR)), NOW);
  const [snapshot] = await t.store.readCustomers([customerId], NOW);
  incarnations.set(customerId, snapshot!.incarnation);
}

/**
 * A commit of `fields.score` (a default score otherwise). `publish` (default): a significant change, its
 * score-changed message first in the outbox, before `fields.outbox`; else an insignificant one.
 */
function commit(customerId: string, fields: Partial<ScoreCommit> = {}, publish = true): ScoreCommit {
  const { outbox = [], ...rest } = fields;
  const committed = {
    score: score(customerId),
    insights: insights(customerId),
    revision: 1,
    incarnation: incarnations.get(customerId) ?? '',
    asOf: NOW,
    alertBook: null,
    nextDueAt: null,
    hasOpenAlerts: false,
    lastResolvedAt: null,
    basedOn: null,
    ...rest,
  };
  return { ...committed, outbox: publish ? [scoreChanged(committed.score), ...outbox] : outbox };
}

const book = (customerId: string, bandBeforeDrop: AlertBook['bandBeforeDrop']): AlertBook => ({ episodes: { CHURN_RISK_HIGH: alertEpisode(customerId, 1) }, bandBeforeDrop });

/** Commits as a lone writer would: based on the score stored right before. */
const commitOne = async (c: ScoreCommit, options?: CommitOptions) => {
  const [snapshot] = await t.store.readCustomers([c.score.customerId], c.asOf);
  const [result] = await t.store.commitScores([{ ...c, basedOn: snapshot?.score ?? null }], options);
  if (!result) throw new Error('no result');
  return result;
};

describe('commitScores writes', () => {
  it('the flat score hash, its explanation and the insights hash, readable with plain commands', async () => {
    const id = 'flat';
    await customerWithState(id);
    const explanation: Explanation = {
      scorecardId: 'steady',
      measures: [{ measureId: 'recency', group: 'Engagement', rawValue: 2, score: 90, weight: 1, contribution: 90 }],
      churnFeatures: [{ feature: 'usageDrop90d', value: 0.2341, coefficient: 3.43283, logitContribution: 0.8036 }],
      topDrivers: [{ id: 'recency', kind: 'measure', previous: null, current: 2, impact: 4.5 }],
    };
    const result = await commitOne(
      commit(id, {
        score: score(id, { health: 81, band: 'green', churnRisk: 0.1234, riskBand: 'low', segment: 'SMB', explanation }),
        insights: insights(id, {
          segment: 'SMB',
          activity: { ...insights(id).activity, EMAIL_SENT: { d7: 1, d30: 2, d90: 2, d365: 2 } },
          lastActivityAt: NOW - HOUR,
          winRate365: 0,
        }),
        alertBook: book(id, 'green'),
        nextDueAt: NOW + DAY,
      }),
    );
    expect(result).toMatchObject({ written: true, version: 1, previousScore: null });
    expect(result.outbox.map(({ seq, version }) => ({ seq, version }))).toEqual([{ seq: 1, version: 1 }]);

    const k = t.store.keys.customer(id);
    expect(await t.redis.hgetall(k.score)).toEqual({
      health: '81',
      band: 'green',
      churnRisk: '0.1234',
      riskBand: 'low',
      lifecycleStage: 'MATURE',
      valueAtRisk: '3600',
      segment: 'SMB',
      modelVersion: 'test-1',
      computedAt: String(NOW),
      version: '1',
      revision: '1',
      asOf: String(NOW),
      nextDueAt: String(NOW + DAY),
    });
    // JSON with each measure and driver a tuple in the documented order (docs/redis-contract.md), each feature its value,
    // the ids, groups, weights, feature names and coefficients in the legend it names, which is in the namespace's
    // legends hash; the contributions are the products of the stated numbers, derived again when read.
    const storedExplanation = JSON.parse((await t.redis.get(k.explanation)) ?? '') as { l: string };
    expect(storedExplanation).toEqual({
      l: expect.stringMatching(/^[0-9a-f]{12}$/),
      s: 'steady',
      m: [[2, 90]],
      f: [0.2341],
      d: [['recency', 'measure', null, 2, 4.5]],
    });
    expect(JSON.parse((await t.redis.hget(t.store.keys.legends, storedExplanation.l)) ?? '')).toEqual({
      m: [['recency', 'Engagement', 1]],
      f: [['usageDrop90d', 3.43283]],
    });
    const stored = await t.redis.hgetall(k.insights);
    expect(stored).toMatchObject({
      asOf: String(NOW),
      segment: 'SMB',
      // An activity type's counts in one field, the 7-, 30-, 90- and 365-day windows in that order.
      'activity.EMAIL_SENT': '1,2,2,2',
      lastActivityAt: String(NOW - HOUR),
      // A rate of 0 is a value; a count or an amount of 0 is left out, as are null aggregates.
      winRate365: '0',
    });
    expect(stored).not.toHaveProperty('activity.CALL');
    expect(stored).not.toHaveProperty('openPipelineAmount');
    expect(stored).not.toHaveProperty('latestNps');
    expect(await t.redis.object('ENCODING', k.score)).toBe('listpack');
    expect(await t.redis.object('ENCODING', k.insights)).toBe('listpack');
    // The alert book as JSON, each episode its values without the customerId, alertType and alertId that its key and
    // member name give.
    const storedBook = JSON.parse((await t.redis.get(k.alerts)) ?? '') as { episodes: Record<string, unknown[]> };
    expect(Object.keys(storedBook.episodes)).toEqual(['CHURN_RISK_HIGH']);
    const { alertId: _derived, customerId: _key, alertType: _member, ...episode } = book(id, 'green').episodes.CHURN_RISK_HIGH!;
    expect(storedBook.episodes.CHURN_RISK_HIGH).toEqual(Object.values(episode));

    const [snapshot] = await t.store.readCustomers([id], NOW);
    expect(snapshot?.score).toEqual({ ...score(id, { health: 81, band: 'green', churnRisk: 0.1234, riskBand: 'low', segment: 'SMB', explanation }), version: 1, revision: 1, asOf: NOW, nextDueAt: NOW + DAY, generation: '', catchingUp: false });
    expect(snapshot?.alertBook).toEqual(book(id, 'green'));

    const readModel = await createReadStore(t.redis, { prefix: t.prefix }).customer(id);
    expect(readModel?.score).toEqual(snapshot?.score);
    expect(readModel?.insights).toMatchObject({ segment: 'SMB', winRate365: 0, latestNps: null, activity: { CALL: { d7: 0 } } });
    expect(readModel?.alertBook).toEqual(book(id, 'green'));
  });
});

describe("a commit's due time, for a customer re-scored for time", () => {
  const dueOf = async (customerId: string) => Number(await t.redis.zscore(t.store.keys.dueShard(t.store.keys.dueShardOf(customerId)), customerId));
  const LEASE_END = NOW + 300_000;
  /** The customer as a claim leaves it: due at the claim's lease end, re-scored by the caller. */
  const claimed = async (customerId: string) => {
    await t.store.scheduleDue(customerId, LEASE_END);
    return new Map([[customerId, LEASE_END]]);
  };

  it("stays at the claim's lease while the commit leaves outputs to publish, and follows a commit that leaves none", async () => {
    const id = 'due-after-delivery';
    await customerWithState(id);
    const timed = commit(id, { asOf: NOW + 1, nextDueAt: NOW + DAY });
    await commitOne(timed, { leases: await claimed(id) });
    // Published and acknowledged, the outputs let the pipeline move it (followDeliveries); until then a crash or an
    // outage leaves the lease to bring the customer back.
    expect(await dueOf(id)).toBe(LEASE_END);
    await t.store.followDeliveries([timed]);
    expect(await dueOf(id)).toBe(NOW + DAY);
    // No output to publish (an insignificant change): the due time follows the commit at once.
    const quiet = await commitOne(commit(id, { asOf: NOW + 2, nextDueAt: NOW + 2 * DAY }, false), { leases: await claimed(id) });
    expect(quiet.outbox.length).toBeGreaterThan(0); // the first commit's outputs, still unacknowledged
    await t.store.ackOutbox(id, Math.max(...quiet.outbox.map((entry) => entry.seq)));
    const after = await commitOne(commit(id, { asOf: NOW + 3, nextDueAt: NOW + 3 * DAY }, false), { leases: await claimed(id) });
    expect(after.outbox).toEqual([]);
    expect(await dueOf(id)).toBe(NOW + 3 * DAY);
  });

  it('stays at the lease when refused for a stored score whose outputs are unpublished, and moves once they are', async () => {
    const id = 'due-refused';
    await customerWithState(id);
    const { outbox } = await commitOne(commit(id, { asOf: NOW + 1, nextDueAt: NOW + DAY }));
    // Claimed at the same instant, the customer is scored again to the same score: refused, the stored one as new.
    const leases = await claimed(id);
    const [snapshot] = await t.store.readCustomers([id], NOW + 1);
    const [refused] = await t.store.commitScores([{ ...commit(id, { asOf: NOW + 1, nextDueAt: NOW + DAY }), basedOn: snapshot!.score }], { leases });
    expect(refused).toMatchObject({ written: false, conflict: false });
    // The lease is what brings the unpublished outputs back, should their writer not publish them.
    await t.store.followStoredScores(leases, NOW + 1);
    expect(await dueOf(id)).toBe(LEASE_END);
    await t.store.ackOutbox(id, Math.max(...outbox.map((entry) => entry.seq)));
    await t.store.followStoredScores(leases, NOW + 1);
    expect(await dueOf(id)).toBe(NOW + DAY);
  });

  it('leaves the due shard from its lease when nothing can change the score any more', async () => {
    const id = 'due-none-after-lease';
    await customerWithState(id);
    const timed = commit(id, { asOf: NOW + 1, nextDueAt: null });
    await commitOne(timed, { leases: await claimed(id) });
    await t.store.followDeliveries([timed]);
    expect(await t.redis.zscore(t.store.keys.dueShard(t.store.keys.dueShardOf(id)), id)).toBeNull();
  });

  it('keeps the due time of a score committed while the outputs of an earlier one were being published', async () => {
    const id = 'due-overtaken';
    await customerWithState(id);
    const timed = commit(id, { asOf: NOW + 1, nextDueAt: NOW + DAY });
    await commitOne(timed, { leases: await claimed(id) });
    // Meanwhile the consumer scores the customer again: its alerts held for a minute, it is due then.
    const held = commit(id, { asOf: NOW + 2, nextDueAt: NOW + 2 + 60_000 });
    await commitOne(held);
    expect(await dueOf(id)).toBe(NOW + 2 + 60_000);
    // The re-scoring's outputs are published: its due time is no longer the stored score's.
    await t.store.followDeliveries([timed]);
    expect(await dueOf(id)).toBe(NOW + 2 + 60_000);
  });

  it('keeps the due time another instance set from a newer score, or the lease of a claimer that came after the lease ended', async () => {
    const other = createStateStore(t.redis, { prefix: t.prefix });
    const scoredElsewhere = 'due-set-by-another-instance';
    await customerWithState(scoredElsewhere);
    const timed = commit(scoredElsewhere, { asOf: NOW + 1, nextDueAt: NOW + DAY });
    await commitOne(timed, { leases: await claimed(scoredElsewhere) });
    // Another instance, the consumer of the customer's partition, scores it meanwhile: this one knows nothing of it.
    const [snapshot] = await other.readCustomers([scoredElsewhere], NOW + 2);
    await other.commitScores([{ ...commit(scoredElsewhere, { asOf: NOW + 2, nextDueAt: NOW + 2 + 60_000 }), basedOn: snapshot!.score }]);
    await t.store.followDeliveries([timed]);
    expect(await dueOf(scoredElsewhere)).toBe(NOW + 2 + 60_000);

    const claimedAgain = 'due-claimed-again';
    await customerWithState(claimedAgain);
    const slow = commit(claimedAgain, { asOf: NOW + 1, nextDueAt: NOW + DAY });
    await commitOne(slow, { leases: await claimed(claimedAgain) });
    // The lease ended before the outputs were published, and another instance claimed the customer (as its lease left it).
    await other.scheduleDue(claimedAgain, LEASE_END + 300_000);
    await t.store.followDeliveries([slow]);
    expect(await dueOf(claimedAgain)).toBe(LEASE_END + 300_000);
  });
});

describe('commitScores writes only what changed', () => {
  /**
   * Whether `change` left `keys` unwritten: Redis aborts a transaction watching a key that was written since,
   * the way it appends every write, an unchanged value included, to its AOF and replicas.
   */
  async function leavesUnwritten(keys: string[], change: () => Promise<unknown>): Promise<boolean> {
    const watcher = t.redis.duplicate();
    try {
      await watcher.watch(...keys);
      await change();
      return (await watcher.multi().exec()) !== null;
    } finally {
      watcher.disconnect();
    }
  }

  it('leaves unchanged insights, alert book and explanation unwritten, and writes a changed field and no other', async () => {
    const id = 'unchanged';
    await customerWithState(id);
    const k = t.store.keys.customer(id);
    const first = { insights: insights(id, { openTickets: 2, winRate365: 0.5, lastActivityAt: NOW - HOUR }), alertBook: book(id, 'green'), nextDueAt: NOW + DAY };
    await commitOne(commit(id, first));

    const same = () => commitOne(commit(id, { ...first, asOf: NOW + 1 }, false));
    expect(await leavesUnwritten([k.insights, k.alerts, k.explanation], same)).toBe(true);
    expect(await t.redis.hget(k.score, 'asOf')).toBe(String(NOW + 1));

    // One aggregate changed, one became null: only the insights hash is written, to what a first commit would hold.
    const next = insights(id, { openTickets: 3, winRate365: null, lastActivityAt: NOW - HOUR });
    expect(await leavesUnwritten([k.insights], () => commitOne(commit(id, { ...first, insights: next, asOf: NOW + 2 }, false)))).toBe(false);
    const reference = 'unchanged-reference';
    await customerWithState(reference);
    await commitOne(commit(reference, { insights: insights(reference, { openTickets: 3, lastActivityAt: NOW - HOUR }) }));
    expect(await t.redis.hgetall(k.insights)).toEqual(await t.redis.hgetall(t.store.keys.customer(reference).insights));

    expect(await leavesUnwritten([k.alerts], () => commitOne(commit(id, { ...first, insights: next, alertBook: book(id, 'yellow'), asOf: NOW + 3 }, false)))).toBe(false);
    expect((await createReadStore(t.redis, { prefix: t.prefix }).customer(id))?.alertBook).toEqual(book(id, 'yellow'));
  });
});

describe('concurrent computations of one customer', () => {
  it('let only the first commit land: the other is refused as a conflict and must be recomputed', async () => {
    const id = 'contended';
    await customerWithState(id);
    await commitOne(commit(id, { asOf: NOW }));
    const [read] = await t.store.readCustomers([id], NOW);
    const basedOn = read!.score;
    const [first] = await t.store.commitScores([commit(id, { asOf: NOW + 1, alertBook: book(id, 'green'), basedOn })]);
    const [second] = await t.store.commitScores([commit(id, { asOf: NOW + 2, alertBook: book(id, 'yellow'), basedOn })]);
    expect(first).toMatchObject({ written: true, conflict: false });
    expect(second).toMatchObject({ written: false, conflict: true });
    expect(decodeAlertBook(id, await t.redis.get(t.store.keys.customer(id).alerts))).toEqual(book(id, 'green'));
  });
});

describe('a commit computed from a read that events followed', () => {
  it('is written, and says so: what the events wait for is for the unit that applied them to say', async () => {
    const id = 'overtaken';
    await customerWithState(id);
    const current = await commitOne(commit(id, { revision: 1, asOf: NOW }));
    expect(current).toMatchObject({ written: true, eventsAppliedSince: false });
    // The record after the one customerWithState applied (offset 0 of the same partition): revision 2.
    const [next] = new Feed().items(activity(id, 'CALL', NOW - 2 * HOUR));
    expect(await t.store.applyEvents([{ ...next!, offset: '1' }], NOW)).toMatchObject([{ outcome: 'applied', revision: 2 }]);
    expect(await commitOne(commit(id, { revision: 1, asOf: NOW + 1 }, false))).toMatchObject({ written: true, eventsAppliedSince: true });
    expect(await commitOne(commit(id, { revision: 2, asOf: NOW + 2 }, false))).toMatchObject({ written: true, eventsAppliedSince: false });
  });
});

describe('the version guard', () => {
  it('refuses a score from an older revision, or from the same revision as of an earlier or the same time', async () => {
    const id = 'guarded';
    await customerWithState(id);
    const [next] = new Feed().items(activity(id, 'CALL', NOW - 2 * HOUR));
    expect(await t.store.applyEvents([{ ...next!, offset: '1' }], NOW)).toMatchObject([{ outcome: 'applied', revision: 2 }]);
    const current = commit(id, { revision: 2, asOf: NOW, score: score(id, { health: 70 }) });
    expect((await commitOne(current)).written).toBe(true);

    const stale = await commitOne(commit(id, { revision: 1, asOf: NOW + HOUR, score: score(id, { health: 10 }) }));
    expect(stale).toMatchObject({ written: false, version: 1, outbox: [] });
    expect(stale.previousScore).toMatchObject({ health: 70, revision: 2 });
    expect((await commitOne(commit(id, { revision: 2, asOf: NOW - 1 }))).written).toBe(false);
    expect((await commitOne(current)).written).toBe(false); // a retried call changes nothing
    expect(await t.redis.hget(t.store.keys.customer(id).score, 'health')).toBe('70');

    expect((await commitOne(commit(id, { revision: 2, asOf: NOW + 1, score: score(id, { health: 71 }) }))).written).toBe(true);
    // a greater revision wins even when computed as of an earlier time
    expect((await commitOne(commit(id, { revision: 3, asOf: NOW - DAY, score: score(id, { health: 72 }) }))).written).toBe(true);
  });

  it('refuses a score for a customer without state (never seen, or erased meanwhile)', async () => {
    expect(await commitOne(commit('no-such-customer'))).toMatchObject({ written: false, version: 0, previousScore: null });
    expect(await t.redis.exists(t.store.keys.customer('no-such-customer').score)).toBe(0);
  });

  it('increments the version only for a significant change', async () => {
    const id = 'versions';
    await customerWithState(id);
    const versions = [];
    for (const [asOf, significant] of [
      [NOW, true],
      [NOW + 1, false],
      [NOW + 2, false],
      [NOW + 3, true],
    ] as const) {
      versions.push((await commitOne(commit(id, { asOf, score: score(id, { computedAt: asOf }) }, significant))).version);
    }
    expect(versions).toEqual([1, 1, 1, 2]);
    expect(await t.redis.hget(t.store.keys.customer(id).score, 'computedAt')).toBe(String(NOW + 3));
  });

  it('keeps the last published score, and its ranking, through insignificant changes', async () => {
    const id = 'published';
    await customerWithState(id);
    const keys = t.store.keys.customer(id);
    await commitOne(commit(id, { asOf: NOW, score: score(id, { health: 60, churnRisk: 0.2, computedAt: NOW }) }));
    const drifted = await commitOne(
      commit(
        id,
        {
          asOf: NOW + HOUR,
          score: score(id, { health: 60, churnRisk: 0.205, computedAt: NOW + HOUR }),
          insights: insights(id, { openTickets: 3 }),
          nextDueAt: NOW + DAY,
        },
        false,
      ),
    );
    expect(drifted).toMatchObject({ written: true, version: 1 });
    const stored = await t.redis.hgetall(keys.score);
    expect({ churnRisk: stored.churnRisk, computedAt: stored.computedAt, asOf: stored.asOf, nextDueAt: stored.nextDueAt }).toEqual({
      churnRisk: '0.2',
      computedAt: String(NOW),
      asOf: String(NOW + HOUR),
      nextDueAt: String(NOW + DAY),
    });
    expect(Number(await t.redis.zscore(t.store.keys.ranking('churnRisk'), id))).toBe(0.2);
    expect(await t.redis.hget(keys.insights, 'openTickets')).toBe('3');
    // Only the published score is charted.
    expect((await t.redis.lrange(keys.history, 0, -1)).map(decodeScoreHistoryEntry)).toEqual([
      { t: NOW, health: 60, churnRisk: 0.2, band: expect.any(String) },
    ]);
  });

  it('keeps a capped history of published scores, newest first, each to the minute', async () => {
    const id = 'history';
    await customerWithState(id);
    for (let i = 0; i < SCORE_HISTORY_LENGTH + 5; i++) {
      await commitOne(commit(id, { asOf: NOW + i * MINUTE, score: score(id, { health: i, computedAt: NOW + i * MINUTE + 59_999 }) }));
    }
    const history = (await t.redis.lrange(t.store.keys.customer(id).history, 0, -1)).map(decodeScoreHistoryEntry);
    expect(history).toHaveLength(SCORE_HISTORY_LENGTH);
    expect(history[0]).toMatchObject({ t: NOW + (SCORE_HISTORY_LENGTH + 4) * MINUTE, health: SCORE_HISTORY_LENGTH + 4 });
  });

  it("charts a score published while catching up only until the next is published: each takes the point of the one before", async () => {
    const id = 'history-catching-up';
    await customerWithState(id);
    const publish = (i: number, health: number, catchingUp: boolean) => {
      const published = score(id, { health, computedAt: NOW + i });
      return commitOne({ ...commit(id, { asOf: NOW + i, score: published }, false), outbox: [{ ...scoreChanged(published), catchingUp }] });
    };
    await publish(0, 70, false);
    // A backlog's partial states: health 27, 22 and 35 while the customer's history was still arriving.
    await publish(1, 27, true);
    await publish(2, 22, true);
    await publish(3, 35, true);
    const points = async () => (await t.redis.lrange(t.store.keys.customer(id).history, 0, -1)).map((entry) => decodeScoreHistoryEntry(entry)?.health);
    // The current score is always charted, newest first.
    expect(await points()).toEqual([35, 70]);
    expect(await t.redis.hget(t.store.keys.customer(id).score, 'catchingUp')).toBe('1');
    // Caught up: its score takes the last partial state's point, and is charted for good.
    await publish(4, 66, false);
    expect(await points()).toEqual([66, 70]);
    expect(await t.redis.hget(t.store.keys.customer(id).score, 'catchingUp')).toBeNull();
    await publish(5, 60, false);
    expect(await points()).toEqual([60, 66, 70]);
  });

  it('indexes customers with an open alert by value at risk', async () => {
    const id = 'alerting';
    await customerWithState(id);
    await commitOne(commit(id, { asOf: NOW, hasOpenAlerts: true, score: score(id, { valueAtRisk: 1234 }) }));
    expect(Number(await t.redis.zscore(t.store.keys.openAlerts, id))).toBe(1234);
    await commitOne(commit(id, { asOf: NOW + 1, hasOpenAlerts: false }, false));
    expect(await t.redis.zscore(t.store.keys.openAlerts, id)).toBeNull();
  });

  it('indexes the customers whose alerts resolved most recently, by when, and keeps the RESOLVED_ALERTS_INDEXED latest', async () => {
    const id = 'resolving';
    const index = t.store.keys.resolvedAlerts;
    await customerWithState(id);
    // Customers of other alerts, resolved earlier: the index is full.
    const older = Array.from({ length: RESOLVED_ALERTS_INDEXED }, (_, i) => [NOW - DAY + i, `resolved-earlier-${i}`] as const);
    await t.redis.zadd(index, ...older.flat());
    await commitOne(commit(id, { asOf: NOW, lastResolvedAt: NOW - HOUR }));
    expect(Number(await t.redis.zscore(index, id))).toBe(NOW - HOUR);
    // The oldest entry made room for it.
    expect(await t.redis.zcard(index)).toBe(RESOLVED_ALERTS_INDEXED);
    expect(await t.redis.zscore(index, 'resolved-earlier-0')).toBeNull();
    expect(await t.redis.zscore(index, 'resolved-earlier-1')).not.toBeNull();
    // Its book holds no resolved episode any more (the alert opened again): it leaves the index.
    await commitOne(commit(id, { asOf: NOW + 1, lastResolvedAt: null }, false));
    expect(await t.redis.zscore(index, id)).toBeNull();
    await t.redis.del(index);
  });
});

describe('the outbox', () => {
  const message = (n: number) => alert('outboxed', n);

  it('appends messages with their seq and the version they are published with, and returns un-acked ones until acked', async () => {
    const id = 'outboxed';
    await customerWithState(id);
    const published = commit(id, { outbox: [message(1), message(2)] });
    const first = await commitOne(published);
    // A score-changed event takes the new score version; an alert event its seq.
    expect(first.outbox).toEqual([
      { seq: 1, version: 1, value: scoreChanged(published.score) },
      { seq: 2, version: 2, value: message(1) },
      { seq: 3, version: 3, value: message(2) },
    ]);
    // The list holds what the commit returned, one JSON entry each, the score-changed one without the
    // explanation stored beside it (docs/redis-contract.md).
    const stored = (await t.redis.lrange(t.store.keys.customer(id).outbox, 0, -1)).map((json) => JSON.parse(json) as unknown);
    expect(stored).toEqual([{ ...first.outbox[0], value: { ...scoreChanged(published.score), explanation: null } }, ...first.outbox.slice(1)]);

    // The publisher crashed before acknowledging: the next reader finds them all and republishes them.
    expect((await t.store.readCustomers([id], NOW))[0]?.outbox).toEqual(first.outbox);
    expect(await t.store.ackOutbox(id, 1)).toBe(1);
    expect((await t.store.readCustomers([id], NOW))[0]?.outbox.map((e) => e.seq)).toEqual([2, 3]);

    const second = await commitOne(commit(id, { asOf: NOW + 1, outbox: [message(3)] }, false));
    expect(second.outbox).toEqual([...first.outbox.slice(1), { seq: 4, version: 4, value: message(3) }]);
    expect(await t.store.ackOutbox(id, 1)).toBe(0); // an old ack is harmless
    expect(await t.store.ackOutbox(id, 4)).toBe(3);
    expect((await t.store.readCustomers([id], NOW))[0]?.outbox).toEqual([]);
    expect(await t.redis.exists(t.store.keys.customer(id).outbox)).toBe(0);

    const third = await commitOne(commit(id, { asOf: NOW + 2, outbox: [message(4)] }));
    expect(third.outbox.map(({ seq, version }) => ({ seq, version }))).toEqual([
      { seq: 5, version: 2 },
      { seq: 6, version: 6 },
    ]);
  });

  it('gives a score-changed entry still unpublished its own explanation after a later score replaced the stored one', async () => {
    const id = 'outbox-explained';
    await customerWithState(id);
    // Each with a legend of its own (another coefficient: another model), as across a model rollout.
    const explained = (scorecardId: string, coefficient = 1) =>
      score(id, { explanation: { ...score(id).explanation, scorecardId, churnFeatures: [{ feature: 'usageDrop90d', value: 0.5, coefficient, logitContribution: coefficient / 2 }] } });
    await commitOne(commit(id, { score: explained('first', 2) }));
    const second = await commitOne(commit(id, { asOf: NOW + 1, score: explained('second') }));
    const explanations = (entries: ReadonlyArray<{ value: OutputMessage }>) =>
      entries.map(({ value }) => (value.kind === 'score-changed' ? value.explanation.scorecardId : null));
    expect(explanations(second.outbox)).toEqual(['first', 'second']);
    expect((await t.store.readCustomers([id], NOW + 1))[0]?.outbox).toEqual(second.outbox);
    // A scorer started since with the second model knows its legend alone: it reads the one of each waiting entry's
    // explanation too, not only the score's.
    const restarted = createStateStore(t.redis, { prefix: t.prefix });
    await customerWithState(`${id}-other`);
    await restarted.commitScores([commit(`${id}-other`, { score: { ...explained('second'), customerId: `${id}-other` } })]);
    expect((await restarted.readCustomers([id], NOW + 1))[0]?.outbox).toEqual(second.outbox);
    const third = await commitOne(commit(id, { asOf: NOW + 2, score: explained('third') }));
    expect(explanations(third.outbox)).toEqual(['first', 'second', 'third']);
  });

  it('refuses a commit with a score-changed message after its alerts, or two of them, writing nothing', async () => {
    const id = 'outbox-malformed';
    await customerWithState(id);
    const published = commit(id);
    await expect(commitOne({ ...published, outbox: [message(1), ...published.outbox] })).rejects.toThrow(RangeError);
    await expect(commitOne({ ...published, outbox: [...published.outbox, ...published.outbox] })).rejects.toThrow(RangeError);
    expect(await t.redis.exists(t.store.keys.customer(id).score)).toBe(0);
  });

  it('starts versions and sequence numbers at the floor of each new generation of Redis, and acks across the jump', async () => {
    const id = 'generations';
    await customerWithState(id);
    const identity = await t.store.identity();
    const first = { fence: writeFence(identity, NOW) };
    const a = await commitOne(commit(id), first);
    expect(a).toMatchObject({ written: true, version: first.fence.versionFloor + 1 });
    expect(a.outbox.map((e) => [e.seq, e.version])).toEqual([[first.fence.versionFloor + 1, first.fence.versionFloor + 1]]);
    const b = await commitOne(commit(id, { asOf: NOW + 1 }), first);
    expect(b.version).toBe(first.fence.versionFloor + 2);
    expect(b.outbox.map((e) => e.seq)).toEqual([first.fence.versionFloor + 1, first.fence.versionFloor + 2]);
    expect((await t.store.readCustomers([id], NOW))[0]?.score?.generation).toBe(first.fence.generation);
    // The generation it records keeps the score hash compact (docs/redis-contract.md, Memory).
    expect(await t.redis.object('ENCODING', t.store.keys.customer(id).score)).toBe('listpack');

    // Redis came back as another incarnation (here: the same data under a new epoch, a day later).
    const second = { fence: writeFence({ ...identity, epoch: 'replaced', serverTimeMs: identity.serverTimeMs + DAY }, NOW) };
    const c = await commitOne(commit(id, { asOf: NOW + 2, outbox: [message(3)] }), second);
    expect(c.version).toBe(second.fence.versionFloor + 1);
    expect(c.outbox.map((e) => [e.seq, e.version])).toEqual([
      [first.fence.versionFloor + 1, first.fence.versionFloor + 1],
      [first.fence.versionFloor + 2, first.fence.versionFloor + 2],
      [second.fence.versionFloor + 1, second.fence.versionFloor + 1],
      [second.fence.versionFloor + 2, second.fence.versionFloor + 2],
    ]);
    expect(await t.store.ackOutbox(id, first.fence.versionFloor + 2)).toBe(2);
    expect(await t.store.ackOutbox(id, second.fence.versionFloor + 2)).toBe(2);
    expect((await t.store.readCustomers([id], NOW))[0]?.outbox).toEqual([]);
  });

  it('writes nothing on a Redis server other than the one the commit is fenced to', async () => {
    const id = 'fenced-commit';
    await customerWithState(id);
    const elsewhere = { fence: writeFence({ ...(await t.store.identity()), runId: 'another-server' }, NOW) };
    const before = await t.redis.hgetall(t.store.keys.customer(id).score);
    const result = await commitOne(commit(id, { outbox: [message(1)] }), elsewhere);
    expect(result).toMatchObject({ written: false, fenced: true, conflict: false });
    expect(await t.redis.hgetall(t.store.keys.customer(id).score)).toEqual(before);
    expect(await t.redis.exists(t.store.keys.customer(id).outbox)).toBe(0);
  });

  it('is not appended to by a refused commit', async () => {
    const id = 'outbox-refused';
    await customerWithState(id);
    await commitOne(commit(id, { asOf: NOW + 1 }, false));
    expect((await commitOne(commit(id, { asOf: NOW, outbox: [message(1)] }))).outbox).toEqual([]);
    expect(await t.redis.llen(t.store.keys.customer(id).outbox)).toBe(0);
  });
});

describe('rankings and due time', () => {
  const RANKED = ['rank-a', 'rank-b', 'rank-c'];
  /** [member, score] of the test's customers in one ranking, lowest first (Redis prints 17 digits). */
  async function ranking(metric: 'churnRisk' | 'valueAtRisk' | 'health', segment?: string) {
    const flat = await t.redis.zrange(t.store.keys.ranking(metric, segment), 0, -1, 'WITHSCORES');
    const pairs: Array<[string, number]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i] as string, Number(flat[i + 1])]);
    return pairs.filter(([member]) => RANKED.includes(member));
  }

  it('rank customers overall and per segment, following a segment change', async () => {
    for (const id of RANKED) await customerWithState(id);
    await t.store.commitScores([
      commit('rank-a', { score: score('rank-a', { churnRisk: 0.9, valueAtRisk: 9000, health: 20, segment: 'SMB' }) }),
      commit('rank-b', { score: score('rank-b', { churnRisk: 0.2, valueAtRisk: 100, health: 90, segment: 'ENTERPRISE' }) }),
      commit('rank-c', { score: score('rank-c', { churnRisk: 0.5, valueAtRisk: 500, health: 60, segment: null }) }),
    ]);
    expect(await ranking('churnRisk')).toEqual([['rank-b', 0.2], ['rank-c', 0.5], ['rank-a', 0.9]]);
    expect(await ranking('valueAtRisk', 'SMB')).toEqual([['rank-a', 9000]]);
    expect(await ranking('health', 'ENTERPRISE')).toEqual([['rank-b', 90]]);

    await commitOne(commit('rank-a', { asOf: NOW + 1, score: score('rank-a', { churnRisk: 0.8, valueAtRisk: 8000, health: 30, segment: 'ENTERPRISE' }) }));
    expect(await ranking('churnRisk', 'SMB')).toEqual([]);
    expect(await ranking('churnRisk', 'ENTERPRISE')).toEqual([['rank-b', 0.2], ['rank-a', 0.8]]);
    expect(await ranking('health')).toEqual([['rank-a', 30], ['rank-c', 60], ['rank-b', 90]]);

    // a refused (stale) commit leaves the stored truth in the rankings
    await commitOne(commit('rank-a', { asOf: NOW, score: score('rank-a', { churnRisk: 0.1, segment: 'SMB' }) }));
    expect(await ranking('churnRisk', 'ENTERPRISE')).toEqual([['rank-b', 0.2], ['rank-a', 0.8]]);
  });

  it('are restored from the stored score when a retried commit is refused', async () => {
    const id = 'lost-follow-up';
    await customerWithState(id);
    const original = commit(id, { score: score(id, { churnRisk: 0.6, segment: 'SMB' }), nextDueAt: NOW + HOUR });
    await commitOne(original);
    // The reply and the follow-up were lost (connection dropped): the caller retries the same commit.
    const shardKey = t.store.keys.dueShard(t.store.keys.dueShardOf(id));
    await Promise.all([t.redis.zrem(t.store.keys.ranking('churnRisk', 'SMB'), id), t.redis.zrem(shardKey, id)]);
    expect((await commitOne(original)).written).toBe(false);
    expect(Number(await t.redis.zscore(t.store.keys.ranking('churnRisk', 'SMB'), id))).toBe(0.6);
    expect(await t.redis.zscore(shardKey, id)).toBe(String(NOW + HOUR));
  });

  it('are not sent again while unchanged; a lost entry is restored by the first commit of another process, and a lease by the commit after its claim', async () => {
    const id = 'followed';
    await customerWithState(id);
    const churnRanking = t.store.keys.ranking('churnRisk', 'SMB');
    const shardKey = t.store.keys.dueShard(t.store.keys.dueShardOf(id));
    const first = commit(id, { score: score(id, { churnRisk: 0.6, segment: 'SMB' }), nextDueAt: NOW + DAY });
    await commitOne(first);
    // An entry lost without this process knowing (another writer): its next commits with unchanged values do not send it.
    await Promise.all([t.redis.zrem(churnRanking, id), t.redis.zrem(shardKey, id)]);
    await commitOne(commit(id, { ...first, asOf: NOW + 1, outbox: [] }, false));
    expect(await t.redis.zscore(churnRanking, id)).toBeNull();
    expect(await t.redis.zscore(shardKey, id)).toBeNull();
    // A changed due time is sent.
    await commitOne(commit(id, { ...first, asOf: NOW + 2, nextDueAt: NOW + 2 * DAY, outbox: [] }, false));
    expect(await t.redis.zscore(shardKey, id)).toBe(String(NOW + 2 * DAY));

    // Another process (a restart, another instance) sends everything on its first commit of the customer.
    const restarted = createStateStore(t.redis, { prefix: t.prefix });
    const [snapshot] = await restarted.readCustomers([id], NOW + 3);
    await restarted.commitScores([{ ...commit(id, { ...first, asOf: NOW + 3, nextDueAt: NOW + 2 * DAY }, false), basedOn: snapshot!.score }]);
    expect(Number(await t.redis.zscore(churnRanking, id))).toBe(0.6);

    // A claim leases the due entry; the commit after it puts the due time back even though it did not change.
    const [claim] = await t.store.claimDue(NOW + 2 * DAY, { leaseMs: HOUR, limit: 10_000 }).then((claims) => claims.filter((c) => c.customerId === id));
    expect(claim).toBeDefined();
    await commitOne(commit(id, { ...first, asOf: NOW + 4, nextDueAt: NOW + 2 * DAY, outbox: [] }, false));
    expect(await t.redis.zscore(shardKey, id)).toBe(String(NOW + 2 * DAY));
  });

  it('sets, moves and clears the customer in its due shard', async () => {
    const id = 'due-by-commit';
    await customerWithState(id);
    const shardKey = t.store.keys.dueShard(t.store.keys.dueShardOf(id));
    await commitOne(commit(id, { nextDueAt: NOW + DAY }));
    expect(await t.redis.zscore(shardKey, id)).toBe(String(NOW + DAY));
    await commitOne(commit(id, { asOf: NOW + 1, nextDueAt: null }));
    expect(await t.redis.zscore(shardKey, id)).toBeNull();
  });
});
