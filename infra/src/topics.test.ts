import { DEFAULT_TOPICS, TOPIC_ENV_VARS } from '@churnscore/config';
import { describe, expect, it } from 'vitest';
import { TOPIC_SPECS, TopicDriftError, desiredTopics, topicDrift } from './topics';

describe('desiredTopics', () => {
  it('lists the SPEC §2 topics with 6 partitions by default', () => {
    const topics = desiredTopics({});
    expect(topics.map((topic) => topic.name)).toEqual([
      'crm.activity.v1',
      'crm.opportunity.v1',
      'crm.contract.v1',
      'crm.customer.v1',
      'customer.score-changed.v1',
      'customer.alerts.v1',
      'crm.dlq.v1',
    ]);
    expect(topics.every((topic) => topic.partitions === 6)).toBe(true);
  });

  it('follows TOPIC_PARTITIONS and the TOPIC_* renames packages/config reads', () => {
    const topics = desiredTopics({ TOPIC_PARTITIONS: '12', TOPIC_ALERTS: 'team-a.alerts.v1' });
    expect(topics.find((topic) => topic.role === 'alerts')?.name).toBe('team-a.alerts.v1');
    expect(topics.every((topic) => topic.partitions === 12)).toBe(true);
    expect(() => desiredTopics({ TOPIC_PARTITIONS: '0' })).toThrow(/TOPIC_PARTITIONS=0/);
  });

  // infra depends on no package and keeps its own copy of the names: this keeps the two in step.
  it('names every topic, and the variable renaming it, as packages/config does', () => {
    expect(Object.fromEntries(TOPIC_SPECS.map((spec) => [spec.role, spec.defaultName]))).toEqual(DEFAULT_TOPICS);
    expect(Object.fromEntries(TOPIC_SPECS.map((spec) => [spec.role, spec.envVar]))).toEqual(TOPIC_ENV_VARS);
  });

  it('never compacts alerts (several open episodes share a customer key)', () => {
    const alerts = TOPIC_SPECS.find((spec) => spec.role === 'alerts');
    expect(alerts?.configs['cleanup.policy']).toBe('delete');
  });
});

describe('topicDrift', () => {
  const desired = desiredTopics({}).find((topic) => topic.role === 'scoreChanged')!;

  it('is empty when the topic matches', () => {
    expect(topicDrift(desired, { partitions: 6, configs: { ...desired.configs } })).toEqual([]);
  });

  it('lists partition and config differences', () => {
    const drift = topicDrift(desired, { partitions: 3, configs: { ...desired.configs, 'cleanup.policy': 'delete' } });
    expect(drift).toEqual(['partitions: expected 6, found 3', 'cleanup.policy: expected compact, found delete']);
  });

  it('reports a config the topic lacks', () => {
    expect(topicDrift(desired, { partitions: 6, configs: {} })).toContain('cleanup.policy: expected compact, found (unset)');
  });

  it('explains the way out in the error', () => {
    const error = new TopicDriftError(new Map([['crm.dlq.v1', ['partitions: expected 6, found 3']]]));
    expect(error.message).toMatch(/crm\.dlq\.v1\n {4}- partitions: expected 6, found 3/);
    expect(error.message).toMatch(/--allow-drift/);
  });
});
