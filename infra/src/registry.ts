import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bundleCacheDir, ensureBundle, extractTarball, readPomProperty } from './artifacts';
import { registryAnswers, registryVersion } from './clients';
import type { Component, LaunchSpec } from './component';
import { componentDataDir } from './component';
import { findJava } from './java';
import type { Reporter } from './progress';
import { REPO_ROOT, STACK_HOST } from './settings';
import type { StackSettings } from './settings';

const POM_PATH = join(REPO_ROOT, 'infra/registry/pom.xml');

/**
 * Apicurio Registry settings, shared with docker-compose.yml and the testcontainers harness (as
 * APICURIO_* environment variables there) so every way of running the stack behaves the same.
 */
export const REGISTRY_PROPERTIES: Readonly<Record<string, string>> = {
  // Producers of SPEC §1 evolve their schemas; BACKWARD lets consumers upgrade first, as Confluent's default.
  'apicurio.rules.global.compatibility': 'BACKWARD',
  // Confluent's registry matches a schema by its parsed form, so a client that formats the same schema
  // differently (Java's Schema.toString(), Python's json.dumps) still finds the id registered here.
  'apicurio.ccompat.use-canonical-hash': 'true',
  // Confluent allows deleting subjects and versions; tests that clean up after themselves rely on it.
  'apicurio.rest.deletion.group.enabled': 'true',
  'apicurio.rest.deletion.artifact.enabled': 'true',
  'apicurio.rest.deletion.artifact-version.enabled': 'true',
};

/** Environment-variable spelling of a Quarkus/Apicurio property, as the container images read them. */
export function propertyAsEnvVar(property: string): string {
  return property.toUpperCase().replace(/[.-]/g, '_');
}

const registryVersionInPom = (): string => readPomProperty(POM_PATH, 'apicurio.version');
const registryLabel = (): string => `Apicurio Registry ${registryVersionInPom()}`;
const registryHome = (settings: StackSettings): string =>
  bundleCacheDir(settings.cacheDir, 'apicurio-registry', registryVersionInPom(), POM_PATH);

// 3.3.x is compiled for Java 21; the reachable Maven Central has no 3.1.x that would run on 17.
const findRegistryJava = () =>
  findJava({ purpose: registryLabel(), minMajor: 21, homeEnvVar: 'REGISTRY_JAVA_HOME', preference: 'newest-first' });

async function install(settings: StackSettings, reporter: Reporter): Promise<void> {
  const bundle = { scope: 'registry', label: registryLabel(), pomPath: POM_PATH, cacheDir: registryHome(settings) };
  await ensureBundle(bundle, reporter, extractTarball);
  // Fail now, not at the first start, when the machine lacks a Java recent enough to run it.
  await findRegistryJava();
}

async function prepare(settings: StackSettings, reporter: Reporter): Promise<LaunchSpec> {
  await install(settings, reporter);
  const home = registryHome(settings);
  const label = registryLabel();
  const { java, major } = await findRegistryJava();

  const dataDir = componentDataDir(settings, 'registry');
  const scratchDir = join(dataDir, 'tmp');
  mkdirSync(scratchDir, { recursive: true });
  const properties: Record<string, string> = {
    'quarkus.http.host': STACK_HOST,
    'quarkus.http.port': String(settings.ports.registry.port),
    // Health and metrics live on a second "management" port (default 9000, a popular port). The
    // stack probes the main API instead, so let the OS pick a free port rather than risk a clash.
    'quarkus.management.host': STACK_HOST,
    'quarkus.management.port': '0',
    // Persistent storage: Kafka messages carry schema ids, so the ids must survive stack:down/up.
    'apicurio.storage.kind': 'sql',
    'apicurio.storage.sql.kind': 'h2',
    'apicurio.datasource.url': `jdbc:h2:file:${join(dataDir, 'db')}`,
    // One line per request drowns the log: every serializer lookup and status probe would add one.
    'quarkus.http.access-log.enabled': 'false',
    // Snapshots and imports default to /tmp, shared with every other program; keep them with the data.
    'apicurio.storage.snapshot.location': scratchDir,
    'apicurio.import.work-dir': scratchDir,
    ...REGISTRY_PROPERTIES,
  };
  reporter.step('registry', `starting ${label} on ${STACK_HOST}:${settings.ports.registry.port} (Java ${major})`);
  return {
    command: java,
    args: [
      '-Xms128m',
      '-Xmx512m',
      '-XX:+ExitOnOutOfMemoryError',
      ...Object.entries(properties).map(([key, value]) => `-D${key}=${value}`),
      '-jar',
      join(home, 'quarkus-run.jar'),
    ],
  };
}

export const registryComponent: Component = {
  name: 'registry',
  title: 'Apicurio Registry',
  ports: (settings) => [settings.ports.registry],
  address: (endpoints) => endpoints.schemaRegistryUrl,
  install,
  prepare,
  matchesArgv: (argv) => argv.some((arg) => arg.endsWith('quarkus-run.jar')),
  answers: (endpoints) => registryAnswers(endpoints.schemaRegistryUrl),
  version: (endpoints) => registryVersion(endpoints.schemaRegistryUrl),
  startTimeoutMs: 120_000,
  stopGraceMs: 15_000,
};
