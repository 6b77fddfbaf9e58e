/** The Kafka topics the product reads and writes, by role. */
export interface TopicNames {
  activity: string;
  opportunity: string;
  contract: string;
  customer: string;
  scoreChanged: string;
  alerts: string;
  dlq: string;
}

export type TopicRole = keyof TopicNames;

/** SPEC §2 names; each can be overridden by the environment variable in `TOPIC_ENV_VARS`. */
export const DEFAULT_TOPICS: Readonly<TopicNames> = Object.freeze({
  activity: 'crm.activity.v1',
  opportunity: 'crm.opportunity.v1',
  contract: 'crm.contract.v1',
  customer: 'crm.customer.v1',
  scoreChanged: 'customer.score-changed.v1',
  alerts: 'customer.alerts.v1',
  dlq: 'crm.dlq.v1',
});

export const TOPIC_ENV_VARS = {
  activity: 'TOPIC_ACTIVITY',
  opportunity: 'TOPIC_OPPORTUNITY',
  contract: 'TOPIC_CONTRACT',
  customer: 'TOPIC_CUSTOMER',
  scoreChanged: 'TOPIC_SCORE_CHANGED',
  alerts: 'TOPIC_ALERTS',
  dlq: 'TOPIC_DLQ',
} as const satisfies Record<TopicRole, string>;
