import type { ScoreDriver } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import { describeDriver } from './driver-text';
import { handSetConfig } from './test-fixtures';

const measure = (id: string, previous: number | null, current: number | null, impact: number): ScoreDriver => ({ id, kind: 'measure', previous, current, impact });
const feature = (id: string, previous: number | null, current: number | null, impact: number): ScoreDriver => ({ id, kind: 'churnFeature', previous, current, impact });
const sentence = (driver: ScoreDriver) => describeDriver(driver, handSetConfig);

describe('describeDriver', () => {
  it('says what the measure reads, how it moved and by how many health points', () => {
    expect(sentence(measure('live-conversations', 6, 1, -4.2))).toBe('Meetings and calls in the last 90 days fell from 6 to 1 (−4.2 health points).');
    expect(sentence(measure('recency', 0, 12.5, -1.75))).toBe('Days since the customer’s last own activity rose from 0 to 12.5 (−1.75 health points).');
  });

  it('says when a measure came to count in the health score or stopped counting: its first data, or a scorecard that has it', () => {
    // A renewal ending puts the customer on a scorecard with measures the renewal one lacked: "had no value before"
    // was false of them (an outside tester, 2026-12-07); "now counted" is true either way.
    expect(sentence(measure('nps', null, 2, -16.67))).toBe('The latest NPS answer: 2, now counted in the health score, where it was not before (−16.67 health points).');
    expect(sentence(measure('nps', 2, null, 16.67))).toBe('The latest NPS answer: no longer counted in the health score (it was 2) (+16.67 health points).');
  });

  it('says a measure the scorecard now in use does not weigh is not weighed by it, naming it, rather than no longer counted', () => {
    const weighs = (card: (typeof handSetConfig.scorecards)[number], id: string) => card.measures.some((weighed) => weighed.measure === id);
    const scorecard = handSetConfig.scorecards.find((card) => handSetConfig.measures.some(({ id }) => !weighs(card, id)));
    const unweighed = handSetConfig.measures.map(({ id }) => id).find((id) => !weighs(scorecard!, id))!;
    expect(unweighed).toEqual(expect.any(String));
    expect(describeDriver(measure(unweighed, 45, null, 1.17), handSetConfig, scorecard!.id)).toMatch(
      new RegExp(`: not weighed by the ${scorecard!.id} scorecard, now in use \\(it was 45\\) \\(\\+1\\.17 health points\\)\\.$`),
    );
    // One it weighs, without data now: no longer counted.
    expect(describeDriver(measure(scorecard!.measures[0]!.measure, 2, null, 1), handSetConfig, scorecard!.id)).toContain(': no longer counted in the health score (it was 2)');
  });

  it('says when only the weighting moved an unchanged value: the scorecard in use, by name where known', () => {
    expect(sentence(measure('cancellations', 0, 0, 3.5))).toBe(
      'Contracts cancelled in the last 365 days stayed at 0, but the scorecard now in use weighs it differently (+3.5 health points).',
    );
    expect(describeDriver(measure('cancellations', 0, 0, -2.05), handSetConfig, 'steady')).toBe(
      'Contracts cancelled in the last 365 days stayed at 0, but the steady scorecard, now in use, weighs it differently (−2.05 health points).',
    );
    expect(sentence(feature('cancellations365', 1, 1, 0.01))).toBe('Contracts cancelled in the last 365 days stayed at 1, but the churn model weighs it differently (+1 percentage point of churn risk).');
  });

  it('tells apart two values that round alike, and says one point in the singular', () => {
    expect(sentence(feature('openTicketsPerEngagement90', 0.0145, 0.0072, -0.0022))).toBe(
      'Open support tickets per engagement event over 90 days fell from 0.015 to 0.007 (−0.22 percentage points of churn risk).',
    );
    expect(sentence(measure('recency', 3, 4, -1))).toBe('Days since the customer’s last own activity rose from 3 to 4 (−1 health point).');
  });

  it('gives a churn feature its impact in percentage points of churn risk', () => {
    expect(sentence(feature('engagementDrop30d', 0, 0.8, 0.3426))).toBe(
      'The share of its usual engagement the customer lost over the last 30 days rose from 0 % to 80 % (+34.26 percentage points of churn risk).',
    );
    // A drop is a share of the customer's usual rate: said as a percentage, not as a number "(0 to 1)" read as part of the window.
    expect(sentence(feature('usageIntensityDrop90d', 0.9, 0.912, 0.001))).toBe(
      'The share of its usual usage per product-usage reading the customer lost over the last 90 days rose from 90 % to 91.2 % (+0.1 percentage points of churn risk).',
    );
  });

  it('says a centred or scaled feature in the number a reader knows: the NPS answer, the health score', () => {
    expect(sentence(feature('npsDeviation', 2, -5, 0.0123))).toBe('The latest NPS answer (7 when none) fell from 9 to 2 (+1.23 percentage points of churn risk).');
    expect(sentence(feature('healthShortfall', 0.11, 0.23, 0.05))).toBe('The health score fell from 89 to 77 (+5 percentage points of churn risk).');
  });

  it('names a measure or feature the configuration does not know by its id', () => {
    expect(sentence(measure('retired-measure', 1, 2, 0.5))).toBe('retired-measure rose from 1 to 2 (+0.5 health points).');
    expect(sentence(feature('retiredFeature', 1, 2, -0.01))).toBe('retiredFeature rose from 1 to 2 (−1 percentage point of churn risk).');
  });
});
