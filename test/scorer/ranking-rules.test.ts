// Who the rankings hold (docs/redis-contract.md, Rankings): value at risk ranks every scored customer, churn risk and
// health only the customers under contract. Independent users found the dashboard's "High churn risk" and "Red health"
// counting the customers that had already churned (the model gives a long-silent customer a high risk, and its health
// falls), which made a base with many past churners read as far riskier than it was. A namespace ranked by the earlier rules (every customer in every
// ranking) is brought in line by the next scorer's start, with no input event.
import { sampleActivity, sampleContract, sampleCustomer } from '@churnscore/events/testing';
import { defaultScoringConfig, scoringConfigIdentity } from '@churnscore/scoring';
import { modelRolloutMark, RANKING_METRICS } from '@churnscore/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ManualClock, ScorerTestBed } from './support';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 2, 10, 0, 0);
const scoring = defaultScoringConfig();
const SIGNED = 'rules-signed';
const LEAVING = 'rules-leaving';
const PROSPECT = 'rules-prospect';

const bed = new ScorerTestBed('ranking-rules');
const clock = new ManualClock(T0);

/** The rankings (overall and the customers' segment's) that hold `customerId`, by metric. */
async function rankedIn(customerId: string): Promise<Record<string, boolean>> {
  const entries = await Promise.all(
    RANKING_METRICS.flatMap((metric) => [null, 'ENTERPRISE'].map(async (segment) => {
      const score = await bed.redis.zscore(bed.keys.ranking(metric, segment), customerId);
      return [`${metric}${segment ? `:${segment}` : ''}`, score !== null] as const;
    })),
  );
  return Object.fromEntries(entries);
}
const everywhere = { churnRisk: true, 'churnRisk:ENTERPRISE': true, valueAtRisk: true, 'valueAtRisk:ENTERPRISE': true, health: true, 'health:ENTERPRISE': true };
const byValueAlone = { ...everywhere, churnRisk: false, 'churnRisk:ENTERPRISE': false, health: false, 'health:ENTERPRISE': false };

const contract = (customerId: string, status: 'ACTIVE' | 'CANCELLED', occurredAt: number) =>
  sampleContract({ customerId, eventId: `${customerId}-${status}`, contractId: `${customerId}-c`, status, occurredAt, startDate: T0 - 30 * DAY, endDate: T0 + 335 * DAY });
const meeting = (customerId: string, occurredAt: number) =>
  sampleActivity({ customerId, eventId: `${customerId}-m-${occurredAt}`, activityType: 'MEETING', value: null, occurredAt });

beforeAll(async () => {
  await bed.setUp();
}, 120_000);
afterAll(() => bed.tearDown());

describe('the rankings', () => {
  it('rank by churn risk and health only the customers under contract; one leaves them when its last contract ends', async () => {
    const scorer = await bed.startScorer({ clock: clock.now, scoring });
    await bed.publish([
      ...[SIGNED, LEAVING].map((customerId) => sampleCustomer({ customerId, eventId: `${customerId}-profile`, segment: 'ENTERPRISE', occurredAt: T0 - 3 * 3_600_000 })),
      contract(SIGNED, 'ACTIVE', T0 - 2 * 3_600_000),
      meeting(SIGNED, T0 - 3_600_000),
      contract(LEAVING, 'ACTIVE', T0 - 2 * 3_600_000),
      meeting(LEAVING, T0 - 3_600_000),
      meeting(PROSPECT, T0 - 3_600_000),
    ]);
    await eventually(() => bed.revisions([SIGNED, LEAVING, PROSPECT]), (revisions) => revisions.every((revision) => revision > 0), 60_000, 'the first scores');
    expect(await rankedIn(SIGNED)).toEqual(everywhere);
    expect(await rankedIn(LEAVING)).toEqual(everywhere);
    // A prospect has no segment here: only the overall health ranking holds it.
    expect(await rankedIn(PROSPECT)).toMatchObject({ churnRisk: false, valueAtRisk: true, health: false });

    clock.set(T0 + 60_000);
    await bed.publish([contract(LEAVING, 'CANCELLED', T0 + 30_000)]);
    await eventually(() => bed.scoreHash(LEAVING), (score) => score.lifecycleStage === 'CHURNED', 60_000, 'the cancellation to be scored');
    await eventually(() => rankedIn(LEAVING), (ranked) => JSON.stringify(ranked) === JSON.stringify(byValueAlone), 10_000, 'the churned customer to leave the churn-risk and health rankings');
    expect(await rankedIn(SIGNED)).toEqual(everywhere);
    await bed.stopScorer(scorer);
  });

  it('are brought in line with these rules by the next scorer when the earlier rules ranked a churned customer by risk and health', async () => {
    // What a scorer of the earlier rules left: the churned customer in every ranking, and its model marked rolled out.
    for (const segment of [null, 'ENTERPRISE']) {
      await bed.redis.zadd(bed.keys.ranking('churnRisk', segment), 0.9, LEAVING);
      await bed.redis.zadd(bed.keys.ranking('health', segment), 20, LEAVING);
    }
    await bed.redis.set(bed.keys.rolledOutModel, scoringConfigIdentity(scoring));
    expect(await rankedIn(LEAVING)).toEqual(everywhere);

    clock.set(T0 + 120_000);
    await bed.startScorer({ clock: clock.now, scoring });
    await eventually(() => rankedIn(LEAVING), (ranked) => JSON.stringify(ranked) === JSON.stringify(byValueAlone), 60_000, 'the churned customer to leave the churn-risk and health rankings');
    expect(await rankedIn(SIGNED)).toEqual(everywhere);
    expect(await bed.redis.get(bed.keys.rolledOutModel)).toBe(modelRolloutMark(scoringConfigIdentity(scoring)));
  });
});
