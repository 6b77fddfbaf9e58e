import { describe, expect, it } from 'vitest';
import { ACTIVITY_TYPES, type CustomerInsights } from '@churnscore/domain';
import { pairsToRecord } from './read-state';
import { decodeScoreHistoryEntry, decodeStoredInsights, flattenFields, insightsFieldArgs } from './score-codec';

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
    expect(args).not.toContain('activity.EMAIL_SENT.d7');
    expect(args).not.toContain('customerId');
    expect(decodeStoredInsights('c1', pairsToRecord(args))).toEqual(insights);
  });
});

describe('the score history', () => {
  it('decodes a point as a commit writes it, and skips anything else (a chart must not fail on one bad entry)', () => {
    const point = { t: 1_748_779_200_000, health: 54, churnRisk: 0.7603, band: 'yellow' };
    expect(decodeScoreHistoryEntry(JSON.stringify(point))).toEqual(point);
    for (const bad of ['not json', 'null', '{"t":1}', JSON.stringify({ ...point, band: 'purple' }), JSON.stringify({ ...point, health: '54' })]) {
      expect(decodeScoreHistoryEntry(bad)).toBeNull();
    }
  });
});
