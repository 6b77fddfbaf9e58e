// A customer's stored record that does not decode, or decodes to values its response shape refuses (a hand edit, a
// bug, a corrupt restore), is left out of the lists that would show it: one customer's record must not fail every
// user's ranked table or alert list. An outside tester's finding (2026-12-06): one score hash with a health of NaN
// answered 500 for the whole ranked list, one alert book with a character changed for every open alert. Each record
// left out is counted and logged, without the customer's id or the stored text. The customer's own page still
// answers 500: it has nothing else to show.
import { rateLimitedLog, type Logger } from '@churnscore/observability';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { ApiMetrics } from './metrics';

export type UnreadableRecord = 'score' | 'alert book' | 'alert episode';
export type ReportUnreadable = (record: UnreadableRecord) => void;

/** While records keep failing (every page of a list shows the same one), a line at most this often says so. */
const UNREADABLE_LOG_INTERVAL_MS = 60_000;

export function unreadableReporter(metrics: ApiMetrics, logger: Logger): ReportUnreadable {
  const log = rateLimitedLog(logger, 'warn', 'a stored record does not decode: left out of the list that would show it', UNREADABLE_LOG_INTERVAL_MS);
  return (record) => {
    metrics.unreadableRecords.inc({ record });
    log({ record });
  };
}

/** Whether `schema` accepts `value`; if not, it is reported as an unreadable `record`. */
export function conforms(schema: TSchema, value: unknown, record: UnreadableRecord, report: ReportUnreadable): boolean {
  const accepted = Value.Check(schema, value);
  if (!accepted) report(record);
  return accepted;
}
