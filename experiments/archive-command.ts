// The user's archive_command, run as written (backupTool 'archive_command'): WAL copied with `cp`
// into a mount of the backup host, with rsync over SSH, and by a user's script, then proved by a
// restore rehearsal; the backup host's power lost right after segments were archived (what
// survives is what the drill measures); and the backup host refusing for a while.
import { defineExperiment, type ExperimentDefinition, type StepContext } from '../harness/experiment/definition.ts';
import { asPostgres, type PostgresTopologySpec } from '../harness/engines/postgres/index.ts';

/** PostgreSQL's documentation example, into /mnt/wal. */
export const CP_COMMAND = 'test ! -f /mnt/wal/%f && cp %p /mnt/wal/%f';
/** The same, copying to a temporary name renamed into place: a copy cut off never holds the segment's name. */
export const CP_RENAME_COMMAND = 'test ! -f /mnt/wal/%f && cp %p /mnt/wal/%f.tmp && mv /mnt/wal/%f.tmp /mnt/wal/%f';
/** rsync over SSH to the backup host, the file fsynced by rsync and the directory that names it by a sync there. */
export const RSYNC_COMMAND = 'rsync -a --ignore-existing --fsync %p backup-host:/srv/wal/%f && ssh backup-host sync /srv/wal';
/** A user's script, given to faultline with --archive-script (here: in the topology). */
export const SCRIPT_PATH = '/usr/local/bin/archive-wal.sh';
export const SCRIPT = `#!/bin/bash
# archive-wal.sh %p %f: copy a WAL segment into the archive mount, never over an existing one, and make it durable.
set -euo pipefail
src=$1 name=$2 dir=/mnt/wal
[ ! -e "$dir/$name" ] || { echo "archive-wal.sh: $name is already archived" >&2; exit 1; }
cp "$src" "$dir/.$name.tmp"
sync "$dir/.$name.tmp"
mv "$dir/.$name.tmp" "$dir/$name"
sync "$dir"
`;

export function archiveTopology(command: string, extra: Partial<PostgresTopologySpec['postgres']> = {}): PostgresTopologySpec {
  return {
    domains: ['san-a', 'backup-site'],
    postgres: {
      backupTool: 'archive_command',
      archiveTimeout: '1s',
      ...extra,
      settings: { archive_mode: 'on', archive_command: command, ...extra.settings },
      nodes: [
        { name: 'pg-primary', role: 'primary', domain: 'san-a' },
        { name: 'pg-archive', role: 'archive', domain: 'backup-site' },
      ],
    },
  };
}

/** A drill on one archive_command: a fresh backup, then the rehearsal restores it with the archive after the workload. */
function drill(name: string, description: string, topology: PostgresTopologySpec, extra: Partial<ExperimentDefinition> = {}): ExperimentDefinition {
  return defineExperiment({
    name,
    description,
    topology,
    workload: { clients: 4, duration: '5s' },
    freshBackupAt: '300ms',
    recovery: { at: '4500ms', try: [], rehearseRestore: true, restoreDomain: 'san-a' },
    expect: { maxLostWrites: 0 },
    ...extra,
  });
}

/**
 * The backup host refuses new archive files for 2 s (its archive directories made unwritable, as a
 * full or read-only backup volume, or a host turning writers away, would): each archive_command
 * then fails, and PostgreSQL keeps the segment and retries.
 */
async function refuseArchive({ cluster }: StepContext): Promise<string> {
  const archive = asPostgres(cluster).archive();
  if (!archive || archive.lost) throw new Error('no backup host to make refuse');
  const dirs = "find /var/lib/faultline/data/site -mindepth 1 -type d -print0";
  await archive.run(['bash', '-c', `${dirs} | xargs -0 -r chmod a-w`], { user: 'root' });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await archive.run(['bash', '-c', `${dirs} | xargs -0 -r chmod u+w`], { user: 'root' });
  return `the backup host ${archive.name} refused new archive files for 2 s (its archive directories unwritable), then took them again`;
}

/**
 * The change begins once the fresh backup has ended (at 400 ms as planned, later if the backup
 * overran) by reading what the primary's archiver has done: the power loss 2.1 s later then finds
 * segments archived after the backup, which a restore of it needs, and not only older ones.
 */
async function archiverStatus({ cluster }: StepContext): Promise<string> {
  const primary = asPostgres(cluster).primary();
  const stats = await primary.psql("SELECT format('%s archived, last %s; %s failed', archived_count, coalesce(last_archived_wal, 'none'), failed_count) FROM pg_stat_archiver");
  return `${primary.name}'s archiver as the change begins: ${stats}`;
}

const powerLossOfBackupHost: Partial<ExperimentDefinition> = {
  schedule: [{ at: '400ms', name: 'archiver-status', target: 'primary', run: archiverStatus }],
  faults: [{ at: '2500ms', fault: 'power-loss', target: 'archive' }],
};

export const archiveCpRehearsal = drill(
  'archive-cp',
  "archive_command 'test ! -f /mnt/wal/%f && cp %p /mnt/wal/%f' into the backup host's mount (NFS exported sync), run as written: a restore rehearsal proves the archive",
  archiveTopology(CP_COMMAND),
);

export const archiveCpPowerLossSync = drill(
  'archive-cp-power-loss-sync',
  "The backup host loses power right after segments were copied into an NFS mount exported sync, by cp to a temporary name renamed into place: each file was committed when cp closed it, the rename at once, so the archive keeps them",
  archiveTopology(CP_RENAME_COMMAND),
  powerLossOfBackupHost,
);

export const archiveCpPowerLossPartial = drill(
  'archive-cp-power-loss-partial',
  "PostgreSQL's documentation example ('test ! -f … && cp') into an NFS mount exported sync, and the backup host loses power right after segments were copied: a copy the power cut off leaves a partial file under the segment's name, which the export committed, and 'test ! -f' refuses every retry",
  archiveTopology(CP_COMMAND),
  {
    ...powerLossOfBackupHost,
    shows: {
      failing: ['restore-rehearsal', 'archive-continuity'],
      why: "when a copy is in flight at the power cut (often, not always), its partial file keeps the segment's name and 'test ! -f' refuses every retry: archiving stops there",
      always: false,
    },
  },
);

export const archiveCpPowerLossAsync = drill(
  'archive-cp-power-loss-async',
  'The backup host loses power right after segments were copied with cp into an NFS mount exported async: nothing made them durable, PostgreSQL already recycled them, and the archive has a hole',
  archiveTopology(CP_COMMAND, { archiveMounts: { '/mnt/wal': 'nfs-async' } }),
  {
    ...powerLossOfBackupHost,
    shows: { failing: ['restore-rehearsal', 'archive-continuity'], why: 'cp does not fsync, and an async export commits nothing at close: the power loss takes archived segments PostgreSQL already recycled' },
  },
);

export const archiveRsyncPowerLoss = drill(
  'archive-rsync-power-loss',
  'The backup host loses power right after segments were copied with rsync --fsync over SSH and synced there: the archive keeps them',
  archiveTopology(RSYNC_COMMAND),
  powerLossOfBackupHost,
);

export const archiveScript = drill(
  'archive-script',
  `archive_command '${SCRIPT_PATH} %p %f', the user's script run as written (read-only) into the backup host's mount: a restore rehearsal proves the archive`,
  archiveTopology(`${SCRIPT_PATH} %p %f`, { archiveScripts: { [SCRIPT_PATH]: SCRIPT } }),
);

export const archiveRefused = drill(
  'archive-refused',
  'The backup host refuses new archive files for 2 s under load: archive_command fails, PostgreSQL keeps each segment and retries, and nothing is lost',
  archiveTopology(CP_COMMAND),
  { schedule: [{ at: '1500ms', name: 'refuse-archive', target: 'archive', run: refuseArchive }] },
);

export const archiveRefusedMasked = drill(
  'archive-refused-masked',
  "The backup host refuses new archive files for 2 s, behind an archive_command that masks its failure ('|| true'): PostgreSQL recycles segments the archive never got",
  archiveTopology('cp %p /mnt/wal/%f || true'),
  {
    schedule: [{ at: '1500ms', name: 'refuse-archive', target: 'archive', run: refuseArchive }],
    shows: { failing: ['restore-rehearsal', 'archive-continuity'], why: "'|| true' tells PostgreSQL a failed copy succeeded: it recycles the segment, and the archive has a hole" },
  },
);

export const archiveRestoreCommand = drill(
  'archive-restore-command',
  "cp into the backup host's mount, and the restore fetches WAL with the user's restore_command 'cp /mnt/wal/%f %p', run as written on the restored node",
  archiveTopology(CP_COMMAND, { settings: { restore_command: 'cp /mnt/wal/%f %p' } }),
);

export const archiveLibrary = drill(
  'archive-library',
  "archive_library = 'basic_archive' (PostgreSQL's own module) with basic_archive.archive_directory on the backup host's mount: a restore rehearsal proves the archive",
  archiveTopology('', { settings: { archive_command: '', archive_library: 'basic_archive', 'basic_archive.archive_directory': '/mnt/archive' } }),
);

export const archiveCommandExperiments = [archiveCpRehearsal, archiveRestoreCommand, archiveLibrary, archiveCpPowerLossSync, archiveCpPowerLossPartial, archiveCpPowerLossAsync, archiveRsyncPowerLoss, archiveScript, archiveRefused, archiveRefusedMasked];
