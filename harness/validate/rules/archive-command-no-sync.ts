// An archive_command that copies WAL and exits 0 before the copy is on disk: PostgreSQL then
// recycles the segment, and a power loss on the archive's host before its page cache is written
// leaves a hole in the archive. The classic silent loss; a drill cannot show it in seconds, since
// it needs the archive host's power cut inside the page cache's window.

import { posix } from 'node:path';
import { renamedBy, type Copy } from './archive-copies.ts';
import { entryDurable, madeDurable } from './archive-durability.ts';
import { archiveCopies, describeDestination, describeStep, mountsOf, once, sourceOf } from './archive-rule-support.ts';
import { isInside, quote } from './settings.ts';
import type { Rule, RuleHit, UserConfig } from './types.ts';

const LOSS = 'PostgreSQL recycles the segment once the command exits 0, so if the archive\'s host loses power before its page cache reaches disk, the archived segment is gone and the archive has a hole no restore can cross';

type Kind = 'nfs-sync' | 'nfs-async' | 'local';

/** What a local destination is: the longest archiveMounts path above it; a relative path is in the data directory. */
function kindOf(copy: Copy, config: UserConfig): { kind: Kind; given: boolean; mount?: string } {
  if (!copy.file.startsWith('/')) return /^[$~`]/.test(copy.file) ? { kind: 'nfs-sync', given: false } : { kind: 'local', given: true };
  const mounts = mountsOf(config);
  const mount = Object.keys(mounts)
    .filter((path) => isInside(copy.file, path))
    .sort((a, b) => b.length - a.length)[0];
  return mount ? { kind: mounts[mount]!, given: true, mount } : { kind: 'nfs-sync', given: false };
}

export const rule: Rule = {
  id: 'archive-command-no-sync',
  severity: 'error',
  title: 'archive_command does not make the copy durable',
  reason:
    'PostgreSQL recycles a WAL segment as soon as archive_command exits 0, so a copy still in the archive host\'s page cache is lost with that host\'s power, and the archive has a hole that ends point-in-time recovery there.',
  fix: 'Make the copy and its name durable before the command exits 0: sync FILE DIR after cp (the file and the directory that names it; coreutils 8.24 or later, plain sync otherwise), rsync --fsync (rsync 3.2.4 or later) then ssh HOST sync DIR, ssh HOST sync FILE DIR after scp, dd conv=fsync then a sync of the directory, or archive with pgBackRest archive-push or barman-wal-archive, which sync on the repository\'s side.',
  docs: 'https://www.postgresql.org/docs/current/continuous-archiving.html#BACKUP-ARCHIVING-WAL',
  check: (config) => {
    const read = archiveCopies(config);
    if (!read) return [];
    const { steps, copies } = read;
    const hits: RuleHit[] = [];
    for (const copy of copies) {
      if (renamedBy(steps, copies, copy)) continue; // judged by the rename that puts it in place
      // A temporary file made durable before it was renamed into place counts for the rename.
      const dataDurable = madeDurable(steps, copy) || copies.some((earlier) => renamedBy(steps, copies, earlier) === copy && madeDurable(steps, earlier));
      if (dataDurable) {
        // The data is durable; the new name in its directory is too only once that directory is synced
        // (or the mount commits it: an NFS export given as sync).
        const local = copy.remote ? undefined : kindOf(copy, config);
        if (!entryDurable(steps, copy) && !(local?.kind === 'nfs-sync' && local.given)) {
          const step = steps[copy.step]!;
          const dir = posix.dirname(copy.file);
          hits.push({
            message: `${step.file ? `the script ${step.file} that archive_command runs` : 'archive_command'} makes the copy by ${describeStep(step)} durable but not the directory entry that names it: POSIX lets a power loss take a new name back (faultline's backup-power-loss drill does; ext4 and XFS usually commit it with the next fsync), and PostgreSQL has already recycled the segment: sync the directory after it (${copy.remote ? `ssh ${copy.remote.host} sync ${dir}` : `sync ${dir}`})`,
            source: sourceOf(step, read.source),
            severity: 'warning',
          });
        }
        continue;
      }
      const step = steps[copy.step]!;
      const by = `${step.file ? `the script ${step.file} that archive_command runs` : 'archive_command'} copies WAL with ${describeStep(step)}`;
      const source = sourceOf(step, read.source);
      const to = quote(describeDestination(copy));
      if (copy.remote) {
        hits.push({ message: `${by} to ${copy.remote.host} and nothing makes it durable there (no rsync --fsync, no ssh ${copy.remote.host} sync after it): ${LOSS}`, source });
        continue;
      }
      const { kind, given, mount } = kindOf(copy, config);
      if (kind === 'nfs-sync' && given) continue; // committed by the server when the file is closed
      if (kind === 'nfs-sync') {
        const dir = quote(posix.dirname(copy.file));
        hits.push({
          message: `${by} into ${to} and nothing syncs it: durable only if ${dir} is an NFS mount exported 'sync' (assumed, as no archive mount kind is given for it); exported 'async' or on a local disk, ${LOSS}`,
          source,
          severity: 'warning',
        });
      } else if (kind === 'nfs-async') {
        hits.push({ message: `${by} into ${to}, on ${quote(mount!)}, an NFS mount exported 'async', and nothing syncs it: ${LOSS}`, source });
      } else {
        const where = mount ? `on ${quote(mount)}, the server's own disk` : 'a path relative to the data directory';
        hits.push({ message: `${by} into ${to}, ${where}: the archive is on the primary's own host, and nothing syncs the copy: ${LOSS}`, source });
      }
    }
    return once(hits);
  },
};
