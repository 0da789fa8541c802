// The Redis (and Valkey) engine: the engine interface (cluster/engine.ts) over this folder's actions.

import { ClusterError } from '../../errors.ts';
import type { Engine } from '../../cluster/engine.ts';
import { RedisWorkload } from './client.ts';
import { corruptRedis, damageNewestBackup, REDIS_CORRUPTION_KINDS } from './corruption.ts';
import { readLedger, readRedisFinalState } from './final-state.ts';
import { withRedis } from './redis-node.ts';
import { redisFailover, redisFollowPrimary, redisRejoin, redisRestore, takeRedisBackup } from './recovery.ts';
import { REHEARSAL_NODE, startRedis, StartedRedisCluster, type StartRedisOptions } from './start-cluster.ts';
import { redisImage } from './image.ts';
import { redisProveBackup } from './prove/index.ts';
import { sentinelManager, sentinelTarget } from './sentinel/watch.ts';
import { validateTopologyWith } from '../../cluster/topology.ts';
import { redisTopologySection, type RedisTopology, type RedisTopologySpec } from './topology.ts';
import { parseRedisWorkloadOptions } from './workload-options.ts';
import { asRedis, redisNode } from './cast.ts';
import { redisRunbooks } from './runbook.ts';

export { asRedis } from './cast.ts';

export const redisEngine: Engine = {
  name: 'redis',
  label: 'Redis / Valkey',
  corruptionKinds: REDIS_CORRUPTION_KINDS,
  recoveryActions: ['failover', 'restore'],
  topology: redisTopologySection,
  workloadOptions: { keys: ['wait', 'waitAof'], parse: parseRedisWorkloadOptions },
  image: (topology, { log }) => redisImage((topology as RedisTopology).redis.server, (topology as RedisTopology).redis.version, log ? { log } : {}),
  start: (topology, options) => startRedis(redisEngine, topology as RedisTopology, options),
  async prepare(cluster) {
    const primary = asRedis(cluster).primary();
    const info = await primary.info('server');
    const version = info.valkey_version ? `Valkey ${info.valkey_version}` : `Redis ${info.redis_version}`;
    const persistence = await primary.cli('CONFIG', 'GET', 'appendonly');
    return `${version} (${persistence.replace(/\n/g, ' ')})`;
  },
  workload(cluster, history, options) {
    const c = asRedis(cluster);
    const sentinel = sentinelTarget(c);
    return new RedisWorkload(history, () => ({ node: c.primary().name, ...c.primary().endpoint(), ...(sentinel ? { sentinel } : {}) }), options);
  },
  readFinalState: (cluster, { now }) => readRedisFinalState(asRedis(cluster), { now }),
  freshBackup: (cluster) => takeRedisBackup(asRedis(cluster)),
  failover: (cluster) => redisFailover(asRedis(cluster)),
  restore: (cluster, options) => redisRestore(asRedis(cluster), options),
  rejoin: (cluster) => redisRejoin(asRedis(cluster)),
  followPrimary: (cluster) => redisFollowPrimary(asRedis(cluster)),
  rehearsalCutoff: 'the last RDB copy',
  async prepareRehearsal(cluster) {
    return `${await takeRedisBackup(asRedis(cluster))}, taken after the workload stopped`;
  },
  async rehearse(cluster, { domain }) {
    const c = asRedis(cluster);
    const detail = await redisRestore(c, { domain, rehearsal: true });
    const { rows } = await withRedis(c.node(REHEARSAL_NODE), readLedger);
    return { detail, node: REHEARSAL_NODE, rows };
  },
  corrupt: (_cluster, node, options) => corruptRedis(redisNode(node), options),
  damageBackup: (_cluster, node, how, random) => damageNewestBackup(redisNode(node), how, random),
  proveBackup: redisProveBackup,
  runbooks: redisRunbooks,
  manager: (cluster) => sentinelManager(asRedis(cluster)),
  managerOf: (topology) => (topology as RedisTopology).redis.ha?.manager,
};

function validateRedisTopology(spec: unknown, where = 'topology'): RedisTopology {
  const topology = validateTopologyWith([redisTopologySection], spec, where);
  if (topology.engine !== 'redis') throw new ClusterError(`${where}: this needs a Redis topology ('redis' with its nodes), got a ${topology.engine} one`);
  return topology as RedisTopology;
}

/** Starts the Redis cluster a topology describes (for tests and scripts; runs go through the runner). */
export function startRedisCluster(spec: RedisTopologySpec | RedisTopology, options: StartRedisOptions = {}): Promise<StartedRedisCluster> {
  return startRedis(redisEngine, validateRedisTopology(spec), options);
}
