// The stack as throw-away containers, for machines with a Docker engine. It mirrors the local
// stack's settings (BROKER_SETTINGS, REGISTRY_PROPERTIES) so tests behave the same on both.
// Not exercised where the project was built (no Docker there): keep it small and boring.
import { createServer } from 'node:net';
import { GenericContainer, Wait, getContainerRuntimeClient } from 'testcontainers';
import type { StartedTestContainer } from 'testcontainers';
import { BROKER_SETTINGS, REGISTRY_PROPERTIES, propertyAsEnvVar } from '../../infra/src/index';
import type { Reporter, StackEndpoints } from '../../infra/src/index';

const KAFKA_IMAGE = 'apache/kafka:4.1.2';
const REGISTRY_IMAGE = 'apicurio/apicurio-registry:3.3.3';
// Debian 12's Redis, which the local stack runs, is 7.0.
const REDIS_IMAGE = 'redis:7.0';

export interface ContainerStack {
  endpoints: StackEndpoints;
  stop(): Promise<void>;
}

/** True when testcontainers finds a working Docker (or compatible) engine. */
export async function containerRuntimeAvailable(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startContainerStack(reporter: Reporter): Promise<ContainerStack> {
  const runtime = await getContainerRuntimeClient();
  const host = runtime.info.containerRuntime.host;
  reporter.step('stack', `starting ${KAFKA_IMAGE}, ${REGISTRY_IMAGE} and ${REDIS_IMAGE} with testcontainers`);
  const [kafka, registry, redis] = await Promise.all([startKafka(host), startRegistry(), startRedis()]);
  reporter.step('stack', 'containers ready');
  return {
    endpoints: {
      kafkaBrokers: [`${host}:${kafka.getMappedPort(9092)}`],
      schemaRegistryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
      redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
    },
    stop: async () => {
      await Promise.all([kafka.stop(), registry.stop(), redis.stop()]);
    },
  };
}

/**
 * Kafka advertises the address clients must use, which has to be known before the container starts:
 * so the host port is picked here and bound explicitly instead of letting Docker choose it.
 */
async function startKafka(host: string): Promise<StartedTestContainer> {
  const hostPort = await freePort();
  // The apache/kafka image turns KAFKA_FOO_BAR into the server property foo.bar.
  const tuning = Object.fromEntries(Object.entries(BROKER_SETTINGS).map(([key, value]) => [`KAFKA_${key.toUpperCase().replace(/\./g, '_')}`, value]));
  return new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: 9092, host: hostPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${hostPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      ...tuning,
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
}

function startRegistry(): Promise<StartedTestContainer> {
  // In-memory storage is right for a container that lives as long as one test run.
  const environment = Object.fromEntries(Object.entries(REGISTRY_PROPERTIES).map(([key, value]) => [propertyAsEnvVar(key), value]));
  return new GenericContainer(REGISTRY_IMAGE)
    .withExposedPorts(8080)
    .withEnvironment(environment)
    .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080).forStatusCode(200))
    .withStartupTimeout(120_000)
    .start();
}

function startRedis(): Promise<StartedTestContainer> {
  return new GenericContainer(REDIS_IMAGE)
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
