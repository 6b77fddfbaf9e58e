import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { registryAnswers } from './clients';
import type { Reporter } from './progress';
import { REPO_ROOT } from './settings';
import { desiredTopics, type TopicSpec } from './topics';

export const SCHEMAS_DIR = join(REPO_ROOT, 'schemas');

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export interface SchemaFile {
  file: string;
  /** TopicNameStrategy: `<topic>-value`, where the file is named after the topic's default name. */
  subject: string;
  /** The schema as compact JSON text. */
  schema: string;
  /** The rule set on the subject before the schema is registered (TopicSpec.schemaCompatibility). */
  compatibility: TopicSpec['schemaCompatibility'];
}

export interface SchemaRegistration {
  subject: string;
  file: string;
  id: number;
  version: number | null;
  outcome: 'registered' | 'unchanged';
}

/**
 * Every `schemas/<topic>.avsc`, with its subject. A topic renamed through its TOPIC_* variable keeps
 * its file name but registers under the new topic's subject, matching what the serializers look up.
 */
export function readSchemaFiles(dir: string = SCHEMAS_DIR, env: NodeJS.ProcessEnv = process.env): SchemaFile[] {
  if (!existsSync(dir)) return [];
  const topics = new Map(desiredTopics(env).map((topic) => [topic.defaultName, topic]));
  return readdirSync(dir)
    .filter((name) => name.endsWith('.avsc'))
    .sort()
    .map((name) => {
      const file = join(dir, name);
      const defaultTopic = basename(name, '.avsc');
      const topic = topics.get(defaultTopic);
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        throw new Error(`${displayPath(file)} is not valid JSON: ${(error as Error).message}`);
      }
      return {
        file,
        subject: `${topic?.name ?? defaultTopic}-value`,
        schema: JSON.stringify(parsed),
        compatibility: topic?.schemaCompatibility,
      };
    });
}

/** Repository-relative for the repository's own files, absolute for any other. */
function displayPath(file: string): string {
  const inRepo = relative(REPO_ROOT, file);
  return inRepo.startsWith('..') ? file : inRepo;
}

export class SchemaRegistrationError extends Error {
  constructor(readonly failures: string[]) {
    super(`schema registration failed:\n${failures.map((failure) => `  - ${failure}`).join('\n')}`);
    this.name = 'SchemaRegistrationError';
  }
}

export interface RegisterOptions {
  reporter: Reporter;
  env?: NodeJS.ProcessEnv;
  schemasDir?: string;
}

/**
 * Registers every schema file through the Confluent-compatible API. Idempotent: a schema the subject
 * already has keeps its id. All files are attempted; failures (an incompatible change, an invalid
 * schema) are reported together.
 */
export async function registerSchemas(schemaRegistryUrl: string, options: RegisterOptions): Promise<SchemaRegistration[]> {
  const files = readSchemaFiles(options.schemasDir, options.env);
  if (files.length === 0) {
    options.reporter.step('schemas', `no .avsc files in ${options.schemasDir ?? SCHEMAS_DIR} yet: nothing to register`);
    return [];
  }
  if (!(await registryAnswers(schemaRegistryUrl))) {
    throw new Error(`the schema registry at ${schemaRegistryUrl} does not answer: is the stack up (npm run stack:up)?`);
  }
  const registrations: SchemaRegistration[] = [];
  const failures: string[] = [];
  for (const schemaFile of files) {
    try {
      const registration = await registerOne(schemaRegistryUrl, schemaFile);
      registrations.push(registration);
      options.reporter.step(
        'schemas',
        `${registration.outcome === 'registered' ? 'registered' : 'unchanged '} ${registration.subject} id=${registration.id}` +
          (registration.version === null ? '' : ` version=${registration.version}`),
      );
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  if (failures.length > 0) throw new SchemaRegistrationError(failures);
  return registrations;
}

async function registerOne(baseUrl: string, { file, subject, schema, compatibility }: SchemaFile): Promise<SchemaRegistration> {
  const displayFile = displayPath(file);
  const body = JSON.stringify({ schemaType: 'AVRO', schema });
  const subjectUrl = `${baseUrl}/subjects/${encodeURIComponent(subject)}`;

  if (compatibility !== undefined) {
    // Idempotent; set first, so that the rule also judges this schema against the versions the subject holds.
    const set = await send('PUT', `${baseUrl}/config/${encodeURIComponent(subject)}`, JSON.stringify({ compatibility }));
    if (set.status !== 200) throw new Error(failure(subject, displayFile, `setting compatibility ${compatibility}`, set));
  }

  // Look up first, so an unchanged schema is reported as such rather than as a fresh registration.
  const lookup = await send('POST', subjectUrl, body);
  if (lookup.status === 200) {
    const found = lookup.json as { id: number; version?: number };
    return { subject, file: displayFile, id: found.id, version: found.version ?? null, outcome: 'unchanged' };
  }
  if (lookup.status !== 404) throw new Error(failure(subject, displayFile, 'lookup', lookup));

  const created = await send('POST', `${subjectUrl}/versions`, body);
  if (created.status === 200) {
    return { subject, file: displayFile, id: (created.json as { id: number }).id, version: null, outcome: 'registered' };
  }
  if (created.status === 409) {
    throw new Error(
      `${subject} (${displayFile}) is incompatible with the registered versions under the subject's ` +
        `compatibility rule: ${reason(created)}. Make the change compatible (add fields with defaults, ` +
        'do not remove or retype fields), or publish a new topic version (.v2).',
    );
  }
  throw new Error(failure(subject, displayFile, 'registration', created));
}

interface RegistryResponse {
  status: number;
  json: unknown;
  text: string;
}

async function send(method: 'POST' | 'PUT', url: string, body: string): Promise<RegistryResponse> {
  const response = await fetch(url, {
    method,
    headers: { 'Content-Type': CONTENT_TYPE, Accept: CONTENT_TYPE },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Error pages of proxies are not JSON; `text` keeps them for the message.
  }
  return { status: response.status, json, text };
}

function reason(response: RegistryResponse): string {
  const message = (response.json as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : response.text.slice(0, 500);
}

function failure(subject: string, file: string, step: string, response: RegistryResponse): string {
  return `${subject} (${file}): ${step} answered HTTP ${response.status}: ${reason(response)}`;
}
