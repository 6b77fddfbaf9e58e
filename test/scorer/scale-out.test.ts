// Scale-out end to end: two scorer instances in one consumer group and the read API, on a three-master
// Redis Cluster, score a simulated portfolio to exactly what one scorer on a single Redis scores from the
// same events: the same state, scores, explanations, insights, alert books, rankings, open-alert index and
// due set, and the same API answers. Only what names a Redis incarnation differs, by design: the
// generation and the output versions taken from its floor (docs/events.md "Versions after a crash").
import { MS_PER_DAY, type InputEvent } from '@churnscore/domain';
import { RANKING_METRICS, type CustomerSnapshot } from '@churnscore/state';
import { generateCustomerHistories } from '@churnscore/simulator';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApi } from '../../services/api/src/index';
import type { RunningScorer } from '../../services/scorer/src/scorer';
import { API_TEST_NOW, ApiTestBed, eventually } from '../api/support';
import { hasRedisServer, startRedisCluster, type LocalRedisCluster } from '../state/local-redis';

const MASTERS = 3;
const SCORER_INSTANCES = 2;
const PARTITIONS = 4;
const portfolio = generateCustomerHistories({ customers: 40, days: 365, seed: 'scale-out', now: API_TEST_NOW });
const customerIds = portfolio.map((customer) => customer.customerId);

/**
 * Most events published in one round. Each partition's share of a round must fit in one chunk of the
 * scorer (SCORER_CHUNK_SIZE, 5,000 by default) and in one record batch the broker accepts (1 MB).
 */
const EVENTS_PER_ROUND = 2_500;
/** Profiles first, then contracts and deals, then the activity in the order it happened. */
const ROUND_KINDS: ReadonlyArray<InputEvent['kind']> = ['customer', 'contract', 'opportunity', 'activity'];

/**
 * The portfolio in delivery rounds. A stored score depends on the path that led to it, not only on the
 * final state: a score is stored only when it moved significantly from the last published one, and alert
 * episodes open and resolve against the book. So "the same results" means the same evaluations of each
 * customer, and rounds give both deployments exactly those: a round holds events of one topic only,
 * produced in one request, so a customer's events of a round are one record batch of one partition,
 * consumed as one chunk and scored once, by whichever instance holds the partition; the next round is
 * published once both deployments have scored the last one.
 */
function deliveryRounds(events: readonly InputEvent[]): InputEvent[][] {
  const inTimeOrder = [...events].sort((a, b) => a.occurredAt - b.occurredAt || (a.eventId < b.eventId ? -1 : 1));
  return ROUND_KINDS.flatMap((kind) => {
    const ofKind = inTimeOrder.filter((event) => event.kind === kind);
    return Array.from({ length: Math.ceil(ofKind.length / EVENTS_PER_ROUND) }, (_, i) => ofKind.slice(i * EVENTS_PER_ROUND, (i + 1) * EVENTS_PER_ROUND));
  });
}

const omit = <T extends object, K extends keyof T>(value: T, ...fields: K[]): Omit<T, K> =>
  Object.fromEntries(Object.entries(value).filter(([field]) => !fields.includes(field as K))) as Omit<T, K>;

describe.skipIf(!hasRedisServer)('two scorers and the API on a Redis Cluster, against one scorer on one Redis', () => {
  let redisCluster: LocalRedisCluster | undefined;
  let scaledOut: ApiTestBed;
  const single = new ApiTestBed('scale-out-single');
  const beds = () => [scaledOut, single] as const;
  let scaledOutScorers: RunningScorer[];
  let apis: RunningApi[];
  /** The customer segments of the portfolio, each with rankings of its own. */
  let segments: string[];

  beforeAll(async () => {
    redisCluster = await startRedisCluster(MASTERS);
    scaledOut = new ApiTestBed('scale-out-cluster', redisCluster.url, { cluster: true });
    expect(EVENTS_PER_ROUND).toBeLessThanOrEqual(scaledOut.config().scorer.chunkSize);
    await Promise.all(beds().map((bed) => bed.setUp(PARTITIONS)));
    scaledOutScorers = await Promise.all(Array.from({ length: SCORER_INSTANCES }, () => scaledOut.startScorer()));
    await single.startScorer();
    await eventually(
      () => Promise.all(scaledOutScorers.map((scorer) => fetch(`http://127.0.0.1:${scorer.httpPort}/readyz`).then((r) => r.ok, () => false))),
      (ready) => ready.every(Boolean),
      60_000,
      'both scaled-out scorers to join their group',
    );

    for (const round of deliveryRounds(portfolio.flatMap((customer) => customer.events))) {
      await Promise.all(beds().map((bed) => bed.publishAndWait(round)));
    }
    // A day later every customer whose insights moved with the day boundary is due: the time-driven loops
    // (two instances sharing the due set on the cluster) re-score them.
    for (const bed of beds()) bed.clock.set(API_TEST_NOW + MS_PER_DAY);
    await Promise.all(
      beds().map((bed) =>
        eventually(
          () => bed.store.readCustomers(customerIds, bed.clock.now()),
          (snapshots) => snapshots.every((s) => s.outbox.length === 0 && (s.score?.nextDueAt ?? Infinity) > bed.clock.now()),
          60_000,
          'every due customer to be re-scored',
        ),
      ),
    );
    apis = await Promise.all(beds().map((bed) => bed.startApi()));
    segments = [...new Set((await Promise.all(customerIds.map((id) => single.scoreHash(id)))).map((score) => score.segment!))];
  }, 150_000);

  afterAll(async () => {
    try {
      await Promise.all([scaledOut?.tearDown(), single.tearDown()]);
    } finally {
      await redisCluster?.stop();
    }
  });

  it('spreads the work: both instances applied events, and every master holds customers', async () => {
    const applied = await Promise.all(
      scaledOutScorers.map(async (scorer) =>
        (await scorer.metrics.events.get()).values.filter((v) => v.labels.outcome === 'applied').reduce((sum, v) => sum + v.value, 0),
      ),
    );
    expect(applied.every((count) => count > 0)).toBe(true);
    expect(applied.reduce((a, b) => a + b, 0)).toBe(portfolio.reduce((sum, customer) => sum + customer.events.length, 0));
    const masters = (scaledOut.redis as Cluster).nodes('master');
    expect(masters).toHaveLength(MASTERS);
    expect((await Promise.all(masters.map((master) => master.dbsize()))).every((keys) => keys > 0)).toBe(true);
  });

  /** A customer as stored, without the fields that name the Redis incarnation (generation, versions). */
  async function storedCustomer(bed: ApiTestBed, snapshot: CustomerSnapshot) {
    const k = bed.keys.customer(snapshot.customerId);
    const [scoreHash, insightsHash] = await Promise.all([bed.redis.hgetall(k.score), bed.redis.hgetall(k.insights)]);
    return {
      state: snapshot.state,
      score: snapshot.score && omit(snapshot.score, 'version', 'generation'),
      scoreHash: omit(scoreHash, 'version', 'gen'),
      insightsHash,
      alertBook: snapshot.alertBook,
      outbox: snapshot.outbox,
    };
  }

  it('stores the same state, score, explanation, insights and alert book for every customer', async () => {
    const [scaledOutViews, singleViews] = await Promise.all(
      beds().map(async (bed) => Promise.all((await bed.store.readCustomers(customerIds, bed.clock.now())).map((s) => storedCustomer(bed, s)))),
    );
    for (const [i, customerId] of customerIds.entries()) expect(scaledOutViews![i], customerId).toEqual(singleViews![i]);

    // The comparison means something: the portfolio spans bands, alerts and segments, and the day passed.
    const scores = singleViews!.map((view) => view.scoreHash);
    expect(segments.length).toBeGreaterThan(1);
    expect(new Set(scores.map((score) => score.band)).size).toBeGreaterThan(1);
    expect(singleViews!.some((view) => Object.keys(view.alertBook?.episodes ?? {}).length > 0)).toBe(true);
    expect(scores.some((score) => Number(score.asOf) === API_TEST_NOW + MS_PER_DAY)).toBe(true);
  });

  it('ranks, indexes open alerts and schedules the due work the same', async () => {
    const sortedSets = (bed: ApiTestBed) => [
      ...RANKING_METRICS.flatMap((metric) => [null, ...segments].map((segment) => bed.keys.ranking(metric, segment))),
      bed.keys.openAlerts,
      ...Array.from({ length: bed.keys.dueShards }, (_, shard) => bed.keys.dueShard(shard)),
    ];
    const [scaledOutSets, singleSets] = await Promise.all(
      beds().map((bed) => Promise.all(sortedSets(bed).map((key) => bed.redis.zrange(key, 0, -1, 'REV', 'WITHSCORES')))),
    );
    const names = sortedSets(single).map((key) => key.slice(single.prefix.length));
    for (const [i, name] of names.entries()) expect(scaledOutSets![i], name).toEqual(singleSets![i]);
    expect(singleSets![names.indexOf(':alerts:open')]!.length, 'customers with an open alert, so the index is compared').toBeGreaterThan(0);
  });

  async function get(api: RunningApi, path: string): Promise<unknown> {
    const response = await fetch(`${api.url}${path}`);
    expect(response.status, path).toBe(200);
    return response.json();
  }

  /** What both APIs answer for `path`, with `normalise` removing what differs by design. */
  async function bothAnswer(path: string, normalise: (body: never) => unknown = (body) => body): Promise<void> {
    const [scaledOutBody, singleBody] = await Promise.all(apis.map((api) => get(api, path)));
    expect(normalise(scaledOutBody as never), path).toEqual(normalise(singleBody as never));
  }

  type Versioned = { version: number };
  const withoutVersion = <T extends Versioned>(body: T) => omit(body, 'version');

  it('answers the same customer lists, customer details, histories, alerts and statistics', async () => {
    for (const sort of RANKING_METRICS) {
      for (const segment of [null, ...segments]) {
        await bothAnswer(`/api/v1/customers?sort=${sort}&limit=200${segment === null ? '' : `&segment=${encodeURIComponent(segment)}`}`, (page: { items: Versioned[] }) => ({
          ...page,
          items: page.items.map(withoutVersion),
        }));
      }
    }
    for (const customerId of customerIds) {
      await bothAnswer(`/api/v1/customers/${customerId}`, withoutVersion);
      await bothAnswer(`/api/v1/customers/${customerId}/history`);
    }
    for (const status of ['OPEN', 'RESOLVED']) await bothAnswer(`/api/v1/alerts?status=${status}`);
    // computedAt: when the API summed the value at risk, by its own (unpinned) clock.
    await bothAnswer('/api/v1/stats', (stats: { computedAt: number }) => omit(stats, 'computedAt'));
  });
});
