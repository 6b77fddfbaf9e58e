import { describe, expect, it } from 'vitest';
import { newClusterId, serverProperties } from './kafka';
import { loadSettings } from './settings';

describe('serverProperties', () => {
  const properties = serverProperties(
    loadSettings({ STACK_DIR: '/tmp/stack', STACK_KAFKA_PORT: '29092', STACK_KAFKA_CONTROLLER_PORT: '29093', STACK_KAFKA_SASL_PORT: '29094' }),
  );

  it('runs one KRaft node with a static quorum on loopback', () => {
    expect(properties).toContain('process.roles=broker,controller\n');
    expect(properties).toContain('controller.quorum.voters=1@127.0.0.1:29093\n');
    expect(properties).toContain('\nlisteners=PLAINTEXT://127.0.0.1:29092,SASL_PLAINTEXT://127.0.0.1:29094,CONTROLLER://127.0.0.1:29093\n');
    expect(properties).toContain('advertised.listeners=PLAINTEXT://127.0.0.1:29092,SASL_PLAINTEXT://127.0.0.1:29094\n');
    expect(properties).toContain('log.dirs=/tmp/stack/data/kafka\n');
  });

  it('offers SCRAM-SHA-512 and SCRAM-SHA-256 on the SASL_PLAINTEXT listener only', () => {
    expect(properties).toContain('listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT\n');
    expect(properties).toContain('sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256\n');
    for (const mechanism of ['scram-sha-512', 'scram-sha-256']) {
      expect(properties).toContain(
        `listener.name.sasl_plaintext.${mechanism}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;\n`,
      );
    }
    expect(properties).toContain('inter.broker.listener.name=PLAINTEXT\n');
  });

  it('checks ACLs, the plain listeners\' clients exempt and resources no ACL names open to every user', () => {
    expect(properties).toContain('authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n');
    expect(properties).toContain('super.users=User:ANONYMOUS\n');
    expect(properties).toContain('allow.everyone.if.no.acl.found=true\n');
  });

  it('creates no topic implicitly and keeps internal topics at one replica', () => {
    expect(properties).toContain('auto.create.topics.enable=false\n');
    expect(properties).toContain('offsets.topic.replication.factor=1\n');
    expect(properties).toContain('group.initial.rebalance.delay.ms=0\n');
  });
});

describe('newClusterId', () => {
  it('is 16 bytes in URL-safe base64, and never starts with a dash, which the Kafka tools would read as an option', () => {
    // 0xf8 encodes to '-' as the first base64url character: the first draw is refused.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x01)];
    expect(newClusterId(() => draws.shift()!)).toBe(Buffer.alloc(16, 0x01).toString('base64url'));
    expect(draws).toEqual([]);
    expect(newClusterId()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
