import { describe, expect, it } from 'vitest';
import { ACTIVITY_TYPES, type CustomerInsights } from '@churnscore/domain';
import { pairsToRecord } from './read-state';
import { decodeScoreHistoryEntry, decodeStoredInsights, encodeScoreHistoryEntry, flattenFields, insightsFieldArgs } from './score-codec';

describe('flattenFields', () => {
  it('joins nested names with dots and leaves out nulls', () => {
    expect(flattenFields({ a: 1, b: { c: 'x', d: null, e: { f: 0 } }, g: null })).toEqual(['a', '1', 'b.c', 'x', 'b.e.f', '0']);
  });
});

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
    for (const zero of ['activity.EMAIL_SENT.d7', 'openQuotes', 'lost365', 'cancelled365', 'openTickets']) expect(args).not.toContain(zero);
    expect(args).not.toContain('customerId');
    expect(decodeStoredInsights('c1', pairsToRecord(args))).toEqual(insights);
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

  it('stores a point as an array, its field names once in the contract instead of in every entry', () => {
    expect(encodeScoreHistoryEntry(point)).toBe('[1748779200000,54,0.7603,"yellow"]');
    expect(decodeScoreHistoryEntry(encodeScoreHistoryEntry(point))).toEqual(point);
  });

  it("skips anything else, chs:v2's objects included (a chart must not fail on one bad entry)", () => {
    const bad = [
      'not json',
      'null',
      '[1]',
      JSON.stringify(point),
      JSON.stringify([point.t, point.health, point.churnRisk, 'purple']),
      JSON.stringify([point.t, '54', point.churnRisk, point.band]),
      JSON.stringify([point.t, point.health, point.churnRisk, point.band, 'extra']),
    ];
    for (const entry of bad) expect(decodeScoreHistoryEntry(entry)).toBeNull();
  });
});
