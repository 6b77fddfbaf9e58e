import type { InputEvent } from '@churnscore/domain';

/** Contract dates are whole UTC days; every other time is an instant. */
const DATE_FIELDS = new Set(['startDate', 'endDate']);

/**
 * An event as a file-export record: the event's own field names (plus `kind`), instants as ISO 8601
 * UTC timestamps and contract dates as `YYYY-MM-DD`. This is the format `npm run ingest` reads back.
 */
export function toExportRecord(event: InputEvent): Record<string, string | number | boolean | null> {
  return Object.fromEntries(
    Object.entries(event).map(([field, value]) => {
      if (field === 'occurredAt') return [field, new Date(value as number).toISOString()];
      if (DATE_FIELDS.has(field)) return [field, new Date(value as number).toISOString().slice(0, 10)];
      return [field, value as string | number | boolean | null];
    }),
  );
}

export const toNdjsonLine = (event: InputEvent): string => `${JSON.stringify(toExportRecord(event))}\n`;
