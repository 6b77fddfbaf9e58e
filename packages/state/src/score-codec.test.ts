import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTIVITY_TYPES, HEALTH_BANDS, alertId, type CustomerInsights } from '@churnscore/domain';
import { pairsToRecord } from './read-state';
import { decodeAlertBook, decodeScoreHistoryEntry, decodeStoredInsights, encodeAlertBook, encodeScoreHistoryEntry, insightsFieldArgs } from './score-codec';

describe('the insights hash', () => {
  it('decodes back to the insights it was written from, zero counts and nulls included', () => {
    const windows = (d7: number) => ({ d7, d30: d7 * 2, d90: 0, d365: d7 * 3 });
    const insights: CustomerInsights = {
      customerId: 'c1',
      asOf: 1_748_779_200_000,
      segment: 'SMB',
      activity: Object.fromEntries(ACTIVITY_TYPES.map((type, i) => [type, windows(i % 3)])) as CustomerInsights['activity'],
      usageQuantity: windows(2.5),
      lastActivityAt: 1_748_779_000_000,
      lastInboundAt: null,
      lastCustomerActivityAt: 1_748_778_000_000,
      openOpportunities: 2,
      openPipelineAmount: 1500.5,
      weightedPipelineAmount: 300.1,
      openQuotes: 0,
      won365: 1,
      wonAmount365: 10,
      lost365: 0,
      lostAmount365: 0,
      winRate365: 1,
      activeContracts: 1,
      totalContractValue: 12000,
      nextRenewalAt: null,
      cancelled365: 0,
      contractsSeen: 1,
      firstContractStartAt: 1_700_000_000_000,
      openTickets: 0,
      slaBreaches90: 0,
      latestNps: 9,
      latestCsmSentiment: null,
    };
    const args = insightsFieldArgs(insights);
    for (const zero of ['activity.EMAIL_SENT', 'openQuotes', 'lost365', 'cancelled365', 'openTickets']) expect(args).not.toContain(zero);
    expect(args).not.toContain('customerId');
    expect(pairsToRecord(args)).toMatchObject({ 'activity.EMAIL_RECEIVED': '1,2,0,3', usageQuantity: '2.5,5,0,7.5' });
    expect(decodeStoredInsights('c1', pairsToRecord(args))).toEqual(insights);
  });

  it('reads a windowed field that is not four numbers as zeros', () => {
    for (const bad of ['1,2,3', '1,2,x,4', '1,,3,4', '']) {
      expect(decodeStoredInsights('c1', { asOf: '1748779200000', 'activity.CALL': bad })?.activity.CALL).toEqual({ d7: 0, d30: 0, d90: 0, d365: 0 });
    }
  });

  it('keeps a 0 that is a value (a rating, a rate), and reads an absent one as null, an absent count as 0', () => {
    const rated = { asOf: '1748779200000', latestNps: '0', latestCsmSentiment: '0', winRate365: '0' };
    const decoded = decodeStoredInsights('c1', rated)!;
    expect(decoded).toMatchObject({ latestNps: 0, latestCsmSentiment: 0, winRate365: 0, openTickets: 0, lost365: 0 });
    expect(insightsFieldArgs(decoded)).toEqual(expect.arrayContaining(['latestNps', '0', 'latestCsmSentiment', '0', 'winRate365', '0']));
    expect(decodeStoredInsights('c1', { asOf: '1748779200000' })).toMatchObject({
      segment: null,
      lastActivityAt: null,
      lastInboundAt: null,
      winRate365: null,
      nextRenewalAt: null,
      firstContractStartAt: null,
      latestNps: null,
      latestCsmSentiment: null,
      openOpportunities: 0,
      totalContractValue: 0,
      slaBreaches90: 0,
    });
  });
});

describe('the score history', () => {
  const point = { t: 1_748_779_200_000, health: 54, churnRisk: 0.7603, band: 'yellow' } as const;

  it('stores a point as one integer: minutes, health, band and risk in fixed places (10 bytes in a Redis list)', () => {
    expect(encodeScoreHistoryEntry(point)).toBe('29146320054107603');
    expect(decodeScoreHistoryEntry(encodeScoreHistoryEntry(point))).toEqual(point);
    expect(decodeScoreHistoryEntry(encodeScoreHistoryEntry({ t: 1_748_779_259_999, health: 100, churnRisk: 0, band: 'green' }))).toEqual({
      t: 1_748_779_200_000,
      health: 100,
      churnRisk: 0,
      band: 'green',
    });
    expect(decodeScoreHistoryEntry(encodeScoreHistoryEntry({ ...point, health: 0, churnRisk: 1, band: 'red' }))).toEqual({ ...point, health: 0, churnRisk: 1, band: 'red' });
  });

  it('reads every point it writes, at any health, band and risk to four decimals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.constantFrom(...HEALTH_BANDS),
        (t, health, riskE4, band) => {
          const decoded = decodeScoreHistoryEntry(encodeScoreHistoryEntry({ t, health, churnRisk: riskE4 / 10_000, band }));
          expect(decoded).toEqual({ t: t - (t % 60_000), health, churnRisk: riskE4 / 10_000, band });
        },
      ),
    );
  });

  it("skips anything else, the earlier contracts' forms included (a chart must not fail on one bad entry)", () => {
    const bad = [
      'not a point',
      '',
      '1',
      JSON.stringify(point),
      JSON.stringify([point.t, point.health, point.churnRisk, point.band]),
      `${point.t},${point.health},${point.churnRisk},${point.band}`,
      '29146320101007603',
      '29146320054307603',
      '29146320054110001',
      '2914632005417603',
      '29146320054107603x',
      '-29146320054107603',
    ];
    for (const entry of bad) expect(decodeScoreHistoryEntry(entry)).toBeNull();
  });
});

describe('the alert book', () => {
  const episode = {
    alertId: alertId('c1', 'CHURN_RISK_HIGH', 2),
    customerId: 'c1',
    alertType: 'CHURN_RISK_HIGH',
    status: 'OPEN',
    severity: 'HIGH',
    episode: 2,
    openedAt: 1_748_779_200_000,
    resolvedAt: null,
    valueAtRisk: 1200,
    churnRisk: 0.8,
    health: 35,
    band: 'red',
    reason: 'churn risk 0.8 ≥ 0.7',
  } as const;
  const book = { episodes: { CHURN_RISK_HIGH: episode }, bandBeforeDrop: 'yellow' } as const;

  it('stores each episode as its values without what its key (the customer), its member name (the alert type) and the two with its number (the alertId) say', () => {
    expect(JSON.parse(encodeAlertBook(book))).toEqual({
      episodes: { CHURN_RISK_HIGH: ['OPEN', 'HIGH', 2, 1_748_779_200_000, null, 1200, 0.8, 35, 'red', 'churn risk 0.8 ≥ 0.7'] },
      bandBeforeDrop: 'yellow',
    });
    expect(decodeAlertBook('c1', encodeAlertBook(book))).toEqual(book);
    expect(Object.keys(decodeAlertBook('c1', encodeAlertBook(book))!.episodes.CHURN_RISK_HIGH!)).toEqual(Object.keys(episode));
    expect(decodeAlertBook('c1', null)).toBeNull();
  });

  it('refuses a book of chs:v6, its episodes objects with field names, rather than misreading it', () => {
    const { customerId: _key, alertType: _member, ...v6Episode } = episode;
    expect(() => decodeAlertBook('c1', JSON.stringify({ episodes: { CHURN_RISK_HIGH: v6Episode }, bandBeforeDrop: null }))).toThrow(/format of this key contract/);
  });
});
