// Rejoin: a node whose history diverged from the current primary's (a former primary, a replica
// past a restore's fork) becomes its replica again, by pg_rewind or a fresh clone.

import { ClusterError, describeError } from '../../errors.ts';
import { waitFor } from '../../wait.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';
import { PGDATA, PostgresNodeHandle } from './postgres-node.ts';
import { REHEARSAL_NODE, slotName } from './start-cluster.ts';

/**
 * Rejoins the former primary as a replica of the current one: pg_rewind (possible because data
 * checksums are on) discards what it wrote after the timelines diverged; when rewind is impossible
 * the node is cloned afresh. It then streams from the new primary through a slot of its own.
 * Connection failures (the fabric may still be partitioned) are retried for up to `timeoutMs`.
 */
export async function rejoin(cluster: StartedPostgresCluster, timeoutMs = 30_000): Promise<string> {
  const old = cluster.nodes.find((n) => n.role === 'retired' && !n.lost && n.spec.role !== 'archive' && n.name !== REHEARSAL_NODE);
  if (!old) throw new ClusterError('no former primary survives to rejoin');
  const how = await rebuildAsReplica(cluster, old, timeoutMs);
  return `${old.name} rejoined as a replica of ${cluster.primary().name} by ${how}`;
}

/**
 * Makes a node whose history diverged from the current primary's (a former primary, a replica that
 * had WAL past the point a restore forked from) a streaming replica of it: pg_rewind, or a fresh
 * clone when rewinding fails. Returns how.
 */
export async function rebuildAsReplica(cluster: StartedPostgresCluster, old: PostgresNodeHandle, timeoutMs: number): Promise<string> {
  const primary = cluster.primary();
  if (await old.serverRunning()) await old.stopServer('fast');
  const slot = slotName(old.name);
  await primary.psql(
    `SELECT pg_create_physical_replication_slot('${slot}') WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '${slot}')`,
  );
  // A newly promoted server writes its new timeline into pg_control only at its next checkpoint;
  // until then pg_rewind sees one timeline and wrongly decides there is nothing to rewind.
  await primary.psql('CHECKPOINT');
  const source = `host=${primary.name} user=postgres dbname=postgres connect_timeout=5`;
  // Connection failures (the fabric may still be partitioned) are retried until the deadline.
  const rewound = await waitFor({ what: `pg_rewind of ${old.name} to reach ${primary.name}`, timeoutMs, intervalMs: 1000 }, async (seen) => {
    const rewind = await old.exec(['pg_rewind', '-D', PGDATA, `--source-server=${source}`]);
    if (rewind.exitCode === 0) return { ok: true, why: '' };
    const why = (rewind.stderr || rewind.stdout).trim().split('\n').slice(-1)[0] ?? '';
    seen(why);
    return /could not connect|connection|timeout/i.test(why) ? undefined : { ok: false, why };
  }).catch((error: unknown) => ({ ok: false, why: describeError(error) }));
  let how = 'pg_rewind';
  if (!rewound.ok) {
    how = `a fresh clone (pg_rewind failed: ${rewound.why})`;
    await old.run(['bash', '-c', `rm -rf ${PGDATA} && pg_basebackup -h ${primary.name} -U postgres -D ${PGDATA} -X stream -c fast --no-sync`]);
  }
  await old.run([
    'bash',
    '-c',
    `touch ${PGDATA}/standby.signal && printf "%s\\n" ` +
      `"primary_conninfo = 'host=${primary.name} port=5432 user=postgres application_name=${old.name}'" ` +
      `"primary_slot_name = '${slot}'" "synchronous_standby_names = ''" >> ${PGDATA}/postgresql.auto.conf && ` +
      // Its own settings, not those of the primary it was copied from.
      `printf "%s\\n" ${(cluster.topology.postgres.applied.nodes[old.name] ?? []).map((line) => `'${line.replace(/'/g, `'\\''`)}'`).join(' ')} > ${PGDATA}/faultline-node.conf && fl-sync ${PGDATA}/faultline-node.conf`,
  ]);
  await old.startServer();
  try {
    await waitFor({ what: `${old.name} to stream from ${primary.name}`, timeoutMs: 20_000, intervalMs: 50 }, async (seen) => {
      const status = await old.psql("SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')").catch(() => 'down');
      seen(status);
      return status === 'streaming' ? true : undefined;
    });
  } catch (error) {
    const log = (await old.exec(['tail', '-n', '8', '/var/log/faultline/postgresql.log'])).stdout.trim();
    throw new ClusterError(`${old.name} was rejoined by ${how} but does not stream from ${primary.name} (${describeError(error)}); its log ends:\n${log}`);
  }
  old.role = 'replica';
  return how;
}
