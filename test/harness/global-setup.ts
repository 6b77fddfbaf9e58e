// Global setup of the `integration` vitest project: finds or starts the stack once per run,
// provisions topics and schemas, and hands the endpoints to the tests (see ./stack.ts).
//
// The `stack` key of vitest's ProvidedContext is declared in ./stack.ts.
//
// Which stack, in order:
//   1. KAFKA_BROKERS + SCHEMA_REGISTRY_URL + REDIS_URL all set: those services.
//   2. A Docker engine answers (or TEST_STACK=containers): throw-away containers.
//   3. Otherwise, or TEST_STACK=local: the local stack of infra/, reused if running, started if not.
//      It is left running afterwards so the next run starts in seconds (`npm run stack:down` stops it).
import type { TestProject } from 'vitest/node';
import { createReporter, ensureStack, externalEndpoints, provisionStack } from '../../infra/src/index';
import type { Reporter, StackEndpoints } from '../../infra/src/index';
import { containerRuntimeAvailable, startContainerStack } from './containers';

type Teardown = () => Promise<void>;

export default async function setup(project: TestProject): Promise<Teardown | undefined> {
  const reporter = createReporter((line) => console.log(`[stack] ${line}`));
  const { endpoints, teardown } = await acquireStack(reporter);
  try {
    await provisionStack(endpoints, { reporter });
  } catch (error) {
    await teardown?.();
    throw error;
  }
  project.provide('stack', endpoints);
  return teardown;
}

async function acquireStack(reporter: Reporter): Promise<{ endpoints: StackEndpoints; teardown?: Teardown }> {
  const choice = process.env.TEST_STACK ?? 'auto';
  if (!['auto', 'local', 'containers'].includes(choice)) {
    throw new Error(`TEST_STACK=${choice}: expected local, containers or unset`);
  }
  const useContainers =
    externalEndpoints() === null && (choice === 'containers' || (choice === 'auto' && (await containerRuntimeAvailable())));
  if (useContainers) {
    const containers = await startContainerStack(reporter);
    return { endpoints: containers.endpoints, teardown: containers.stop };
  }
  const { kafkaBrokers, kafkaSaslBrokers, schemaRegistryUrl, redisUrl } = await ensureStack({ reporter });
  // Only the endpoints: the provided value is serialised to the test workers.
  return { endpoints: { kafkaBrokers, kafkaSaslBrokers, schemaRegistryUrl, redisUrl } };
}
