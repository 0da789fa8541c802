// Starting a Redis (or Valkey) cluster from a topology: node containers (each with its own
// loop-mounted volume in its failure domain) start in parallel; the primary starts with the
// topology's persistence settings; replicas replicate from it (REPLICAOF); the backup node copies
// the primary's RDB snapshot (`redis-cli --rdb`) into its own volume at start and then every few
// seconds, as a backup job would. Ready means every replica is in sync at the primary's offset.

import { ClusterError } from '../../errors.ts';
import { waitFor } from '../../wait.ts';
import type { DockerRun } from '../../cluster/docker/docker-run.ts';
import type { Engine, NodeSpec, StartOptions } from '../../cluster/engine.ts';
import { RunningCluster } from '../../cluster/running-cluster.ts';
import { startCluster, startNodeContainer } from '../../cluster/start-cluster.ts';
import type { RedisTopology } from './topology.ts';
import { BACKUPS, REDIS_LOGS, REDIS_PORT, RedisNodeHandle } from './redis-node.ts';
import { SENTINEL_PORT, startSentinels } from './sentinel/start.ts';

export class StartedRedisCluster extends RunningCluster<RedisNodeHandle, RedisTopology> {}

export type StartRedisOptions = StartOptions;

/** Seconds between two RDB copies taken by the backup node. */
export const BACKUP_EVERY_S = 5;
export const RESTORED_NODE = 'redis-restored';
export const REHEARSAL_NODE = 'redis-rehearsal';

/** The redis.conf lines the topology asks for: faultline's persistence settings, then the user's. */
export function serverConf(topology: RedisTopology): string {
  const r = topology.redis;
  const lines = [
    `appendonly ${r.appendonly ? 'yes' : 'no'}`,
    `appendfsync ${r.appendfsync}`,
    `save "${r.save}"`,
    `min-replicas-to-write ${r.minReplicasToWrite}`,
    `min-replicas-max-lag ${r.minReplicasMaxLag}`,
    // A full sync starts at once instead of waiting 5 s for more replicas to share it.
    'repl-diskless-sync-delay 0',
    // What the final read and the checks need to see: replicas serve reads, and a replica with a
    // broken link still answers (with its stale data) so that parity can tell.
    'replica-read-only yes',
    'replica-serve-stale-data yes',
    ...r.settings.map((s) => `${s.name} ${s.value}`),
  ];
  return lines.join('\n');
}

/** Writes a node's configuration (outside its volume) and starts its server. */
export async function configureAndStart(node: RedisNodeHandle, topology: RedisTopology, replicaOf: string | undefined, extra: string[] = []): Promise<void> {
  await node.run(['fl-redis', 'configure'], {
    user: 'root',
    env: { FL_SERVER: topology.redis.server, FL_CONF: [serverConf(topology), ...extra].join('\n'), FL_REPLICAOF: replicaOf ?? '' },
  });
  await node.startServer();
}

/** Starts a node container for `spec` with its volume in its domain. */
export async function startRedisNode(run: DockerRun, image: string, spec: NodeSpec, server: RedisTopology['redis']['server'], sentinel = false): Promise<RedisNodeHandle> {
  const ports = sentinel && spec.role !== 'archive' ? [REDIS_PORT, SENTINEL_PORT] : [REDIS_PORT];
  const started = await startNodeContainer(run, image, spec, { name: spec.role === 'archive' ? 'backups' : 'data', owner: 'redis:redis', ports });
  return new RedisNodeHandle(started, spec, server);
}

/** The backup node's job: an RDB copy of `upstream` now, then one every BACKUP_EVERY_S seconds. */
export async function startBackups(backup: RedisNodeHandle, upstream: string): Promise<string> {
  await backup.run(['bash', '-c', `mkdir -p /etc/faultline && echo '${upstream}' > /etc/faultline/upstream && echo '${backup.server}' > /etc/faultline/server`], { user: 'root' });
  const first = (await backup.run(['fl-redis', 'backup', BACKUPS], { env: { FL_UPSTREAM: upstream } })).stdout.trim();
  await backup.run(['bash', '-c', `FL_UPSTREAM=${upstream} FL_BACKUP_EVERY=${BACKUP_EVERY_S} setsid nohup fl-redis backup-loop >/dev/null 2>&1 &`]);
  return first;
}

/** Starts a validated Redis topology's cluster through the shared start (cluster/start-cluster.ts). */
export function startRedis(engine: Engine, topology: RedisTopology, options: StartRedisOptions): Promise<StartedRedisCluster> {
  const server = topology.redis.server;
  return startCluster(engine, topology, options, {
    logs: REDIS_LOGS,
    describe: server === 'valkey' ? 'Valkey' : 'Redis',
    async bringUp({ run, image, log, readyTimeoutMs }) {
      const ha = topology.redis.ha;
      const handles = await Promise.all(topology.nodes.map((node) => startRedisNode(run, image, node, server, ha !== undefined)));
      const primary = handles.find((h) => h.spec.role === 'primary');
      if (!primary) throw new ClusterError('The topology has no primary');
      await run.track(configureAndStart(primary, topology, undefined));
      run.checkpoint();
      const replicas = handles.filter((h) => h.spec.role === 'replica');
      if (replicas.length > 0) log(`run ${run.id}: replicas ${replicas.map((r) => `'${r.name}'`).join(', ')} replicate from '${primary.name}'`);
      await Promise.all(replicas.map((replica) => run.track(configureAndStart(replica, topology, primary.name))));
      run.checkpoint();
      await waitForSync(primary, replicas, readyTimeoutMs);
      if (ha) {
        log(`run ${run.id}: ${await run.track(startSentinels([primary, ...replicas], primary, ha, (node) => node.container.getIpAddress(run.networkName), readyTimeoutMs))}`);
        run.checkpoint();
      }
      const backup = handles.find((h) => h.spec.role === 'archive');
      if (backup) {
        const first = await run.track(startBackups(backup, primary.name));
        log(`run ${run.id}: backup node '${backup.name}' copies ${primary.name}'s RDB every ${BACKUP_EVERY_S} s (first: ${first})`);
      }
      return (readyMs) => new StartedRedisCluster(engine, topology, run, handles, image, readyMs);
    },
  });
}

/** The replication offset a replica has processed, and whether its link to the primary is up. */
export async function replicaState(replica: RedisNodeHandle): Promise<{ up: boolean; offset: number; master: string }> {
  const info = await replica.info('replication');
  return { up: info.master_link_status === 'up', offset: Number(info.slave_repl_offset ?? -1), master: info.master_host ?? '' };
}

/** Waits until every replica's link is up and it has processed the primary's whole replication stream. */
export async function waitForSync(primary: RedisNodeHandle, replicas: RedisNodeHandle[], timeoutMs: number): Promise<void> {
  if (replicas.length === 0) return;
  await waitFor(
    { what: `replicas ${replicas.map((r) => `'${r.name}'`).join(', ')} to sync with ${primary.name}`, timeoutMs, intervalMs: 50, error: (m) => new ClusterError(m) },
    async (seen) => {
      const target = Number((await primary.info('replication')).master_repl_offset ?? 0);
      const states = await Promise.all(replicas.map(async (r) => ({ r, state: await replicaState(r) })));
      seen(states.map(({ r, state }) => `${r.name}=${state.up ? 'up' : 'down'}:${state.offset}/${target}`).join(', '));
      // A replica names its primary by host name (faultline's REPLICAOF) or by address (Sentinel's).
      const names = new Set([primary.name, ...primary.container.getNetworkNames().map((n) => primary.container.getIpAddress(n))]);
      return states.every(({ state }) => state.up && state.offset >= target && names.has(state.master)) ? true : undefined;
    },
  );
}
