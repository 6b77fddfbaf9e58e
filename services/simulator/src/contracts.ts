import type { ContractStatus, ContractType } from '@churnscore/domain';
import { MS_PER_DAY } from '@churnscore/domain';
import type { Segment } from './cohorts';
import type { WonDeal } from './deals';
import type { LatentTrajectory } from './latent';
import type { Random } from './random';
import { roundTo, type ContractBody, type Scheduled, type ScheduledContract, type SpanContext } from './schedule';

/** Price rise at each renewal: flat to 7%. */
const RENEWAL_UPLIFT: readonly [number, number] = [1, 1.07];
const SERVICE_SHARE_OF_SUBSCRIPTION = 0.12;
/** A won deal that is not an upsell comes with a one-off sales contract (implementation, training) of this length. */
const SALES_CONTRACT_DAYS = 90;

type ContractAt = (status: ContractStatus, startDay: number, endDay: number, totalValue: number) => ContractBody;

/** Builds full-state events of one contract (latest wins downstream, so every event carries everything). Dates are UTC midnights. */
function contractState(contractId: string, contractType: ContractType, currency: string): ContractAt {
  return (status, startDay, endDay, totalValue) => ({
    kind: 'contract',
    contractId,
    contractType,
    totalValue,
    currency,
    startDate: startDay * MS_PER_DAY,
    endDate: endDay * MS_PER_DAY,
    status,
  });
}

/**
 * The subscription through its terms: signed ACTIVE, RENEWED on the day each term ends (the end date
 * moves a term on, the price rises 0–7%), raised by upsells from the day they are won, and, if the
 * customer leaves, CANCELLED on the day it does (ending then) or EXPIRED at the end of its term.
 * Enterprise customers also hold a premium-support SERVICE contract on the same terms.
 */
function subscriptionContracts(
  customer: { customerId: string; segment: Segment; annualValue: number; latent: LatentTrajectory },
  upsells: readonly WonDeal[],
  span: SpanContext,
  random: Random,
): ScheduledContract[][] {
  const { customerSinceDay: startDay, termDays, churnDay, churnKind } = customer.latent;
  const subscription = contractState(`${customer.customerId}-SUB`, 'SUBSCRIPTION', span.currency);
  const lastDay = Math.min(span.today, (churnDay ?? Infinity) - 1);
  let status: ContractStatus = 'ACTIVE';
  let value = customer.annualValue;
  let endDay = startDay + termDays;
  const events: ScheduledContract[] = [];
  const pending = [...upsells];
  let day = startDay;
  while (day <= lastDay) {
    if (day === endDay) {
      status = 'RENEWED';
      endDay += termDays;
      value = roundTo(value * random.between(...RENEWAL_UPLIFT), 100);
    }
    // An upsell won on a renewal day is part of that renewal's event: one state per contract and day.
    for (; pending.length > 0 && pending[0]!.day <= day; pending.shift()) value = roundTo(value + pending[0]!.amount, 100);
    events.push({ day, body: subscription(status, startDay, endDay, value) });
    day = Math.min(endDay, pending[0]?.day ?? Infinity);
  }
  if (churnDay !== null && churnDay <= span.today) {
    events.push({ day: churnDay, body: subscription(churnKind!, startDay, churnKind === 'CANCELLED' ? churnDay : endDay, value) });
  }
  if (customer.segment !== 'ENTERPRISE') return [events];
  const service = events.map(({ day: on, body }) => ({
    day: on,
    body: {
      ...body,
      contractId: `${customer.customerId}-SVC`,
      contractType: 'SERVICE' as const,
      totalValue: roundTo(body.totalValue * SERVICE_SHARE_OF_SUBSCRIPTION, 100),
    },
  }));
  return [events, service];
}

/** A sales contract per won deal: ACTIVE for 90 days, then EXPIRED, or CANCELLED with the rest when the customer leaves. */
function salesContract(deal: WonDeal, contractId: string, latent: LatentTrajectory, span: SpanContext): ScheduledContract[] {
  const sales = contractState(contractId, 'SALES', span.currency);
  const endDay = deal.day + SALES_CONTRACT_DAYS;
  const events: ScheduledContract[] = [{ day: deal.day, body: sales('ACTIVE', deal.day, endDay, deal.amount) }];
  const { churnDay } = latent;
  const [status, day]: [ContractStatus, number] = churnDay !== null && churnDay <= endDay ? ['CANCELLED', churnDay] : ['EXPIRED', endDay];
  if (day <= span.today) events.push({ day, body: sales(status, deal.day, endDay, deal.amount) });
  return events;
}

/**
 * Contract events from before the simulated span collapse into one snapshot of the latest, at the
 * span's first instant (the CRM's initial sync), so a contract signed years ago is still known.
 */
function fromSpanStart(events: readonly ScheduledContract[], span: SpanContext): Scheduled[] {
  const inside = events.filter((event) => event.day >= span.spanStartDay);
  const before = events.filter((event) => event.day < span.spanStartDay);
  if (before.length === 0) return inside;
  return [{ day: span.spanStartDay, atStartOfDay: true, body: before.at(-1)!.body }, ...inside];
}

/** Every contract event of a customer: its subscription (and service contract), and a sales contract per deal won outside an upsell. */
export function scheduleContracts(
  customer: { customerId: string; segment: Segment; annualValue: number; latent: LatentTrajectory },
  won: readonly WonDeal[],
  span: SpanContext,
  random: Random,
): Scheduled[] {
  const upsells = won.filter((deal) => deal.salesContractId === null);
  const sales = won.flatMap((deal) => (deal.salesContractId === null ? [] : [salesContract(deal, deal.salesContractId, customer.latent, span)]));
  return [...subscriptionContracts(customer, upsells, span, random), ...sales].flatMap((events) => fromSpanStart(events, span));
}
