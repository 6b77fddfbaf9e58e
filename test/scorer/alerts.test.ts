// SPEC §6 alerts through the real scorer: churn risk oscillating around the thresholds gives exactly one
// OPEN and one RESOLVED per episode, and neither redelivery nor upstream duplicates repeat an alert.
import type { ActivityEvent } from '@churnscore/domain';
import type { AlertEvent } from '@churnscore/events';
import { sampleActivity, sampleContract } from '@churnscore/events/testing';
import { defaultScoringConfig, parseScoringConfig, type ScoringConfig } from '@churnscore/scoring';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../harness/stack';
import { eventually, ManualClock, ScorerTestBed } from './support';

const DAY = 86_400_000;
const T = Date.UTC(2026, 6, 1, 8, 0, 0);
const customerId = 'wobbly-co';

/**
 * Churn risk driven by CSM sentiment alone: risk = σ(−0.5 × sentiment), so −2 → 0.73, −1 → 0.62, 0 → 0.5, +1 → 0.38;
 * CHURN_RISK_HIGH opens at 0.7 and resolves below 0.5, whatever the default's thresholds.
 */
function sentimentOnlyChurnModel(): ScoringConfig {
  const config = structuredClone(defaultScoringConfig()) as ScoringConfig;
  return parseScoringConfig({
    ...config,
    version: 'test-sentiment-only',
    churn: { ...config.churn, intercept: 0, coefficients: { csmSentiment: -0.5 } },
    alerts: { ...config.alerts, churnRiskHigh: { openAt: 0.7, resolveBelow: 0.5 } },
  });
}

// 0.62, 0.73 (open), 0.62, 0.5, 0.73, 0.38 (resolve), 0.5, 0.62, 0.73 (open), 0.5, 0.38 (resolve)
const SENTIMENTS = [-1, -2, -1, 0, -2, 1, 0, -1, -2, 0, 1];
const sentimentEvents: ActivityEvent[] = SENTIMENTS.map((value, i) =>
  sampleActivity({ customerId, eventId: `sentiment-${i}`, activityType: 'CSM_SENTIMENT', value, occurredAt: T - DAY / 2 + i * 60_000 }),
);

const bed = new ScorerTestBed('alerts');
/** The contract, signed a month ago, is history when it arrives: its alerts wait for the settle (a minute), over by T. */
const CONTRACT_SCORED_AT = T - 2 * 60_000;
const clock = new ManualClock(CONTRACT_SCORED_AT);

async function churnAlerts(count: number): Promise<AlertEvent[]> {
  const records = await bed.outputs(count, [bed.topics.alerts]);
  return records.flatMap(({ event }) => (event?.kind === 'alert' && event.alertType === 'CHURN_RISK_HIGH' ? [event] : []));
}

const alertCount = async () => {
  const admin = new Kafka({ brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(bed.topics.alerts)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
};

beforeAll(async () => {
  await bed.setUp();
  await bed.startScorer({ clock: clock.now, scoring: sentimentOnlyChurnModel() });
  // A customer of long standing with activity before the last day: what the sentiments then bring is live traffic.
  await bed.publish([
    sampleContract({ customerId, eventId: 'contract', occurredAt: T - 30 * DAY, startDate: Date.UTC(2026, 0, 1), endDate: Date.UTC(2027, 11, 31), totalValue: 1_000 }),
    sampleActivity({ customerId, eventId: 'meeting', activityType: 'MEETING', value: null, occurredAt: T - 10 * DAY }),
  ]);
  await eventually(() => bed.scoreHash(customerId), (s) => Number(s.revision) === 2, 30_000, 'the contract and the meeting to be scored');
  clock.set(T);
  // One at a time, so each sentiment is scored on its own.
  for (const [i, event] of sentimentEvents.entries()) {
    await bed.publish([event]);
    await eventually(() => bed.scoreHash(customerId), (s) => Number(s.revision) === i + 3, 30_000, `sentiment ${i} to be scored`);
  }
});
afterAll(() => bed.tearDown());

describe('CHURN_RISK_HIGH with hysteresis', () => {
  it('opens at ≥ 0.7 and resolves only below 0.5: one OPEN and one RESOLVED per episode', async () => {
    const alerts = await churnAlerts(await alertCount());
    expect(alerts.map((a) => [a.status, a.episode])).toEqual([
      ['OPEN', 1],
      ['RESOLVED', 1],
      ['OPEN', 2],
      ['RESOLVED', 2],
    ]);
    expect(alerts[0]!.alertId).toBe(alerts[1]!.alertId);
    expect(alerts[2]!.alertId).toBe(alerts[3]!.alertId);
    expect(alerts[0]!.alertId).not.toBe(alerts[2]!.alertId);
    expect(alerts[1]!.version).toBeGreaterThan(alerts[0]!.version);
    expect(alerts.every((a) => a.modelVersion === 'test-sentiment-only' && a.customerId === customerId)).toBe(true);
  });

  it('repeats nothing when the same input is redelivered or duplicated upstream', async () => {
    const before = await alertCount();
    const revision = Number((await bed.scoreHash(customerId)).revision);

    // Upstream duplicates: the same events again, at new offsets.
    await bed.publish(sentimentEvents);
    // Redelivery: a second scorer in a new consumer group reads every input again from the beginning.
    const replay = new ScorerTestBed('alerts-replay');
    Object.assign(replay, { topics: bed.topics, prefix: bed.prefix });
    const replayScorer = await replay.startScorer({ clock: clock.now, scoring: sentimentOnlyChurnModel() });
    await eventually(
      async () => (await replayScorer.metrics.events.get()).values.reduce((sum, v) => sum + v.value, 0),
      (seen) => seen >= 2 + 2 * sentimentEvents.length,
      30_000,
      'the replaying scorer to read every input',
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await replayScorer.stop();
    replay.redis.disconnect();
    replay.codec.close();
    replay.registry.close();

    expect(Number((await bed.scoreHash(customerId)).revision)).toBe(revision);
    expect(await alertCount()).toBe(before);
  });
});
