// Clients that produce operations, and the rules that classify their outcomes.
export { PostgresWorkload, LEDGER_TABLE, LEDGER_DDL, describePgError, type WorkloadOptions, type WorkloadStats, type WorkloadTarget } from './postgres-writes.ts';
export { classifyWriteError, describeNotice, isCommittedLocallyNotice, type Completion, type ServerNotice } from './classify.ts';
export { RedisWorkload, REDIS_KEY_PREFIX, REDIS_LOG_KEY, redisKey } from './redis-writes.ts';
export { classifyRedisError } from './redis-classify.ts';
export type { Workload } from './types.ts';
