// A small customer portfolio for the read API and dashboard tests: customers of every band, risk band and
// several segments and lifecycle stages, produced as CRM input events, so the real scorer computes what the
// API then reads. One customer, HAND_CHECKED, has a few explicit events whose Insights are worked out below.
import type { ActivityEvent, ActivityType, ContractEvent, InputEvent, OpportunityEvent } from '@churnscore/domain';
import { sampleActivity, sampleContract, sampleCustomer, sampleOpportunity } from '@churnscore/events/testing';

export const DAY = 86_400_000;
const midnight = (epochMs: number): number => Math.floor(epochMs / DAY) * DAY;

interface Profile {
  customerId: string;
  segment: string;
  /** Total value of one active contract; null for a prospect (no contract ever). */
  contractValue: number | null;
  /** The contract's status as the CRM last sent it: EXPIRED (its end in the past) for a customer that left. */
  contractStatus: ContractEvent['status'];
  renewalInDays: number;
  /** Engagement events (emails, calls, meetings, usage) per week in the last 90 days and before. */
  recentPerWeek: number;
  earlierPerWeek: number;
  /** No activity at all in the last this-many days. */
  silentDays: number;
  nps: number | null;
  sentiment: number | null;
  openTickets: number;
  lostDeals: number;
}

const base: Omit<Profile, 'customerId' | 'segment'> = {
  contractValue: 100_000,
  contractStatus: 'ACTIVE',
  renewalInDays: 300,
  recentPerWeek: 3,
  earlierPerWeek: 3,
  silentDays: 0,
  nps: 8,
  sentiment: 1,
  openTickets: 0,
  lostDeals: 0,
};

/** Customers from thriving to leaving; several share a segment so the per-segment rankings have depth. */
const PROFILES: Profile[] = [
  { ...base, customerId: 'acme-thriving', segment: 'ENTERPRISE', contractValue: 900_000, recentPerWeek: 6, nps: 10, sentiment: 2 },
  {
    ...base,
    customerId: 'globex-leaving',
    segment: 'ENTERPRISE',
    contractValue: 800_000,
    renewalInDays: 40,
    recentPerWeek: 0,
    earlierPerWeek: 5,
    silentDays: 50,
    nps: 2,
    sentiment: -2,
    openTickets: 4,
    lostDeals: 3,
  },
  { ...base, customerId: 'initech-quiet', segment: 'MID_MARKET', contractValue: 150_000, recentPerWeek: 0, silentDays: 40, nps: 5, sentiment: -1, openTickets: 2 },
  { ...base, customerId: 'umbrella-steady', segment: 'MID_MARKET', contractValue: 200_000, recentPerWeek: 2, earlierPerWeek: 2 },
  { ...base, customerId: 'hooli-fading', segment: 'MID_MARKET', contractValue: 300_000, renewalInDays: 70, recentPerWeek: 1, earlierPerWeek: 4, nps: 4, sentiment: -1, lostDeals: 2 },
  { ...base, customerId: 'pied-prospect', segment: 'SMB', contractValue: null, recentPerWeek: 2, earlierPerWeek: 1, nps: null, sentiment: null },
  // Left a month ago, unhappy and silent: the model's risk is high, but there is nothing left to churn.
  {
    ...base,
    customerId: 'soylent-gone',
    segment: 'MID_MARKET',
    contractStatus: 'EXPIRED',
    renewalInDays: -30,
    recentPerWeek: 0,
    earlierPerWeek: 4,
    silentDays: 60,
    nps: 2,
    sentiment: -2,
  },
  ...Array.from({ length: 8 }, (_, i): Profile => ({
    ...base,
    customerId: `smb-${String(i + 1).padStart(2, '0')}`,
    segment: 'SMB',
    contractValue: 10_000 + 5_000 * i,
    renewalInDays: 30 + 40 * i,
    recentPerWeek: i % 4,
    earlierPerWeek: 2,
    silentDays: i % 3 === 0 ? 35 : 0,
    nps: i % 2 === 0 ? 9 : 4,
    sentiment: (i % 5) - 2,
    openTickets: i % 3,
    lostDeals: i % 2,
  })),
];

const ENGAGEMENT: readonly ActivityType[] = ['EMAIL_SENT', 'EMAIL_RECEIVED', 'CALL', 'MEETING', 'PRODUCT_USAGE'];

function profileEvents(profile: Profile, now: number): InputEvent[] {
  const { customerId } = profile;
  let n = 0;
  const id = (what: string) => `${customerId}-${what}-${++n}`;
  const activity = (activityType: ActivityType, daysAgo: number, extra: Partial<ActivityEvent> = {}) =>
    sampleActivity({ customerId, eventId: id('act'), activityType, value: null, occurredAt: now - daysAgo * DAY, ...extra });
  const events: InputEvent[] = [sampleCustomer({ customerId, eventId: id('profile'), segment: profile.segment, occurredAt: now - 400 * DAY })];
  if (profile.contractValue !== null) {
    events.push(
      sampleContract({
        customerId,
        eventId: id('contract'),
        contractId: `${customerId}-k1`,
        status: profile.contractStatus,
        totalValue: profile.contractValue,
        startDate: midnight(now - 500 * DAY),
        endDate: midnight(now + profile.renewalInDays * DAY),
        occurredAt: now - 500 * DAY,
      }),
    );
  }
  for (let day = Math.max(profile.silentDays, 1); day < 365; day += 1) {
    const perWeek = day < 90 ? profile.recentPerWeek : profile.earlierPerWeek;
    // perWeek events spread evenly over each week: one on every (7 / perWeek)-th day.
    if (perWeek > 0 && day % Math.max(1, Math.round(7 / perWeek)) === 0) {
      const type = ENGAGEMENT[day % ENGAGEMENT.length] as ActivityType;
      events.push(activity(type, day, type === 'PRODUCT_USAGE' ? { value: 10 } : {}));
    }
  }
  const lastSaid = profile.silentDays + 2;
  if (profile.nps !== null) events.push(activity('NPS_RESPONSE', lastSaid, { value: profile.nps }));
  if (profile.sentiment !== null) events.push(activity('CSM_SENTIMENT', lastSaid, { value: profile.sentiment }));
  for (let t = 0; t < profile.openTickets; t += 1) {
    events.push(activity('SUPPORT_TICKET_OPENED', lastSaid + t, { ticketId: `${customerId}-t${t}`, slaBreached: t % 2 === 0 }));
  }
  for (let d = 0; d < profile.lostDeals; d += 1) {
    events.push(
      sampleOpportunity({ customerId, eventId: id('opp'), opportunityId: `${customerId}-lost${d}`, stage: 'CLOSED_LOST', amount: 20_000, probability: null, occurredAt: now - (60 + d) * DAY }),
    );
  }
  return events;
}

/** The customer whose Insights the tests check field by field. */
export const HAND_CHECKED = 'wayne-handchecked';

function handCheckedEvents(now: number): InputEvent[] {
  const customerId = HAND_CHECKED;
  let n = 0;
  const envelope = (daysAgo: number) => ({ customerId, eventId: `${customerId}-${++n}`, occurredAt: now - daysAgo * DAY });
  const opportunity = (opportunityId: string, stage: OpportunityEvent['stage'], amount: number, daysAgo: number) =>
    sampleOpportunity({ ...envelope(daysAgo), opportunityId, stage, amount, probability: null, openQuotes: null });
  return [
    sampleCustomer({ ...envelope(100), segment: 'ENTERPRISE' }),
    ...[1, 10, 40, 200].map((daysAgo) => sampleActivity({ ...envelope(daysAgo), activityType: 'EMAIL_SENT', value: null })),
    sampleActivity({ ...envelope(3), activityType: 'MEETING', value: null }),
    sampleActivity({ ...envelope(5), activityType: 'NPS_RESPONSE', value: 9 }),
    sampleContract({
      ...envelope(300),
      contractId: 'wayne-k1',
      status: 'ACTIVE',
      totalValue: 120_000,
      startDate: midnight(now - 300 * DAY),
      endDate: midnight(now + 200 * DAY),
    }),
    opportunity('wayne-o1', 'PROPOSAL', 10_000, 15),
    opportunity('wayne-o2', 'CLOSED_WON', 8_000, 20),
    opportunity('wayne-o3', 'CLOSED_LOST', 2_000, 30),
  ];
}

/** The Insights of HAND_CHECKED at `now`, worked out from the events above. */
export function handCheckedInsights(now: number) {
  return {
    activityEmailSent: { d7: 1, d30: 2, d90: 3, d365: 4 },
    meetingD7: 1,
    callD365: 0,
    openOpportunities: 1,
    openPipelineAmount: 10_000,
    weightedPipelineAmount: 5_000, // PROPOSAL's default probability is 0.5
    won365: 1,
    wonAmount365: 8_000,
    lost365: 1,
    lostAmount365: 2_000,
    winRate365: 0.5,
    activeContracts: 1,
    totalContractValue: 120_000,
    nextRenewalAt: midnight(now + 200 * DAY),
    latestNps: 9,
    latestCsmSentiment: null,
    lastActivityAt: now - 1 * DAY,
  };
}

export function portfolioEvents(now: number): InputEvent[] {
  return [...PROFILES.flatMap((profile) => profileEvents(profile, now)), ...handCheckedEvents(now)];
}

export const CUSTOMER_IDS = [...PROFILES.map((profile) => profile.customerId), HAND_CHECKED];
