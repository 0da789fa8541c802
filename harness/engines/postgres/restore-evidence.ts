// What a restore from the backup repository had and reached: the base backup, the WAL segments the
// archive held past it, how WAL reaches the archive, where replay ended. The final read reports it,
// so that the checkers can say why a restore lost the writes it lost.

import type { ArchiveMode, RestoreEvidence } from '../../history/final-state.ts';
import { archivedFiles } from './archive.ts';
import { BASE } from './base-backup.ts';
import { REPO, type PostgresNodeHandle } from './postgres-node.ts';
import { commitsWaitFor } from './standby-names.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';
import { segmentsFrom } from './wal.ts';
import { backupToolHooks } from './backup-tools.ts';

/**
 * What each cluster's restores had and reached (the final read reports it), kept beside the
 * cluster rather than in it: a restore is this file's business.
 */
const RESTORES = new WeakMap<StartedPostgresCluster, RestoreEvidence[]>();

/** Every restore from the repository in this cluster's run so far, in order. */
export function restoresOf(cluster: StartedPostgresCluster): RestoreEvidence[] {
  return [...(RESTORES.get(cluster) ?? [])];
}

export function recordRestore(cluster: StartedPostgresCluster, evidence: RestoreEvidence): RestoreEvidence {
  RESTORES.set(cluster, [...(RESTORES.get(cluster) ?? []), evidence]);
  return evidence;
}

/**
 * How WAL reaches the backup repository, from the cluster's settings: pgBackRest's archive_command
 * (a segment once it is complete), nothing (archiveWal 'none'), or pg_receivewal's stream, which
 * commits wait for only when every commit needs the archive's confirmation (it is named among the
 * synchronous standbys and the count needs them all; '*' or a quorum may be met without it).
 */
export function archiveModeOf(cluster: StartedPostgresCluster): { archive: ArchiveMode; how: string } {
  const postgres = cluster.topology.postgres;
  const name = cluster.archive()?.name ?? 'the archive node';
  const hooks = backupToolHooks(cluster.topology);
  if (hooks) return hooks.archiveMode(cluster.topology, name);
  if (postgres.backupTool === 'pgbackrest') {
    return { archive: 'archive_command', how: `the primary's archive_command pushes each WAL segment to the pgBackRest repository on ${name} only once the segment is complete` };
  }
  if (postgres.archiveWal === 'none') return { archive: 'none', how: `${name} receives no WAL, only base backups, as behind an archive_command that copies nothing` };
  const waited = commitsWaitFor(name, { synchronousStandbyNames: postgres.synchronousStandbyNames, synchronousCommit: postgres.synchronousCommit, lines: postgres.applied.server });
  return waited
    ? { archive: 'synchronous', how: `pg_receivewal on ${name} streams the WAL as a synchronous standby every commit waits for` }
    : { archive: 'streamed', how: `pg_receivewal on ${name} streams the WAL, and commits do not wait for it` };
}

/** The WAL segments the archive holds from the base backup's start on, and the newest of them. */
export async function walPastBackup(cluster: StartedPostgresCluster, archive: PostgresNodeHandle, latest: string, pgbackrestStart?: string, base = BASE): Promise<{ count: number; last?: string }> {
  if (cluster.topology.postgres.backupTool === 'pgbackrest' || backupToolHooks(cluster.topology)) {
    return segmentsFrom(await archivedFiles(cluster, archive), pgbackrestStart);
  }
  // The files restore.ts's copy sends: those in wal/ itself (not superseded/), from backup_label's start on
  // (the backup in `base`: the repository's, or a chain pg_combinebackup combined).
  const listing = await archive.run([
    'bash',
    '-c',
    `sed -n 's/^START WAL LOCATION: .*(file \\([0-9A-F]\\{24\\}\\)).*/\\1/p' ${base}/${latest}/backup_label 2>/dev/null; echo; find ${REPO}/wal -maxdepth 1 -type f -printf '%f\\n' 2>/dev/null || true`,
  ]);
  const [start, ...files] = listing.stdout.split('\n');
  return segmentsFrom(files.filter(Boolean), start?.trim() || undefined);
}
