// The read API end to end: the portfolio goes through the real scorer into Redis, and the real API reads it
// back over HTTP. Expectations come from the events (Insights worked out by hand) or from the score
// hashes in Redis, read independently of the API.
import { Agent, request } from 'node:http';
import { ACTIVITY_TYPES, HEALTH_BANDS, RISK_BANDS, hasActiveContract, type LifecycleStage } from '@churnscore/domain';
import { sampleActivity } from '@churnscore/events/testing';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODEL_CARDS_DIR, defaultScoringConfig, describeDriver, parseScoringConfig } from '@churnscore/scoring';
import { capturingLogger } from '@churnscore/observability/testing';
import { createBackfilledHistoryWriter, historyTime, serverMicroseconds } from '@churnscore/state';
import { TRAINED_MODEL_FILES, adaptedModelCard, type ModelCard } from '@churnscore/training';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApi } from '../../services/api/src/index';
import type { AlertsPage, CustomerDetail, CustomerPage, Model, Stats } from '../../services/api/src/index';
import { CUSTOMER_IDS, HAND_CHECKED, handCheckedInsights } from './portfolio';
import { API_TEST_NOW, ApiTestBed, EventStreamClient, TEST_TOKEN } from './support';

const bed = new ApiTestBed('api-read');
let api: RunningApi;
let securedApi: RunningApi;
/** Every customer's score hash, read straight from Redis: the reference the API's answers are checked against. */
let stored: Map<string, Record<string, string>>;
/** The customers with an active contract, by their stored scores. */
const underContract = () => CUSTOMER_IDS.filter((id) => hasActiveContract(stored.get(id)!.lifecycleStage as LifecycleStage));

async function get<T>(path: string, options: { on?: RunningApi; token?: string } = {}) {
  const response = await fetch(`${(options.on ?? api).url}${path}`, {
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
}

/** The ranking order Redis keeps: score descending, ties by member descending (ZRANGE … REV). */
const byValueAtRiskDesc = (a: string, b: string): number =>
  Number(stored.get(b)!.valueAtRisk) - Number(stored.get(a)!.valueAtRisk) || (a < b ? 1 : a > b ? -1 : 0);

async function walkPages(query: string, limit: number): Promise<{ ids: string[]; pages: CustomerPage[] }> {
  const pages: CustomerPage[] = [];
  let cursor: string | null = null;
  do {
    const suffix: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const { status, body } = await get<CustomerPage>(`/api/v1/customers?${query}&limit=${limit}${suffix}`);
    expect(status).toBe(200);
    pages.push(body);
    cursor = body.nextCursor;
  } while (cursor !== null && pages.length < 50);
  return { ids: pages.flatMap((page) => page.items.map((row) => row.customerId)), pages };
}

/** Silent for 40 days, so its NO_RECENT_ACTIVITY alert is open after seeding; then it speaks again. */
const RESUMED = 'initech-quiet';

beforeAll(async () => {
  await bed.seed();
  await bed.publishAndWait([
    sampleActivity({ customerId: RESUMED, eventId: `${RESUMED}-resumed`, activityType: 'MEETING', value: null, occurredAt: bed.clock.now() - 3_600_000 }),
  ]);
  [api, securedApi] = await Promise.all([bed.startApi(), bed.startApi({ token: TEST_TOKEN })]);
  stored = new Map(await Promise.all(CUSTOMER_IDS.map(async (id) => [id, await bed.scoreHash(id)] as const)));
}, 180_000);
afterAll(() => bed.tearDown());

describe('GET /api/v1/customers/{customerId}', () => {
  it('returns the scores as stored', async () => {
    const { status, body } = await get<CustomerDetail>(`/api/v1/customers/${HAND_CHECKED}`);
    expect(status).toBe(200);
    const hash = stored.get(HAND_CHECKED)!;
    expect(body).toMatchObject({
      customerId: HAND_CHECKED,
      segment: 'ENTERPRISE',
      health: Number(hash.health),
      band: hash.band,
      churnRisk: Number(hash.churnRisk),
      riskBand: hash.riskBand,
      lifecycleStage: hash.lifecycleStage,
      valueAtRisk: Number(hash.valueAtRisk),
      version: Number(hash.version),
      modelVersion: hash.modelVersion,
      computedAt: bed.clock.now(),
      asOf: bed.clock.now(),
    });
  });

  it('returns the Insights aggregates in the CustomerInsights shape, as worked out by hand', async () => {
    const { body } = await get<CustomerDetail>(`/api/v1/customers/${HAND_CHECKED}`);
    const insights = body.insights!;
    // Laid out from the instant the portfolio was published, before the clock moved on for the catch-up holds to settle.
    const expected = handCheckedInsights(API_TEST_NOW);
    expect(Object.keys(insights.activity).sort()).toEqual([...ACTIVITY_TYPES].sort());
    expect(insights.activity.EMAIL_SENT).toEqual(expected.activityEmailSent);
    expect(insights.activity.MEETING.d7).toBe(expected.meetingD7);
    // Zero counts are not stored in Redis: they must read back as 0, not go missing.
    expect(insights.activity.CALL).toEqual({ d7: 0, d30: 0, d90: 0, d365: 0 });
    expect(insights).toMatchObject({
      customerId: HAND_CHECKED,
      segment: 'ENTERPRISE',
      asOf: bed.clock.now(),
      openOpportunities: expected.openOpportunities,
      openPipelineAmount: expected.openPipelineAmount,
      weightedPipelineAmount: expected.weightedPipelineAmount,
      won365: expected.won365,
      wonAmount365: expected.wonAmount365,
      lost365: expected.lost365,
      lostAmount365: expected.lostAmount365,
      winRate365: expected.winRate365,
      activeContracts: expected.activeContracts,
      totalContractValue: expected.totalContractValue,
      nextRenewalAt: expected.nextRenewalAt,
      latestNps: expected.latestNps,
      latestCsmSentiment: expected.latestCsmSentiment,
      lastActivityAt: expected.lastActivityAt,
    });
  });

  it('returns the explanation: every measure with raw value, score, weight and contribution, every churn feature of the model with its logit contribution', async () => {
    const { body } = await get<CustomerDetail>(`/api/v1/customers/${HAND_CHECKED}`);
    const { measures, churnFeatures, scorecardId } = body.explanation;
    expect(scorecardId).toEqual(expect.any(String));
    expect(measures.length).toBeGreaterThan(3);
    const included = measures.filter((m) => m.score !== null);
    // Each weight is rounded to 4 decimals: their sum is 1 within that rounding.
    expect(Math.abs(included.reduce((sum, m) => sum + m.weight, 0) - 1)).toBeLessThanOrEqual(0.00005 * included.length + 1e-12);
    expect(Math.abs(measures.reduce((sum, m) => sum + m.contribution, 0) - body.health)).toBeLessThanOrEqual(1);
    const model = defaultScoringConfig().churn;
    expect(churnFeatures.map((f) => f.feature).sort()).toEqual(Object.keys(model.coefficients).sort());
    expect(churnFeatures.map((f) => f.feature)).toContain('usageIntensityDrop30d');
    const logit = model.intercept + churnFeatures.reduce((sum, f) => sum + f.logitContribution, 0);
    expect(body.churnRisk).toBeCloseTo(1 / (1 + Math.exp(-logit)), 3);
  });

  it('says what moved the score in one plain sentence per driver, health and churn drivers each in their own unit', async () => {
    const { body } = await get<CustomerDetail>(`/api/v1/customers/${RESUMED}`);
    const drivers = body.explanation.topDrivers;
    const measures = drivers.filter((d) => d.kind === 'measure');
    expect(measures.length).toBeGreaterThan(0);
    expect(drivers.slice(0, measures.length)).toEqual(measures);
    for (const { text, ...driver } of drivers) expect(text).toBe(describeDriver(driver, defaultScoringConfig()));
    expect(measures.every((d) => / health points?\)\.$/.test(d.text))).toBe(true);
    expect(drivers.slice(measures.length).every((d) => d.text.endsWith(' percentage points of churn risk).'))).toBe(true);
  });

  it('lists the open and the recently resolved alerts of the customer', async () => {
    const { body } = await get<CustomerDetail>('/api/v1/customers/globex-leaving');
    expect(body.alerts.open.map((a) => a.alertType)).toEqual(expect.arrayContaining(['CHURN_RISK_HIGH', 'RENEWAL_AT_RISK']));
    expect(body.alerts.open.every((a) => a.status === 'OPEN' && a.customerId === 'globex-leaving')).toBe(true);
    const { body: resumed } = await get<CustomerDetail>(`/api/v1/customers/${RESUMED}`);
    expect(resumed.alerts.open.map((a) => a.alertType)).not.toContain('NO_RECENT_ACTIVITY');
    expect(resumed.alerts.recentlyResolved).toContainEqual(
      expect.objectContaining({ alertType: 'NO_RECENT_ACTIVITY', status: 'RESOLVED', resolvedAt: bed.clock.now(), reason: 'the customer active again' }),
    );
    expect(resumed.alerts.recentlyResolved.every((a) => a.status === 'RESOLVED')).toBe(true);
  });

  it('answers 404 for an unknown customer, whatever characters its id holds', async () => {
    for (const id of ['nobody', 'a{b}c', 'with/slash', 'x'.repeat(128)]) {
      const { status, body } = await get<{ message: string }>(`/api/v1/customers/${encodeURIComponent(id)}`);
      expect(status, id).toBe(404);
      expect(body.message).toMatch(/no scored customer/);
    }
    expect((await get(`/api/v1/customers/${'x'.repeat(129)}`)).status).toBe(400);
  });
});

describe('GET /api/v1/customers (ranked list)', () => {
  it('ranks every customer by value at risk, highest first, by default', async () => {
    const { body } = await get<CustomerPage>('/api/v1/customers?limit=200');
    expect(body.total).toBe(CUSTOMER_IDS.length);
    expect(body.nextCursor).toBeNull();
    expect(body.items.map((row) => row.customerId)).toEqual([...CUSTOMER_IDS].sort(byValueAtRiskDesc));
    expect(body.items[0]!.customerId).toBe('globex-leaving');
  });

  it('carries the row fields, the next renewal included', async () => {
    const { body } = await get<CustomerPage>('/api/v1/customers?limit=200');
    const byId = new Map(body.items.map((row) => [row.customerId, row]));
    const wayne = byId.get(HAND_CHECKED)!;
    expect(wayne).toEqual({
      customerId: HAND_CHECKED,
      segment: 'ENTERPRISE',
      health: Number(stored.get(HAND_CHECKED)!.health),
      band: stored.get(HAND_CHECKED)!.band,
      churnRisk: Number(stored.get(HAND_CHECKED)!.churnRisk),
      riskBand: stored.get(HAND_CHECKED)!.riskBand,
      lifecycleStage: stored.get(HAND_CHECKED)!.lifecycleStage,
      valueAtRisk: Number(stored.get(HAND_CHECKED)!.valueAtRisk),
      version: Number(stored.get(HAND_CHECKED)!.version),
      modelVersion: stored.get(HAND_CHECKED)!.modelVersion,
      computedAt: bed.clock.now(),
      // Published live, its history all read: not a transient score of a load.
      catchingUp: stored.get(HAND_CHECKED)!.catchingUp !== undefined,
      nextRenewalAt: handCheckedInsights(API_TEST_NOW).nextRenewalAt,
      underContract: true,
    });
    expect(wayne.catchingUp).toBe(false);
    expect(byId.get('pied-prospect')!.nextRenewalAt).toBeNull();
  });

  it('sorts by health or churn risk, in either order, the customers under contract', async () => {
    const byHealth = (await get<CustomerPage>('/api/v1/customers?sort=health&order=asc&limit=200')).body;
    const health = byHealth.items.map((r) => r.health);
    expect(health).toEqual([...health].sort((a, b) => a - b));
    const byRisk = (await get<CustomerPage>('/api/v1/customers?sort=churnRisk&limit=200')).body;
    const risk = byRisk.items.map((r) => r.churnRisk);
    expect(risk).toEqual([...risk].sort((a, b) => b - a));
    // The prospect and the customer that left cannot churn: neither ranking holds them, whatever the model said of them.
    for (const page of [byHealth, byRisk]) {
      expect(page.items.map((row) => row.customerId).sort()).toEqual(underContract().sort());
      expect(page.total).toBe(underContract().length);
    }
    expect(underContract()).not.toContain('soylent-gone');
    expect(stored.get('soylent-gone')).toMatchObject({ lifecycleStage: 'CHURNED', band: 'red', riskBand: 'high' });
    // Every row says whether its customer is under contract.
    const rows = (await get<CustomerPage>('/api/v1/customers?limit=200')).body.items;
    expect(rows.filter((row) => row.underContract).map((row) => row.customerId).sort()).toEqual(underContract().sort());
    expect((await get<CustomerDetail>('/api/v1/customers/soylent-gone')).body.underContract).toBe(false);
  });

  it('refuses to filter the churn-risk or health ranking by a stage it holds no customer of, rather than answer an empty page', async () => {
    for (const stage of ['CHURNED', 'PROSPECT']) {
      for (const sort of ['churnRisk', 'health']) {
        const { status, body } = await get<{ message: string }>(`/api/v1/customers?sort=${sort}&stage=${stage}`);
        expect(status, `${sort} ${stage}`).toBe(400);
        expect(body.message).toMatch(/no active contract.*sort by valueAtRisk/);
      }
      for (const order of ['desc', 'asc']) {
        const byValue = (await get<CustomerPage>(`/api/v1/customers?stage=${stage}&order=${order}`)).body;
        expect(byValue.items.map((row) => row.lifecycleStage), stage).toEqual([stage]);
        // Read from the top, the page starts where the customers without a contract are (value at risk 0).
        if (order === 'desc') expect(byValue.scanned, stage).toBeLessThan(CUSTOMER_IDS.length - underContract().length + 1);
      }
    }
  });

  it('filters by band, risk band, stage and segment', async () => {
    // Bands are those of the customers under contract, as the dashboard counts them.
    const expectFilter = async (query: string, field: string, value: string, among = CUSTOMER_IDS) => {
      const { body } = await get<CustomerPage>(`/api/v1/customers?${query}&limit=200`);
      const expected = among.filter((id) => stored.get(id)![field] === value);
      expect(expected.length, query).toBeGreaterThan(0);
      expect(body.items.map((row) => row.customerId), query).toEqual(expected.sort(byValueAtRiskDesc));
    };
    await expectFilter('band=red', 'band', 'red', underContract());
    await expectFilter('band=yellow', 'band', 'yellow', underContract());
    await expectFilter('riskBand=high', 'riskBand', 'high', underContract());
    await expectFilter('stage=PROSPECT', 'lifecycleStage', 'PROSPECT');
    await expectFilter('segment=SMB', 'segment', 'SMB');
    const { body } = await get<CustomerPage>('/api/v1/customers?segment=ENTERPRISE&band=red&limit=200');
    const enterprise = underContract().filter((id) => stored.get(id)!.segment === 'ENTERPRISE');
    expect(body.items.map((row) => row.customerId)).toEqual(enterprise.filter((id) => stored.get(id)!.band === 'red').sort(byValueAtRiskDesc));
    expect(body.items.length).toBeGreaterThan(0);
    expect(body.total).toBe(enterprise.length); // the segment's ranking, before the band filter
  });

  it('pages through the ranking with cursors, without gaps or repeats', async () => {
    const { ids, pages } = await walkPages('sort=valueAtRisk', 4);
    expect(ids).toEqual([...CUSTOMER_IDS].sort(byValueAtRiskDesc));
    expect(pages.slice(0, -1).every((page) => page.items.length === 4)).toBe(true);
    expect(pages.at(-1)!.nextCursor).toBeNull();
  });

  it('pages through a filtered list the same way', async () => {
    const all = (await get<CustomerPage>('/api/v1/customers?band=yellow&limit=200')).body.items.map((row) => row.customerId);
    const { ids } = await walkPages('band=yellow', 2);
    expect(ids).toEqual(all);
  });

  it('keeps its place when the ranking has ties', async () => {
    // Every prospect and every customer without risk has a value at risk of 0: walk the health ranking,
    // whose integer scores tie often, one customer at a time.
    const { ids } = await walkPages('sort=health&order=asc', 1);
    expect(new Set(ids).size).toBe(underContract().length);
    const health = ids.map((id) => Number(stored.get(id)!.health));
    expect(health).toEqual([...health].sort((a, b) => a - b));
  });

  it('refuses bad parameters and foreign cursors with 400', async () => {
    const { body } = await get<CustomerPage>('/api/v1/customers?limit=2');
    // A cursor of our form whose score is not a number Redis printed: Redis would refuse it as a range bound.
    const forged = Buffer.from(JSON.stringify(['x', 'acme', 'valueAtRisk:desc:'])).toString('base64url');
    for (const query of ['sort=name', 'order=up', 'limit=0', 'limit=201', 'limit=Infinity', 'limit=1e400', 'limit=-Infinity', 'band=blue', 'stage=GONE', 'cursor=garbage', `cursor=${forged}`, `sort=health&cursor=${body.nextCursor}`]) {
      const { status, body: error } = await get<{ statusCode: number; message: string }>(`/api/v1/customers?${query}`);
      expect(status, query).toBe(400);
      expect(error.statusCode).toBe(400);
    }
    for (const path of ['/api/v1/customers/acme/history?limit=Infinity', '/api/v1/alerts?limit=-Infinity']) expect((await get(path)).status, path).toBe(400);
    // A value outside a list is told the list.
    expect((await get<{ message: string }>('/api/v1/customers?band=blue')).body.message).toBe('querystring/band must be equal to one of the allowed values: green, yellow, red');
    expect((await get<{ message: string }>('/api/v1/customers?limit=0')).body.message).toBe('querystring/limit must be >= 1');
    // A misspelt or unknown parameter is refused, named, rather than ignored (which answered every customer for a filter).
    expect((await get<{ message: string }>('/api/v1/customers?bnad=red')).body).toMatchObject({ statusCode: 400, message: 'querystring must NOT have additional properties: bnad' });
    for (const path of ['/api/v1/customers?band[]=red', '/api/v1/alerts?state=OPEN', '/api/v1/stats?segmnet=SMB', '/api/v1/customers/acme/history?limti=5']) {
      expect((await get(path)).status, path).toBe(400);
    }
  });
});

describe('GET /api/v1/alerts', () => {
  it('lists the open alerts across customers, most severe first', async () => {
    const { status, body } = await get<AlertsPage>('/api/v1/alerts');
    expect(status).toBe(200);
    expect(body.complete).toBe(true);
    expect(body.total).toBe(body.items.length);
    expect(body.items.length).toBeGreaterThan(0);
    expect(body.items.every((alert) => alert.status === 'OPEN')).toBe(true);
    expect(body.items).toContainEqual(expect.objectContaining({ customerId: 'globex-leaving', alertType: 'CHURN_RISK_HIGH', severity: 'CRITICAL' }));
    const severities = body.items.map((alert) => ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].indexOf(alert.severity));
    expect(severities).toEqual([...severities].sort((a, b) => b - a));

    const expectedOpen = (
      await Promise.all(CUSTOMER_IDS.map(async (id) => (await get<CustomerDetail>(`/api/v1/customers/${id}`)).body.alerts.open))
    ).flat();
    expect(body.items.map((alert) => alert.alertId).sort()).toEqual(expectedOpen.map((alert) => alert.alertId).sort());
    // Found through the open-alert index: only customers with an open alert are read.
    expect(body.scannedCustomers).toBe(new Set(expectedOpen.map((alert) => alert.customerId)).size);
  });

  it('lists the resolved ones on request, found through the resolved-alert index', async () => {
    const { body } = await get<AlertsPage>('/api/v1/alerts?status=RESOLVED');
    expect(body.items).toContainEqual(expect.objectContaining({ customerId: RESUMED, alertType: 'NO_RECENT_ACTIVITY' }));
    expect(body.items.every((alert) => alert.status === 'RESOLVED')).toBe(true);
    const expectedResolved = (
      await Promise.all(CUSTOMER_IDS.map(async (id) => (await get<CustomerDetail>(`/api/v1/customers/${id}`)).body.alerts.recentlyResolved))
    ).flat();
    expect(body.items.map((alert) => alert.alertId).sort()).toEqual(expectedResolved.map((alert) => alert.alertId).sort());
    expect(body.complete).toBe(true);
    // Only the customers with a resolved episode are read.
    expect(body.scannedCustomers).toBe(new Set(expectedResolved.map((alert) => alert.customerId)).size);
    const limited = (await get<AlertsPage>('/api/v1/alerts?status=RESOLVED&limit=1')).body;
    expect(limited.items).toHaveLength(1);
    expect(limited.total).toBe(body.items.length);
  });
});

describe('GET /api/v1/stats', () => {
  const countBy = (ids: string[], field: string, value: string) => ids.filter((id) => stored.get(id)![field] === value).length;


  it('counts customers per band and risk band and totals the value at risk', async () => {
    const { body } = await get<Stats>('/api/v1/stats');
    expect(body.customers).toBe(CUSTOMER_IDS.length);
    // Bands count the customers under contract: the one that left, red and at high risk by the model, is in neither.
    expect(body.customersUnderContract).toBe(underContract().length);
    for (const band of HEALTH_BANDS) expect(body.bands[band], band).toBe(countBy(underContract(), 'band', band));
    for (const band of RISK_BANDS) expect(body.riskBands[band], band).toBe(countBy(underContract(), 'riskBand', band));
    expect(body.bands.red).toBe(countBy(CUSTOMER_IDS, 'band', 'red') - 1);
    expect(body.riskBands.high).toBe(countBy(CUSTOMER_IDS, 'riskBand', 'high') - 1);
    const total = CUSTOMER_IDS.reduce((sum, id) => sum + Number(stored.get(id)!.valueAtRisk), 0);
    expect(body.valueAtRisk.total).toBeCloseTo(total, 4);
    expect(body.valueAtRisk.customersAtRisk).toBe(CUSTOMER_IDS.filter((id) => Number(stored.get(id)!.valueAtRisk) > 0).length);
    // The bands of the config the API loaded (the shipped default's: its risk bands come from its training).
    expect(body.thresholds).toEqual(defaultScoringConfig().bands);
  });

  it('narrows to one segment', async () => {
    const { body } = await get<Stats>('/api/v1/stats?segment=SMB');
    const smb = CUSTOMER_IDS.filter((id) => stored.get(id)!.segment === 'SMB');
    expect(body.segment).toBe('SMB');
    expect(body.customers).toBe(smb.length);
    for (const band of HEALTH_BANDS) expect(body.bands[band], band).toBe(countBy(smb.filter((id) => underContract().includes(id)), 'band', band));
  });
});

describe('GET /api/v1/customers/{customerId}/history', () => {
  it('returns the published scores oldest first, ending with the current one, skipping unreadable entries', async () => {
    const customerId = 'umbrella-steady';
    await bed.redis.lpush(bed.keys.customer(customerId).history, 'not json');
    const { body } = await get<{ points: Array<{ t: number; health: number; churnRisk: number; band: string }> }>(
      `/api/v1/customers/${customerId}/history`,
    );
    expect(body.points.length).toBeGreaterThan(0);
    const times = body.points.map((point) => point.t);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    const score = await bed.scoreHash(customerId);
    expect(body.points.at(-1)).toEqual({ t: historyTime(Number(score.computedAt)), health: Number(score.health), churnRisk: Number(score.churnRisk), band: score.band });
    expect((await get('/api/v1/customers/nobody/history')).status).toBe(404);
  });

  it('serves the back-filled points before the live ones, marked backfilled, none at or after the first live point', async () => {
    const customerId = 'hooli-fading';
    type Point = { t: number; health: number; churnRisk: number; band: string; backfilled?: boolean };
    const live = (await get<{ points: Point[] }>(`/api/v1/customers/${customerId}/history`)).body.points;
    const firstLive = live[0]!.t;
    const week = 7 * 86_400_000;
    const backfill = [firstLive - 2 * week, firstLive - week, firstLive].map((t) => ({ t, health: 55, churnRisk: 0.3, band: 'yellow' as const }));
    const writer = createBackfilledHistoryWriter(bed.redis, { prefix: bed.prefix, replayBegan: await serverMicroseconds(bed.redis) });
    expect(await writer.replace(customerId, backfill)).toBe('written');
    const { body } = await get<{ points: Point[] }>(`/api/v1/customers/${customerId}/history`);
    expect(body.points).toEqual([...backfill.slice(0, 2).map((point) => ({ ...point, backfilled: true })), ...live]);
    expect(live.every((point) => !('backfilled' in point))).toBe(true);
    // The latest `limit` of them all.
    expect((await get<{ points: Point[] }>(`/api/v1/customers/${customerId}/history?limit=${live.length + 1}`)).body.points).toEqual([
      { ...backfill[1]!, backfilled: true },
      ...live,
    ]);
  });
});

describe('GET /api/v1/model', () => {
  it("serves the loaded config's version and horizon with its model card: trained when and on what, AUC, calibration, alert thresholds, baselines", async () => {
    const config = defaultScoringConfig();
    const full = JSON.parse(readFileSync(join(DEFAULT_MODEL_CARDS_DIR, `${config.version}.json`), 'utf8')) as ModelCard;
    const { status, body } = await get<Model>('/api/v1/model');
    expect(status).toBe(200);
    expect(body.version).toBe(config.version);
    expect(body.horizonDays).toBe(90);
    expect(body.card).toMatchObject({ version: config.version, trainedAt: full.trainedAt, history: full.history, horizonDays: 90, samples: full.samples, baselines: full.baselines });
    expect(body.card!.validation).toMatchObject({ auc: full.validation.auc, prAuc: full.validation.prAuc, calibration: full.validation.calibration });
    expect(body.card!.alert).toMatchObject({ ...config.alerts.churnRiskHigh, precision: full.alert.precision, recall: full.alert.recall, earlyRecall: full.alert.earlyRecall });
    // Compact: the coefficients are the config's and the explanation's business, not the dashboard's.
    expect(body.card).not.toHaveProperty('model');
  });

  it('serves what adapted a config to its base: the settled outcomes the rate was measured on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'read-api-adapted-'));
    try {
      const full = JSON.parse(readFileSync(join(DEFAULT_MODEL_CARDS_DIR, `${defaultScoringConfig().version}.json`), 'utf8')) as ModelCard;
      // The config as --adapt-base-rate writes it beside its card: the intercept moved (a card of other settings is not served).
      const adapted = parseScoringConfig({ ...defaultScoringConfig(), version: 'ours-base22.3', churn: { ...defaultScoringConfig().churn, intercept: -2 } });
      const outcomes = { snapshots: 9_120, churningCustomers: 143, firstAsOf: '2023-10-18T12:00:00.000Z', lastAsOf: '2024-10-17T12:00:00.000Z' };
      const adaptation = { from: 0.0777, to: 0.223, customers: 341, outcomes, observedUntil: '2025-02-14T12:00:00.000Z' };
      const configPath = join(dir, TRAINED_MODEL_FILES.config);
      writeFileSync(configPath, JSON.stringify(adapted));
      writeFileSync(join(dir, TRAINED_MODEL_FILES.cardJson), JSON.stringify(adaptedModelCard(full, { version: adapted.version, intercept: -2 }, adaptation)));
      const { status, body } = await get<Model>('/api/v1/model', { on: await bed.startApi({ scoring: adapted, scoringConfigPath: configPath }) });
      expect(status).toBe(200);
      expect(body.card).toMatchObject({ version: 'ours-base22.3', adaptation: { figuresOf: full.version, ...adaptation } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says so, with the version and horizon, when the loaded config has no model card', async () => {
    const handSet = parseScoringConfig({ ...defaultScoringConfig(), version: 'hand-set-no-card' });
    const { status, body } = await get<Model>('/api/v1/model', { on: await bed.startApi({ scoring: handSet }) });
    expect(status).toBe(200);
    expect(body).toEqual({ version: 'hand-set-no-card', horizonDays: 90, card: null });
  });
});

describe('the bearer token', () => {
  it('is required on every /api route when API_TOKEN is set', async () => {
    const paths = ['/api/v1/customers', `/api/v1/customers/${HAND_CHECKED}`, '/api/v1/alerts', '/api/v1/stats', '/api/v1/model', '/api/v1/events', '/api/v1/nowhere'];
    // The router decodes percent-encoded paths: an encoded /api must not slip past the check.
    for (const path of [...paths, '/%61pi/v1/customers', `/%61pi/v1/customers/${HAND_CHECKED}`]) {
      const missing = await get<{ statusCode: number }>(path, { on: securedApi });
      expect(missing.status, path).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer');
      expect((await get(path, { on: securedApi, token: `${TEST_TOKEN}x` })).status, path).toBe(401);
    }
    expect((await get('/api/v1/customers', { on: securedApi, token: TEST_TOKEN })).status).toBe(200);
    expect((await get(`/api/v1/customers/${HAND_CHECKED}`, { on: securedApi, token: TEST_TOKEN })).status).toBe(200);
  });

  it('closes the connection of a request refused for want of it, so that no client without the token holds a socket', async () => {
    const { hostname, port } = new URL(securedApi.url);
    const connection = await new Promise<string | undefined>((resolve, reject) => {
      request({ hostname, port, path: '/api/v1/stats', agent: new Agent({ keepAlive: true }) }, (response) => {
        response.resume();
        resolve(response.headers.connection);
      })
        .on('error', reject)
        .end();
    });
    expect(connection).toBe('close');
  });

  it('is not needed for the dashboard, the ops endpoints and the OpenAPI document', async () => {
    for (const path of ['/', '/healthz', '/readyz', '/metrics', '/openapi.json']) {
      expect((await get(path, { on: securedApi })).status, path).toBe(200);
    }
  });

  it('a path outside the dashboard\'s folder is refused as the client\'s error, not served and not a failure of ours', async () => {
    // Sent as written (fetch would normalise the dots away), as a client that means harm sends them.
    const statusOfRawPath = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const { hostname, port } = new URL(securedApi.url);
        request({ hostname, port, path }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    for (const path of ['/../../etc/passwd', '/..%5c..%5cpackage.json', '/index.html%00.js', '//api/v1/stats']) {
      const status = await statusOfRawPath(path);
      expect(status, path).toBeGreaterThanOrEqual(400);
      expect(status, path).toBeLessThan(500);
    }
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document with every endpoint and the bearer scheme', async () => {
    const { status, body } = await get<{
      openapi: string;
      paths: Record<string, { get: { parameters?: Array<{ name: string; schema: { enum?: string[] } }>; security?: unknown } }>;
      components: { securitySchemes: Record<string, unknown> };
    }>('/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/customers',
        '/api/v1/customers/{customerId}',
        '/api/v1/customers/{customerId}/history',
        '/api/v1/alerts',
        '/api/v1/stats',
        '/api/v1/model',
        '/api/v1/events',
        '/healthz',
        '/readyz',
        '/metrics',
      ]),
    );
    expect(body.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(body.paths['/api/v1/customers']!.get.security).toEqual([{ bearerAuth: [] }]);
    const sort = body.paths['/api/v1/customers']!.get.parameters!.find((p) => p.name === 'sort')!;
    expect(sort.schema.enum).toEqual(expect.arrayContaining(['valueAtRisk', 'churnRisk', 'health']));
  });
});

describe('operations', () => {
  it('reports readiness and request metrics labelled by route template, never by customer id', async () => {
    expect((await get<{ ready: boolean; checks: { redis: boolean } }>('/readyz')).body).toMatchObject({ ready: true, checks: { redis: true } });
    const { body } = await get<string>('/metrics');
    expect(body).toMatch(/churnscore_api_requests_total\{method="GET",route="\/api\/v1\/customers\/:customerId",status="200"\} \d+/);
    expect(body).toMatch(/churnscore_api_request_duration_seconds_bucket\{le="[\d.]+",method="GET",route="\/api\/v1\/customers"\}/);
    expect(body).not.toContain(HAND_CHECKED);
  });
});

describe('a customer whose stored record does not decode', () => {
  it('is left out of the ranked list and the alert list, counted and logged without its id, and only its own page fails', async () => {
    const { logger, lines } = capturingLogger('api-test', 'warn');
    const logged = await bed.startApi({ logger });
    // One customer's score hash says health NaN, another's alert book lost a character (as a hand edit or a corrupt restore leaves them).
    const [badScore, badBook] = [HAND_CHECKED, 'globex-leaving'];
    const scoreKey = bed.keys.customer(badScore).score;
    const bookKey = bed.keys.customer(badBook).alerts;
    const [health, book] = [await bed.redis.hget(scoreKey, 'health'), await bed.redis.get(bookKey)];
    try {
      await bed.redis.hset(scoreKey, 'health', 'NaN');
      await bed.redis.set(bookKey, book!.slice(1));

      const list = await get<CustomerPage>('/api/v1/customers?limit=200', { on: logged });
      expect(list.status).toBe(200);
      expect(list.body.items.map((row) => row.customerId).sort()).toEqual(CUSTOMER_IDS.filter((id) => id !== badScore).sort());
      const alerts = await get<AlertsPage>('/api/v1/alerts', { on: logged });
      expect(alerts.status).toBe(200);
      expect(alerts.body.items.length).toBeGreaterThan(0);
      expect(alerts.body.items.filter((alert) => alert.customerId === badBook)).toEqual([]);
      expect((await get(`/api/v1/customers/${badScore}`, { on: logged })).status).toBe(500);

      const metrics = (await get<string>('/metrics', { on: logged })).body;
      expect(metrics).toMatch(/churnscore_api_unreadable_records_total\{record="score"\} 1\n/);
      expect(metrics).toMatch(/churnscore_api_unreadable_records_total\{record="alert book"\} 1\n/);
      expect(lines.map((line) => line.msg)).toContain('a stored record does not decode: left out of the list that would show it');
      for (const customerId of [badScore, badBook]) expect(JSON.stringify(lines)).not.toContain(customerId);
    } finally {
      await bed.redis.hset(scoreKey, 'health', health!);
      await bed.redis.set(bookKey, book!);
    }
  });
});

describe('GET /api/v1/events (live updates)', () => {
  it('streams score changes and alert transitions as they are published', async () => {
    await bed.liveUpdatesReady(securedApi);
    const stream = await EventStreamClient.open(`${securedApi.url}/api/v1/events`, TEST_TOKEN);
    try {
      expect((await stream.next((e) => e.event === 'status')).data).toEqual({ live: true });
      // Hijacked from the framework, the stream still carries what every /api response does.
      expect(stream.headers.get('cache-control')).toContain('no-store');
      expect(stream.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(stream.headers.get('x-content-type-options')).toBe('nosniff');
      const customerId = 'umbrella-steady';
      const before = Number(stored.get(customerId)!.version);
      // A detractor's answer: the NPS measure and the churn model both move well past the publishing thresholds.
      await bed.publishAndWait([
        sampleActivity({ customerId, eventId: `${customerId}-nps-live`, activityType: 'NPS_RESPONSE', value: 0, occurredAt: bed.clock.now() - 1_000 }),
      ]);
      const update = await stream.next((e) => e.event === 'score' && (e.data as { customerId: string }).customerId === customerId);
      expect(update.data).toMatchObject({
        customerId,
        version: before + 1,
        cause: 'event',
        segment: 'MID_MARKET',
        previous: expect.objectContaining({ health: expect.any(Number) }),
        current: expect.objectContaining({ health: expect.any(Number), band: expect.any(String), churnRisk: expect.any(Number) }),
        // A detractor's answer of a second ago: live traffic, not history still loading.
        catchingUp: false,
      });
      const { body } = await get<CustomerDetail>(`/api/v1/customers/${customerId}`);
      expect(body.version).toBe(before + 1);
      expect(body.insights!.latestNps).toBe(0);
    } finally {
      stream.close();
    }
  });
});

describe('a URL that does not decode', () => {
  it('is refused after the token is checked, quoting nothing of the path', async () => {
    const path = '/api/v1/customers/globex-leaving%zz';
    expect(await get(path, { on: securedApi })).toMatchObject({ status: 401, body: { error: 'Unauthorized' } });
    const refused = await get<{ message: string }>(path, { on: securedApi, token: TEST_TOKEN });
    expect(refused).toMatchObject({ status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'the URL is not valid percent-encoding' } });
    expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
    expect(JSON.stringify(refused.body)).not.toContain('globex');
  });

  it('a path of no route is answered 404 quoting nothing of it, with the token or without, outside /api too', async () => {
    for (const path of ['/v1/customers/globex-leaving', '/api/v2/customers/globex-leaving']) {
      const unknown = await get<{ message: string }>(path, { on: securedApi, token: TEST_TOKEN });
      expect(unknown, path).toMatchObject({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'no such route' } });
    }
    const outside = await get<{ message: string }>('/v1/customers/globex-leaving', { on: securedApi });
    expect(outside).toMatchObject({ status: 404, body: { message: 'no such route' } });
    expect(await get('/api/v2/customers/globex-leaving', { on: securedApi })).toMatchObject({ status: 401 });
  });

  it('is refused alike as a query value: a `%` that begins no escape, or escapes that are not UTF-8', async () => {
    for (const query of ['customerId=globex-leaving%', 'customerId=globex-leaving%zz', 'customerId=globex-leaving%FF', 'limit=5&customerId%=globex']) {
      expect(await get(`/api/v1/customer?${query}`, { on: securedApi }), query).toMatchObject({ status: 401 });
      const refused = await get<{ message: string }>(`/api/v1/customer/history?${query}`, { on: securedApi, token: TEST_TOKEN });
      expect(refused, query).toMatchObject({ status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'the URL is not valid percent-encoding' } });
      expect(JSON.stringify(refused.body)).not.toContain('globex');
    }
    // Escaped, the same characters are a customer id like any other.
    expect(await get(`/api/v1/customer?customerId=${encodeURIComponent('globex-leaving%')}`, { on: securedApi, token: TEST_TOKEN })).toMatchObject({ status: 404 });
  });
});

describe('GET /api/v1/customer?customerId= and /api/v1/customer/history?customerId=', () => {
  it('read any customer, the ids a browser resolves away as dot segments of a path included', async () => {
    expect(new URL(`${api.url}/api/v1/customers/${encodeURIComponent('..')}`).pathname).toBe('/api/v1/');
    for (const customerId of ['.', '..']) {
      await bed.publishAndWait([
        sampleActivity({ customerId, eventId: `dot-${customerId.length}`, activityType: 'MEETING', value: null, occurredAt: bed.clock.now() - 60_000 }),
      ]);
      const query = `customerId=${encodeURIComponent(customerId)}`;
      const detail = await get<CustomerDetail>(`/api/v1/customer?${query}`);
      expect(detail.status, customerId).toBe(200);
      expect(detail.body.customerId).toBe(customerId);
      expect(detail.body.version).toBe(Number((await bed.scoreHash(customerId)).version));
      const history = await get<{ customerId: string; points: unknown[] }>(`/api/v1/customer/history?${query}&limit=5`);
      expect(history.status).toBe(200);
      expect(history.body).toEqual({ customerId, points: [expect.objectContaining({ health: detail.body.health })] });
    }
    expect((await get('/api/v1/customer?customerId=nobody')).status).toBe(404);
    expect((await get('/api/v1/customer')).status).toBe(400);
    expect((await get('/api/v1/customer', { on: securedApi })).status).toBe(401);
  });
});
