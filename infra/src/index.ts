// The local stack as a library: the CLI (cli.ts), the test harness, the demo runner and the
// benchmarks all go through these functions, so there is one way to get a working stack.
import type { Component } from './component';
import type { Reporter } from './progress';
import { createReporter, waitUntil } from './progress';
import type { SchemaRegistration } from './schemas';
import { registerSchemas } from './schemas';
import type { StackEndpoints } from './settings';
import { externalEndpoints, loadSettings, redactUrl } from './settings';
import { STACK_COMPONENTS, upLocal } from './stack';
import type { ProvisionResult } from './topics';
import { provisionTopics } from './topics';

export type { StackEndpoints, StackSettings, ComponentName } from './settings';
export { ENDPOINT_ENV_VARS, externalEndpoints, loadSettings, localEndpoints, redactUrl } from './settings';
export { TOPIC_SPECS, TopicDriftError, createTopics, deleteTopics, desiredTopics, provisionTopics } from './topics';
export type { DesiredTopic, ProvisionResult, TopicSpec } from './topics';
export { SCHEMAS_DIR, SchemaRegistrationError, readSchemaFiles, registerSchemas } from './schemas';
export type { SchemaRegistration } from './schemas';
export { connectRedis } from './clients';
export { BROKER_SETTINGS, LOCAL_SCRAM_MECHANISMS, LOCAL_SCRAM_USER, kafkaJavaRuntime } from './kafka';
export type { KafkaJavaRuntime, LocalScramMechanism } from './kafka';
export { REGISTRY_PROPERTIES, propertyAsEnvVar } from './registry';
export { createReporter, silentReporter } from './progress';
export type { LineWriter, Reporter } from './progress';

export interface EnsureStackOptions {
  /** Environment to read ports and endpoint variables from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where progress lines go; defaults to console.log with elapsed seconds. */
  reporter?: Reporter;
}

export interface EnsuredStack extends StackEndpoints {
  /** True when this call started at least one local component. */
  started: boolean;
  /** `external`: KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL were all set and nothing was started. */
  mode: 'local' | 'external';
}

const EXTERNAL_WAIT_MS = 30_000;

// Two callers in one process (a demo that also runs checks, say) share one bring-up rather than
// waiting on the cross-process lock that their own process holds.
let inFlight: Promise<EnsuredStack> | null = null;

/**
 * A running stack: the services named by KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL when all
 * three are set (checked to answer), else the local stack, reused when running and started when not.
 * Topics and schemas are not touched: see `provisionStack`.
 */
export function ensureStack(options: EnsureStackOptions = {}): Promise<EnsuredStack> {
  inFlight ??= bringUpStack(options).finally(() => {
    inFlight = null;
  });
  return inFlight;
}

async function bringUpStack(options: EnsureStackOptions): Promise<EnsuredStack> {
  const env = options.env ?? process.env;
  const reporter = options.reporter ?? createReporter();
  const external = externalEndpoints(env);
  if (external !== null) {
    await Promise.all(STACK_COMPONENTS.map((component) => waitForExternal(component, external, reporter)));
    return { ...external, started: false, mode: 'external' };
  }
  const { endpoints, started } = await upLocal(loadSettings(env), reporter);
  return { ...endpoints, started, mode: 'local' };
}

async function waitForExternal(component: Component, endpoints: StackEndpoints, reporter: Reporter): Promise<void> {
  const address = redactUrl(component.address(endpoints));
  await waitUntil(reporter, component.name, `${component.title} at ${address}`, () => component.answers(endpoints), {
    timeoutMs: EXTERNAL_WAIT_MS,
  });
  reporter.step(component.name, `using ${address}`);
}

export interface ProvisionStackOptions {
  env?: NodeJS.ProcessEnv;
  reporter?: Reporter;
  /** Report topic drift as warnings instead of failing. */
  allowDrift?: boolean;
}

/** Creates the SPEC §2 topics and registers `schemas/*.avsc`; idempotent. */
export async function provisionStack(
  endpoints: StackEndpoints,
  options: ProvisionStackOptions = {},
): Promise<{ topics: ProvisionResult; schemas: SchemaRegistration[] }> {
  const reporter = options.reporter ?? createReporter();
  const topics = await provisionTopics(endpoints.kafkaBrokers, { reporter, env: options.env, allowDrift: options.allowDrift });
  const schemas = await registerSchemas(endpoints.schemaRegistryUrl, { reporter, env: options.env });
  return { topics, schemas };
}
