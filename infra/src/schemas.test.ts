import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSchemaFiles } from './schemas';

function schemasDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'schemas-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

describe('readSchemaFiles', () => {
  it('maps <topic>.avsc to the <topic>-value subject with compact JSON', () => {
    const dir = schemasDir({ 'crm.activity.v1.avsc': '{\n  "type": "string"\n}\n', 'README.md': 'not a schema' });
    expect(readSchemaFiles(dir, {})).toEqual([
      { file: join(dir, 'crm.activity.v1.avsc'), subject: 'crm.activity.v1-value', schema: '{"type":"string"}', compatibility: 'FULL_TRANSITIVE' },
    ]);
  });

  it("holds an input topic's subject to FULL_TRANSITIVE and leaves an output topic's to the registry's rule", () => {
    const dir = schemasDir({ 'crm.contract.v1.avsc': '"string"', 'customer.alerts.v1.avsc': '"string"' });
    expect(readSchemaFiles(dir, {}).map(({ subject, compatibility }) => [subject, compatibility])).toEqual([
      ['crm.contract.v1-value', 'FULL_TRANSITIVE'],
      ['customer.alerts.v1-value', undefined],
    ]);
  });

  it('registers a renamed topic under its new subject', () => {
    const dir = schemasDir({ 'crm.activity.v1.avsc': '"string"' });
    expect(readSchemaFiles(dir, { TOPIC_ACTIVITY: 'acme.activity.v1' })[0]?.subject).toBe('acme.activity.v1-value');
  });

  it('is empty when the folder does not exist yet', () => {
    expect(readSchemaFiles(join(tmpdir(), 'no-such-schemas-dir'), {})).toEqual([]);
  });

  it('names the file that is not JSON', () => {
    const dir = schemasDir({ 'crm.contract.v1.avsc': '{ nope' });
    expect(() => readSchemaFiles(dir, {})).toThrow(/crm\.contract\.v1\.avsc is not valid JSON/);
  });
});
