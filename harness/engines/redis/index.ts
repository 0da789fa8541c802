// Redis (and Valkey) clusters on Docker: start one from a topology, and reach its nodes.
export { redisEngine, asRedis, startRedisCluster } from './engine.ts';
export { StartedRedisCluster, BACKUP_EVERY_S, type StartRedisOptions } from './start-cluster.ts';
export { RedisNodeHandle, REDIS_PORT } from './redis-node.ts';
export { redisTopologySection, REDIS_DEFAULT_SAVE, type RedisTopology, type RedisTopologySpec } from './topology.ts';
// Its side of the client loop (workload/), and how its driver's errors classify.
export { RedisWorkload, REDIS_KEY_PREFIX, REDIS_LOG_KEY, redisKey, type RedisWorkloadTarget } from './client.ts';
export { classifyRedisError } from './classify.ts';
export { redisImage, redisImageRecipe } from './image.ts';
export { DEFAULT_REDIS_VERSION, REDIS_BUILDS, redisVersions, hasWaitAof, serverLabel, type RedisServer } from './versions.ts';
// The user's sentinel.conf and redis.conf, for `faultline validate --sentinel-conf`.
export { readSentinelConf, readRedisConf, type SentinelConfFile, type RedisConfFile } from './sentinel/conf-files.ts';
// The three servers with a Sentinel beside each that Sentinel drills run without a topology of the user's.
export { sentinelTopology } from './sentinel/default-topology.ts';
