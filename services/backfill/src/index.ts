export { BACKFILL_EXIT_CODES, BACKFILL_USAGE, backfillCustomers, parseBackfillArgs, runBackfillCommand, type BackfillArgs, type BackfillCounts, type BackfillIo } from './backfill-command';
export { BACKFILL_DAYS, BACKFILL_EVERY_DAYS, backfilledPoints, weekEnds } from './score-points';
