// Redis (and Valkey) clusters on Docker: start one from a topology, and reach its nodes.
export { redisEngine, asRedis } from './engine.ts';
export { startRedisCluster, StartedRedisCluster, BACKUP_EVERY_S, type StartRedisOptions } from './start-cluster.ts';
export { RedisNodeHandle, REDIS_PORT } from './redis-node.ts';
