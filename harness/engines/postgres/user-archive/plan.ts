// What the user's archive_command (backupTool 'archive_command') needs from the cluster, read
// from the topology once: the commands, the backup host's names and users, the remote directories
// it writes into, the local paths it copies into with what each is (an NFS mount exported sync or
// async, or a local directory), and the scripts to install. Pure.

import { ConfigError } from '../../../errors.ts';
import { REPO } from '../postgres-node.ts';
import type { ArchiveMountKind, PostgresTopology } from '../topology.ts';
import type { UserSetting } from '../user-settings.ts';
import { destinationsOf, type RemoteDestination } from './programs.ts';
import { keyPathsOf } from './ssh.ts';

/** Everything the user's commands write on the backup host lies under this directory of its volume. */
export const SITE = `${REPO}/site`;

export interface ArchivePlan {
  command?: UserSetting;
  library?: UserSetting;
  restoreCommand?: UserSetting;
  /** Names the backup host answers to (besides its node name). */
  aliases: string[];
  /** Users the commands log in to the backup host as. */
  users: string[];
  remote: RemoteDestination[];
  /** Local directories the commands copy into, with what each is. */
  mounts: Array<{ path: string; kind: ArchiveMountKind; declared: boolean }>;
  scripts: Record<string, string>;
  keyPaths: string[];
}

/** The directory a local mount's files lie in on the backup host's volume. */
export function siteDir(path: string): string {
  return `${SITE}${path.startsWith('/') ? '' : '/'}${path}`;
}

export function archivePlan(topology: PostgresTopology): ArchivePlan {
  const { archive = {}, restoreCommand } = topology.postgres.applied;
  const scripts = topology.postgres.archiveScripts;
  const texts = [archive.command?.value ?? '', restoreCommand?.value ?? ''];
  const found = texts.map((text) => destinationsOf(text, scripts));
  const nodeNames = new Set(topology.postgres.nodes.map((n) => n.name));
  const hosts = found.flatMap((f) => f.hosts);
  const remote = found[0]!.remote;
  // basic_archive writes into its archive_directory, a local path like cp's.
  const local = [...found.flatMap((f) => f.local)];
  if (archive.library && archive.directory?.value) local.push(archive.directory.value.replace(/\/+$/, ''));
  const declared = topology.postgres.archiveMounts;
  const mounts: ArchivePlan['mounts'] = [];
  const add = (path: string, kind: ArchiveMountKind, isDeclared: boolean) => {
    if (!mounts.some((m) => m.path === path || path.startsWith(`${m.path}/`))) mounts.push({ path, kind, declared: isDeclared });
  };
  // A declared mount covers every destination under it; other destinations are mounts of their own, nfs-sync by default.
  for (const [path, kind] of Object.entries(declared).sort(([a], [b]) => a.length - b.length)) add(path.replace(/\/+$/, '') || '/', kind, true);
  for (const path of local) add(path, 'nfs-sync', false);
  for (const m of mounts) {
    if (m.path === '/' || /^\/(usr|etc|bin|sbin|lib|proc|sys|dev|run|var\/lib\/postgresql|var\/log)(\/|$)/.test(m.path)) {
      throw new ConfigError(`archive_command copies into ${m.path}, which cannot be a mount of the backup host in faultline's containers (it is a system directory there): archive into a directory of its own, e.g. /mnt/server/archivedir`);
    }
  }
  const users = [...new Set([...hosts.map((h) => h.user ?? 'postgres'), ...remote.map((r) => r.user ?? 'postgres'), 'postgres'])];
  const aliases = [...new Set(hosts.map((h) => h.host).filter((h) => !nodeNames.has(h)))];
  return {
    ...(archive.command ? { command: archive.command } : {}),
    ...(archive.library ? { library: archive.library } : {}),
    ...(restoreCommand ? { restoreCommand } : {}),
    aliases,
    users,
    remote,
    mounts,
    scripts,
    keyPaths: keyPathsOf([...texts, ...Object.values(scripts)].join('\n')),
  };
}

/** The regular expression (relative to the volume's root, as faultfs reads paths) of the nfs-sync mounts' files. */
export function syncMountPattern(plan: ArchivePlan): string | undefined {
  const paths = plan.mounts.filter((m) => m.kind === 'nfs-sync').map((m) => siteDir(m.path).slice(REPO.length + 1).replace(/[.[\]()*+?^$|\\{}]/g, '\\$&'));
  return paths.length ? `^(${paths.join('|')})(/|$)` : undefined;
}
