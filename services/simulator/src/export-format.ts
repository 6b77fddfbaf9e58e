import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { InputEvent } from '@churnscore/domain';
import { pumpEvents, type PumpOptions } from './pump';

/** Contract dates are whole UTC days; every other time is an instant. */
const DATE_FIELDS = new Set(['startDate', 'endDate']);

/**
 * An event as a file-export record: the event's own field names (plus `kind`), instants as ISO 8601
 * UTC timestamps and contract dates as `YYYY-MM-DD`. This is the format `npm run ingest` reads back.
 */
export function toExportRecord(event: InputEvent): Record<string, string | number | boolean | null> {
  // `kind` first: it tells a reader of the file what the rest of the line is.
  const { kind, ...fields } = event;
  return Object.fromEntries(
    Object.entries({ kind, ...fields }).map(([field, value]) => {
      if (field === 'occurredAt') return [field, new Date(value as number).toISOString()];
      if (DATE_FIELDS.has(field)) return [field, new Date(value as number).toISOString().slice(0, 10)];
      return [field, value as string | number | boolean | null];
    }),
  );
}

export const toNdjsonLine = (event: InputEvent): string => `${JSON.stringify(toExportRecord(event))}\n`;

/** Writes events as NDJSON export records, paced like a publish, honouring the stream's backpressure. */
export function writeNdjson(out: Writable, options: PumpOptions): Promise<number> {
  return pumpEvents(options, async (batch) => {
    if (!out.write(batch.map(toNdjsonLine).join(''))) await once(out, 'drain');
  });
}
