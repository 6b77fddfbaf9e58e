import type { Explanation, ScoreChangedMessage } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import { decodeExplanation, encodeExplanation } from './explanation-codec';
import { LUA_LAYOUT, OMITTED_EXPLANATION, withoutExplanation } from './layout';
import { decodeOutboxEntry, decodeStoredScore } from './score-codec';

const explanation: Explanation = {
  scorecardId: 'renewal ✓',
  measures: [
    { measureId: 'recency', group: 'Support & Sentiment', rawValue: null, score: null, weight: 0, contribution: 0 },
    { measureId: 'nps', group: 'Engagement', rawValue: -3.25, score: 40, weight: 0.15789473684210525, contribution: 6.32 },
  ],
  churnFeatures: [{ feature: 'usageDrop90d', value: 0.977, coefficient: -0.163009, logitContribution: 1e-7 }],
  topDrivers: [
    { id: 'nps', kind: 'measure', previous: null, current: 40, impact: -2.05 },
    { id: 'usageDrop90d', kind: 'churnFeature', previous: 0.5, current: 0.977, impact: 0.0123 },
  ],
};

/** The explanation as the version 1 contract stored it: its plain JSON. */
const v1Value = JSON.stringify(explanation);

describe('the stored explanation', () => {
  it('decodes to exactly the explanation encoded: every number, null and name', () => {
    expect(decodeExplanation(encodeExplanation(explanation))).toEqual(explanation);
  });

  it('is JSON a dashboard reads with a JSON parser and the documented tuple order, nothing else', () => {
    expect(JSON.parse(encodeExplanation(explanation))).toEqual({
      s: 'renewal ✓',
      m: [
        ['recency', 'Support & Sentiment', null, null, 0, 0],
        ['nps', 'Engagement', -3.25, 40, 0.15789473684210525, 6.32],
      ],
      f: [['usageDrop90d', 0.977, -0.163009, 1e-7]],
      d: [
        ['nps', 'measure', null, 40, -2.05],
        ['usageDrop90d', 'churnFeature', 0.5, 0.977, 0.0123],
      ],
    });
  });

  it('goes back into a waiting score-changed outbox entry as a member, and decodes from there', () => {
    const values = { health: 62, band: 'yellow', churnRisk: 0.31, riskBand: 'medium', lifecycleStage: 'MATURE', valueAtRisk: 1240 } as const;
    const message: ScoreChangedMessage = {
      kind: 'score-changed',
      customerId: 'c-1',
      cause: { kind: 'time' },
      previous: null,
      current: values,
      segment: null,
      explanation,
      modelVersion: 'test-1',
      computedAt: 1_764_547_200_000,
      catchingUp: false,
    };
    // What the scripts do (lua/includes/outboxEntry.lua, withExplanation) to the entry the commit stored.
    const stored = `{"seq":3,"version":2,"value":${withoutExplanation(message)}}`;
    const putBack = stored.replace(OMITTED_EXPLANATION, LUA_LAYOUT.outboxEntry.explanationMember + encodeExplanation(explanation));
    expect(decodeOutboxEntry(putBack)).toEqual({ seq: 3, version: 2, value: message });
    expect(decodeOutboxEntry(stored)).toEqual({ seq: 3, version: 2, value: { ...message, explanation: null } });
  });

  it('refuses a value of another contract version (the JSON of chs:v1) rather than misreading it', () => {
    expect(() => decodeExplanation(v1Value)).toThrow(/format of this key contract/);
    expect(() => decodeExplanation('z1:7dpLDoUgDAXQFb0bWqDK')).toThrow(/format of this key contract/);
    const v1Entry = `{"seq":1,"version":1,"value":{"kind":"score-changed","explanation":${v1Value}}}`;
    expect(() => decodeOutboxEntry(v1Entry)).toThrow(/format of this key contract/);
  });

  it('is parsed with the stored score only once it is read: a commit that publishes nothing never needs it', () => {
    const hash = { health: '72', band: 'green', churnRisk: '0.1', riskBand: 'low', lifecycleStage: 'MATURE', valueAtRisk: '10', modelVersion: 'm1', computedAt: '5', version: '3', revision: '9', asOf: '5' };
    const unreadable = decodeStoredScore('c1', hash, v1Value)!;
    expect(unreadable.health).toBe(72);
    expect(() => unreadable.explanation).toThrow(/format of this key contract/);
    const score = decodeStoredScore('c1', hash, encodeExplanation(explanation))!;
    expect(score.explanation).toEqual(explanation);
    expect(score.explanation).toBe(score.explanation); // parsed once
    expect(JSON.parse(JSON.stringify(score)).explanation).toEqual(explanation);
    expect({ ...score }.explanation).toEqual(explanation);
  });
});
