// The Redis cluster and node behind the engine interface's generic ones; another engine's is an error.

import { ClusterError } from '../../errors.ts';
import type { ClusterNode, StartedCluster } from '../../cluster/engine.ts';
import { RedisNodeHandle } from './redis-node.ts';
import { StartedRedisCluster } from './start-cluster.ts';

/** The Redis cluster behind a step's `cluster`; a cluster of another engine is an error. */
export function asRedis(cluster: StartedCluster): StartedRedisCluster {
  if (!(cluster instanceof StartedRedisCluster)) throw new ClusterError(`this needs a Redis cluster, and this one is ${cluster.topology.engine}`);
  return cluster;
}

export function redisNode(node: ClusterNode): RedisNodeHandle {
  if (!(node instanceof RedisNodeHandle)) throw new ClusterError(`the Redis engine was given node '${node.name}' of another engine`);
  return node;
}
