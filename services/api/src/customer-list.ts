// The ranked customer list: a page of a ranking sorted set (overall or per segment), read forward from a
// keyset cursor, with band / risk band / stage filters applied to the score hashes of the ranked entries.
// Filters cannot be answered by the sorted set itself, so a page scans forward in batches until it has
// `limit` matches or has examined SCAN_BUDGET entries, and hands back a cursor where it stopped.
import { decodeScoreSummary } from '@churnscore/state';
import { memberScorePairs, RequestError, type ReadContext } from './read-context';
import type { CustomerListQuery, CustomerPage, CustomerRow, SortOrder } from './schemas';

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
async function startIndex({ redis }: ReadContext, key: string, order: SortOrder, cursor: Cursor | null): Promise<number> {
  if (cursor === null) return 0;
  const [rank, score] = await Promise.all([
    order === 'desc' ? redis.zrevrank(key, cursor.member) : redis.zrank(key, cursor.member),
    redis.zscore(key, cursor.member),
  ]);
  if (rank !== null && score === cursor.score) return rank + 1;
  return order === 'desc' ? redis.zcount(key, `(${cursor.score}`, '+inf') : redis.zcount(key, '-inf', `(${cursor.score}`);
}

async function readRows({ redis, keys }: ReadContext, customerIds: readonly string[]): Promise<Array<CustomerRow | null>> {
  return Promise.all(
    customerIds.map(async (customerId) => {
      const k = keys.customer(customerId);
      const [scoreHash, nextRenewalAt] = await Promise.all([redis.hgetall(k.score), redis.hget(k.insights, 'nextRenewalAt')]);
      const summary = decodeScoreSummary(customerId, scoreHash);
      if (summary === null) return null; // erased after the ranking was read
      // The response schema keeps only the row's fields (revision, asOf and nextDueAt stay internal).
      return { ...summary, nextRenewalAt: nextRenewalAt === null ? null : Number(nextRenewalAt) };
    }),
  );
}

const matchesFilters = (row: CustomerRow, { band, riskBand, stage }: CustomerListQuery): boolean =>
  (band === undefined || row.band === band) &&
  (riskBand === undefined || row.riskBand === riskBand) &&
  (stage === undefined || row.lifecycleStage === stage);

export async function listCustomers(context: ReadContext, query: CustomerListQuery): Promise<CustomerPage> {
  const { redis, keys } = context;
  const key = keys.ranking(query.sort, query.segment ?? null);
  const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor, query);
  const filtered = query.band !== undefined || query.riskBand !== undefined || query.stage !== undefined;
  const batchSize = filtered ? Math.max(query.limit, FILTERED_BATCH) : query.limit;

  const [total, start] = await Promise.all([redis.zcard(key), startIndex(context, key, query.order, cursor)]);
  const items: CustomerRow[] = [];
  let scanned = 0;
  let last: { member: string; score: string } | null = null;
  let exhausted = false;
  while (items.length < query.limit && scanned < SCAN_BUDGET && !exhausted) {
    const from = start + scanned;
    const count = Math.min(batchSize, SCAN_BUDGET - scanned);
    const flat =
      query.order === 'desc'
        ? await redis.zrange(key, from, from + count - 1, 'REV', 'WITHSCORES')
        : await redis.zrange(key, from, from + count - 1, 'WITHSCORES');
    const entries = memberScorePairs(flat);
    exhausted = entries.length < count;
    const rows = await readRows(
      context,
      entries.map((entry) => entry.member),
    );
    for (const [i, entry] of entries.entries()) {
      scanned += 1;
      last = entry;
      const row = rows[i];
      if (row && matchesFilters(row, query)) items.push(row);
      if (items.length === query.limit) {
        // Stopped inside the batch: the entries after this one are still to come.
        exhausted &&= i === entries.length - 1;
        break;
      }
    }
  }
  const nextCursor =
    exhausted || last === null ? null : encodeCursor({ score: last.score, member: last.member, ranking: rankingIdentity(query) });
  return { items, nextCursor, total, scanned };
}
