// A restore with pgBackRest: the newest backup in its repository, restored into the new node with
// restore_command fetching WAL from the repository.

import { ClusterError } from '../../errors.ts';
import { PGDATA, type PostgresNodeHandle } from './postgres-node.ts';
import { pgBackRestNode } from './start-cluster.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';

/** A timestamp PostgreSQL and pgBackRest both read: 2026-11-21 14:45:20.123+00. */
export function pgTimestamp(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}+00`;
}

/** The label of the newest backup in the pgBackRest repository ('' when there is none), and the WAL segment it starts in. */
export async function latestPgBackRestBackup(archive: PostgresNodeHandle): Promise<{ label: string; start?: string }> {
  const info = await archive.exec(['pgbackrest', '--stanza=main', 'info', '--output=json']);
  if (info.exitCode !== 0) return { label: '' };
  const stanzas = JSON.parse(info.stdout) as Array<{ backup?: Array<{ label: string; archive?: { start?: string } }> }>;
  const newest = stanzas[0]?.backup?.at(-1);
  return { label: newest?.label ?? '', ...(newest?.archive?.start ? { start: newest.archive.start } : {}) };
}

/** pgBackRest restores the latest backup and sets restore_command to fetch WAL from the repository. */
export async function restoreWithPgBackRest(cluster: StartedPostgresCluster, archive: PostgresNodeHandle, restored: PostgresNodeHandle, settings: string[], target?: Date): Promise<void> {
  if (!cluster.pgbackrestCa) throw new ClusterError('the cluster has no pgBackRest certificate authority to admit a new node');
  await pgBackRestNode(restored, cluster.pgbackrestCa, { role: 'pg', repoHost: archive.name }, cluster.topology.postgres.applied.pgbackrest);
  const type = target ? ['--type=time', `--target=${pgTimestamp(target)}`, '--target-action=promote'] : ['--type=default'];
  await restored.run(['bash', '-c', 'mkdir -p "$PGDATA" && chmod 700 "$PGDATA" && exec "$@"', 'restore', 'pgbackrest', '--stanza=main', '--target-timeline=latest', ...type, 'restore']);
  await restored.run([
    'bash',
    '-c',
    `printf "%s\\n" ${settings.map((line) => `"${line}"`).join(' ')} >> ${PGDATA}/postgresql.auto.conf && rm -f ${PGDATA}/standby.signal && fl-sync ${PGDATA}/postgresql.auto.conf`,
  ]);
}

