// Variants of the repository's schemas as other producers might write them, for evolution and rejection tests.
import type { EventKind } from '../event-kinds';
import { schemaSource } from '../schemas';

interface AvroField {
  name: string;
  type: unknown;
  default?: unknown;
  doc?: string;
}
interface AvroRecordSchema {
  type: 'record';
  name: string;
  namespace?: string;
  doc?: string;
  fields: AvroField[];
}

const parse = (kind: EventKind) => JSON.parse(schemaSource(kind)) as AvroRecordSchema;

/** A compatible next version: the schema plus an optional field with a null default. */
export function withOptionalField(kind: EventKind, name: string, type: 'string' | 'double' | 'long' = 'string'): string {
  const schema = parse(kind);
  schema.fields.push({ name, type: ['null', type], default: null, doc: `Added in a later version (${name}).` });
  return JSON.stringify(schema);
}

/** The schema without one of its fields, as a producer built against another contract would write. */
export function withoutField(kind: EventKind, name: string): string {
  const schema = parse(kind);
  schema.fields = schema.fields.filter((field) => field.name !== name);
  return JSON.stringify(schema);
}

/** The schema with one field's type replaced, e.g. an amount sent as a string. */
export function withFieldType(kind: EventKind, name: string, type: unknown): string {
  const schema = parse(kind);
  schema.fields = schema.fields.map((field) => (field.name === name ? { ...field, type } : field));
  return JSON.stringify(schema);
}

/** The schema with a symbol added to the enum of a top-level field, as a newer writer would have it. */
export function withEnumSymbol(kind: EventKind, name: string, symbol: string): string {
  const schema = parse(kind);
  schema.fields = schema.fields.map((field) => {
    if (field.name !== name) return field;
    const enumType = field.type as { symbols: string[] };
    return { ...field, type: { ...enumType, symbols: [...enumType.symbols, symbol] } };
  });
  return JSON.stringify(schema);
}
