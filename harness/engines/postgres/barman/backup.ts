// Base backups with Barman: `barman backup <server> --wait` (pg_basebackup over the streaming
// connection; --wait until the WAL the backup needs is archived), and the newest backup Barman
// holds, with the WAL segment it begins in.

import { ClusterError } from '../../../errors.ts';
import type { BackupLabel } from '../backup-tool.ts';
import type { PostgresNodeHandle } from '../postgres-node.ts';
import type { StartedPostgresCluster } from '../started-cluster.ts';
import { barman, barmanJson, said } from './command.ts';
import type { BarmanConf } from './conf.ts';
import { clusterConf } from './site.ts';
import { withWalFlowing } from '../wal-flow.ts';

interface ListedBackup {
  backup_id: string;
  status: string;
}
interface ShownBackup {
  backup_id: string;
  status: string;
  base_backup_information?: { begin_wal?: string; end_wal?: string; begin_lsn?: string; end_lsn?: string };
}

/**
 * `barman backup <server> --wait`. Barman's backup of a primary ends where pg_backup_stop switched
 * WAL, at the start of a segment, and --wait waits for that segment (end_wal) to be archived, which
 * happens only once the segment is complete. When the backup ended exactly at a segment boundary, that
 * segment is the next one, complete on a quiet primary never: then (or when Barman still waits after
 * 2 s: a drill cannot wait for its workload to fill the segment) `barman switch-wal --force` closes
 * it, as Barman itself does when it backs up a standby; WAL flows on the primary meanwhile
 * (wal-flow.ts).
 */
export async function takeBarmanBackup(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<string> {
  const primary = cluster.primary();
  const conf = clusterConf(cluster.topology, primary.name);
  const script =
    `out=$(mktemp); PYTHONUNBUFFERED=1 barman backup "$0" --wait --wait-timeout 120 >"$out" 2>&1 & b=$!; switched=; ` +
    // The end segment is complete at once when the backup ended inside it (pg_backup_stop switched after
    // its record); at a segment boundary (offset 00000000), or still not after 2 s (a drill cannot wait
    // for its workload to fill 16 MB, nor a quiet primary for archive_timeout), a switch closes it.
    `n=0; while kill -0 $b 2>/dev/null; do if [ -z "$switched" ] && grep -q 'Waiting for the WAL file' "$out"; then n=$((n+1)); ` +
    `if grep -q 'Backup end at LSN: .*, 00000000)' "$out" || [ $n -ge 20 ]; then switched=1; barman switch-wal --force "$0" >>"$out.switch" 2>&1; fi; fi; sleep 0.1; done; ` +
    `wait $b; rc=$?; cat "$out"; [ -n "$switched" ] && echo "FAULTLINE-SWITCHED: $(tr '\\n' ' ' <"$out.switch")"; rm -f "$out" "$out.switch"; exit $rc`;
  const record = await withWalFlowing(primary, archive.exec(['bash', '-c', script, conf.server]));
  const output = said(record);
  if (record.exitCode !== 0) throw new ClusterError(`barman backup ${conf.server} --wait on ${archive.name} exited ${record.exitCode}: ${output.split('\n').filter((l) => /ERROR|WARNING|FAILED/.test(l)).join(' ') || output.split('\n').at(-1)}`);
  const id = /Starting backup using \S+ method for server \S+ in \S+\/(\S+)/.exec(output)?.[1];
  if (!id) throw new ClusterError(`barman backup ${conf.server} --wait on ${archive.name} succeeded but did not name its backup: ${output.slice(0, 400)}`);
  const shown = await showBackup(archive, conf, id);
  if (shown.status !== 'DONE') throw new ClusterError(`barman backup ${conf.server} --wait ended, but backup ${id} is ${shown.status}, not DONE`);
  const info = shown.base_backup_information ?? {};
  const switched = /FAULTLINE-SWITCHED: (.*)/.exec(output)?.[1]?.trim();
  return (
    `barman backup ${conf.server} --wait: backup ${id} of ${primary.name} in ${archive.name}:${conf.home}/${conf.server}/base/${id} ` +
    `(WAL ${info.begin_wal ?? '?'} to ${info.end_wal ?? '?'}, status DONE, ${record.durationMs} ms)` +
    (switched !== undefined ? `; barman switch-wal --force closed its end segment as it waited (${switched || 'no output'})` : '')
  );
}

async function showBackup(archive: PostgresNodeHandle, conf: BarmanConf, id: string): Promise<ShownBackup> {
  const shown = await barmanJson<Record<string, ShownBackup>>(archive, ['show-backup', conf.server, id]);
  const backup = shown[conf.server];
  if (!backup) throw new ClusterError(`barman show-backup ${conf.server} ${id} on ${archive.name} said nothing about it: ${JSON.stringify(shown).slice(0, 300)}`);
  return backup;
}

/** The newest backup Barman holds that is DONE (restorable), and the WAL segment it begins in; '' when none. */
export async function latestBarmanBackup(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<BackupLabel> {
  const conf = clusterConf(cluster.topology, cluster.primary().name);
  const listed = await barman(archive, ['-f', 'json', 'list-backups', conf.server]);
  if (listed.exitCode !== 0) throw new ClusterError(`barman list-backups ${conf.server} on ${archive.name} exited ${listed.exitCode}: ${said(listed)}`);
  let backups: ListedBackup[];
  try {
    backups = (JSON.parse(listed.stdout) as Record<string, ListedBackup[]>)[conf.server] ?? [];
  } catch {
    throw new ClusterError(`barman list-backups ${conf.server} on ${archive.name} did not print JSON: ${said(listed).slice(0, 300)}`);
  }
  const newest = backups.filter((b) => b.status === 'DONE').map((b) => b.backup_id).sort().at(-1);
  if (!newest) {
    // What is on Barman's disk says why: a backup's files with its backup.info gone or empty (not
    // fsynced before a power loss), or nothing at all. Nothing on disk and nothing listed: none was taken.
    const disk = await archive.exec(['bash', '-c', `cd "$0" 2>/dev/null || exit 0; for d in base/*/; do [ -d "$d" ] && echo "$d: $(find "$d" -type f | wc -l) files"; done; for f in meta/*backup.info base/*/backup.info; do [ -e "$f" ] && echo "$f: $(stat -c %s "$f") bytes$(grep -m1 '^status=' "$f" | sed 's/^/, /')"; done; true`, `${conf.home}/${conf.server}`]);
    const found = disk.stdout.trim().split('\n').filter(Boolean);
    if (backups.length === 0 && found.length === 0) return { label: '' };
    throw new ClusterError(
      `Barman on ${archive.name} holds no completed backup of server '${conf.server}': barman list-backups lists ${backups.length === 0 ? 'none' : backups.map((b) => `${b.backup_id} (${b.status})`).join(', ')}; on its disk: ${found.join('; ') || 'nothing'}`,
    );
  }
  const begin = (await showBackup(archive, conf, newest)).base_backup_information?.begin_wal;
  return { label: newest, ...(begin ? { start: begin } : {}) };
}
