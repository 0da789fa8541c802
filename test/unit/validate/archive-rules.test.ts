// The archive_command rules a drill cannot show in seconds: archive-command-overwrite (nothing
// refuses an existing file), archive-command-no-sync (nothing makes the copy durable, by where it
// goes: a remote host, an NFS mount exported sync or async, the server's own disk) and
// archive-command-unrunnable (a program the drills cannot run). archive-command-no-sync also warns
// when the copy's data is made durable but the directory entry naming it is not (no sync of that
// directory, no plain sync, no sync -f on its file system): a power loss can take the new name back.
// Each on configurations written to files and read by validate's own parser; each fires on the
// dangerous forms and is silent on the safe ones, including PostgreSQL's documentation example made
// durable (the file and its directory synced), rsync with --ignore-existing --fsync and a sync of the
// directory on the backup host, pgBackRest and Barman, and a script whose text the user gave.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultTopology, validatePostgresTopology } from '../../../harness/engines/postgres/index.ts';
import { parsePostgresqlConf } from '../../../harness/validate/postgresql-conf.ts';
import { rules, runPreflight } from '../../../harness/validate/rules/index.ts';
import { copiesOf } from '../../../harness/validate/rules/archive-copies.ts';
import { entryDurable, madeDurable } from '../../../harness/validate/rules/archive-durability.ts';
import { guarded } from '../../../harness/validate/rules/archive-guard.ts';
import { readSteps } from '../../../harness/validate/rules/archive-steps.ts';
import type { Finding, UserConfig } from '../../../harness/validate/rules/types.ts';
import { SCRIPT as DRILL_SCRIPT } from '../../../experiments/archive-command.ts';

const dir = mkdtempSync(join(tmpdir(), 'faultline-archive-rules-'));
let files = 0;

/** A value quoted for postgresql.conf, as validate's parser reads it back. */
const confValue = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\n/g, '\\n')}'`;

interface Options {
  mounts?: UserConfig['archiveMounts'];
  scripts?: Record<string, string>;
  mode?: string;
}

/** A configuration whose archive_command is `command` (archive_mode on), from a real file. */
function config(command: string, options: Options = {}): UserConfig & { conf: string } {
  const conf = join(dir, `${files++}-postgresql.conf`);
  writeFileSync(conf, ['wal_level = replica', `archive_mode = ${options.mode ?? 'on'}`, `archive_command = ${confValue(command)}`, 'archive_timeout = 60', ''].join('\n'));
  return {
    conf,
    settings: parsePostgresqlConf(conf),
    stanza: 'main',
    topology: validatePostgresTopology(defaultTopology),
    ...(options.mounts ? { archiveMounts: options.mounts } : {}),
    ...(options.scripts ? { archiveScripts: options.scripts } : {}),
  };
}

const found = (id: string, command: string, options?: Options): Finding[] => runPreflight(config(command, options)).filter((f) => f.rule === id);

/** The one finding of rule `id`, at archive_command's line (3), with the severity given. */
function one(id: string, command: string, severity: string, message: RegExp, options?: Options): Finding {
  const c = config(command, options);
  const hits = runPreflight(c).filter((f) => f.rule === id);
  expect(hits, `${id} should fire once on ${command}`).toHaveLength(1);
  expect(hits[0]!.severity).toBe(severity);
  expect(hits[0]!.message).toMatch(message);
  expect(hits[0]!.source).toEqual({ file: c.conf, line: 3 });
  return hits[0]!;
}

const DOCS_EXAMPLE = 'test ! -f /mnt/server/archivedir/%f && cp %p /mnt/server/archivedir/%f';
/** Safe of both: the brief's own examples, each syncing the directory that names the copy too. */
const SAFE_COMMANDS = [
  `${DOCS_EXAMPLE} && sync /mnt/server/archivedir/%f /mnt/server/archivedir`,
  'rsync -a --ignore-existing --fsync %p backup@backup-host:/srv/wal/%f && ssh backup@backup-host sync /srv/wal',
  'pgbackrest --stanza=main archive-push %p',
  'barman-wal-archive backup-host pg %p',
];

describe('the archive rules in the rule set', () => {
  it('are listed with their severities and the continuous-archiving page', () => {
    for (const [id, severity] of [['archive-command-overwrite', 'warning'], ['archive-command-no-sync', 'error'], ['archive-command-unrunnable', 'info']] as const) {
      const rule = rules.find((r) => r.id === id);
      expect(rule, id).toBeDefined();
      expect(rule!.severity).toBe(severity);
      expect(rule!.docs).toBe('https://www.postgresql.org/docs/current/continuous-archiving.html#BACKUP-ARCHIVING-WAL');
    }
  });

  it.each(SAFE_COMMANDS)('none fires on %s', (command) => {
    const hits = runPreflight(config(command)).filter((f) => f.rule.startsWith('archive-command-'));
    expect(hits).toEqual([]);
  });

  it('none fires when archive_mode is off or archive_library is set', () => {
    expect(runPreflight(config('cp %p /mnt/wal/%f', { mode: 'off' })).filter((f) => f.rule.startsWith('archive-command-'))).toEqual([]);
    const c = config('wal-g wal-push %p');
    c.settings.set('archive_library', { name: 'archive_library', value: 'basic_archive', file: c.conf, line: 9 });
    expect(runPreflight(c).filter((f) => f.rule.startsWith('archive-command-'))).toEqual([]);
  });
});

describe('archive-command-overwrite', () => {
  const id = 'archive-command-overwrite';

  it.each([
    ['cp', 'cp %p /mnt/wal/%f && sync /mnt/wal/%f', /'cp %p \/mnt\/wal\/%f' and nothing refuses an existing '\/mnt\/wal\/%f'.*no cp -n/],
    ['cp into a directory', 'cp %p /mnt/wal/ && sync', /existing '\/mnt\/wal\/%f'/],
    ['cp -t', 'cp -t /mnt/wal %p && sync', /existing '\/mnt\/wal\/%f'/],
    ['mv', 'mv %p /mnt/wal/%f', /no mv -n/],
    ['install', 'install -m 0640 %p /mnt/wal/%f && sync', /'install -m 0640 %p \/mnt\/wal\/%f'/],
    ['rsync without --ignore-existing', 'rsync -a --fsync %p backup@backup-host:/srv/wal/%f', /existing 'backup-host:\/srv\/wal\/%f'.*no rsync --ignore-existing/],
    ['scp', 'scp %p backup-host:/srv/wal/%f && ssh backup-host sync', /'scp %p backup-host:\/srv\/wal\/%f'/],
    ['dd', 'dd if=%p of=/mnt/wal/%f conv=fsync', /no dd conv=excl/],
    ['a redirection', 'gzip -c %p > /mnt/wal/%f.gz && sync', /'gzip -c %p > \/mnt\/wal\/%f\.gz'.*no set -o noclobber/],
    ['a redirection glued to its target', 'cat %p >/mnt/wal/%f; sync', /existing '\/mnt\/wal\/%f'/],
    ['a test of another path', 'test ! -f /mnt/other/%f && cp %p /mnt/wal/%f && sync', /existing '\/mnt\/wal\/%f'/],
    ['a test whose result is ignored (;)', 'test ! -f /mnt/wal/%f; cp %p /mnt/wal/%f && sync', /existing '\/mnt\/wal\/%f'/],
    ['a test that only echoes', '[ -f /mnt/wal/%f ] && echo exists; cp %p /mnt/wal/%f && sync', /existing '\/mnt\/wal\/%f'/],
    ['noclobber, which guards > only', 'set -o noclobber; cp %p /mnt/wal/%f && sync', /no cp -n/],
    ['>| over noclobber', 'set -C; cat %p >| /mnt/wal/%f && sync', /existing '\/mnt\/wal\/%f'/],
    ['a test of the local path before scp', 'test ! -f /srv/wal/%f && scp %p backup-host:/srv/wal/%f && ssh backup-host sync', /existing 'backup-host:\/srv\/wal\/%f'/],
    ['bash -c', `bash -c 'cp "$0" /mnt/wal/"$1" && sync' %p %f`, /existing '\/mnt\/wal\/%f'/],
    ['a copy behind env and timeout', 'env LC_ALL=C timeout 30 cp %p /mnt/wal/%f && sync', /existing '\/mnt\/wal\/%f'/],
  ])('fires on %s', (_name, command, message) => {
    one(id, command, 'warning', message);
  });

  it.each([
    ['the documentation example', DOCS_EXAMPLE],
    ['[ ! -f ] &&', '[ ! -f /mnt/wal/%f ] && cp %p /mnt/wal/%f'],
    ['[[ ! -e ]] &&', '[[ ! -e /mnt/wal/%f ]] && cp %p /mnt/wal/%f'],
    ['! test -f &&', '! test -f /mnt/wal/%f && cp %p /mnt/wal/%f'],
    ['[ -f ] ||', '[ -f /mnt/wal/%f ] || cp %p /mnt/wal/%f'],
    ['[ -f ] && exit 1;', '[ -f /mnt/wal/%f ] && exit 1; cp %p /mnt/wal/%f'],
    ['[ -f ] && { …; exit 1; }', '[ -f /mnt/wal/%f ] && { echo exists >&2; exit 1; }; cp %p /mnt/wal/%f'],
    ['[ ! -f ] || exit 1', '[ ! -f /mnt/wal/%f ] || exit 1\ncp %p /mnt/wal/%f'],
    ['if [ -f ]; then exit 1; fi', 'if [ -f /mnt/wal/%f ]; then echo exists; exit 1; fi; cp %p /mnt/wal/%f'],
    ['if test ! -f; then cp; fi', 'if test ! -f /mnt/wal/%f; then cp %p /mnt/wal/%f; else exit 1; fi'],
    ['if [ -e ]; then …; else cp; fi', 'if [ -e /mnt/wal/%f ]; then exit 0; else cp %p /mnt/wal/%f; fi'],
    ['a guard on its own line', 'test ! -f /mnt/wal/%f &&\n  cp %p /mnt/wal/%f'],
    ['a guard on the directory destination', 'test ! -f /mnt/wal/%f && cp %p /mnt/wal/'],
    ['quotes', `test ! -f "/mnt/wal/%f" && cp '%p' "/mnt/wal/%f"`],
    ['bash -c', `bash -c 'test ! -f /mnt/wal/"$1" && cp "$0" /mnt/wal/"$1"' %p %f`],
    ['cp -n', 'cp -n %p /mnt/wal/%f'],
    ['cp -an', 'cp -an %p /mnt/wal/%f'],
    ['cp --no-clobber', 'cp --no-clobber %p /mnt/wal/%f'],
    ['cp --update=none', 'cp --update=none %p /mnt/wal/%f'],
    ['mv -n', 'mv -n %p /mnt/wal/%f'],
    ['rsync --ignore-existing', 'rsync -a --ignore-existing %p backup-host:/srv/wal/%f'],
    ['dd conv=excl', 'dd if=%p of=/mnt/wal/%f conv=excl,fsync'],
    ['set -o noclobber before >', 'set -o noclobber; cat %p > /mnt/wal/%f'],
    ['a remote test before scp', 'ssh backup-host "test ! -f /srv/wal/%f" && scp %p backup-host:/srv/wal/%f'],
    ['a copy to a temporary name renamed into place under a guard', 'test ! -f /mnt/wal/%f && cp %p /mnt/wal/%f.tmp && mv /mnt/wal/%f.tmp /mnt/wal/%f'],
    ['a log line appended', 'test ! -f /mnt/wal/%f && cp %p /mnt/wal/%f && echo "archived" >> /var/log/archive.log'],
    ['a log line naming %p', 'test ! -f /mnt/wal/%f && cp %p /mnt/wal/%f && echo "archived %p" >> /var/log/archive.log && sync'],
    ['a checksum beside the segment', 'test ! -f /mnt/wal/%f && cp %p /mnt/wal/%f && sha256sum %p > /mnt/wal/%f.sha256 && sync'],
    ['output to /dev/null', 'test ! -f /mnt/wal/%f && cp %p /mnt/wal/%f > /dev/null 2>&1'],
    ['pgBackRest', 'pgbackrest --stanza=main archive-push %p'],
    ['barman-wal-archive', 'barman-wal-archive backup-host pg %p'],
    ['a script whose text is not given', '/usr/local/bin/archive-wal.sh %p %f'],
  ])('is silent on %s', (_name, command) => {
    expect(found(id, command)).toEqual([]);
  });
});

describe('archive-command-no-sync', () => {
  const id = 'archive-command-no-sync';

  it('warns on a local copy left to the NFS-sync assumption, naming it (the documentation example)', () => {
    const finding = one(id, DOCS_EXAMPLE, 'warning', /'cp %p \/mnt\/server\/archivedir\/%f' into '\/mnt\/server\/archivedir\/%f' and nothing syncs it: durable only if '\/mnt\/server\/archivedir' is an NFS mount exported 'sync' \(assumed/);
    expect(finding.message).toMatch(/recycles the segment once the command exits 0.*loses power before its page cache reaches disk.*hole/);
  });

  it('is an error on a mount described as nfs-async, and on the server\'s own disk', () => {
    one(id, DOCS_EXAMPLE, 'error', /on '\/mnt\/server\/archivedir', an NFS mount exported 'async', and nothing syncs it/, { mounts: { '/mnt/server/archivedir': 'nfs-async' } });
    one(id, DOCS_EXAMPLE, 'error', /the archive is on the primary's own host/, { mounts: { '/mnt/server': 'local' } });
    one(id, 'cp %p ../wal_archive/%f', 'error', /a path relative to the data directory: the archive is on the primary's own host/);
  });

  it('takes the longest mount path above the destination', () => {
    one(id, DOCS_EXAMPLE, 'error', /exported 'async'/, { mounts: { '/mnt': 'nfs-sync', '/mnt/server/archivedir': 'nfs-async' } });
    expect(found(id, DOCS_EXAMPLE, { mounts: { '/mnt': 'nfs-async', '/mnt/server': 'nfs-sync' } })).toEqual([]);
  });

  it('is silent on a mount described as nfs-sync: cp is durable when the file is closed', () => {
    expect(found(id, DOCS_EXAMPLE, { mounts: { '/mnt/server/archivedir': 'nfs-sync' } })).toEqual([]);
  });

  it.each([
    ['scp', 'scp %p backup-host:/srv/wal/%f', /'scp %p backup-host:\/srv\/wal\/%f' to backup-host and nothing makes it durable there/],
    ['rsync without --fsync', 'rsync -a --ignore-existing %p backup@backup-host:/srv/wal/%f', /to backup-host and nothing makes it durable there/],
    ['a local sync after scp', 'scp %p backup-host:/srv/wal/%f && sync', /to backup-host/],
    ['a sync of another host after scp', 'scp %p backup-host:/srv/wal/%f && ssh other-host sync', /to backup-host/],
    ['a remote copy by ssh', 'ssh backup-host "cat > /srv/wal/%f" < %p', /'cat > \/srv\/wal\/%f' on backup-host to backup-host/],
  ])('is an error on %s (a remote destination)', (_name, command, message) => {
    one(id, command, 'error', message);
  });

  it.each([
    ['cp alone', 'cp %p /mnt/wal/%f'],
    ['sync only when the copy failed', 'cp %p /mnt/wal/%f || sync'],
    ['a sync of another file', 'cp %p /mnt/wal/%f && sync /mnt/other/%f'],
    ['a sync of the directory only (no -f)', 'cp %p /mnt/wal/%f && sync /mnt/wal'],
    ['a redirection', 'test ! -f /mnt/wal/%f && gzip -c %p > /mnt/wal/%f'],
    ['dd without conv=fsync', 'dd if=%p of=/mnt/wal/%f conv=excl'],
    ['install', 'install -m 0640 %p /mnt/wal/%f'],
    ['a temporary name renamed into place', 'cp %p /mnt/wal/%f.tmp && mv /mnt/wal/%f.tmp /mnt/wal/%f'],
  ])('warns on %s into an unlisted mount', (_name, command) => {
    one(id, command, 'warning', /nothing syncs it: durable only if '\/mnt\/wal' is an NFS mount exported 'sync'/);
  });

  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  /** The directory-entry warning: the copy named, and `sync DIR` (or `ssh HOST sync DIR`) suggested. */
  const ENTRY = (step: string, suggestion: string) =>
    new RegExp(`^archive_command makes the copy by '${escape(step)}' durable but not the directory entry that names it: POSIX lets a power loss take a new name back.*sync the directory after it \\(${escape(suggestion)}\\)$`);

  it.each([
    ['sync FILE', `${DOCS_EXAMPLE} && sync /mnt/server/archivedir/%f`, 'cp %p /mnt/server/archivedir/%f', 'sync /mnt/server/archivedir'],
    ['sync on the next line', `${DOCS_EXAMPLE}\nsync /mnt/server/archivedir/%f`, 'cp %p /mnt/server/archivedir/%f', 'sync /mnt/server/archivedir'],
    ['fsync FILE', `${DOCS_EXAMPLE} && fsync /mnt/server/archivedir/%f`, 'cp %p /mnt/server/archivedir/%f', 'sync /mnt/server/archivedir'],
    ['dd conv=fsync', 'dd if=%p of=/mnt/wal/%f conv=fsync', 'dd if=%p of=/mnt/wal/%f conv=fsync', 'sync /mnt/wal'],
    ['dd oflag=sync', 'dd if=%p of=/mnt/wal/%f oflag=sync', 'dd if=%p of=/mnt/wal/%f oflag=sync', 'sync /mnt/wal'],
    ['rsync --fsync', 'rsync -a --fsync %p backup-host:/srv/wal/%f', 'rsync -a --fsync %p backup-host:/srv/wal/%f', 'ssh backup-host sync /srv/wal'],
    ['scp then ssh host sync FILE', 'scp %p backup@backup-host:/srv/wal/%f && ssh backup@backup-host sync /srv/wal/%f', 'scp %p backup@backup-host:/srv/wal/%f', 'ssh backup-host sync /srv/wal'],
    ['a temporary file synced before its rename', 'cp %p /mnt/wal/%f.tmp && sync /mnt/wal/%f.tmp && mv /mnt/wal/%f.tmp /mnt/wal/%f', 'mv /mnt/wal/%f.tmp /mnt/wal/%f', 'sync /mnt/wal'],
    ['a temporary file synced, its directory synced before the rename', 'cp %p /mnt/wal/%f.tmp && sync /mnt/wal/%f.tmp /mnt/wal && mv /mnt/wal/%f.tmp /mnt/wal/%f', 'mv /mnt/wal/%f.tmp /mnt/wal/%f', 'sync /mnt/wal'],
    ['if … then … fi with a sync of the file in it', 'if test ! -f /mnt/wal/%f; then\n  cp %p /mnt/wal/%f\n  sync /mnt/wal/%f\nfi', 'cp %p /mnt/wal/%f', 'sync /mnt/wal'],
    ['bash -c', `bash -c "cp %p /mnt/wal/%f && sync /mnt/wal/%f"`, 'cp %p /mnt/wal/%f', 'sync /mnt/wal'],
    ['a sync of the directory before the copy', 'sync /mnt/wal && dd if=%p of=/mnt/wal/%f conv=fsync', 'dd if=%p of=/mnt/wal/%f conv=fsync', 'sync /mnt/wal'],
    ['a sync of the directory only when the copy failed', 'dd if=%p of=/mnt/wal/%f conv=fsync || sync /mnt/wal', 'dd if=%p of=/mnt/wal/%f conv=fsync', 'sync /mnt/wal'],
    ['a sync of another directory', 'dd if=%p of=/mnt/wal/%f conv=fsync && sync /mnt/other', 'dd if=%p of=/mnt/wal/%f conv=fsync', 'sync /mnt/wal'],
    ['a sync of a directory below it', 'dd if=%p of=/mnt/wal/%f conv=fsync && sync /mnt/wal/sub', 'dd if=%p of=/mnt/wal/%f conv=fsync', 'sync /mnt/wal'],
    ['a sync of the directory above it (no -f)', 'dd if=%p of=/mnt/wal/%f conv=fsync && sync /mnt', 'dd if=%p of=/mnt/wal/%f conv=fsync', 'sync /mnt/wal'],
    ['a local sync of the directory after rsync --fsync', 'rsync -a --fsync %p backup-host:/srv/wal/%f && sync /srv/wal', 'rsync -a --fsync %p backup-host:/srv/wal/%f', 'ssh backup-host sync /srv/wal'],
    ['a sync of the directory on another host', 'rsync -a --fsync %p backup-host:/srv/wal/%f && ssh other-host sync /srv/wal', 'rsync -a --fsync %p backup-host:/srv/wal/%f', 'ssh backup-host sync /srv/wal'],
    ['a remote sync of the directory after a local copy', 'dd if=%p of=/srv/wal/%f conv=fsync && ssh backup-host sync /srv/wal', 'dd if=%p of=/srv/wal/%f conv=fsync', 'sync /srv/wal'],
  ])('warns on %s: the data is durable, the directory entry is not', (_name, command, step, suggestion) => {
    const finding = one(id, command, 'warning', ENTRY(step, suggestion));
    expect(finding.message).toContain('durable but not the directory entry');
  });

  it('warns on the directory entry whatever the mount, unless it is described as nfs-sync', () => {
    const command = 'dd if=%p of=/mnt/wal/%f conv=fsync';
    for (const kind of ['local', 'nfs-async'] as const) one(id, command, 'warning', ENTRY(command, 'sync /mnt/wal'), { mounts: { '/mnt/wal': kind } });
    // Synced, file and directory, it is durable on any mount.
    for (const kind of ['local', 'nfs-async'] as const) expect(found(id, `${command} && sync /mnt/wal`, { mounts: { '/mnt/wal': kind } })).toEqual([]);
  });

  it.each([
    ['sync', `${DOCS_EXAMPLE} && sync`],
    ['sync FILE DIR', `${DOCS_EXAMPLE} && sync /mnt/server/archivedir/%f /mnt/server/archivedir`],
    ['sync FILE, then sync DIR/ on the next line', `${DOCS_EXAMPLE} && sync /mnt/server/archivedir/%f\nsync /mnt/server/archivedir/`],
    ['sync -f on the directory', `${DOCS_EXAMPLE} && sync -f /mnt/server/archivedir`],
    ['sync -f on the directory above it', `${DOCS_EXAMPLE} && sync -f /mnt/server`],
    ['sync --file-system on the file (its whole file system)', `${DOCS_EXAMPLE} && sync --file-system /mnt/server/archivedir/%f`],
    ['fsync FILE and fsync DIR', `${DOCS_EXAMPLE} && fsync /mnt/server/archivedir/%f && fsync /mnt/server/archivedir`],
    ['dd conv=fsync and sync DIR', 'dd if=%p of=/mnt/wal/%f conv=fsync && sync /mnt/wal'],
    ['dd oflag=sync and sync DIR', 'dd if=%p of=/mnt/wal/%f oflag=sync; sync /mnt/wal'],
    ['rsync --fsync and ssh host sync DIR', 'rsync -a --fsync %p backup-host:/srv/wal/%f && ssh backup-host sync /srv/wal'],
    ['rsync --fsync into a directory and ssh host sync DIR', 'rsync -a --fsync %p backup-host:/srv/wal/ && ssh backup-host sync /srv/wal'],
    ['scp then ssh host sync FILE DIR', 'scp %p backup@backup-host:/srv/wal/%f && ssh backup@backup-host sync /srv/wal/%f /srv/wal'],
    ['scp then ssh host sync, with options', 'scp -P 2222 -i /etc/key %p backup-host:/srv/wal/%f && ssh -p 2222 -i /etc/key backup-host "sync"'],
    ['a temporary file synced, renamed, then its directory synced', 'cp %p /mnt/wal/%f.tmp && sync /mnt/wal/%f.tmp && mv /mnt/wal/%f.tmp /mnt/wal/%f && sync /mnt/wal'],
    ['if … then … fi with syncs of the file and its directory in it', 'if test ! -f /mnt/wal/%f; then\n  cp %p /mnt/wal/%f\n  sync /mnt/wal/%f\n  sync /mnt/wal\nfi'],
    ['bash -c', `bash -c "cp %p /mnt/wal/%f && sync /mnt/wal/%f /mnt/wal"`],
    ['a log line naming %p after the sync', `${DOCS_EXAMPLE} && sync && echo "archived %p" >> /var/log/archive.log`],
    ['pgBackRest', 'pgbackrest --stanza=main archive-push %p'],
    ['barman-wal-archive', 'barman-wal-archive backup-host pg %p'],
    ['a script whose text is not given', '/usr/local/bin/archive-wal.sh %p %f'],
  ])('is silent on %s', (_name, command) => {
    expect(found(id, command)).toEqual([]);
  });

  it('is silent on a durable copy without a directory sync into a mount described as nfs-sync (the server commits the name)', () => {
    const command = 'dd if=%p of=/mnt/wal/%f conv=fsync';
    expect(found(id, command, { mounts: { '/mnt/wal': 'nfs-sync' } })).toEqual([]);
    expect(found(id, command, { mounts: { '/mnt': 'nfs-sync' } })).toEqual([]);
    // A nearer mount that is not nfs-sync wins.
    expect(found(id, command, { mounts: { '/mnt': 'nfs-sync', '/mnt/wal': 'local' } })).toHaveLength(1);
  });

  it('reports a hit with the hit\'s severity, not the rule\'s', () => {
    const findings = runPreflight(config(DOCS_EXAMPLE));
    const hit = findings.find((f) => f.rule === id)!;
    expect(hit.severity).toBe('warning');
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
  });
});

describe('archive-same-domain with archive mounts', () => {
  it('flags a destination the user describes as the server\'s own disk, synced or not', () => {
    const c = config(`${DOCS_EXAMPLE} && sync`, { mounts: { '/mnt/server/archivedir': 'local' } });
    const hits = runPreflight(c).filter((f) => f.rule === 'archive-same-domain');
    expect(hits).toHaveLength(1);
    expect(hits[0]!.message).toMatch(/which the archive mounts say is the server's own disk: the archive is on the primary's own host/);
    expect(runPreflight(config(`${DOCS_EXAMPLE} && sync`, { mounts: { '/mnt/server/archivedir': 'nfs-sync' } })).filter((f) => f.rule === 'archive-same-domain')).toEqual([]);
  });
});

describe('archive-command-unrunnable', () => {
  const id = 'archive-command-unrunnable';

  it.each([
    ['wal-g', 'wal-g wal-push %p', /'wal-g', which Debian does not ship/],
    ['wal-e', 'envdir /etc/wal-e.d/env wal-e wal-push %p', /'envdir', which Debian does not ship/],
    ['aws', 'aws s3 cp %p s3://bucket/wal/%f', /'aws', which sends WAL to a cloud object store outside faultline's containers/],
    ['gsutil', 'gsutil cp %p gs://bucket/wal/%f', /'gsutil'.*cloud object store/],
    ['rclone', 'rclone copyto %p remote:wal/%f', /'rclone'.*cloud object store/],
    ['barman-cloud-wal-archive', 'barman-cloud-wal-archive s3://bucket pg %p', /'barman-cloud-wal-archive'.*cloud object store/],
    ['an unknown program', 'archive-it %p', /'archive-it', which is not in faultline's node image/],
    ['a script not given', '/opt/site/archive-wal.sh %p %f', /'\/opt\/site\/archive-wal\.sh', a script faultline was not given: pass it with --archive-script \/opt\/site\/archive-wal\.sh=/],
    ['a script in /usr/local/bin not given', '/usr/local/bin/archive-wal.sh %p %f', /'\/usr\/local\/bin\/archive-wal\.sh'.*pass it with --archive-script \/usr\/local\/bin\/archive-wal\.sh=/],
    ['a cloud CLI after a guard', 'test ! -f /tmp/x && aws s3 cp %p s3://bucket/%f', /'aws'/],
  ])('says so for %s', (_name, command, message) => {
    const finding = one(id, command, 'info', message);
    expect(finding.message).toContain(`archive_command is '${command}': the drills cannot run it as written`);
  });

  it.each([
    ...SAFE_COMMANDS.map((c) => [c, c]),
    ['cp and sync', `${DOCS_EXAMPLE} && sync`],
    ['scp and ssh', 'scp %p backup-host:/srv/wal/%f && ssh backup-host sync'],
    ['bash -c with standard tools', `bash -c 'test ! -f /mnt/wal/$1 && cp $0 /mnt/wal/$1 && sync' %p %f`],
  ])('is silent on %s', (_name, command) => {
    expect(found(id, command)).toEqual([]);
  });

  it('is silent on a script whose text is given', () => {
    expect(found(id, '/usr/local/bin/archive-wal.sh %p %f', { scripts: { '/usr/local/bin/archive-wal.sh': 'exit 1\n' } })).toEqual([]);
  });
});

describe('a script archive_command, read when its text is given', () => {
  const PATH = '/usr/local/bin/archive-wal.sh';
  const COMMAND = `${PATH} %p %f`;
  const SAMPLE = readFileSync(join(import.meta.dirname, '../../../experiments/configs/archive-script/archive-wal.sh'), 'utf8');
  const lineOf = (text: string, start: string) => text.split('\n').findIndex((l) => l.startsWith(start)) + 1;
  const hits = (id: string, script: string, options: Options = {}) => found(id, COMMAND, { ...options, scripts: { [PATH]: script } });

  it('the sample script (guarded, synced, renamed into place, its directory synced) draws no finding', () => {
    const findings = runPreflight(config(COMMAND, { scripts: { [PATH]: SAMPLE } })).filter((f) => f.rule.startsWith('archive-command-'));
    expect(findings).toEqual([]);
  });

  it('without its directory sync, archive-command-no-sync warns at the rename line that the directory entry is not durable', () => {
    const line = 'sync "$ARCHIVE"\n';
    expect(SAMPLE).toContain(line);
    const entryless = SAMPLE.replace(line, '');
    const found = hits('archive-command-no-sync', entryless);
    expect(found).toHaveLength(1);
    expect(found[0]!.severity).toBe('warning');
    expect(found[0]!.message).toMatch(/^the script \/usr\/local\/bin\/archive-wal\.sh that archive_command runs makes the copy by 'mv \$ARCHIVE\/\$2\.tmp \$ARCHIVE\/\$2' \(\/usr\/local\/bin\/archive-wal\.sh, line \d+\) durable but not the directory entry that names it/);
    expect(found[0]!.message).toMatch(/sync the directory after it \(sync \/mnt\/server\/archivedir\)$/);
    expect(found[0]!.source).toEqual({ file: PATH, line: lineOf(entryless, 'mv ') });
    // The directory synced before the rename does not count; sync -f on the renamed file (its file system) does.
    expect(hits('archive-command-no-sync', entryless.replace(/^mv .*$/m, (mv) => `${line}${mv}`))).toHaveLength(1);
    expect(hits('archive-command-no-sync', SAMPLE.replace(line, 'sync -f "$ARCHIVE/$2"\n'))).toEqual([]);
  });

  it('the drills\' script (renamed into place, then sync "$dir") draws no finding; without that sync, the directory-entry warning', () => {
    expect(runPreflight(config(COMMAND, { scripts: { [PATH]: DRILL_SCRIPT } })).filter((f) => f.rule.startsWith('archive-command-'))).toEqual([]);
    const entryless = DRILL_SCRIPT.replace('sync "$dir"\n', '');
    expect(entryless).not.toEqual(DRILL_SCRIPT);
    const found = hits('archive-command-no-sync', entryless);
    expect(found).toEqual([expect.objectContaining({ severity: 'warning', source: { file: PATH, line: lineOf(entryless, 'mv ') } })]);
    expect(found[0]!.message).toMatch(/durable but not the directory entry that names it.*\(sync \/mnt\/wal\)$/);
  });

  it('without its guard, archive-command-overwrite fires at the script\'s rename line', () => {
    const unguarded = SAMPLE.replace(/^if \[ -f[\s\S]*?^fi\n/m, '');
    expect(unguarded).not.toEqual(SAMPLE);
    const found = hits('archive-command-overwrite', unguarded);
    expect(found).toHaveLength(1);
    expect(found[0]!.severity).toBe('warning');
    expect(found[0]!.message).toMatch(/^the script \/usr\/local\/bin\/archive-wal\.sh that archive_command runs copies WAL with 'mv \$ARCHIVE\/\$2\.tmp \$ARCHIVE\/\$2'/);
    expect(found[0]!.message).toContain("existing '/mnt/server/archivedir/%f'");
    expect(found[0]!.source).toEqual({ file: PATH, line: lineOf(unguarded, 'mv ') });
  });

  it('without its syncs, archive-command-no-sync fires at the script\'s line, as an error on an async mount', () => {
    const unsynced = SAMPLE.split('\n').filter((l) => !l.startsWith('sync')).join('\n');
    const found = hits('archive-command-no-sync', unsynced);
    expect(found).toHaveLength(1);
    expect(found[0]!.severity).toBe('warning');
    expect(found[0]!.source).toEqual({ file: PATH, line: lineOf(unsynced, 'mv ') });
    const async = hits('archive-command-no-sync', unsynced, { mounts: { '/mnt/server/archivedir': 'nfs-async' } });
    expect(async.map((f) => f.severity)).toEqual(['error']);
  });

  it('reads $1 and $2 as the arguments the command passes, and quoted, braced and basename forms', () => {
    const script = ['#!/bin/bash', 'set -e', 'dest="/mnt/wal/${2}"', '[ ! -f "$dest" ] || exit 1', 'cp "$1" "/mnt/wal/$(basename "$1")"', ''].join('\n');
    // The guard names /mnt/wal/%f and the copy writes /mnt/wal/%f: guarded.
    expect(hits('archive-command-overwrite', script)).toEqual([]);
    // The copy is not synced: the no-sync warning points at line 5 of the script.
    expect(hits('archive-command-no-sync', script)).toEqual([expect.objectContaining({ source: { file: PATH, line: 5 }, severity: 'warning' })]);
    // Called with the arguments the other way round, the guard tests %p's name: no guard.
    const swapped = runPreflight(config(`${PATH} %f %p`, { scripts: { [PATH]: script.replace('$(basename "$1")', '$1') } })).filter((f) => f.rule === 'archive-command-overwrite');
    expect(swapped).toHaveLength(1);
  });

  it('a script that pushes over SSH: a remote guard and remote syncs count, a local sync does not', () => {
    const remote = ['#!/bin/sh', 'ssh backup@backup-host "test ! -f /srv/wal/$2" || exit 1', 'scp "$1" backup@backup-host:/srv/wal/$2', 'ssh backup@backup-host sync /srv/wal/$2', 'ssh backup@backup-host sync /srv/wal', ''].join('\n');
    expect(runPreflight(config(COMMAND, { scripts: { [PATH]: remote } })).filter((f) => f.rule.startsWith('archive-command-'))).toEqual([]);
    // The file synced there but not its directory: the directory-entry warning, suggesting the remote sync.
    const fileOnly = remote.replace('ssh backup@backup-host sync /srv/wal\n', '');
    expect(fileOnly).not.toEqual(remote);
    const entry = hits('archive-command-no-sync', fileOnly);
    expect(entry).toEqual([expect.objectContaining({ severity: 'warning', source: { file: PATH, line: 3 } })]);
    expect(entry[0]!.message).toMatch(/durable but not the directory entry that names it.*\(ssh backup-host sync \/srv\/wal\)$/);
    // The directory synced locally instead: still the warning.
    expect(hits('archive-command-no-sync', remote.replace('ssh backup@backup-host sync /srv/wal\n', 'sync /srv/wal\n'))).toEqual([expect.objectContaining({ severity: 'warning' })]);
    const local = remote.replace('ssh backup@backup-host sync /srv/wal/$2', 'sync').replace('ssh backup@backup-host sync /srv/wal\n', '');
    expect(hits('archive-command-no-sync', local)).toEqual([expect.objectContaining({ severity: 'error', source: { file: PATH, line: 3 } })]);
  });
});

describe('the command reader', () => {
  const summary = (command: string, scripts?: Record<string, string>) => {
    const steps = readSteps(command, scripts);
    return copiesOf(steps).map((copy) => ({ tool: copy.tool, file: copy.file, host: copy.remote?.host, guarded: guarded(steps, copy), durable: madeDurable(steps, copy) }));
  };

  it('reads comments, line continuations, here-documents and fd duplications without taking them for commands', () => {
    const text = ['# cp %p /nowhere/%f', 'test ! -f /mnt/wal/%f \\', '  && cp %p /mnt/wal/%f 2>&1 # cp again', 'cat <<EOF', 'cp %p /elsewhere/%f', 'EOF', 'sync'].join('\n');
    expect(summary(text)).toEqual([{ tool: 'cp', file: '/mnt/wal/%f', host: undefined, guarded: true, durable: true }]);
  });

  it('tells a synced directory entry from a synced file', () => {
    const entry = (command: string) => {
      const steps = readSteps(command);
      return copiesOf(steps).map((copy) => entryDurable(steps, copy));
    };
    expect(entry('dd if=%p of=/mnt/wal/%f conv=fsync')).toEqual([false]);
    expect(entry('dd if=%p of=/mnt/wal/%f conv=fsync && sync /mnt/wal/%f')).toEqual([false]);
    expect(entry('dd if=%p of=/mnt/wal/%f conv=fsync && sync /mnt/wal')).toEqual([true]);
    expect(entry('dd if=%p of=/mnt/wal/%f conv=fsync && sync /mnt/wal//')).toEqual([true]);
    expect(entry('dd if=%p of=/mnt/wal/%f conv=fsync && sync /mnt/./wal')).toEqual([true]);
    expect(entry('dd if=%p of=/mnt/wal/%f conv=fsync && sync')).toEqual([true]);
    expect(entry('dd if=%p of=/mnt/wal/%f conv=fsync && sync -d /mnt/wal/%f')).toEqual([false]);
    expect(entry('dd if=%p of=/mnt/wal/%f conv=fsync && sync -f /mnt/wal/%f')).toEqual([true]);
    expect(entry('dd if=%p of=/mnt/wal/%f conv=fsync && sync -f /')).toEqual([true]);
    expect(entry('dd if=%p of=/mnt/wal/%f conv=fsync && sync -f /mnt/walrus')).toEqual([false]);
    expect(entry('dd if=%p of=/mnt/wal/%f conv=fsync && sync /mnt')).toEqual([false]);
    expect(entry('cp %p /mnt/wal/ && sync /mnt/wal')).toEqual([true]);
  });

  it('reads rsync daemon and URL destinations, and options that take a value, as the tools do', () => {
    expect(summary('rsync -e "ssh -p 22" -a %p rsync://backup-host/wal/%f')).toEqual([{ tool: 'rsync', file: '/wal/%f', host: 'backup-host', guarded: false, durable: false }]);
    expect(summary('rsync -a %p backup-host::wal/%f')).toEqual([{ tool: 'rsync', file: 'wal/%f', host: 'backup-host', guarded: false, durable: false }]);
    expect(summary('scp -o StrictHostKeyChecking=no %p backup-host:')).toEqual([{ tool: 'scp', file: '%f', host: 'backup-host', guarded: false, durable: false }]);
    expect(summary('install -d /mnt/wal && echo done')).toEqual([]);
  });
});
