import type { OpportunityStage } from '@churnscore/domain';
import { latentStateOnDay, type LatentTrajectory } from './latent';
import type { Random } from './random';
import { roundTo, type Scheduled, type SpanContext } from './schedule';

/** A deal won: it raises the subscription's value, or comes with a one-off sales contract. */
export interface WonDeal {
  /** The day it closed. */
  day: number;
  amount: number;
  /** The id of its own sales contract; null for an upsell of the subscription. */
  salesContractId: string | null;
}

/** Deals a typical customer opens in a year at its normal engagement. */
const DEALS_PER_YEAR = 1.5;
const DEAL_DAYS: readonly [number, number] = [20, 60];
const OPEN_STAGES: readonly OpportunityStage[] = ['LEAD', 'QUALIFIED', 'PROPOSAL', 'NEGOTIATION'];
/** A deal's amount as a share of the customer's annual subscription value. */
const AMOUNT_SHARE: readonly [number, number] = [0.1, 0.35];
/** Chance of winning a deal at full health, and at none. */
const WIN_CHANCE: readonly [number, number] = [0.85, 0.2];
/** Share of won deals that raise the subscription rather than come with a sales contract. */
const UPSELL_SHARE = 0.5;

/** Open quotes as the CRM reports them: none before a proposal, none left once the deal is closed. */
const openQuotesAt = (stage: OpportunityStage, random: Random): number | null => {
  if (stage === 'PROPOSAL') return 1;
  if (stage === 'NEGOTIATION') return random.integer(1, 3);
  if (stage === 'CLOSED_WON' || stage === 'CLOSED_LOST') return 0;
  return null;
};

/**
 * One process for every customer's deals: opened at a rate that follows its engagement, won with a
 * chance that follows its health on the day they close, and lost when it leaves first. A deal moves
 * LEAD → QUALIFIED → PROPOSAL → NEGOTIATION → closed at even steps over 20–60 days; a lost one stops at
 * a random open stage. Deals that started before the span show only the stages inside it.
 */
export function scheduleDeals(
  customer: { customerId: string; annualValue: number; latent: LatentTrajectory },
  span: SpanContext,
  random: Random,
): { events: Scheduled[]; won: WonDeal[] } {
  const { customerId, annualValue, latent } = customer;
  const events: Scheduled[] = [];
  const won: WonDeal[] = [];
  let count = 0;
  for (let day = span.spanStartDay - DEAL_DAYS[1]; day <= span.today; day += 1) {
    const opened = latentStateOnDay(latent, day);
    if (!opened.active) continue;
    const rate = (DEALS_PER_YEAR / 365) * latent.disposition.dealPropensity * Math.sqrt(opened.engagement);
    for (let n = random.poisson(rate); n > 0; n -= 1) {
      const opportunityId = `${customerId}-O${++count}`;
      const duration = random.integer(...DEAL_DAYS);
      const stageDay = (step: number): number => day + Math.round((step * duration) / OPEN_STAGES.length);
      const closeDay = stageDay(OPEN_STAGES.length);
      const amount = roundTo(annualValue * random.between(...AMOUNT_SHARE), 100);
      const leftFirst = latent.churnDay !== null && latent.churnDay <= closeDay;
      const stages: Array<[OpportunityStage, number]> = [];
      if (leftFirst || closeDay > span.today) {
        // Still open today, or lost the day the customer left: the stages reached by then.
        const until = Math.min(leftFirst ? latent.churnDay! : Infinity, span.today + 1);
        for (const [step, stage] of OPEN_STAGES.entries()) if (stageDay(step) < until) stages.push([stage, stageDay(step)]);
        if (leftFirst && latent.churnDay! <= span.today) stages.push(['CLOSED_LOST', latent.churnDay!]);
      } else {
        const health = latentStateOnDay(latent, closeDay).health;
        const winChance = WIN_CHANCE[1] + (WIN_CHANCE[0] - WIN_CHANCE[1]) * health;
        const outcome: OpportunityStage = random.chance(winChance) ? 'CLOSED_WON' : 'CLOSED_LOST';
        const reached = outcome === 'CLOSED_WON' ? OPEN_STAGES.length : random.integer(1, OPEN_STAGES.length);
        OPEN_STAGES.slice(0, reached).forEach((stage, step) => stages.push([stage, stageDay(step)]));
        stages.push([outcome, closeDay]);
        if (outcome === 'CLOSED_WON') {
          won.push({ day: closeDay, amount, salesContractId: random.chance(UPSELL_SHARE) ? null : `${customerId}-C${count}` });
        }
      }
      for (const [stage, stageOn] of stages) {
        // An explicit forecast now and then; otherwise the stage default applies.
        const probability = stage === 'NEGOTIATION' && random.chance(0.5) ? roundTo(random.between(0.6, 0.85), 0.05) : null;
        const openQuotes = openQuotesAt(stage, random);
        if (stageOn < span.spanStartDay) continue;
        events.push({
          day: stageOn,
          body: { kind: 'opportunity', opportunityId, stage, amount, currency: span.currency, probability, openQuotes },
        });
      }
    }
  }
  return { events, won };
}
