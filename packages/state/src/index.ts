export { claimNamespace, requireBusyWindowCommandsAllowed, coverEveryMaster, createRedis, dataSetLost, namespaceContract, namespaceState, OUTPUT_VERSIONS_PER_MS, redisIdentity, replicationProgress, serverMicroseconds, writeFence, type RedisClient, type RedisConnectOptions, type RedisIdentity, type ReplicationProgress, type WriteFence } from './connection';
export {
  REDIS_LOGIN_CHECK_TIMEOUT_MS,
  RedisAccessRefusedError,
  RedisEvictsStateError,
  RedisFullError,
  RedisIsReplicaError,
  RedisLoginRefusedError,
  redisAccessRefusal,
  redisDataFull,
  redisLoginRefusal,
  redisFull,
  requireMaster,
  requireNoEviction,
  requireRedisAnswer,
  requireRedisLogin,
  redisServesEveryKey,
  clockAheadOfRedisMs,
  ClockSkewError,
  redisUnreachable,
} from './connection';
export {
  CUSTOMER_KEY_PARTS,
  DEFAULT_DUE_SHARDS,
  DEFAULT_PREFIX,
  KEY_CONTRACT_VERSION,
  EVERY_CUSTOMER_RANKING,
  RANKING_METRICS,
  decodeKeyPart,
  encodeKeyPart,
  keySchema,
  rankedIn,
  type CustomerKeyPart,
  type CustomerKeys,
  type KeySchema,
  type RankingMetric,
} from './keys';
export { RESOLVED_ALERTS_INDEXED, trimResolvedAlerts } from './indexes';
export { MS_PER_HOUR, STATE_FIELD, type OutboxEntry } from './layout';
export {
  decodeAlertBook,
  decodeScoreHistoryEntry,
  encodeScoreHistoryEntry,
  historyEntry,
  historyTime,
  decodeScoreSummary,
  decodeStoredInsights,
  scoreValuesReadable,
  type ScoreHistoryEntry,
  type ScoreSummary,
  type StoredScore,
} from './score-codec';
export {
  createReadStore,
  withBackfilled,
  type CustomerReadModel,
  type CustomerSummary,
  type RankedEntry,
  type RankingOrder,
  type RankingReader,
  type ReadStore,
  type ReadStoreOptions,
  type ScoreHistoryPoint,
} from './read-store';
export { readInputOffsets, readInputsHeldOnEveryMaster, type InputOffset } from './input-offsets';
export { readHistoryLoading, readPartitionsBehind, recordHistoryLoading, recordPartitionsBehind, type PartitionBehind } from './partitions-behind';
export { createBackfilledHistoryWriter, type BackfilledHistoryWriter, type BackfilledHistoryWriterOptions } from './backfilled-history';
export type { BackfillReplaced } from './scripts/replace-backfill';
export { DEFAULT_DEDUPE_WINDOW_DAYS, DEFAULT_MAX_ENTITIES, DEFAULT_RETENTION_DAYS, anotherModelServes, createStateStore, modelRolloutMark, type ModelInService, type StateStore, type StateStoreOptions } from './store';
export { type ApplyItem, type ApplyOptions, type ApplyOutcome, type ApplyResult } from './scripts/apply-events';
export { type CustomerSnapshot } from './scripts/read-customer';
export { dueAwaitsDelivery, refusedAsNotNewer, SCORE_HISTORY_LENGTH, type CommitOptions, type CommitResult, type ScoreCommit } from './scripts/commit-score';
export { type ClaimOptions, type DueClaim } from './scripts/claim-due';
