// A fresh base backup into the repository on the archive node, the step Sidekick skipped before
// its upgrade. Returns what it did, or throws a ClusterError saying why it could not.

import { ClusterError } from '../../errors.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';
import { BASE, PostgresNodeHandle } from './postgres-node.ts';
import { verifyPgBackRest } from './pgbackrest-verify.ts';
import { takeFullBackup } from './incremental.ts';
import { backupToolHooks } from './backup-tools.ts';

export { BASE };

/** The base backups this run took, per cluster: what a restore that finds none can say about them. */
const taken = new WeakMap<StartedPostgresCluster, string[]>();
export function backupsTaken(cluster: StartedPostgresCluster): readonly string[] {
  return taken.get(cluster) ?? [];
}
function remember(cluster: StartedPostgresCluster, what: string): void {
  taken.set(cluster, [...backupsTaken(cluster), what]);
}
export function usableArchive(cluster: StartedPostgresCluster): PostgresNodeHandle {
  const archive = cluster.archive();
  if (!archive) throw new ClusterError('the topology has no archive node, so there is no backup repository');
  if (archive.lost) throw new ClusterError(`the backup repository on '${archive.name}' was lost (domain ${archive.spec.domain})`);
  return archive;
}

/**
 * Takes a base backup of the current primary into the repository (`base/<time>` on the archive
 * node's volume), then checks it with pg_verifybackup. The step the Sidekick operators skipped.
 */
export async function takeBaseBackup(cluster: StartedPostgresCluster): Promise<string> {
  const archive = usableArchive(cluster);
  const primary = cluster.primary();
  const hooks = backupToolHooks(cluster.topology);
  if (hooks) {
    const detail = await hooks.takeBackup(cluster, archive);
    remember(cluster, `a ${hooks.name} backup at ${new Date().toISOString()}`);
    return detail;
  }
  if (cluster.topology.postgres.backupTool === 'pgbackrest') {
    await archive.run(['pgbackrest', '--stanza=main', '--type=full', 'backup']);
    const verified = await verifyPgBackRest(archive);
    if (verified.exitCode !== 0) throw new ClusterError(`the repository does not verify after the backup: ${verified.output.split('\n')[0]}`);
    remember(cluster, `a pgBackRest full backup at ${new Date().toISOString()}`);
    return `pgBackRest full backup of ${primary.name} in the repository on ${archive.name}, checked by pgbackrest verify`;
  }
  if (cluster.topology.postgres.incremental) {
    const detail = await takeFullBackup(cluster, archive);
    remember(cluster, `a full backup at ${new Date().toISOString()} and its incrementals`);
    return detail;
  }
  const detail = await takePgBaseBackup(cluster, archive);
  remember(cluster, detail.dir);
  return detail.said;
}

/** A pg_basebackup of the primary into the repository's base/<time> on the archive node, checked by pg_verifybackup. */
export async function takePgBaseBackup(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<{ dir: string; said: string }> {
  const primary = cluster.primary();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const dir = `${BASE}/${stamp}`;
  await archive.run(['bash', '-c', `mkdir -p ${BASE} && pg_basebackup -w -h ${primary.name} -U postgres -D ${dir} -X stream -c fast --no-sync && fl-sync ${BASE}`]);
  const verified = await archive.exec(['pg_verifybackup', '-n', dir]);
  if (verified.exitCode !== 0) throw new ClusterError(`the new base backup ${dir} does not verify: ${verified.stderr.trim() || verified.stdout.trim()}`);
  return { dir, said: `base backup of ${primary.name} in ${archive.name}:${dir}, verified by pg_verifybackup` };
}
