// Issue 9, item 15: `KAFKA_SASL_MECHANISM=SCRAM-SHA-512`, Kafka's own spelling, was refused, and nothing
// showed a scorer logging in to a broker at all. Here scorers log in with SCRAM, the mechanism spelled as
// Kafka spells it, on the local stack's SASL_PLAINTEXT listener (infra/src/kafka.ts), and consume, score
// and publish through it; and a wrong password stops the start at once, saying that the login was refused
// and with which mechanism, never the password. And a broker refusing the user an operation while the scorer runs (an
// ACL taken away) stops it, exit 1 with the setting named, instead of a live process retrying for ever (2026-12-04).
import { SAMPLE_NOW, sampleActivity, sampleContract, sampleOpportunity } from '@churnscore/events/testing';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type Admin } from 'kafkajs';
import { KafkaLoginRefusedError } from '@churnscore/kafka';
import { runSimulateCommand } from '@churnscore/simulator';
import { readInputOffsets } from '@churnscore/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SCRAM_MECHANISMS, LOCAL_SCRAM_USER, type LocalScramMechanism } from '../../infra/src/index';
import { testStack } from '../harness/stack';
import { eventually, ManualClock, ScorerTestBed } from '../scorer/support';
import { freePort } from '../scorer/private-redis';
import { quietStream } from '../simulator/support';
import { statusWithin, TestResources } from './service-process';

const API_TEST_TOKEN = 'sasl-test-token-0123456789abcdef';

const WRONG_PASSWORD = 'not-the-local-scram-password';

/** An ACL that refuses the local SCRAM user (the services' login here) an operation on a resource. */
const deniedToScorerUser = (
  resourceType: AclResourceTypes,
  resourceName: string,
  operation: AclOperationTypes,
  resourcePatternType: ResourcePatternTypes = ResourcePatternTypes.LITERAL,
) => ({
  resourceType,
  resourceName,
  resourcePatternType,
  principal: `User:${LOCAL_SCRAM_USER.username}`,
  host: '*',
  operation,
  permissionType: AclPermissionTypes.DENY,
});

/** A scorer test bed whose scorers reach Kafka only through the SASL listener, logged in as `login`. */
class SaslScorerTestBed extends ScorerTestBed {
  login: { mechanism: LocalScramMechanism; password: string } = { mechanism: 'SCRAM-SHA-512', password: LOCAL_SCRAM_USER.password };

  override env(): Record<string, string> {
    return {
      ...super.env(),
      KAFKA_BROKERS: (testStack().kafkaSaslBrokers ?? []).join(','),
      KAFKA_SASL_MECHANISM: this.login.mechanism,
      KAFKA_SASL_USERNAME: LOCAL_SCRAM_USER.username,
      KAFKA_SASL_PASSWORD: this.login.password,
    };
  }
}

// Only the local stack has the SASL listener; external services and containers offer none.
describe.skipIf(testStack().kafkaSaslBrokers === undefined)('a scorer on a SASL/SCRAM listener', () => {
  const bed = new SaslScorerTestBed('sasl');
  const resources = new TestResources();

  beforeAll(() => bed.setUp());
  afterAll(async () => {
    await resources.release();
    await bed.tearDown();
  });

  it.each(LOCAL_SCRAM_MECHANISMS)('logs in with KAFKA_SASL_MECHANISM=%s, consumes, scores and publishes', async (mechanism) => {
    bed.login = { mechanism, password: LOCAL_SCRAM_USER.password };
    const scorer = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now });
    const customerId = `sasl-${mechanism}`;
    await bed.publish([
      sampleActivity({ customerId, eventId: `${customerId}-activity`, activityType: 'MEETING', value: null }),
      sampleOpportunity({ customerId, eventId: `${customerId}-opportunity` }),
      sampleContract({ customerId, eventId: `${customerId}-contract` }),
    ]);

    // Consumed and applied (all three events in the committed score), and published through the same login.
    await eventually(async () => (await bed.scoreHash(customerId)).revision, (revision) => revision === '3', 30_000, 'all three events scored');
    const published = await bed.awaitOutput([bed.topics.scoreChanged], (event) => event.customerId === customerId);
    expect(published.kind).toBe('score-changed');
    await bed.stopScorer(scorer);
  });

  // docs/operations.md: a refused login is a setting to fix, not an outage to wait out: exit 78.
  it('refuses to start with a wrong password (exit 78), naming the settings, never the password', async () => {
    bed.login = { mechanism: 'SCRAM-SHA-512', password: WRONG_PASSWORD };
    const scorer = resources.startService('scorer', { ...bed.env(), LOG_LEVEL: 'info' });

    expect(await scorer.exitWithin(30_000)).toEqual({ code: 78, signal: null });
    expect(scorer.nonJsonLines()).toEqual([]);
    expect(JSON.stringify(scorer.records().at(-1))).toMatch(/KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: the broker refused the login \(SASL SCRAM SHA512 authentication failed: .*invalid credentials/);
    expect(scorer.output).not.toContain(WRONG_PASSWORD);
    expect(scorer.output).not.toContain('scorer started');
  });

  it('has the simulator and ingest refuse a wrong password as a setting to fix (exit 2), naming the settings, never the password', async () => {
    bed.login = { mechanism: 'SCRAM-SHA-512', password: WRONG_PASSWORD };
    const simulating = runSimulateCommand(['--customers', '1', '--days', '5', '--rate', '0'], { env: bed.env(), stdout: process.stdout, stderr: quietStream, signal: new AbortController().signal });
    const refusal = await simulating.then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(KafkaLoginRefusedError);
    expect(String((refusal as Error).message)).toMatch(/^KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: the broker refused the login/);
    expect(String((refusal as Error).message)).not.toContain(WRONG_PASSWORD);
  });

  it('refuses a mechanism the listener does not offer as a setting to fix: the scorer exit 78, the simulator exit 2', async () => {
    // Found by an outside tester: PLAIN on a SCRAM listener exited 1, "KAFKA_BROKERS: no broker answered", and ingest 3.
    const plain = { ...bed.env(), KAFKA_SASL_MECHANISM: 'PLAIN' };
    const scorer = resources.startService('scorer', { ...plain, LOG_LEVEL: 'info' });
    expect(await scorer.exitWithin(30_000)).toEqual({ code: 78, signal: null });
    expect(JSON.stringify(scorer.records().at(-1))).toMatch(/KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: the broker refused the login \(The broker does not support the requested SASL mechanism\)/);
    const refusal = await runSimulateCommand(['--customers', '1', '--days', '5', '--rate', '0'], { env: plain, stdout: process.stdout, stderr: quietStream, signal: new AbortController().signal }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(KafkaLoginRefusedError);
  });

  describe('whose user the broker refuses an operation while it runs', () => {
    // The plain listener's client is a super user of the stack's broker (infra/src/kafka.ts): it grants and denies.
    let admin: Admin;
    beforeAll(async () => {
      admin = new Kafka({ clientId: 'sasl-acls', brokers: testStack().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
    });
    afterAll(() => admin.disconnect());

    it.each([
      { operation: 'WRITE', topic: () => bed.topics.scoreChanged },
      { operation: 'READ', topic: () => bed.topics.activity },
    ] as const)('stops (exit 1) naming KAFKA_SASL_USERNAME when $operation on a topic is denied, and loses no event', async ({ operation, topic }) => {
      bed.login = { mechanism: 'SCRAM-SHA-512', password: LOCAL_SCRAM_USER.password };
      const denial = deniedToScorerUser(AclResourceTypes.TOPIC, topic(), AclOperationTypes[operation]);
      // The customer held back is a new one: its first score is always published (a second meeting of the first
      // customer may move its score too little to publish anything).
      const [customerId, heldBack] = [`granted-${operation.toLowerCase()}`, `denied-${operation.toLowerCase()}`];
      const meeting = (customer: string) => sampleActivity({ customerId: customer, eventId: `${customer}-1`, activityType: 'MEETING', value: null });
      try {
        const scorer = resources.startService('scorer', { ...bed.env(), LOG_LEVEL: 'info' });
        await bed.publish([meeting(customerId)]);
        await eventually(async () => (await bed.scoreHash(customerId)).revision, (revision) => revision === '1', 60_000, 'the first event to be scored');

        await admin.createAcls({ acl: [denial] });
        await bed.publish([meeting(heldBack)]);
        expect(await scorer.exitWithin(30_000)).toEqual({ code: 1, signal: null });
        const last = scorer.records().at(-1)!;
        expect(last).toMatchObject({ level: 'fatal', exitCode: 1 });
        expect(String(last.reason)).toMatch(/^KAFKA_SASL_USERNAME: the broker refused the user an operation \(TOPIC_AUTHORIZATION_FAILED: /);
        expect(scorer.nonJsonLines()).toEqual([]);
        expect(scorer.output).not.toContain(LOCAL_SCRAM_USER.password);
        expect(scorer.output).not.toContain(customerId);
        expect(scorer.output).not.toContain(heldBack);
      } finally {
        // Given back, even when the case failed: the next one must not be refused.
        await admin.deleteAcls({ filters: [denial] });
      }
      resources.startService('scorer', bed.env());
      const published = await bed.awaitOutput(
        [bed.topics.scoreChanged],
        (event) => event.kind === 'score-changed' && event.customerId === heldBack,
        60_000,
      );
      expect(published).toMatchObject({ cause: { kind: 'event', eventId: `${heldBack}-1` } });
      await resources.release();
    }, 180_000);

    // The read API's live feed is not what it serves (reads come from Redis): refused its output topics, it goes on
    // serving, says the feed is not live, and tries again every few seconds rather than in a loop of crashes.
    it('keeps the read API serving when READ on an output topic is denied, retrying its live feed calmly', async () => {
      bed.login = { mechanism: 'SCRAM-SHA-512', password: LOCAL_SCRAM_USER.password };
      const denial = deniedToScorerUser(AclResourceTypes.TOPIC, bed.topics.alerts, AclOperationTypes.READ);
      await admin.createAcls({ acl: [denial] });
      try {
        const port = await freePort();
        const api = resources.startService('api', { ...bed.env(), API_TOKEN: API_TEST_TOKEN, API_PORT: String(port), LOG_LEVEL: 'info' });
        await eventually(() => statusWithin(`http://127.0.0.1:${port}/readyz`, 1_000), (status) => status === 200, 60_000, 'the API to be ready');
        const since = api.records().length;
        await new Promise((resolve) => setTimeout(resolve, 12_000));
        // One attempt every five seconds (RESTART_DELAY_MS of live-feed.ts), each logged once.
        const messages = api.records().slice(since).map((record) => record.msg);
        expect(messages.length).toBeGreaterThan(0);
        expect(messages.length).toBeLessThanOrEqual(4);
        expect(new Set(messages)).toEqual(new Set(['live updates unavailable: cannot consume the output topics']));
        expect(await statusWithin(`http://127.0.0.1:${port}/readyz`, 1_000)).toBe(200);
        expect(await api.exitWithin(0)).toBe('running');
        expect(api.output).not.toContain(LOCAL_SCRAM_USER.password);
      } finally {
        await admin.deleteAcls({ filters: [denial] });
        await resources.release();
      }
    }, 120_000);

    // A start on partitions the group holds no offsets of reads the namespace's last consumed records back through a
    // throw-away group (docs/operations.md, An input topic deleted and created again). A user an ACL keeps from that
    // group must still start: the check cannot judge, and does not stop a start it cannot judge.
    it('starts when the group lost its offsets and the user may not use the last-record check group', async () => {
      bed.login = { mechanism: 'SCRAM-SHA-512', password: LOCAL_SCRAM_USER.password };
      const customerId = 'sasl-check-denied';
      const meeting = (n: number) => sampleActivity({ customerId, eventId: `${customerId}-${n}`, activityType: 'MEETING', value: null });
      const revision = async () => Number((await bed.scoreHash(customerId)).revision ?? 0);
      const first = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now });
      await bed.publish([meeting(1)]);
      await eventually(revision, (applied) => applied === 1, 30_000, 'the first event to be scored');
      const lastRecorded = async () => (await readInputOffsets(bed.redis, bed.prefix)).some(({ lastRecord }) => lastRecord !== undefined);
      await eventually(lastRecorded, (recorded) => recorded, 30_000, 'the last consumed record to be recorded');
      await bed.stopScorer(first);
      await admin.deleteGroups([bed.consumerGroup]);

      const denial = deniedToScorerUser(AclResourceTypes.GROUP, `${bed.consumerGroup}.last-record-check.`, AclOperationTypes.READ, ResourcePatternTypes.PREFIXED);
      await admin.createAcls({ acl: [denial] });
      try {
        const second = await bed.startScorer({ clock: new ManualClock(SAMPLE_NOW).now });
        await bed.publish([meeting(2)]);
        await eventually(revision, (applied) => applied === 2, 60_000, 'the new event to be applied');
        await bed.stopScorer(second);
      } finally {
        await admin.deleteAcls({ filters: [denial] });
      }
    }, 180_000);
  });
});
