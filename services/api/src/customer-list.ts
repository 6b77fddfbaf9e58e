// The ranked customer list: a page of a ranking sorted set (overall or per segment), read forward from a
// keyset cursor, with band / risk band / stage filters applied to the score hashes of the ranked entries.
// Filters cannot be answered by the sorted set itself, so a page scans forward in batches until it has
// `limit` matches or has examined SCAN_BUDGET entries, and hands back a cursor where it stopped.
import { hasActiveContract } from '@churnscore/domain';
import { RANKING_METRICS, rankedIn, type RankedEntry, type RankingReader, type ReadStore } from '@churnscore/state';
import { RequestError } from './request-error';
import { CustomerRowSchema, type CustomerListQuery, type CustomerPage, type CustomerRow, type SortOrder } from './schemas';
import { conforms, type ReportUnreadable } from './unreadable-records';

/** Most ranking entries one request examines; bounds the work a selective filter can cause. */
const SCAN_BUDGET = 1_000;
/** Entries read per round trip while filtering: larger batches mean fewer round trips but more wasted reads. */
const FILTERED_BATCH = 200;

interface Cursor {
  /** Score of the last entry examined, exactly as Redis printed it. */
  score: string;
  /** Its member (customerId). */
  member: string;
  /** The ranking and direction the cursor belongs to. */
  ranking: string;
}

/** A sorted set's score as Redis prints it: a decimal number, possibly with an exponent, or ±inf. */
const REDIS_SCORE = /^(?:-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|[-+]?inf)$/i;

const rankingIdentity = (query: CustomerListQuery): string => `${query.sort}:${query.order}:${query.segment ?? ''}`;

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.score, cursor.member, cursor.ranking]), 'utf8').toString('base64url');
}

function decodeCursor(text: string, query: CustomerListQuery): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new RequestError(400, 'cursor is not one this API issued');
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((part) => typeof part === 'string')) {
    throw new RequestError(400, 'cursor is not one this API issued');
  }
  const [score, member, ranking] = parsed as [string, string, string];
  // The score goes to Redis as a range bound: anything but a number as Redis prints one is not ours, and Redis would fail it.
  if (!REDIS_SCORE.test(score)) throw new RequestError(400, 'cursor is not one this API issued');
  if (ranking !== rankingIdentity(query)) {
    throw new RequestError(400, 'cursor belongs to another sort, order or segment: start again without a cursor');
  }
  return { score, member, ranking };
}

/**
 * Index of the first entry after the cursor. Exact while the cursor's customer keeps its score; if its
 * score changed meanwhile, the page restarts at the first entry with the cursor's score, so a page may
 * repeat a customer whose score moved but never skips one whose score did not.
 */
async function startIndex(ranking: RankingReader, order: SortOrder, cursor: Cursor | null): Promise<number> {
  if (cursor === null) return 0;
  const position = await ranking.position(order, cursor.member);
  if (position !== null && position.score === cursor.score) return position.rank + 1;
  return order === 'desc' ? ranking.countAbove(cursor.score) : ranking.countBelow(cursor.score);
}

// A band, like the dashboard's counts of it, is one of the customers under contract: a churned customer's health and
// risk are what they were when it left.
const matchesFilters = (row: CustomerRow, { band, riskBand, stage }: CustomerListQuery): boolean =>
  (band === undefined || (row.band === band && row.underContract)) &&
  (riskBand === undefined || (row.riskBand === riskBand && row.underContract)) &&
  (stage === undefined || row.lifecycleStage === stage);

/** `report`: told of each row left out because its stored score does not decode (unreadable-records.ts). */
export async function listCustomers(store: ReadStore, query: CustomerListQuery, report: ReportUnreadable): Promise<CustomerPage> {
  const { stage } = query;
  if (stage !== undefined && !rankedIn(query.sort, stage)) {
    // The ranking holds no such customer: an empty page would say there are none.
    const ranking = RANKING_METRICS.filter((metric) => rankedIn(metric, stage)).join(' or ');
    throw new RequestError(400, `customers at stage ${stage} have no active contract, so the ${query.sort} ranking holds none of them: sort by ${ranking}`);
  }
  const ranking = store.ranking(query.sort, query.segment ?? null);
  const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor, query);
  const filtered = query.band !== undefined || query.riskBand !== undefined || query.stage !== undefined;
  const batchSize = filtered ? Math.max(query.limit, FILTERED_BATCH) : query.limit;

  // A customer without a contract has a value at risk of 0 (the one ranking that holds it): read from the top, every
  // customer under contract comes first, and a page filtered to such a stage need not examine them.
  const skipsUnderContract = cursor === null && stage !== undefined && !hasActiveContract(stage) && query.order === 'desc';
  const [total, start] = await Promise.all([ranking.size(), skipsUnderContract ? ranking.countAbove('0') : startIndex(ranking, query.order, cursor)]);
  const items: CustomerRow[] = [];
  let scanned = 0;
  let last: RankedEntry | null = null;
  let exhausted = false;
  while (items.length < query.limit && scanned < SCAN_BUDGET && !exhausted) {
    const count = Math.min(batchSize, SCAN_BUDGET - scanned);
    const entries = await ranking.entries(query.order, start + scanned, count);
    exhausted = entries.length < count;
    // The response schema keeps only the row's fields (revision, asOf and nextDueAt stay internal).
    const rows = await store.customerSummaries(entries.map((entry) => entry.customerId));
    for (const [i, entry] of entries.entries()) {
      scanned += 1;
      last = entry;
      const summary = rows[i]; // null: erased after the ranking was read
      const row = summary && { ...summary, underContract: hasActiveContract(summary.lifecycleStage) };
      if (row && conforms(CustomerRowSchema, row, 'score', report) && matchesFilters(row, query)) items.push(row);
      if (items.length === query.limit) {
        // Stopped inside the batch: the entries after this one are still to come.
        exhausted &&= i === entries.length - 1;
        break;
      }
    }
  }
  const nextCursor =
    exhausted || last === null ? null : encodeCursor({ score: last.score, member: last.customerId, ranking: rankingIdentity(query) });
  return { items, nextCursor, total, scanned };
}
