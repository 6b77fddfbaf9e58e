// Sample events for tests across the repository: valid by default; each builder takes overrides to make a
// specific bad or edge-case event.
import {
  alertMessage,
  scoreChangedMessage,
  type ActivityEvent,
  type AlertEpisode,
  type AlertEvent,
  type ContractEvent,
  type CustomerEvent,
  type OpportunityEvent,
  type Score,
  type ScoreChangedEvent,
} from '@churnscore/domain';

export const SAMPLE_NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const DAY = 86_400_000;

const envelope = (suffix: string) => ({
  eventId: `evt-${suffix}`,
  customerId: 'cust-0001',
  occurredAt: SAMPLE_NOW - DAY,
  source: 'test-crm',
});

export const sampleActivity = (overrides: Partial<ActivityEvent> = {}): ActivityEvent => ({
  kind: 'activity',
  ...envelope('activity'),
  activityType: 'NPS_RESPONSE',
  value: 9,
  ticketId: null,
  slaBreached: null,
  ...overrides,
});

export const sampleOpportunity = (overrides: Partial<OpportunityEvent> = {}): OpportunityEvent => ({
  kind: 'opportunity',
  ...envelope('opportunity'),
  opportunityId: 'opp-1',
  stage: 'PROPOSAL',
  amount: 25_000.5,
  currency: 'USD',
  probability: 0.55,
  openQuotes: 2,
  ...overrides,
});

export const sampleContract = (overrides: Partial<ContractEvent> = {}): ContractEvent => ({
  kind: 'contract',
  ...envelope('contract'),
  contractId: 'ctr-1',
  contractType: 'SUBSCRIPTION',
  totalValue: 120_000,
  currency: 'USD',
  startDate: Date.UTC(2025, 0, 1),
  endDate: Date.UTC(2025, 11, 31),
  status: 'ACTIVE',
  ...overrides,
});

export const sampleCustomer = (overrides: Partial<CustomerEvent> = {}): CustomerEvent => ({
  kind: 'customer',
  ...envelope('customer'),
  segment: 'ENTERPRISE',
  erase: false,
  ...overrides,
});

export const sampleScore = (overrides: Partial<Score> = {}): Score => ({
  customerId: 'cust-0001',
  health: 38,
  band: 'red',
  churnRisk: 0.74,
  riskBand: 'high',
  lifecycleStage: 'DECLINE',
  valueAtRisk: 88_800,
  segment: 'ENTERPRISE',
  explanation: {
    scorecardId: 'enterprise-steady',
    measures: [
      { measureId: 'meetings30', group: 'Engagement', rawValue: 0, score: 0, weight: 0.6, contribution: 0 },
      { measureId: 'nps', group: 'Support & Sentiment', rawValue: null, score: null, weight: 0, contribution: 0 },
      { measureId: 'winRate', group: 'Commercial', rawValue: 0.5, score: 95, weight: 0.4, contribution: 38 },
    ],
    churnFeatures: [{ feature: 'daysSinceLastActivity', value: 41, coefficient: 0.05, logitContribution: 2.05 }],
    topDrivers: [
      { id: 'meetings30', kind: 'measure', previous: 3, current: 0, impact: -24 },
      { id: 'daysSinceLastActivity', kind: 'churnFeature', previous: null, current: 41, impact: 0.31 },
    ],
  },
  modelVersion: '2025-06-01.1',
  computedAt: SAMPLE_NOW,
  ...overrides,
});

export const sampleScoreChanged = (overrides: Partial<ScoreChangedEvent> = {}): ScoreChangedEvent => ({
  ...scoreChangedMessage({
    current: sampleScore(),
    previous: sampleScore({ health: 52, band: 'yellow', churnRisk: 0.41, riskBand: 'medium', lifecycleStage: 'MATURE' }),
    cause: { kind: 'event', eventId: 'evt-activity' },
  }),
  version: 7,
  ...overrides,
});

export const sampleAlertEpisode = (overrides: Partial<AlertEpisode> = {}): AlertEpisode => ({
  alertId: 'cust-0001:CHURN_RISK_HIGH:1',
  customerId: 'cust-0001',
  alertType: 'CHURN_RISK_HIGH',
  status: 'OPEN',
  severity: 'HIGH',
  episode: 1,
  openedAt: SAMPLE_NOW,
  resolvedAt: null,
  valueAtRisk: 88_800,
  churnRisk: 0.74,
  health: 38,
  band: 'red',
  reason: 'churn risk 0.74 is at or above 0.70',
  ...overrides,
});

export const sampleAlert = (overrides: Partial<AlertEvent> = {}): AlertEvent => ({
  ...alertMessage(sampleAlertEpisode(), { modelVersion: '2025-06-01.1', updatedAt: SAMPLE_NOW }),
  version: 1,
  ...overrides,
});
