// ISO 8601 instants as exports and command lines carry them, read strictly: one reading, whatever the machine's time zone.

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|([+-])(\d{2}):?(\d{2})))?$/;

/**
 * Epoch ms of an ISO 8601 date (`2025-03-01`, UTC midnight) or timestamp with a zone
 * (`2025-03-01T09:30:00Z`, `…+02:00`); null otherwise. Strict, unlike `Date.parse`, which reads
 * 2025-02-30 as 2 March and a time without a zone as local time.
 */
export function parseIsoInstant(text: string): number | null {
  const match = ISO_INSTANT.exec(text.trim());
  if (match === null) return null;
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1, 7).map((part) => Number(part ?? 0));
  const millis = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const [sign, offsetHours, offsetMinutes] = [match[9], Number(match[10] ?? 0), Number(match[11] ?? 0)];
  const utc = Date.UTC(year!, month! - 1, day, hour, minute, second, millis);
  const date = new Date(utc);
  const fieldsHold =
    date.getUTCFullYear() === year && date.getUTCMonth() === month! - 1 && date.getUTCDate() === day &&
    hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
  if (!fieldsHold) return null;
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000 * (sign === '-' ? -1 : 1);
  return utc - offsetMs;
}
