// A restore of the user's archive (backupTool 'archive_command'): the base backup pg_basebackup put
// in the repository is copied into the new node; WAL comes by the user's restore_command, run as
// written (the new node has the servers' keys, mounts and scripts), or, when they gave none, from
// the archived segments faultline copies from the backup host into the node.

import { ClusterError } from '../../../errors.ts';
import { pipeBetween } from '../../../cluster/docker/pipe.ts';
import type { BackupLabel } from '../backup-tool.ts';
import { BASE, PGDATA, VOLUME_MOUNT, type PostgresNodeHandle } from '../postgres-node.ts';
import type { StartedPostgresCluster } from '../started-cluster.ts';
import { confLine } from '../user-settings.ts';
import { SITE, type ArchivePlan } from './plan.ts';

const INCOMING = `${VOLUME_MOUNT}/incoming`;
const RESTORE_WAL = `${VOLUME_MOUNT}/restore-wal`;

export async function restoreWithUserCommand(
  _cluster: StartedPostgresCluster,
  archive: PostgresNodeHandle,
  restored: PostgresNodeHandle,
  latest: BackupLabel,
  settings: string[],
  plan: ArchivePlan,
  target?: string,
): Promise<string> {
  const label = latest.label;
  const own = plan.restoreCommand;
  if (!own) {
    // A promoted standby archives the old timeline's last segment as <segment>.partial, as PostgreSQL names it: not the command's doing.
    const compressed = (await archive.exec(['bash', '-c', `find ${SITE} -type f -regextype posix-extended -regex '.*/[0-9A-F]{24}\\.[a-z0-9]+' ! -name '*.partial' -printf '%f\\n' | head -n 1`])).stdout.trim();
    if (compressed) {
      throw new ClusterError(`the archive holds ${compressed}, a segment your archive_command changed (compressed?), and no restore_command was given to turn it back: give the restore_command you use`);
    }
  }
  // The backup, and (without the user's restore_command) every archived segment from the backup's start on, flattened.
  const wal = own
    ? ''
    : `cd ${SITE}; start=$(sed -n 's/^START WAL LOCATION: .*(file \\([0-9A-F]\\{24\\}\\)).*/\\1/p' ${BASE}/${label}/backup_label 2>/dev/null); ` +
      `while IFS= read -r f; do n=\${f##*/}; if [[ $n == *.history || -z $start || ! \${n:8:16} < \${start:8:16} ]]; then files+=("$f"); fi; done < <(find . -type f -regextype posix-extended -regex '.*/[0-9A-F]{24}(\\.partial)?|.*/[0-9A-F]{8}\\.history'); `;
  const send =
    `export LC_ALL=C; files=(); ${wal}` +
    `args=(-C ${BASE} ${label}); [ \${#files[@]} -gt 0 ] && args+=(-C ${SITE} --transform='s|^[.]/\\(.*/\\)\\{0,1\\}|wal/|' "\${files[@]}"); ` +
    `tar -c "\${args[@]}" | lz4 -1 -q -c; t=\${PIPESTATUS[0]} z=\${PIPESTATUS[1]}; [ $t -ne 0 ] && exit $t; exit $z`;
  await pipeBetween(
    { container: archive.container, name: archive.name, command: ['bash', '-c', send], what: `tar (lz4) of base backup ${label}${own ? '' : ' and the archived WAL'}` },
    { container: restored.container, name: restored.name, command: ['bash', '-c', `set -o pipefail; rm -rf ${INCOMING} && mkdir -p ${INCOMING} && lz4 -d -q -c | tar -x -C ${INCOMING}`], what: `lz4 -d | tar -x into ${INCOMING}` },
  );
  const restoreCommand = own ? own.value : `cp ${RESTORE_WAL}/%f %p`;
  const lines = [
    confLine('restore_command', restoreCommand),
    "recovery_target_timeline = 'latest'",
    ...settings,
    ...(target ? [confLine('recovery_target_time', target), "recovery_target_action = 'promote'"] : []),
  ];
  await restored.run(
    [
      'bash',
      '-c',
      `set -e; mkdir -p ${INCOMING}/wal; mv ${INCOMING}/${label} ${PGDATA}; mv ${INCOMING}/wal ${RESTORE_WAL}; rmdir ${INCOMING}; ` +
        `rm -f ${PGDATA}/standby.signal; touch ${PGDATA}/recovery.signal; printf '%s\\n' "$@" >> ${PGDATA}/postgresql.auto.conf; ` +
        `chown -R postgres:postgres ${PGDATA} ${RESTORE_WAL}; chmod 700 ${PGDATA}; fl-sync ${PGDATA}`,
      'restore',
      ...lines,
    ],
    { user: 'root' },
  );
  return own ? `WAL fetched by your restore_command '${own.value}' (${own.source})` : `WAL copied from ${archive.name}:${SITE}, as no restore_command was given`;
}
