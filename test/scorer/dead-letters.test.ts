// SPEC §3: every kind of bad input reaches the DLQ with its reason (original key, value and headers kept),
// is counted, and the scorer keeps scoring the good events around it.
import { DECODE_REJECT_REASONS } from '@churnscore/events';
import { sampleActivity } from '@churnscore/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningScorer } from '../../services/scorer/src/scorer';
import { BAD_INPUT_NOW, badInputs, type BadInput } from '../events/bad-inputs';
import { eventually, ManualClock, ScorerTestBed } from './support';

const CASE_HEADER = 'test.case';
const bed = new ScorerTestBed('dead-letters');
const good = (i: number) =>
  sampleActivity({ customerId: 'good-co', eventId: `good-${i}`, activityType: 'MEETING', value: null, occurredAt: BAD_INPUT_NOW - 3_600_000 });

let scorer: RunningScorer;
let inputs: BadInput[];

beforeAll(async () => {
  await bed.setUp();
  scorer = await bed.startScorer({ clock: new ManualClock(BAD_INPUT_NOW).now });
  // The scorer reads only the input topics: a record on another topic never reaches it.
  inputs = (await badInputs(bed)).filter((input) => input.reason !== 'UNKNOWN_TOPIC');
  let i = 0;
  for (const input of inputs) {
    await bed.publish([good(i++)]);
    await bed.produce(input.topic, [{ key: input.key, value: input.value, headers: { [CASE_HEADER]: input.name } }]);
  }
  await bed.publish([good(i++)]);
});
afterAll(() => bed.tearDown());

describe('bad input', () => {
  it('lands in the DLQ with its reason and source, unchanged, while good events are scored', async () => {
    const letters = await bed.consume([bed.topics.dlq], inputs.length, 60_000);
    expect(new Set(letters.map((l) => String(l.headers['dlq.reason'])))).toEqual(new Set(DECODE_REJECT_REASONS.filter((r) => r !== 'UNKNOWN_TOPIC')));
    for (const letter of letters) {
      const input = inputs.find((candidate) => candidate.name === String(letter.headers[CASE_HEADER]))!;
      expect({ case: input.name, reason: String(letter.headers['dlq.reason']) }).toEqual({ case: input.name, reason: input.reason });
      expect(letter.key?.toString() ?? null).toBe(input.key);
      expect(letter.value).toEqual(input.value);
      expect(String(letter.headers['dlq.source.topic'])).toBe(input.topic);
      expect(String(letter.headers['dlq.source.offset'])).toMatch(/^\d+$/);
      expect(String(letter.headers['dlq.message']).length).toBeGreaterThan(0);
    }

    const score = await eventually(() => bed.scoreHash('good-co'), (s) => Number(s.revision) === inputs.length + 1, 30_000, 'the good events to be scored');
    expect((await bed.insights('good-co'))?.activity.MEETING.d7).toBe(inputs.length + 1);
    expect(score.band).toBeDefined();

    const dlqCounts = (await scorer.metrics.dlq.get()).values;
    expect(dlqCounts.reduce((sum, v) => sum + v.value, 0)).toBe(inputs.length);
    for (const input of inputs) expect(dlqCounts.find((v) => v.labels.reason === input.reason)?.value).toBeGreaterThan(0);
  });
});
