// Renders the field reference of docs/events.md from schemas/*.avsc, so the documentation cannot drift from
// the contracts (a unit test fails when it has). Regenerate with `npm run docs -w @churnscore/events`.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TOPICS } from '@churnscore/config';
import { EVENT_KINDS, TOPIC_ROLE_OF_KIND } from './event-kinds';
import { schemaSource } from './schemas';

export const EVENTS_DOC = new URL('../../../docs/events.md', import.meta.url);
const START = '<!-- schema-reference:start (generated from schemas/*.avsc; do not edit by hand) -->';
const END = '<!-- schema-reference:end -->';

interface Field {
  name: string;
  type: Schema;
  doc?: string;
  default?: unknown;
}
type Schema =
  | string
  | Schema[]
  | { type: 'record'; name: string; doc?: string; fields: Field[] }
  | { type: 'enum'; name: string; doc?: string; symbols: string[]; default?: string }
  | { type: 'array'; items: Schema }
  | { type: string; logicalType?: string };

type Named = Extract<Schema, { name: string }>;

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Named types met in a schema, in order: queued to be documented after the record that introduces them. */
class NamedTypes {
  private readonly byName = new Map<string, Named>();
  readonly queue: Named[] = [];

  introduce(named: Named): string {
    if (!this.byName.has(named.name)) {
      this.byName.set(named.name, named);
      this.queue.push(named);
    }
    return `${named.type} ${named.name}`;
  }

  /** A bare name is a primitive type or a reference to a named type introduced earlier. */
  refer(name: string): string {
    const named = this.byName.get(name);
    return named ? `${named.type} ${named.name}` : name;
  }
}

/** A field type in words. */
function describeType(schema: Schema, types: NamedTypes): string {
  if (typeof schema === 'string') return types.refer(schema);
  if (Array.isArray(schema)) {
    const branches = schema.filter((branch) => branch !== 'null');
    const described = branches.map((branch) => describeType(branch, types)).join(' or ');
    return branches.length < schema.length ? `${described}, nullable` : described;
  }
  if ('name' in schema) return types.introduce(schema);
  if (schema.type === 'array' && 'items' in schema) return `array of ${describeType(schema.items, types)}`;
  return 'logicalType' in schema && schema.logicalType ? `${schema.logicalType} (${schema.type})` : schema.type;
}

function renderNamed(named: Named, types: NamedTypes): string[] {
  const heading = [`#### ${named.type} \`${named.name}\``, '', cell(named.doc ?? ''), ''];
  if (named.type === 'enum') {
    const symbols = named.symbols.map((symbol) => `\`${symbol}\``).join(', ');
    return [...heading, `Symbols: ${symbols}; reader default \`${named.default}\`.`, ''];
  }
  const lines = [...heading, '| field | type | default | description |', '|---|---|---|---|'];
  for (const field of named.fields) {
    const fallback = field.default === undefined ? '' : `\`${JSON.stringify(field.default)}\``;
    lines.push(`| \`${field.name}\` | ${cell(describeType(field.type, types))} | ${fallback} | ${cell(field.doc ?? '')} |`);
  }
  lines.push('');
  return lines;
}

/** The Markdown reference of every topic's value schema. */
export function renderSchemaReference(): string {
  const lines: string[] = [];
  for (const kind of EVENT_KINDS) {
    const topic = DEFAULT_TOPICS[TOPIC_ROLE_OF_KIND[kind]];
    const root = JSON.parse(schemaSource(kind)) as Named & { namespace: string };
    lines.push(`### \`${topic}\``, '', `Subject \`${topic}-value\`, namespace \`${root.namespace}\`, file \`schemas/${topic}.avsc\`.`, '');
    const types = new NamedTypes();
    types.introduce(root);
    for (let named = types.queue.shift(); named !== undefined; named = types.queue.shift()) {
      lines.push(...renderNamed(named, types));
    }
  }
  return lines.join('\n').replace(/\n+$/, '\n');
}

/** docs/events.md with its generated block replaced by the current rendering. */
export function withCurrentReference(doc: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/events.md lacks the markers ${START} … ${END}`);
  return `${doc.slice(0, start + START.length)}\n\n${renderSchemaReference()}\n${doc.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(EVENTS_DOC, withCurrentReference(readFileSync(EVENTS_DOC, 'utf8')));
  console.log(`updated ${fileURLToPath(EVENTS_DOC)}`);
}
