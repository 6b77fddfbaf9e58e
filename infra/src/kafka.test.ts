import { describe, expect, it } from 'vitest';
import { serverProperties } from './kafka';
import { loadSettings } from './settings';

describe('serverProperties', () => {
  const properties = serverProperties(loadSettings({ STACK_DIR: '/tmp/stack', STACK_KAFKA_PORT: '29092', STACK_KAFKA_CONTROLLER_PORT: '29093' }));

  it('runs one KRaft node with a static quorum on loopback', () => {
    expect(properties).toContain('process.roles=broker,controller\n');
    expect(properties).toContain('controller.quorum.voters=1@127.0.0.1:29093\n');
    expect(properties).toContain('listeners=PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093\n');
    expect(properties).toContain('log.dirs=/tmp/stack/data/kafka\n');
  });

  it('creates no topic implicitly and keeps internal topics at one replica', () => {
    expect(properties).toContain('auto.create.topics.enable=false\n');
    expect(properties).toContain('offsets.topic.replication.factor=1\n');
    expect(properties).toContain('group.initial.rebalance.delay.ms=0\n');
  });
});
