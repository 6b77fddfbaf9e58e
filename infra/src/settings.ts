import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Loopback only: the local stack is a developer tool and must never be reachable from the network. */
export const STACK_HOST = '127.0.0.1';

export type ComponentName = 'kafka' | 'registry' | 'redis';
export const COMPONENTS: readonly ComponentName[] = ['kafka', 'registry', 'redis'];

/** One TCP port of the stack and the environment variable that moves it. */
export interface PortSetting {
  port: number;
  envVar: string;
}

export interface StackSettings {
  /** `.stack/`: everything the running stack writes (data, pid files, logs). */
  stackDir: string;
  dataDir: string;
  runDir: string;
  logDir: string;
  /** Downloaded and unpacked binaries, shared by every checkout of the repository. */
  cacheDir: string;
  ports: {
    kafka: PortSetting;
    kafkaController: PortSetting;
    /** Kafka's SASL_PLAINTEXT listener (SCRAM), for testing authenticated clients. */
    kafkaSasl: PortSetting;
    registry: PortSetting;
    redis: PortSetting;
  };
}

/** Endpoints clients need; the same shape whether the stack is local, containers or external. */
export interface StackEndpoints {
  kafkaBrokers: string[];
  /**
   * The local stack's SASL_PLAINTEXT listener, where clients log in with SCRAM as LOCAL_SCRAM_USER
   * (infra/src/kafka.ts); absent for external services and containers.
   */
  kafkaSaslBrokers?: string[];
  /** The Confluent-compatible API root, e.g. http://127.0.0.1:18081/apis/ccompat/v7 */
  schemaRegistryUrl: string;
  redisUrl: string;
}

export const ENDPOINT_ENV_VARS = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'REDIS_URL'] as const;

// Non-standard defaults (the usual port + 10000) so the stack never collides with a Kafka, registry
// or Redis the developer already runs on the standard ports.
const DEFAULT_PORTS = {
  kafka: { envVar: 'STACK_KAFKA_PORT', port: 19092 },
  kafkaController: { envVar: 'STACK_KAFKA_CONTROLLER_PORT', port: 19093 },
  kafkaSasl: { envVar: 'STACK_KAFKA_SASL_PORT', port: 19094 },
  registry: { envVar: 'STACK_REGISTRY_PORT', port: 18081 },
  redis: { envVar: 'STACK_REDIS_PORT', port: 16379 },
} as const;

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function loadSettings(env: NodeJS.ProcessEnv = process.env): StackSettings {
  const stackDir = resolve(env.STACK_DIR ?? join(REPO_ROOT, '.stack'));
  const ports = {
    kafka: readPort(env, DEFAULT_PORTS.kafka),
    kafkaController: readPort(env, DEFAULT_PORTS.kafkaController),
    kafkaSasl: readPort(env, DEFAULT_PORTS.kafkaSasl),
    registry: readPort(env, DEFAULT_PORTS.registry),
    redis: readPort(env, DEFAULT_PORTS.redis),
  };
  assertDistinctPorts(Object.values(ports));
  return {
    stackDir,
    dataDir: join(stackDir, 'data'),
    runDir: join(stackDir, 'run'),
    logDir: join(stackDir, 'logs'),
    cacheDir: resolve(env.STACK_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'churnscore')),
    ports,
  };
}

/** The endpoints of the local stack for the given settings. */
export function localEndpoints(settings: StackSettings): StackEndpoints {
  const { ports } = settings;
  return {
    kafkaBrokers: [`${STACK_HOST}:${ports.kafka.port}`],
    kafkaSaslBrokers: [`${STACK_HOST}:${ports.kafkaSasl.port}`],
    schemaRegistryUrl: `http://${STACK_HOST}:${ports.registry.port}/apis/ccompat/v7`,
    redisUrl: `redis://${STACK_HOST}:${ports.redis.port}`,
  };
}

/**
 * Endpoints given through KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL, or null when none is set
 * or when the three name this checkout's own local stack: `stack:up` prints them to be exported, and a
 * shell that did so must still get its stack started again after a crash, not waited for as someone
 * else's services. A partial set is refused: silently mixing an external Kafka with a local Redis
 * would be a surprise.
 */
export function externalEndpoints(env: NodeJS.ProcessEnv = process.env): StackEndpoints | null {
  const given = endpointsFromEnv(env);
  return given === null || namesLocalStack(given, localEndpoints(loadSettings(env))) ? null : given;
}

function endpointsFromEnv(env: NodeJS.ProcessEnv): StackEndpoints | null {
  const set = ENDPOINT_ENV_VARS.filter((name) => (env[name] ?? '').trim() !== '');
  if (set.length === 0) return null;
  if (set.length < ENDPOINT_ENV_VARS.length) {
    const missing = ENDPOINT_ENV_VARS.filter((name) => !set.includes(name));
    throw new Error(
      `${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not: ` +
        'set all three to use existing services, or none to use the local stack.',
    );
  }
  return {
    kafkaBrokers: (env.KAFKA_BROKERS ?? '')
      .split(',')
      .map((broker) => broker.trim())
      .filter((broker) => broker !== ''),
    schemaRegistryUrl: (env.SCHEMA_REGISTRY_URL ?? '').trim().replace(/\/+$/, ''),
    redisUrl: (env.REDIS_URL ?? '').trim(),
  };
}

/** The same addresses as the local stack's, `localhost` taken for its loopback address, a Redis URL's `/0` for none. */
function namesLocalStack(given: StackEndpoints, local: StackEndpoints): boolean {
  // `localhost` is the loopback address; a Redis URL's database 0 is the one it names without any.
  const canonical = (address: string): string =>
    address.replace(/^(\w+:\/\/)?localhost(?=[:/]|$)/i, `$1${STACK_HOST}`).replace(/^(rediss?:\/\/[^/]*)\/0$/, '$1').replace(/\/+$/, '');
  const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((address, index) => canonical(address) === canonical(b[index] ?? ''));
  return (
    same(given.kafkaBrokers, local.kafkaBrokers) &&
    canonical(given.schemaRegistryUrl) === canonical(local.schemaRegistryUrl) &&
    canonical(given.redisUrl) === canonical(local.redisUrl)
  );
}

/** Hides the password of a URL such as redis://user:secret@host:6379 before it is printed. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

function readPort(env: NodeJS.ProcessEnv, fallback: PortSetting): PortSetting {
  const raw = env[fallback.envVar];
  if (raw === undefined || raw.trim() === '') return { ...fallback };
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`${fallback.envVar}=${raw} is not a TCP port (1-65535).`);
  }
  return { envVar: fallback.envVar, port };
}

function assertDistinctPorts(ports: PortSetting[]): void {
  for (const [index, candidate] of ports.entries()) {
    const clash = ports.slice(index + 1).find((other) => other.port === candidate.port);
    if (clash) throw new Error(`${candidate.envVar} and ${clash.envVar} are both ${candidate.port}: each needs its own port.`);
  }
}
