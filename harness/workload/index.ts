// Clients that produce operations, and the rules that classify their outcomes.
export { PostgresWorkload, LEDGER_TABLE, LEDGER_DDL, describePgError, type WorkloadOptions, type WorkloadStats, type WorkloadTarget } from '../engines/postgres/client.ts';
export { classifyWriteError, describeNotice, isCommittedLocallyNotice, type Completion, type ServerNotice } from '../engines/postgres/classify.ts';
export { RedisWorkload, REDIS_KEY_PREFIX, REDIS_LOG_KEY, redisKey } from '../engines/redis/client.ts';
export { classifyRedisError } from '../engines/redis/classify.ts';
export type { Workload } from './types.ts';
