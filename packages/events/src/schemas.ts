import { readFileSync } from 'node:fs';
import type avro from 'avsc';
import { schemaFileName, type EventKind } from './event-kinds';
import { strictReaderType } from './strict-avro';

/** The repository's `schemas/` directory: the Avro contracts, one file per topic value. */
const SCHEMAS_DIR = new URL('../../../schemas/', import.meta.url);

const sources = new Map<EventKind, string>();
const readerTypes = new Map<EventKind, avro.Type>();

/** The schema file's text, as registered in the schema registry. */
export function schemaSource(kind: EventKind): string {
  let source = sources.get(kind);
  if (source === undefined) {
    source = readFileSync(new URL(schemaFileName(kind), SCHEMAS_DIR), 'utf8');
    sources.set(kind, source);
  }
  return source;
}

/**
 * The schema this code reads every message of `kind` as, whatever schema the producer wrote it with.
 * Logical types stay raw (timestamp-millis as epoch ms, date as days), which is what the domain uses; booleans
 * and longs are read strictly and safely (see strict-avro.ts).
 */
export function readerType(kind: EventKind): avro.Type {
  let type = readerTypes.get(kind);
  if (type === undefined) {
    type = strictReaderType(JSON.parse(schemaSource(kind)) as avro.Schema);
    readerTypes.set(kind, type);
  }
  return type;
}
