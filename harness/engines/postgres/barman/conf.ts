// The Barman configuration a run uses: the user's barman.conf and server file (topology
// postgres.barman) with their options as written, except those naming their site (paths, hosts,
// users, TLS files), which are mapped to the archive node's volume and the cluster's primary, and
// those that cannot run here (other backup methods, cloud snapshots, their hook scripts), which are
// refused. Without files of the user's: a streaming Barman server. Pure, so that unit tests and
// topology validation can call it on text.

import { parseConninfo, renderConninfo } from './conninfo.ts';
import { parseIni, renderSection, type IniOption } from './ini.ts';

/** The cluster as Barman must see it. */
export interface BarmanSite {
  /** The archive node's volume (REPO): barman_home goes under it. */
  repo: string;
  /** The current primary's container name. */
  primary: string;
  /** The archive node's name (the streaming archiver's application_name when it is synchronous). */
  archive: string;
  /** The slot faultline reserves for the archive node on the primary from its first start. */
  slot: string;
  /** The archive node is a synchronous standby (topology `synchronous: true`). */
  synchronous: boolean;
  /** PostgreSQL's programs in the node image (path_prefix). */
  pgBin: string;
  /** WAL pushed by barman-wal-archive (archiver = on) can run (SSH from the servers to the Barman host). */
  walArchive?: boolean;
  /** The server name barman-wal-archive pushes to: the server's name when the user gives no server file. */
  serverName?: string;
}

/** An option of the user's that runs with another value here ('' to: left out). */
export interface BarmanMapping {
  option: string;
  from: string;
  to: string;
  why: string;
}

export interface BarmanConf {
  /** The server's section name (`barman backup <server>`). */
  server: string;
  /** barman_home on the archive node's volume. */
  home: string;
  global: Array<[string, string]>;
  options: Array<[string, string]>;
  mapped: BarmanMapping[];
  /** WAL arrives by `barman receive-wal` (streaming_archiver = on). */
  streaming: boolean;
  /** WAL arrives by barman-wal-archive into the incoming directory (archiver = on). */
  archiver: boolean;
  /** The replication slot receive-wal streams through, if any. */
  slot?: string;
  /** The application_name receive-wal connects with (streaming_archiver_name). */
  applicationName: string;
}

/** The user's Barman configuration cannot run here: every reason, each naming the option. */
export class BarmanConfRefusal extends Error {
  readonly refusals: string[];
  constructor(refusals: string[]) {
    super(`Barman configuration cannot run here: ${refusals.join('; ')}`);
    this.refusals = refusals;
  }
}

export const BARMAN_LOG = '/var/log/faultline/barman.log';
export const BARMAN_CONF = '/etc/barman.conf';
export const BARMAN_CONF_DIR = '/etc/barman.d';
/** Where `barman recover` stages a restore on the Barman host (the container's own disk, not the repository). */
export const BARMAN_STAGING = '/var/tmp/faultline-barman';
const DEFAULT_SERVER = 'main';
const DEFAULT_APPLICATION_NAME = 'barman_receive_wal';

const TRUE = /^(1|true|on|yes)$/i;
/** Directories of a server, each Barman's default under barman_home/<server>. */
const SERVER_DIRS: Record<string, string> = { backup_directory: '', basebackups_directory: 'base', wals_directory: 'wals', incoming_wals_directory: 'incoming', streaming_wals_directory: 'streaming', errors_directory: 'errors' };
const CLOUD = /^(snapshot_|gcp_|azure_|aws_)/;
const SCRIPT = /_(retry_)?script$/;

/** barman.conf's path for a server's own file. */
export function serverFile(conf: BarmanConf): string {
  return `${BARMAN_CONF_DIR}/${conf.server}.conf`;
}

/** Where Barman keeps the server's archived WAL (wals_directory). */
export function walsDirectory(home: string, server: string): string {
  return `${home}/${server}/wals`;
}

/** Where receive-wal writes the WAL it is receiving (streaming_wals_directory). */
export function streamingDirectory(home: string, server: string): string {
  return `${home}/${server}/streaming`;
}

/**
 * Why a drill's backups checkpoint at once. A spread checkpoint (Barman's default) paces its writes
 * over checkpoint_timeout × checkpoint_completion_target: under a drill's workload a backup then
 * waits 10 s and more for it (up to minutes), while what the backup holds is the same.
 */
const SPREAD_CHECKPOINT = 'a drill cannot wait for a spread checkpoint (paced over checkpoint_timeout × checkpoint_completion_target); what the backup holds is the same';

/** The two files: /etc/barman.conf and the server's in /etc/barman.d. */
export function renderBarmanFiles(conf: BarmanConf): { main: string; server: string } {
  const header = '; written by faultline from the topology (postgres.barman); see the run log for what was mapped\n';
  return { main: `${header}${renderSection('barman', conf.global)}\n`, server: `${header}${renderSection(conf.server, conf.options)}\n` };
}

/** What `site` makes of the user's files (or of none); throws BarmanConfRefusal naming what cannot run. */
export function barmanConf(texts: { conf?: string; server?: string }, site: BarmanSite): BarmanConf {
  const refusals: string[] = [];
  const mapped: BarmanMapping[] = [];
  const home = `${site.repo}/barman`;
  const confSections = texts.conf !== undefined ? parseIni(texts.conf, 'barman.conf') : [];
  const serverSections = texts.server !== undefined ? parseIni(texts.server, 'the Barman server file') : [];
  const globals = confSections.filter((s) => s.name === 'barman').flatMap((s) => s.options);
  if (texts.conf !== undefined && !confSections.some((s) => s.name === 'barman')) refusals.push("barman.conf has no [barman] section: Barman reads its global options from it");
  const servers = [...confSections.filter((s) => s.name !== 'barman'), ...serverSections];
  if (serverSections.some((s) => s.name === 'barman')) refusals.push("the server file has a [barman] section: that belongs in barman.conf; the server file holds one [server] section");
  const serverSection = servers.filter((s) => s.name !== 'barman');
  if (serverSection.length > 1) refusals.push(`the configuration has ${serverSection.length} servers (${serverSection.map((s) => `[${s.name}]`).join(', ')}): faultline backs up one cluster, so give one server section`);
  const user = serverSection[0];
  const server = user?.name ?? site.serverName ?? DEFAULT_SERVER;
  if (!/^[A-Za-z0-9_.-]+$/.test(server)) refusals.push(`server name [${server}] is not one Barman accepts (letters, digits, '_', '.', '-')`);
  const dirs = `${home}/${server}`;
  const from = (where: string, o: IniOption) => `${where} line ${o.line}`;

  // Options that would run against the user's site, or cannot run here, in either section.
  const common = (where: string, o: IniOption, out: Array<[string, string]>): boolean => {
    const at = `${o.key} = ${o.value} (${from(where, o)})`;
    if (CLOUD.test(o.key)) refusals.push(`${at}: cloud snapshot backups cannot run here (no cloud provider); use backup_method = postgres`);
    else if (SCRIPT.test(o.key)) refusals.push(`${at}: a hook script of your site cannot run on the archive node; leave it out for the drill`);
    else if (o.key === 'path_prefix') map(o.key, o.value, site.pgBin, "PostgreSQL's programs are in the node image's directory", out);
    else if (o.key === 'ssh_command') map(o.key, o.value, '', 'unused: backup_method postgres copies over the streaming connection', out);
    else if (o.key === 'primary_conninfo') refusals.push(`${at}: backing up from a standby is not a drill faultline runs; back up the primary`);
    else if ((o.key === 'compression' && o.value.trim() === 'custom') || /^custom_(de)?compression_/.test(o.key)) refusals.push(`${at}: a custom compression filter is a program of your site`);
    else if (o.key === 'recovery_staging_path' || o.key === 'local_staging_path') map(o.key, o.value, `${BARMAN_STAGING}/${o.key.replace('_path', '')}`, "a staging directory on the Barman host's own disk", out);
    else if (o.key in SERVER_DIRS) map(o.key, o.value, SERVER_DIRS[o.key] ? `${dirs}/${SERVER_DIRS[o.key]}` : dirs, "Barman's default under barman_home, on the archive node's volume", out);
    else if (o.key === 'conninfo' || o.key === 'streaming_conninfo') map(o.key, o.value, conninfoFor(o.value, site.primary, o.key === 'conninfo', at, refusals), `the cluster's primary by its container name, as the postgres superuser (password from ~/.pgpass)`, out);
    else return false;
    return true;
  };
  const map = (option: string, was: string, to: string, why: string, out: Array<[string, string]>) => {
    if (was !== to) mapped.push({ option, from: was, to, why });
    if (to !== '') out.push([option, to]);
  };

  const global: Array<[string, string]> = [];
  const forcedGlobal: Record<string, [string, string]> = {
    barman_user: ['postgres', "Barman runs as postgres, who owns the archive node's volume: a power loss there kills it as it kills the volume owner's processes"],
    barman_home: [home, "the archive node's volume, so that Barman's backups and WAL share its fate"],
    barman_lock_directory: [home, 'beside barman_home'],
    configuration_files_directory: [BARMAN_CONF_DIR, 'the server file faultline writes'],
    log_file: [BARMAN_LOG, "the node's logs are kept in the run folder"],
  };
  for (const o of globals) {
    const forced = forcedGlobal[o.key];
    if (forced) continue; // written below, once
    if (!common('barman.conf', o, global)) global.push([o.key, o.value]);
  }
  for (const [key, [value, why]] of Object.entries(forcedGlobal)) {
    const theirs = globals.findLast((o) => o.key === key);
    if (theirs) map(key, theirs.value, value, why, global);
    else global.push([key, value]);
  }
  if (!globals.some((o) => o.key === 'log_level')) global.push(['log_level', 'INFO']);

  const options: Array<[string, string]> = [];
  const mine = (key: string) => user?.options.findLast((o) => o.key === key);
  const setting = (key: string) => (user ? mine(key)?.value ?? globals.findLast((o) => o.key === key)?.value : undefined);
  if (user) {
    for (const o of user.options) {
      const at = `${o.key} = ${o.value} (${from('server file', o)})`;
      if (common('server file', o, options)) continue;
      if (o.key === 'backup_method' && o.value.trim() !== 'postgres') refusals.push(`${at}: only backup_method = postgres (pg_basebackup over the streaming connection) runs here; '${o.value}' needs SSH to the primary or a cloud provider`);
      else if (o.key === 'active' && !TRUE.test(o.value.trim())) refusals.push(`${at}: an inactive server takes no backup and receives no WAL`);
      else if (o.key === 'archiver' && TRUE.test(o.value.trim()) && !site.walArchive) refusals.push(`${at}: WAL pushed by barman-wal-archive needs SSH from every server to the Barman host, not set up here yet; use streaming_archiver = on`);
      else if (o.key === 'slot_name') map(o.key, o.value, site.slot, `faultline reserves slot '${site.slot}' on the primary from its first start, so that Barman misses no WAL`, options);
      else if (o.key === 'streaming_archiver_name' && site.synchronous) continue; // set below
      else if (o.key === 'immediate_checkpoint') continue; // set below
      else options.push([o.key, o.value]);
    }
    map('immediate_checkpoint', setting('immediate_checkpoint') ?? '', 'true', SPREAD_CHECKPOINT, options);
    if (!mine('conninfo')) map('conninfo', '', conninfoFor('', site.primary, true, 'conninfo', refusals), "the server file sets none: the cluster's primary", options);
    if (!setting('backup_method')) refusals.push("the server file sets no backup_method, and Barman's default (rsync) needs SSH to the primary: set backup_method = postgres");
    if (!TRUE.test(setting('streaming_archiver') ?? '') && !TRUE.test(setting('archiver') ?? '')) refusals.push('the server file turns on neither streaming_archiver nor archiver: Barman would receive no WAL');
  } else {
    options.push(
      ['description', "faultline: the cluster's primary"],
      ['conninfo', conninfoFor('', site.primary, true, 'conninfo', refusals)],
      ['streaming_conninfo', conninfoFor('', site.primary, false, 'streaming_conninfo', refusals)],
      ['backup_method', 'postgres'],
      ['streaming_archiver', 'on'],
      ['slot_name', site.slot],
      ...(site.walArchive ? [['archiver', 'on'] as [string, string]] : []),
      ['immediate_checkpoint', 'true'],
    );
  }
  const streaming = TRUE.test((user ? setting('streaming_archiver') : 'on') ?? '');
  if (streaming && site.synchronous) {
    const theirs = mine('streaming_archiver_name')?.value ?? DEFAULT_APPLICATION_NAME;
    map('streaming_archiver_name', theirs, site.archive, `the archive node is synchronous: faultline's synchronous_standby_names names it '${site.archive}'`, options);
  }
  if (refusals.length > 0) throw new BarmanConfRefusal(refusals);
  const value = (key: string) => options.findLast(([k]) => k === key)?.[1] ?? global.findLast(([k]) => k === key)?.[1];
  const slot = value('slot_name');
  return {
    server,
    home,
    global,
    options,
    mapped,
    streaming,
    archiver: TRUE.test(value('archiver') ?? ''),
    ...(streaming && slot ? { slot } : {}),
    applicationName: value('streaming_archiver_name') ?? DEFAULT_APPLICATION_NAME,
  };
}

/** Why the user's Barman files cannot run here ([] when they can): for topology validation, which knows no node yet. */
export function barmanConfIssues(texts: { conf?: string; server?: string }, walArchive = false): string[] {
  try {
    barmanConf(texts, { repo: '/repo', primary: 'primary', archive: 'archive', slot: 'archive', synchronous: false, pgBin: '/usr/bin', walArchive });
    return [];
  } catch (error) {
    if (error instanceof BarmanConfRefusal) return error.refusals;
    return [error instanceof Error ? error.message : String(error)];
  }
}

/** A conninfo of the user's with its site's parameters replaced: the primary, as postgres, password from ~/.pgpass, no TLS. */
function conninfoFor(theirs: string, primary: string, withDatabase: boolean, at: string, refusals: string[]): string {
  let params: Array<[string, string]>;
  try {
    params = theirs.trim() ? parseConninfo(theirs) : [];
  } catch (error) {
    refusals.push(`${at}: ${error instanceof Error ? error.message : String(error)}`);
    return '';
  }
  const site = new Set(['host', 'hostaddr', 'port', 'user', 'password', 'passfile', 'service', 'sslcert', 'sslkey', 'sslrootcert', 'sslcrl', 'sslcrldir', 'sslpassword', 'sslcertmode', 'sslsni', 'requirepeer', 'gssencmode', 'krbsrvname', 'target_session_attrs', 'load_balance_hosts']);
  const kept = params.filter(([key, value]) => !site.has(key) && !(key === 'sslmode' && !/^(disable|allow|prefer)$/.test(value)) && key !== 'dbname');
  const ours: Array<[string, string]> = [['host', primary], ['port', '5432'], ['user', 'postgres']];
  if (withDatabase) ours.push(['dbname', 'postgres']);
  return renderConninfo([...ours, ...kept]);
}
