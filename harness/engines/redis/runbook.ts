// A user's runbook on a Redis (or Valkey) cluster: faultline hands it what an operator would have
// (each server's container, address and role; under Sentinel, where the Sentinels listen and the
// name they monitor the primary under), and afterwards holds it to its contract: the node it names
// is a primary (ROLE says master). No empty node is prepared: a Redis runbook drives the servers it
// has (a `SENTINEL FAILOVER`, a REPLICAOF), it does not restore into a new one.
//
// The contract (docs/runbooks.md): FAULTLINE_CONTEXT, FAULTLINE_RESULT, FAULTLINE_WORKDIR,
// FAULTLINE_REDIS_CLI (redis-cli or valkey-cli, in every node); under Sentinel FAULTLINE_MANAGER=sentinel,
// FAULTLINE_SENTINEL_CONTAINER, FAULTLINE_SENTINEL_PORT, FAULTLINE_SENTINEL_MASTER.

import { describeError } from '../../errors.ts';
import type { ClusterNode, RunbookAbility } from '../../cluster/engine.ts';
import { containerName } from '../../cluster/node-exec.ts';
import { asRedis, redisNode } from './cast.ts';
import { REDIS_PORT } from './redis-node.ts';
import { MASTER_NAME, SENTINEL_PORT } from './sentinel/start.ts';

export const redisRunbooks: RunbookAbility = {
  async prepare(cluster) {
    const c = asRedis(cluster);
    const live = c.nodes.filter((n) => n.runsServer && !n.lost);
    const sentinel = c.topology.redis.ha ? live[0] : undefined;
    const cli = `${c.topology.redis.server}-cli`;
    const context = {
      runId: c.runId,
      server: c.topology.redis.server,
      cli,
      emptyNode: null,
      nodes: c.nodes.map((n) => ({
        name: n.name,
        role: n.role === 'retired' ? `former ${n.spec.role}` : n.role,
        domain: n.spec.domain,
        lost: n.lost,
        ...(n.lost ? {} : { container: containerName(n), ip: n.container.getIpAddress(c.run.networkName), port: REDIS_PORT, fromHost: n.endpoint() }),
      })),
      // Under Sentinel: where to ask (inside any live server's node) and the name it knows the primary by.
      manager: sentinel ? { name: 'sentinel', master: MASTER_NAME, port: SENTINEL_PORT, sentinels: live.map((n) => ({ node: n.name, container: containerName(n) })) } : null,
    };
    const env: Record<string, string> = {
      FAULTLINE_REDIS_CLI: cli,
      ...(sentinel ? { FAULTLINE_MANAGER: 'sentinel', FAULTLINE_SENTINEL_CONTAINER: containerName(sentinel), FAULTLINE_SENTINEL_PORT: String(SENTINEL_PORT), FAULTLINE_SENTINEL_MASTER: MASTER_NAME } : {}),
    };
    return { context, env };
  },
  async acceptsWrites(node: ClusterNode) {
    const redis = redisNode(node);
    const reply = await redis
      .exec(['timeout', '2', `${redis.server}-cli`, 'ROLE'])
      .then((r) => (r.exitCode === 0 ? r.stdout.trim().split('\n')[0]! : `ROLE failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`))
      .catch((error: unknown) => `unreachable: ${describeError(error)}`);
    return { accepts: reply === 'master', state: reply === 'slave' ? 'a replica (read-only)' : reply };
  },
};
