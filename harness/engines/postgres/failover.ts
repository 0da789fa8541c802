// Failover: fence the old primary, promote the replica that received the most WAL, point the
// others at it. Returns what it did, or throws a ClusterError saying why it could not.

import { ClusterError, describeError } from '../../errors.ts';
import { waitFor } from '../../wait.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';
import { PostgresNodeHandle } from './postgres-node.ts';
import { slotName } from './start-cluster.ts';
import { compareLsn } from './wal.ts';
import { fence } from '../../cluster/fence.ts';

/**
 * Fails over: fences the old primary (kills its server and proves it gone, or says it could not),
 * promotes the surviving replica that received and flushed the most WAL (it replays all of it
 * before it takes writes), checks that the promotion happened, and clears
 * synchronous_standby_names on it so that it does not wait for standbys that are gone. Every other
 * replica is then pointed at the new primary (or reported orphaned), and the archive follows it.
 * Clients follow `cluster.primary()` at their next connect.
 */
export async function failover(cluster: StartedPostgresCluster): Promise<string> {
  const old = cluster.primary();
  const candidates = cluster.replicas();
  if (candidates.length === 0) {
    const lost = cluster.nodes.filter((n) => n.spec.role === 'replica' && n.lost).map((n) => `'${n.name}' (lost with domain ${n.spec.domain})`);
    throw new ClusterError(`no replica survives to fail over to${lost.length ? `: ${lost.join(', ')}` : ''}`);
  }
  const positions = await Promise.all(
    candidates.map(async (node) => ({
      node,
      lsn: await node.psql('SELECT greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())').catch(() => ''),
    })),
  );
  const reachable = positions.filter((p) => p.lsn);
  if (reachable.length === 0) throw new ClusterError(`no replica answers: ${candidates.map((c) => c.name).join(', ')}`);
  const best = reachable.sort((a, b) => compareLsn(b.lsn, a.lsn))[0]!;
  const fencing = await fence(cluster, old);
  const promoted = await best.node.psql('SELECT pg_promote(true, 60)');
  const inRecovery = await best.node.psql('SELECT pg_is_in_recovery()');
  if (promoted !== 't' || inRecovery !== 'f') {
    throw new ClusterError(`${best.node.name} was not promoted: pg_promote returned '${promoted}' and the server is ${inRecovery === 't' ? 'still in recovery' : `in state '${inRecovery}'`}`);
  }
  await best.node.psql("ALTER SYSTEM SET synchronous_standby_names = ''");
  await best.node.psql('SELECT pg_reload_conf()');
  cluster.setPrimary(best.node);
  const parts = [`promoted ${best.node.name} (received and flushed WAL up to ${best.lsn})`, fencing.fenced ? `${old.name} fenced: ${fencing.how}` : `${old.name} NOT fenced: ${fencing.how}`];
  for (const replica of cluster.replicas()) parts.push(await repoint(cluster, replica));
  return parts.join('; ');
}

/**
 * Points a replica at the current primary (a slot of its own there, the new primary_conninfo; it
 * follows the new timeline by itself). One that does not stream within 20 s stays listed as a
 * replica and is reported orphaned: the final read then fails replica parity for it.
 */
export async function repoint(cluster: StartedPostgresCluster, replica: PostgresNodeHandle): Promise<string> {
  const primary = cluster.primary();
  const slot = slotName(replica.name);
  try {
    await primary.psql(`SELECT pg_create_physical_replication_slot('${slot}', true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '${slot}')`);
    await replica.psql(`ALTER SYSTEM SET primary_conninfo = 'host=${primary.name} port=5432 user=postgres application_name=${replica.name}'`);
    await replica.psql(`ALTER SYSTEM SET primary_slot_name = '${slot}'`);
    await replica.psql('SELECT pg_reload_conf()');
    await waitFor({ what: `${replica.name} to stream from ${primary.name}`, timeoutMs: 20_000, intervalMs: 50 }, async (seen) => {
      const state = await primary.replicationState(replica.name);
      seen(state);
      return state === 'streaming' ? true : undefined;
    });
    return `${replica.name} now follows ${primary.name}`;
  } catch (error) {
    return `${replica.name} ORPHANED (could not follow ${primary.name}: ${describeError(error)})`;
  }
}
