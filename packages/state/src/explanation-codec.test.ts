import { readFileSync } from 'node:fs';
import type { Explanation } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import { EXPLANATION_FORMAT, decodeExplanation, encodeExplanation } from './explanation-codec';

/** The steady scorecard's explanation the dictionary ends with, every value but the weights moved: another customer's score. */
function typicalExplanation(): Explanation {
  const lines = readFileSync(new URL('../dictionaries/explanation-1.txt', import.meta.url), 'utf8').trim().split('\n');
  const steady = JSON.parse(lines.at(-1)!) as Explanation;
  const moved = (value: number | null, by: number): number | null => (value === null ? null : Math.round((value * 1.37 + by) * 10_000) / 10_000);
  return {
    ...steady,
    measures: steady.measures.map((m, i) => ({ ...m, rawValue: moved(m.rawValue, i), score: moved(m.score, 1), contribution: moved(m.contribution, 2)! })),
    churnFeatures: steady.churnFeatures.map((f, i) => ({ ...f, value: moved(f.value, i / 3)!, logitContribution: moved(f.logitContribution, -1)! })),
    topDrivers: steady.topDrivers.map((d) => ({ ...d, previous: moved(d.previous, 3), impact: moved(d.impact, -0.5)! })),
  };
}

describe('the stored explanation', () => {
  it('decodes to exactly the explanation encoded: every number, null and name', () => {
    const explanation: Explanation = {
      scorecardId: 'renewal ✓',
      measures: [
        { measureId: 'recency', group: 'Support & Sentiment', rawValue: null, score: null, weight: 0, contribution: 0 },
        { measureId: 'nps', group: 'Engagement', rawValue: -3.25, score: 40, weight: 0.15789473684210525, contribution: 6.32 },
      ],
      churnFeatures: [{ feature: 'usageDrop90d', value: 0.977, coefficient: -0.163009, logitContribution: 1e-7 }],
      topDrivers: [{ id: 'nps', kind: 'measure', previous: null, current: 40, impact: -2.05 }],
    };
    expect(decodeExplanation(encodeExplanation(explanation))).toEqual(explanation);
    expect(decodeExplanation(encodeExplanation(typicalExplanation()))).toEqual(typicalExplanation());
  });

  it('is under a fifth of the JSON for a typical score (scored customers: about a ninth, docs/performance.md)', () => {
    const explanation = typicalExplanation();
    expect(JSON.stringify(explanation).length).toBeGreaterThan(2_500);
    expect(encodeExplanation(explanation).length).toBeLessThan(JSON.stringify(explanation).length / 5);
  });

  it('is text the scripts can put into an outbox entry as a JSON string as it is', () => {
    const encoded = encodeExplanation(typicalExplanation());
    expect(encoded.startsWith(EXPLANATION_FORMAT)).toBe(true);
    expect(JSON.stringify(encoded)).toBe(`"${encoded}"`);
  });

  it('refuses a value of another contract version (the JSON of chs:v1) rather than misreading it', () => {
    expect(() => decodeExplanation(JSON.stringify(typicalExplanation()))).toThrow(/format of this key contract/);
  });
});
