// A Barman server's catalogue on this machine, read without writing to it (barman.conf, the server's
// folders, the newest DONE backup.info), and the barman.conf the scratch node runs `barman recover` with.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { BackupSource, InspectedBackup } from '../../../cluster/prove-ability.ts';
import { ConfigError, describeError } from '../../../errors.ts';
import { formatBytes } from '../../../units.ts';
import { parseIni, renderSection, type IniOption } from '../barman/ini.ts';
import { VOLUME_MOUNT } from '../postgres-node.ts';
import { POSTGRES_BUILDS, supportedPostgresText } from '../versions.ts';
import { scratchBytes } from './inspect.ts';

/** The scratch node's own places for what Barman writes: locks, its log, and the empty incoming and streaming folders. */
export const BARMAN_PROVE_CONF = '/etc/faultline-barman.conf';
export const BARMAN_PROVE_LOG = '/var/log/faultline/barman.log';
export const BARMAN_PROVE_TMP = '/tmp/faultline-barman';

/** What the proof needs of a Barman catalogue (InspectedBackup.details). */
export interface BarmanDetails {
  server: string;
  backupId: string;
  /** The scratch node's barman.conf: the user's options, the node's own lock, log and idle folders. */
  conf: string;
  walsDirectory: string;
  /** Files in incoming/ and streaming/ not archived yet: Barman has them, the proof does not restore them. */
  unarchived: number;
  /** The backup holds a backup_manifest (pg_basebackup's), renamed by recover to backup_manifest.<id>. */
  manifest: boolean;
}

/** Options naming this machine's processes or folders that recover would write into, replaced in the scratch file. */
const GLOBAL_OWN = new Set(['barman_user', 'barman_lock_directory', 'log_file', 'configuration_files_directory']);
const SERVER_OWN = new Set(['incoming_wals_directory', 'streaming_wals_directory', 'errors_directory', 'path_prefix', 'recovery_staging_path', 'local_staging_path']);
/** Hook scripts are programs of the user's site: recover would run its pre/post_recovery ones. */
const SCRIPT = /_(retry_)?script$/;

interface Section {
  name: string;
  options: IniOption[];
  file: string;
}

function readIni(file: string): Section[] {
  try {
    return parseIni(readFileSync(file, 'utf8'), file).map((s) => ({ ...s, file }));
  } catch (error) {
    throw new ConfigError(`Cannot read the Barman configuration ${file}: ${describeError(error)}`);
  }
}

/** Barman's %(name)s references, resolved from what is known (barman_home, the server's directories). */
function interpolate(value: string, known: Record<string, string>): string {
  return value.replace(/%\((\w+)\)s/g, (whole, key: string) => known[key] ?? whole);
}

/** backup.info's key=value lines (values as written). */
function readInfo(file: string): Map<string, string> {
  const info = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) info.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return info;
}

/** The user's barman.conf and server, its newest DONE backup, read on this machine. */
export function inspectBarman(source: BackupSource): InspectedBackup {
  const confFile = source.options.conf!;
  const server = source.options.server!;
  if (!existsSync(confFile)) throw new ConfigError(`The Barman configuration '${confFile}' (--barman-conf) does not exist: name your barman.conf (often /etc/barman.conf)`);
  const main = readIni(confFile);
  const globals = main.filter((s) => s.name === 'barman').flatMap((s) => s.options);
  if (!main.some((s) => s.name === 'barman')) throw new ConfigError(`${confFile} has no [barman] section: is it a barman.conf?`);
  const global = (key: string) => globals.findLast((o) => o.key === key)?.value;
  const sections = main.filter((s) => s.name !== 'barman');
  const filesDir = global('configuration_files_directory');
  if (filesDir && existsSync(filesDir)) {
    for (const name of readdirSync(filesDir).filter((f) => f.endsWith('.conf')).sort()) sections.push(...readIni(join(filesDir, name)));
  }
  // Models (model = true) are option sets applied to a server, not servers.
  const servers = sections.filter((s) => !s.options.some((o) => o.key === 'model' && /^(true|on|1|yes)$/i.test(o.value)));
  const section = servers.find((s) => s.name === server);
  if (!section) {
    const where = filesDir ? `${confFile} or ${filesDir}/*.conf` : confFile;
    throw new ConfigError(`Barman server '${server}' (--server) is not in ${where}: it has ${servers.map((s) => `'${s.name}'`).join(', ') || 'no server section'}`);
  }
  const home = global('barman_home') ?? '/var/lib/barman';
  if (!isAbsolute(home)) throw new ConfigError(`${confFile}: barman_home '${home}' is not an absolute path`);
  if (!existsSync(home)) throw new ConfigError(`barman_home ${home} (${confFile}) does not exist on this machine: run prove-backup on the Barman host, or mount the catalogue at that path`);
  const option = (key: string) => section.options.findLast((o) => o.key === key)?.value ?? global(key);
  const known: Record<string, string> = { barman_home: home, name: server };
  const backupDirectory = (known.backup_directory = interpolate(option('backup_directory') ?? join(home, server), known));
  const baseDirectory = interpolate(option('basebackups_directory') ?? join(backupDirectory, 'base'), known);
  const walsDirectory = interpolate(option('wals_directory') ?? join(backupDirectory, 'wals'), known);
  if (!existsSync(baseDirectory)) throw new ConfigError(`Barman server '${server}' has no backups folder ${baseDirectory}: has 'barman backup ${server}' run on this machine?`);

  // The newest backup Barman calls DONE; its backup.info is in base/<id>/ (older Barman) or meta/<id>-backup.info.
  const backups = readdirSync(baseDirectory).flatMap((id) => {
    const file = [join(baseDirectory, id, 'backup.info'), join(backupDirectory, 'meta', `${id}-backup.info`)].find((f) => existsSync(f));
    if (!file) return [];
    try {
      return [{ id, file, info: readInfo(file) }];
    } catch (error) {
      throw new ConfigError(`${file} cannot be read (${describeError(error)}): is the catalogue readable by you?`);
    }
  });
  const done = backups.filter((b) => b.info.get('status') === 'DONE').sort((a, b) => Date.parse(endOf(a.info) ?? '') - Date.parse(endOf(b.info) ?? '') || a.id.localeCompare(b.id));
  const newest = done.at(-1);
  if (!newest) {
    const others = backups.map((b) => `${b.id} ${b.info.get('status') ?? '?'}`).join(', ');
    throw new ConfigError(`Barman server '${server}' has no backup with status DONE in ${baseDirectory}${others ? ` (it has ${others})` : ''}: take one with 'barman backup ${server}', and let 'barman cron' archive its WAL`);
  }
  const version = Number(newest.info.get('version'));
  const major = version >= 100000 ? Math.floor(version / 10000) : NaN;
  if (!Number.isInteger(major)) throw new ConfigError(`${newest.file} names no PostgreSQL 10 or later (version=${newest.info.get('version') ?? ''}): prove-backup restores PostgreSQL ${supportedPostgresText()}`);
  if (!POSTGRES_BUILDS[major]) throw new ConfigError(`Backup ${newest.id} is of PostgreSQL ${major} (${newest.file}, version=${version}), which faultline cannot run: it runs ${supportedPostgresText()}`);
  const size = Number(newest.info.get('size') ?? newest.info.get('deduplicated_size') ?? 0) || 0;
  const end = endOf(newest.info);

  // barman_home is mounted where it is (the files name their paths); the server's folders too when they are elsewhere.
  const paths: InspectedBackup['paths'] = [];
  for (const dir of [backupDirectory, baseDirectory, walsDirectory]) {
    if (!within(dir, home) && !paths.some((p) => within(dir, p.source)) && existsSync(dir)) paths.push({ source: dir, target: dir, what: `the Barman server's ${dir === walsDirectory ? 'WAL' : 'backups'} folder` });
  }
  // Last: the scratch node runs as its owner (see scratch.ts).
  paths.push({ source: home, target: home, what: 'the Barman catalogue (barman_home)' });
  const unarchived = ['incoming', 'streaming'].reduce((n, d) => {
    const dir = interpolate(option(`${d}_wals_directory`) ?? join(backupDirectory, d), known);
    return n + (existsSync(dir) && statSync(dir).isDirectory() ? readdirSync(dir).filter((f) => /^[0-9A-F]{24}/.test(f)).length : 0);
  }, 0);
  const details: BarmanDetails = {
    server,
    backupId: newest.id,
    conf: scratchConf(confFile, globals, section, major),
    walsDirectory,
    unarchived,
    manifest: existsSync(join(baseDirectory, newest.id, 'data', 'backup_manifest')),
  };
  return {
    source,
    server: 'PostgreSQL',
    major,
    majorFrom: `backup.info version ${version}`,
    bytes: scratchBytes(size),
    bytesFrom: `backup ${newest.id} holds ${formatBytes(size)} of data (backup.info size), plus room for WAL`,
    paths,
    backup: { label: newest.id, ...(end && !Number.isNaN(Date.parse(end)) ? { stoppedAt: new Date(end).toISOString() } : {}) },
    details: { ...details },
  };
}

/** backup.info's end_time ('2026-12-07 02:39:28.949885+00:00') as ISO 8601. */
function endOf(info: Map<string, string>): string | undefined {
  const end = info.get('end_time');
  if (!end || end === 'None') return undefined;
  return end.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1');
}

function within(dir: string, parent: string): boolean {
  return dir === parent || dir.startsWith(`${parent.replace(/\/$/, '')}/`);
}

/**
 * The barman.conf `barman recover` runs with in the scratch node: the user's global options and
 * server section as written, but Barman's user, locks and log the node's own; incoming and streaming
 * folders that are empty (recover first archives what waits there, which would move files in the
 * catalogue); no hook scripts; PostgreSQL's programs from the node. Nothing in it connects anywhere:
 * recover of a local destination reads files only (and the node has no network).
 */
export function scratchConf(confFile: string, globals: IniOption[], section: Section, major: number): string {
  const global: Array<[string, string]> = globals.filter((o) => !GLOBAL_OWN.has(o.key) && !SCRIPT.test(o.key)).map((o) => [o.key, o.value]);
  global.push(['barman_user', 'postgres'], ['barman_lock_directory', `${BARMAN_PROVE_TMP}/lock`], ['log_file', BARMAN_PROVE_LOG]);
  const server: Array<[string, string]> = section.options.filter((o) => !SERVER_OWN.has(o.key) && !SCRIPT.test(o.key)).map((o) => [o.key, o.value]);
  server.push(
    ['incoming_wals_directory', `${BARMAN_PROVE_TMP}/incoming`],
    ['streaming_wals_directory', `${BARMAN_PROVE_TMP}/streaming`],
    ['errors_directory', `${BARMAN_PROVE_TMP}/errors`],
    // Compressed or incremental backups are staged before they are copied: on the scratch volume, which has the room.
    ['recovery_staging_path', `${VOLUME_MOUNT}/barman-staging`],
    ['local_staging_path', `${VOLUME_MOUNT}/barman-staging`],
    ['path_prefix', `/usr/lib/postgresql/${major}/bin`],
  );
  return `; The user's barman.conf (${confFile}) and server [${section.name}] (${section.file}), as faultline's scratch node runs barman recover\n${renderSection('barman', global)}\n\n${renderSection(section.name, server)}\n`;
}
