// The user's own archive_command as the backup tool (backupTool 'archive_command'): it runs as
// written on every server, and what it copies to is made real on the archive node, the backup
// host, on its own volume in its own failure domain: an SSH server under the names the command
// uses (scp, rsync, ssh), and for a local path an sshfs mount of the backup host's directory, whose
// durability on close follows what the user says the mount is (nfs-sync: faultfs on the backup
// host commits a file when it is closed; nfs-async: only what is fsynced), or a directory on the
// server's own volume (local). Base backups are taken with pg_basebackup; a restore runs the user's
// restore_command as written, or copies the archived segments itself.

import { ClusterError, describeError } from '../../../errors.ts';
import { waitFor } from '../../../wait.ts';
import type { BackupToolHooks, BackupToolSetUp } from '../backup-tool.ts';
import { takePgBaseBackup } from '../base-backup.ts';
import { BASE, VOLUME_MOUNT, type PostgresNodeHandle } from '../postgres-node.ts';
import type { PostgresTopology } from '../topology.ts';
import type { StartedPostgresCluster } from '../started-cluster.ts';
import { archivePlan, SITE, siteDir, syncMountPattern, type ArchivePlan } from './plan.ts';
import { admitSsh, sh, trustSsh } from './ssh.ts';
import { restoreWithUserCommand } from './restore.ts';

const MOUNT_OPTIONS = 'allow_other,default_permissions,reconnect,ServerAliveInterval=2,ServerAliveCountMax=3,IdentityFile=/root/.ssh/id_ed25519,StrictHostKeyChecking=yes';

/** What a mount kind means, as the output says it. */
const KIND_MEANS: Record<string, string> = {
  'nfs-sync': "an NFS mount exported 'sync' (a file's data is committed when it is closed)",
  'nfs-async': "an NFS mount exported 'async', or an sshfs-like one (nothing is committed until it is fsynced)",
  local: "a directory on the server's own disk",
};

/** On one server (or a node admitted later): the scripts, read-only, and the mounts. */
async function prepareServer(plan: ArchivePlan, node: PostgresNodeHandle, archive: PostgresNodeHandle): Promise<void> {
  const steps: string[] = ['set -e'];
  for (const [path, text] of Object.entries(plan.scripts)) {
    steps.push(`mkdir -p ${sh(path.slice(0, path.lastIndexOf('/')) || '/')}`, `printf '%s' ${sh(text)} >${sh(path)}`, `chown root:root ${sh(path)}`, `chmod 0555 ${sh(path)}`);
  }
  for (const mount of plan.mounts) {
    if (mount.kind === 'local') {
      // On the server's own volume: it shares the server's fate, as a local archive directory does.
      const dir = `${VOLUME_MOUNT}/local-archive${mount.path}`;
      steps.push(`mkdir -p ${sh(dir)} ${sh(mount.path.slice(0, mount.path.lastIndexOf('/')) || '/')}`, `chown postgres:postgres ${sh(dir)}`, `ln -sfn ${sh(dir)} ${sh(mount.path)}`);
      continue;
    }
    // The mount point is made unwritable first: nothing may land on the server itself before the mount is there.
    steps.push(
      `mkdir -p ${sh(mount.path)}`,
      `chmod 000 ${sh(mount.path)}`,
      `sshfs -o ${MOUNT_OPTIONS} postgres@${archive.name}:${sh(siteDir(mount.path))} ${sh(mount.path)}`,
    );
  }
  if (steps.length > 1) await node.run(['bash', '-c', steps.join('\n')], { user: 'root' });
}

/** Switches a WAL segment on the primary and waits until it is in the backup host's site directory: the user's command works here. */
async function proveArchiving(primary: PostgresNodeHandle, archive: PostgresNodeHandle): Promise<string> {
  return waitForArchived(primary, archive).catch(async (error: unknown) => {
    // What the command itself said when it failed, from the server's log.
    const said = await primary.exec(['bash', '-c', "grep -v -E 'LOG:  archive command failed|DETAIL:  The failed archive command was|WARNING:  archiving write-ahead log' /var/log/faultline/postgresql.log | grep -v -E '^[0-9]{4}-' | tail -n 3"]);
    throw new ClusterError(`${describeError(error)}; the command's last words: ${said.stdout.trim().split('\n').join(' / ') || '(none)'}`);
  });
}

async function waitForArchived(primary: PostgresNodeHandle, archive: PostgresNodeHandle): Promise<string> {
  await primary.psql("SELECT pg_logical_emit_message(false, 'faultline', 'archive-check')");
  const segment = await primary.psql('SELECT pg_walfile_name(pg_switch_wal())');
  const started = performance.now();
  await waitFor(
    {
      what: `WAL segment ${segment}, switched on ${primary.name}, to be archived by the archive_command into ${archive.name}:${SITE}`,
      timeoutMs: 30_000,
      intervalMs: 100,
      error: (message) => new ClusterError(`the archive_command does not archive here: ${message}`),
    },
    async (seen) => {
      const found = await archive.exec(['bash', '-c', `find ${SITE} -type f -name '${segment}*' ! -name '*.tmp' -print -quit`]);
      if (found.stdout.trim()) return true;
      seen(await primary.psql("SELECT 'archived ' || archived_count || ', failed ' || failed_count || coalesce(', last failed ' || last_failed_wal, '') FROM pg_stat_archiver").catch(() => 'pg_stat_archiver unreadable'));
      return undefined;
    },
  );
  return `${segment} archived in ${Math.round(performance.now() - started)} ms`;
}

export const userArchiveTool: BackupToolHooks = {
  name: 'archive_command',
  containerOptions(topology, role) {
    const plan = archivePlan(topology);
    if (role === 'archive') return plan.aliases.length ? { aliases: plan.aliases } : {};
    return plan.mounts.some((m) => m.kind !== 'local') ? { fuse: true } : {};
  },
  serverConf: (topology) => ['archive_mode = on', `archive_timeout = '${topology.postgres.archiveTimeout}'`],
  reservesSlot: () => false,
  async setUp({ topology, nodes, primary, archive }: BackupToolSetUp): Promise<string> {
    const plan = archivePlan(topology);
    if (!plan.command?.value.trim() && !plan.library?.value.trim()) throw new ClusterError("backupTool 'archive_command' needs an archive_command (or archive_library) in the topology's settings");
    // The backup host: the directories the commands write into, on its volume.
    const steps = ['set -e', `mkdir -p ${SITE}`, `chown postgres:postgres ${SITE}`];
    for (const mount of plan.mounts.filter((m) => m.kind !== 'local')) steps.push(`mkdir -p ${sh(siteDir(mount.path))}`, `chown postgres:postgres ${sh(siteDir(mount.path))}`);
    for (const dest of plan.remote) {
      const user = dest.user ?? 'postgres';
      // A relative directory is in the user's home; either way the path the command names is a link into the site directory.
      const path = dest.dir.startsWith('/') ? dest.dir : `$(getent passwd ${user} | cut -d: -f6)/${dest.dir}`;
      steps.push(
        `id ${user} >/dev/null 2>&1 || useradd -m -s /bin/bash ${user}`,
        `p=${dest.dir.startsWith('/') ? sh(path) : `"${path}"`}; p=\${p%/}; t=${sh(SITE)}$p`,
        'mkdir -p "$t" "$(dirname "$p")"; chown ' + user + ': "$t"',
        'if [ -d "$p" ] && [ ! -L "$p" ]; then rmdir "$p" 2>/dev/null || { echo "$p exists on the backup host and is not empty" >&2; exit 1; }; fi',
        'ln -sfn "$t" "$p"',
      );
    }
    steps.push(`fl-sync ${SITE}`);
    await archive.run(['bash', '-c', steps.join('\n')], { user: 'root' });
    // pg_basebackup on the backup host logs in to the primary with the password (as fl-pg's archive does).
    await archive.run(['bash', '-c', 'umask 077; printf "*:*:*:postgres:%s\n*:*:replication:postgres:%s\n" "$FL_PASSWORD" "$FL_PASSWORD" >"$HOME/.pgpass"']);
    // nfs-sync: the backup host commits each file of those directories when it is closed (faultfs).
    const pattern = syncMountPattern(plan);
    const said: string[] = [];
    if (pattern && archive.volume.faultfs) {
      await archive.run(['faultfs-ctl', archive.volume.faultfs.socket, 'close-commits', pattern], { user: 'root' });
    }
    const servers = nodes.filter((n) => n.spec.role !== 'archive');
    said.push(await trustSsh({ server: archive, users: plan.users, aliases: plan.aliases, clients: servers, keyPaths: plan.keyPaths }));
    await Promise.all(servers.map((node) => prepareServer(plan, node, archive)));
    for (const mount of plan.mounts) {
      said.push(
        `${mount.path} is ${KIND_MEANS[mount.kind]}${mount.declared ? '' : ' (assumed: say otherwise with --archive-mount PATH=nfs-async|local)'}${mount.kind === 'local' ? `, on each server's own volume` : `: a mount of ${archive.name}:${siteDir(mount.path)}`}`,
      );
    }
    const scripts = Object.keys(plan.scripts);
    if (scripts.length) said.push(`${scripts.join(', ')} installed read-only on every server, run as written`);
    if (plan.mounts.some((m) => m.kind === 'local')) said.push('the archive is on the primary itself, so the backup host receives none of it');
    else said.push(`archiving works: ${await proveArchiving(primary, archive)}`);
    const library = plan.library?.value.trim() ? plan.library : undefined;
    return `the archive_command runs as written (${library ? `archive_library '${library.value}', ${library.source}` : `'${plan.command!.value}', ${plan.command!.source}`}); ${said.join('; ')}`;
  },
  archiveMode(topology, name) {
    const plan = archivePlan(topology);
    const what = plan.library?.value.trim() ? `archive library ${plan.library.value}` : `archive_command ('${plan.command?.value ?? ''}')`;
    const where = plan.mounts.some((m) => m.kind === 'local') ? "a directory on the primary's own volume" : name;
    return { archive: 'archive_command', how: `the primary's ${what} copies each WAL segment to ${where} only once the segment is complete` };
  },
  async admit(cluster: StartedPostgresCluster, node: PostgresNodeHandle) {
    const archive = cluster.archive()!;
    await admitSsh(archive, node);
    await prepareServer(archivePlan(cluster.topology), node, archive);
  },
  walDir: () => SITE,
  async takeBackup(cluster, archive) {
    return (await takePgBaseBackup(cluster, archive)).said;
  },
  async latestBackup(_cluster, archive) {
    const listing = await archive.exec(['bash', '-c', `b=$(ls -1 ${BASE} 2>/dev/null | sort | tail -n 1); [ -n "$b" ] || exit 0; echo "$b"; sed -n 's/^START WAL LOCATION: .*(file \\([0-9A-F]\\{24\\}\\)).*/\\1/p' ${BASE}/$b/backup_label`]);
    const [label = '', start] = listing.stdout.trim().split('\n');
    return { label, ...(start ? { start } : {}) };
  },
  restore: (cluster, archive, restored, latest, settings, target) => restoreWithUserCommand(cluster, archive, restored, latest, settings, archivePlan(cluster.topology), target),
  async followPrimary(cluster: StartedPostgresCluster) {
    const primary = cluster.primary();
    const state = await primary.psql("SELECT current_setting('archive_mode') || ' | ' || current_setting('archive_command')");
    const [mode] = state.split(' | ');
    if (mode !== 'on' && mode !== 'always') throw new ClusterError(`${primary.name} does not archive (archive_mode ${mode})`);
    return `${primary.name} archives with the archive_command as written (archive_mode ${mode})`;
  },
};

export type { PostgresTopology };
