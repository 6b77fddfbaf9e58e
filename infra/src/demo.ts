import { ensureStack, provisionStack } from './index';
import type { Reporter } from './progress';
import { redactUrl } from './settings';
import type { StackEndpoints } from './settings';

/** The lines a shell (or another service) needs to reach the stack. */
export function endpointExports(endpoints: StackEndpoints): string[] {
  return [
    `export KAFKA_BROKERS=${endpoints.kafkaBrokers.join(',')}`,
    `export SCHEMA_REGISTRY_URL=${endpoints.schemaRegistryUrl}`,
    `export REDIS_URL=${redactUrl(endpoints.redisUrl)}`,
  ];
}

/**
 * `npm start`: the whole product on one machine. For now that is the stack with its topics and
 * schemas; the scorer, read API and simulator join here as they land, each started with the
 * endpoints below in its environment.
 */
export async function runDemo(reporter: Reporter): Promise<void> {
  const stack = await ensureStack({ reporter });
  await provisionStack(stack, { reporter });
  console.log(['', 'The stack is ready. Endpoints:', ...endpointExports(stack).map((line) => `  ${line}`)].join('\n'));
  console.log('\nStop it with `npm run stack:down`; its data stays in .stack/ until `npm run stack:reset`.');
}
