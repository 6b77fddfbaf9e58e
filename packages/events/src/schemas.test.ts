import { readFileSync } from 'node:fs';
import {
  ACTIVITY_TYPES,
  ALERT_SEVERITIES,
  ALERT_TYPES,
  CONTRACT_STATUSES,
  CONTRACT_TYPES,
  HEALTH_BANDS,
  LIFECYCLE_STAGES,
  OPPORTUNITY_STAGES,
  RISK_BANDS,
} from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import { EVENT_KINDS, type EventKind } from './event-kinds';
import { EVENTS_DOC, withCurrentReference } from './schema-docs';
import { readerType, schemaSource } from './schemas';

interface Node {
  type?: unknown;
  name?: string;
  doc?: string;
  symbols?: string[];
  default?: unknown;
  fields?: Node[];
  items?: unknown;
}

/** Every type object and field of a schema, with a path for failure messages. */
function walk(schema: unknown, path: string, visit: (node: Node, path: string, isField: boolean) => void): void {
  if (Array.isArray(schema)) return schema.forEach((branch) => walk(branch, path, visit));
  if (typeof schema !== 'object' || schema === null) return;
  const node = schema as Node;
  visit(node, path, false);
  for (const field of node.fields ?? []) {
    visit(field, `${path}.${field.name}`, true);
    walk(field.type, `${path}.${field.name}`, visit);
  }
  if (node.items !== undefined) walk(node.items, `${path}[]`, visit);
}

const parsed = (kind: EventKind) => JSON.parse(schemaSource(kind)) as Node & { namespace: string };

describe.each(EVENT_KINDS)('the %s schema', (kind) => {
  it('parses as Avro', () => {
    expect(readerType(kind).typeName).toBe('record');
  });

  it('lives in a versioned namespace', () => {
    expect(parsed(kind).namespace).toMatch(/^dev\.churnscore\.(crm|customer)\.v1$/);
  });

  it('documents every record, enum and field', () => {
    const undocumented: string[] = [];
    walk(parsed(kind), kind, (node, path, isField) => {
      const documentable = isField || node.fields !== undefined || node.symbols !== undefined;
      if (documentable && !node.doc?.trim()) undocumented.push(path);
    });
    expect(undocumented).toEqual([]);
  });

  it('gives every enum an UNKNOWN default, so old readers survive new symbols', () => {
    walk(parsed(kind), kind, (node, path) => {
      if (node.symbols) {
        expect({ path, first: node.symbols[0], default: node.default }).toEqual({ path, first: 'UNKNOWN', default: 'UNKNOWN' });
      }
    });
  });

  it('makes every nullable field optional, with a null default', () => {
    walk(parsed(kind), kind, (node, path) => {
      if (Array.isArray(node.type) && node.type.includes('null')) {
        expect({ path, first: node.type[0], default: node.default }).toEqual({ path, first: 'null', default: null });
      }
    });
  });
});

describe('schema enums match the domain', () => {
  const symbolsOf = (kind: EventKind, enumName: string) => {
    let symbols: string[] | undefined;
    walk(parsed(kind), kind, (node) => {
      if (node.symbols && node.name === enumName) symbols = node.symbols.filter((symbol) => symbol !== 'UNKNOWN');
    });
    return symbols;
  };
  const upper = (values: readonly string[]) => values.map((value) => value.toUpperCase());

  it.each([
    ['activity', 'ActivityType', ACTIVITY_TYPES],
    ['opportunity', 'OpportunityStage', OPPORTUNITY_STAGES],
    ['contract', 'ContractType', CONTRACT_TYPES],
    ['contract', 'ContractStatus', CONTRACT_STATUSES],
    ['score-changed', 'HealthBand', upper(HEALTH_BANDS)],
    ['score-changed', 'RiskBand', upper(RISK_BANDS)],
    ['score-changed', 'LifecycleStage', LIFECYCLE_STAGES],
    ['alert', 'AlertType', ALERT_TYPES],
    ['alert', 'AlertSeverity', ALERT_SEVERITIES],
    ['alert', 'HealthBand', upper(HEALTH_BANDS)],
  ] as const)('%s %s', (kind, enumName, domain) => {
    expect(symbolsOf(kind, enumName)).toEqual(domain);
  });
});

describe('docs/events.md', () => {
  it('carries the reference generated from the current schemas (npm run docs -w @churnscore/events)', () => {
    const doc = readFileSync(EVENTS_DOC, 'utf8');
    expect(doc).toBe(withCurrentReference(doc));
  });
});
