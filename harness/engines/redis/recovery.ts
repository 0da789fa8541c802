// Redis recovery actions, as an operator (or Sentinel) takes them: fail over to the replica that
// processed the most of the replication stream (`REPLICAOF NO ONE`, the others re-pointed), restore
// the newest RDB copy from the backup node into a new node, rejoin a former primary as a replica,
// point the backup job at the new primary, and take a fresh backup.

import { pipeBetween } from '../../cluster/docker/pipe.ts';
import { ClusterError, describeError } from '../../errors.ts';
import { waitFor } from '../../wait.ts';
import { fence } from '../../cluster/fence.ts';
import type { RestoreOptions } from '../../cluster/engine.ts';
import { AOF_DIR, BACKUPS, RDB_FILE, REDIS_PORT, type RedisNodeHandle } from './redis-node.ts';
import { configureAndStart, replicaState, REHEARSAL_NODE, RESTORED_NODE, startRedisNode, waitForSync, type StartedRedisCluster } from './start-cluster.ts';

function usableBackupNode(cluster: StartedRedisCluster): RedisNodeHandle {
  const backup = cluster.archive();
  if (!backup) throw new ClusterError('the topology has no backup node (role archive), so there are no RDB copies to restore');
  if (backup.lost) throw new ClusterError(`the RDB copies on '${backup.name}' were lost (domain ${backup.spec.domain})`);
  return backup;
}

/** A fresh RDB copy of the primary on the backup node, checked with redis-check-rdb. */
export async function takeRedisBackup(cluster: StartedRedisCluster): Promise<string> {
  const backup = usableBackupNode(cluster);
  const primary = cluster.primary();
  const file = (await backup.run(['fl-redis', 'backup', BACKUPS], { env: { FL_UPSTREAM: primary.name } })).stdout.trim();
  return `RDB copy of ${primary.name} in ${backup.name}:${file}, checked by ${backup.server}-check-rdb`;
}

/** Points a replica at the current primary and waits until it is in sync (or reports it orphaned). */
async function repoint(cluster: StartedRedisCluster, replica: RedisNodeHandle): Promise<string> {
  const primary = cluster.primary();
  try {
    await replica.cli('REPLICAOF', primary.name, String(REDIS_PORT));
    await replica.cli('CONFIG', 'REWRITE');
    await waitForSync(primary, [replica], 20_000);
    return `${replica.name} now replicates from ${primary.name}`;
  } catch (error) {
    return `${replica.name} ORPHANED (could not follow ${primary.name}: ${describeError(error)})`;
  }
}

/**
 * Fails over: fences the old primary (kills its server and proves it gone), promotes the surviving
 * replica that processed the most of the replication stream with `REPLICAOF NO ONE` (persisted with
 * CONFIG REWRITE), and re-points the other replicas. Clients follow `cluster.primary()`.
 */
export async function redisFailover(cluster: StartedRedisCluster): Promise<string> {
  const old = cluster.primary();
  const candidates = cluster.replicas();
  if (candidates.length === 0) throw new ClusterError('no replica survives to fail over to');
  const offsets = await Promise.all(candidates.map(async (node) => ({ node, offset: await replicaState(node).then((s) => s.offset, () => -1) })));
  const reachable = offsets.filter((o) => o.offset >= 0);
  if (reachable.length === 0) throw new ClusterError(`no replica answers: ${candidates.map((c) => c.name).join(', ')}`);
  const best = reachable.sort((a, b) => b.offset - a.offset)[0]!;
  const fencing = await fence(cluster, old);
  await best.node.cli('REPLICAOF', 'NO', 'ONE');
  // As PostgreSQL's failover clears synchronous_standby_names: a new primary that waited for more
  // replicas than survive would refuse every write (NOREPLICAS) and the service never came back.
  const wanted = cluster.topology.redis.minReplicasToWrite;
  const survivors = candidates.length - 1;
  if (wanted > survivors) await best.node.cli('CONFIG', 'SET', 'min-replicas-to-write', String(survivors));
  await best.node.cli('CONFIG', 'REWRITE');
  const role = (await best.node.info('replication')).role;
  if (role !== 'master') throw new ClusterError(`${best.node.name} was not promoted: its role is '${role}'`);
  cluster.setPrimary(best.node);
  const parts = [`promoted ${best.node.name} (replication offset ${best.offset})`, fencing.fenced ? `${old.name} fenced: ${fencing.how}` : `${old.name} NOT fenced: ${fencing.how}`];
  for (const replica of cluster.replicas()) parts.push(await repoint(cluster, replica));
  return parts.join('; ');
}

/** After a failover, the former primary (its server restarted on its own data) replicates from the new one. */
export async function redisRejoin(cluster: StartedRedisCluster): Promise<string> {
  const old = cluster.nodes.find((n) => n.role === 'retired' && !n.lost && n.spec.role !== 'archive' && n.name !== REHEARSAL_NODE && n.name !== RESTORED_NODE);
  if (!old) throw new ClusterError('no former primary survives to rejoin');
  const topology = cluster.topology;
  await old.stopServer('immediate');
  await configureAndStart(old, topology, cluster.primary().name);
  old.role = 'replica';
  await waitForSync(cluster.primary(), [old], 30_000);
  return `${old.name} restarted as a replica of ${cluster.primary().name} and is in sync (a full resynchronisation replaced its data)`;
}

/** The backup job follows the new primary. */
export async function redisFollowPrimary(cluster: StartedRedisCluster): Promise<string> {
  if (!cluster.archive()) return 'no backup node to follow the primary';
  const backup = usableBackupNode(cluster);
  const primary = cluster.primary();
  await backup.run(['bash', '-c', `echo '${primary.name}' > /etc/faultline/upstream`], { user: 'root' });
  return `${backup.name} now copies ${primary.name}'s RDB every few seconds`;
}

/** The newest RDB copy on the backup node, or '' when there is none. */
async function newestBackup(backup: RedisNodeHandle): Promise<string> {
  return (await backup.exec(['bash', '-c', `ls -1 ${BACKUPS}/*.rdb 2>/dev/null | sort | tail -n 1`])).stdout.trim();
}

/**
 * Restore: a new node in `domain` gets the newest RDB copy from the backup node as its dump.rdb and
 * starts on it; with AOF persistence configured, the AOF is then rebuilt from the loaded data
 * (`CONFIG SET appendonly yes`). The old primary is fenced first (not for a rehearsal); surviving
 * replicas then replicate from the restored node.
 */
export async function redisRestore(cluster: StartedRedisCluster, options: RestoreOptions & { rehearsal?: boolean }): Promise<string> {
  if (options.targetTime) throw new ClusterError('Redis has no point-in-time restore: it restores the newest RDB copy');
  const backup = usableBackupNode(cluster);
  if (!cluster.topology.domains.includes(options.domain)) throw new ClusterError(`cannot restore into domain '${options.domain}': the topology declares ${cluster.topology.domains.join(', ')}`);
  const file = await newestBackup(backup);
  if (!file) throw new ClusterError(`no RDB copy on '${backup.name}': none was taken before the failure`);
  const previous = cluster.primary();
  let fenced = '';
  if (!options.rehearsal) {
    const fencing = await fence(cluster, previous);
    fenced = fencing.fenced ? `; ${previous.name} fenced first: ${fencing.how}` : `; ${previous.name} NOT fenced: ${fencing.how}`;
  }
  const template = cluster.nodes.find((n) => n.spec.role === 'primary') ?? cluster.nodes[0]!;
  const name = options.rehearsal ? REHEARSAL_NODE : RESTORED_NODE;
  const started = performance.now();
  const restored = await startRedisNode(cluster.run, cluster.image, { name, role: 'primary', domain: options.domain, volumeBytes: template.spec.volumeBytes }, cluster.topology.redis.server);
  restored.role = 'retired'; // not the primary until it serves
  cluster.nodes.push(restored);
  // The RDB copy streams from the backup node into the new node's volume.
  await pipeBetween(
    { container: backup.container, name: backup.name, command: ['cat', file] },
    { container: restored.container, name: restored.name, command: ['bash', '-c', `set -e; rm -rf ${AOF_DIR}; cat > ${RDB_FILE}.part; mv ${RDB_FILE}.part ${RDB_FILE}; chown redis:redis ${RDB_FILE}; fl-sync ${RDB_FILE}`] },
  );
  // Started with the AOF off, it loads the RDB; the AOF (if configured) is then written from it.
  await configureAndStart(restored, cluster.topology, undefined, ['appendonly no']);
  if (cluster.topology.redis.appendonly) {
    await restored.cli('CONFIG', 'SET', 'appendonly', 'yes');
    await waitFor({ what: `${restored.name} to write its AOF from the restored data`, timeoutMs: 60_000, intervalMs: 50 }, async () => {
      const info = await restored.info('persistence');
      return info.aof_enabled === '1' && info.aof_rewrite_in_progress === '0' && info.aof_rewrite_scheduled === '0' ? true : undefined;
    });
    await restored.run(['bash', '-c', "sed -i '/^appendonly no$/d' /etc/faultline/redis.conf"], { user: 'root' });
  }
  const keys = await restored.cli('DBSIZE');
  const took = `restored ${file} from ${backup.name} into ${restored.name} (domain ${options.domain}), ${keys} keys, in ${((performance.now() - started) / 1000).toFixed(1)} s`;
  if (options.rehearsal) return took;
  cluster.setPrimary(restored);
  const parts = [`${took}${fenced}`];
  for (const replica of cluster.replicas()) parts.push(await repoint(cluster, replica));
  return parts.join('; ');
}
