// A user's own PostgreSQL settings and pgBackRest options, applied on top of what faultline needs
// to run its cluster. A setting that cannot mean the same thing in a container (an address, a path
// of the user's site, a library the image lacks, a cloud repository) is mapped to its container
// equivalent, and the mapping is reported; one that cannot be mapped is refused with its source.
// Nothing is ever dropped in silence: a drill that quietly ran on different settings would prove
// nothing about the user's system.

import { ConfigError } from '../../errors.ts';
import { parseBoolean, parseMemory } from './conf-values.ts';
import { isNoOpCommand, isPgBackRestCommand } from './archive-command.ts';
import { archiveCommandRefusal, archiveLibraryRefusal } from './user-archive/programs.ts';
import { bareStandbyNames, parseStandbyNames } from './standby-names.ts';

/** One user setting as it reaches the cluster: its value and where it came from ("postgresql.conf:12"). */
export interface UserSetting {
  name: string;
  value: string;
  source: string;
}

/** One pgBackRest option: its section as in pgbackrest.conf ('global', 'global:archive-push', 'main'). */
export interface UserPgBackRestOption {
  section: string;
  key: string;
  values: string[];
  source: string;
}

/** A setting faultline changed to run it in a container, and why: shown before a run. */
export interface SettingMapping {
  setting: string;
  source: string;
  /** What runs instead ('' when the setting is left out). */
  to: string;
  why: string;
}

/** What the cluster runs with, derived from the user's settings. */
export interface AppliedSettings {
  /** postgresql.conf lines for every server (after faultline's own). */
  server: string[];
  /** Further lines per node name. */
  nodes: Record<string, string[]>;
  /** pgbackrest.conf: lines for [global], for the stanza, and whole further sections. */
  pgbackrest: { global: string[]; stanza: string[]; sections: string[] };
  mapped: SettingMapping[];
  /** With backupTool 'archive_command' or 'barman': the user's restore_command, run as written by restores. */
  restoreCommand?: UserSetting;
  /** With backupTool 'archive_command' or 'barman': the archive_command, archive_library and basic_archive.archive_directory that run as written (the last given). */
  archive?: { command?: UserSetting; library?: UserSetting; directory?: UserSetting };
}

/** Settings faultline itself sets, with the reason it keeps its own value. */
const MANAGED: Record<string, string> = {
  listen_addresses: "faultline's nodes listen on their container network ('*')",
  port: 'every node listens on 5432 inside its container; the harness maps it to a free host port',
  data_directory: "each node's data directory is on its own volume (LUN) at a fixed path",
  config_file: 'the configuration lives in the data directory of the node',
  hba_file: 'faultline writes its own pg_hba.conf (password authentication on the cluster network)',
  ident_file: 'faultline writes its own pg_hba.conf (password authentication on the cluster network)',
  external_pid_file: 'the server runs in a container of its own',
  unix_socket_directories: "the container's /var/run/postgresql is used",
  unix_socket_group: "the container's /var/run/postgresql is used",
  unix_socket_permissions: "the container's /var/run/postgresql is used",
  log_directory: "the server log goes to the node's /var/log/faultline for the run's report",
  log_filename: "the server log goes to the node's /var/log/faultline for the run's report",
  logging_collector: "the server log goes to the node's /var/log/faultline for the run's report",
  log_destination: "the server log goes to the node's /var/log/faultline for the run's report",
  log_line_prefix: 'the report reads server log lines in faultline\'s format',
  primary_conninfo: 'faultline points each replica at the current primary, by its container name',
  primary_slot_name: 'faultline gives each replica and the archive a replication slot of its own',
  restore_command: 'a restore fetches WAL from the archive node faultline set up',
  recovery_target: 'the drill sets the recovery target of a restore',
  recovery_target_time: 'the drill sets the recovery target of a restore',
  recovery_target_lsn: 'the drill sets the recovery target of a restore',
  recovery_target_xid: 'the drill sets the recovery target of a restore',
  recovery_target_name: 'the drill sets the recovery target of a restore',
  recovery_target_action: 'the drill sets the recovery target of a restore',
  recovery_target_timeline: 'the drill sets the recovery target of a restore',
  hot_standby: 'replicas must answer the final read, so they run as hot standbys',
  cluster_name: 'the container name identifies each node',
};

/** Memory the containers of a 2-core CI machine can give: larger values are capped, and said so. */
const MEMORY_CAPS: Record<string, number> = {
  shared_buffers: 128 * 1024 ** 2,
  effective_cache_size: 512 * 1024 ** 2,
  maintenance_work_mem: 256 * 1024 ** 2,
  work_mem: 64 * 1024 ** 2,
  wal_buffers: 16 * 1024 ** 2,
};

/** Shared libraries in the node image (PostgreSQL's own contrib modules) that can be preloaded. */
export const PRELOADABLE = ['auth_delay', 'auto_explain', 'basebackup_to_shell', 'basic_archive', 'passwordcheck', 'pg_prewarm', 'pg_stat_statements'];

/** The archive_command of a cluster that archives with pgBackRest (the user's, mapped, reads the same). */
export const PGBACKREST_ARCHIVE_COMMAND = 'pgbackrest --stanza=main archive-push %p';

/** A value as a postgresql.conf line writes it: always quoted, quotes doubled. */
export function confLine(name: string, value: string): string {
  const escaped = value.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return `${name} = '${escaped}'`;
}

/** pgBackRest options that name the user's site (paths, hosts, certificates): faultline sets its own. */
const PGBR_SITE = /^(repo\d+-(path|host.*|type|s3-.*|gcs-.*|azure-.*|sftp-.*|cifs-.*|storage-.*)|pg\d+-(host.*|path|port|socket-path|user|database)|tls-.*|lock-path|log-path|spool-path|config.*|stanza)$/;

/** Maps and checks the user's settings; throws a ConfigError naming every setting it cannot honour. */
export function applyUserSettings(input: {
  settings: UserSetting[];
  nodes: Array<{ name: string; role: string; settings: UserSetting[] }>;
  pgbackrest: UserPgBackRestOption[];
  backupTool: 'pg_receivewal' | 'pgbackrest' | 'archive_command' | 'barman';
  /** Scripts the user gave for the commands to run (backupTool 'archive_command' or 'barman'), by path. */
  archiveScripts?: Record<string, string>;
}): AppliedSettings {
  const mapped: SettingMapping[] = [];
  const refused: string[] = [];
  const names = input.nodes.map((n) => n.name);
  // A real archive_command under pg_receivewal: its destination cannot exist here, so streaming stands in.
  const all = [...input.settings, ...input.nodes.flatMap((n) => n.settings)];
  const command = all.filter((s) => s.name.toLowerCase() === 'archive_command').at(-1);
  const library = all.filter((s) => s.name.toLowerCase() === 'archive_library').at(-1);
  // The user's own commands run as written: their archive_command, archive_library and restore_command.
  const verbatim = input.backupTool === 'archive_command' || input.backupTool === 'barman';
  let restoreCommand: UserSetting | undefined;
  const archive: NonNullable<AppliedSettings['archive']> = {};
  const streamedInstead = input.backupTool === 'pg_receivewal' && ((command !== undefined && !isNoOpCommand(command.value)) || (library !== undefined && library.value.trim() !== ''));

  const filter = (settings: UserSetting[]): string[] => {
    const lines: string[] = [];
    for (const s of settings) {
      const name = s.name.toLowerCase();
      const where = `${name} = '${s.value}' (${s.source})`;
      if (verbatim && name === 'restore_command') {
        restoreCommand = s; // a restore runs it (restore.ts), not a server of the cluster
        continue;
      }
      if (verbatim && (name === 'archive_command' || name === 'archive_library')) {
        const refusal = name === 'archive_command' ? archiveCommandRefusal(s.value, input.backupTool as 'archive_command' | 'barman', input.archiveScripts ?? {}) : archiveLibraryRefusal(s.value);
        if (refusal) refused.push(`${where}: ${refusal}`);
        else lines.push(confLine(name, s.value));
        archive[name === 'archive_command' ? 'command' : 'library'] = s;
        continue;
      }
      if (verbatim && name === 'basic_archive.archive_directory') archive.directory = s;
      if (name in MANAGED) {
        mapped.push({ setting: name, source: s.source, to: '', why: MANAGED[name]! });
        continue;
      }
      if (name === 'ssl' || name.startsWith('ssl_')) {
        mapped.push({ setting: name, source: s.source, to: '', why: "TLS certificates of the user's site do not exist in the containers; the cluster network is private to the run" });
        continue;
      }
      if (/^lc_(messages|monetary|numeric|time)$/.test(name) && !/^(c|posix|c\.utf-?8)$/i.test(s.value.trim())) {
        mapped.push({ setting: name, source: s.source, to: 'C.UTF-8', why: "the node image has the C locales only; number, money and time formats do not touch durability" });
        lines.push(confLine(name, 'C.UTF-8'));
        continue;
      }
      if (name === 'huge_pages' && parseBoolean(s.value) === true) {
        mapped.push({ setting: name, source: s.source, to: 'try', why: 'containers of a CI machine have no huge pages reserved' });
        lines.push(confLine(name, 'try'));
        continue;
      }
      if (name in MEMORY_CAPS) {
        // shared_buffers, effective_cache_size and wal_buffers count 8kB pages when bare; the others kB.
        const pages = name === 'shared_buffers' || name === 'effective_cache_size' || name === 'wal_buffers';
        const bare = parseMemory(s.value, 'kB');
        const bytes = bare === undefined ? undefined : /^\s*-?[\d.]+\s*$/.test(s.value) && pages ? bare * 8 : bare;
        if (bytes !== undefined && bytes > MEMORY_CAPS[name]!) {
          const to = `${MEMORY_CAPS[name]! / 1024 ** 2}MB`;
          mapped.push({ setting: name, source: s.source, to, why: 'capped to what a container on a small CI machine can give; durability does not depend on it' });
          lines.push(confLine(name, to));
          continue;
        }
      }
      if (name === 'shared_preload_libraries' || name === 'session_preload_libraries' || name === 'local_preload_libraries') {
        const libraries = s.value.split(',').map((l) => l.trim().replace(/^"|"$/g, '')).filter(Boolean);
        const missing = libraries.filter((l) => !PRELOADABLE.includes(l));
        if (missing.length > 0) {
          const kept = libraries.filter((l) => PRELOADABLE.includes(l)).join(',');
          mapped.push({
            setting: name,
            source: s.source,
            to: kept,
            why: `${missing.map((l) => `'${l}'`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed in faultline's node image (it has ${PRELOADABLE.join(', ')}); the drills run without ${missing.length === 1 ? 'it' : 'them'}, and their ledger needs none`,
          });
          if (kept) lines.push(confLine(name, kept));
          continue;
        }
      }
      if (name === 'archive_command' || name === 'archive_library') {
        if (name === 'archive_library' && s.value) {
          mapped.push({ setting: name, source: s.source, to: '', why: `the archive library's destination is outside the containers; the archive node receives WAL by ${input.backupTool === 'pgbackrest' ? "pgBackRest's archive-push" : 'streaming (pg_receivewal)'} instead` });
          continue;
        }
        if (isNoOpCommand(s.value)) {
          lines.push(confLine(name, s.value)); // runs as written: it copies nothing here either
          continue;
        }
        if (input.backupTool === 'pgbackrest') {
          const to = PGBACKREST_ARCHIVE_COMMAND;
          if (!isPgBackRestCommand(s.value)) mapped.push({ setting: name, source: s.source, to, why: 'its destination is outside the containers; the topology archives with pgBackRest' });
          else mapped.push({ setting: name, source: s.source, to, why: "the stanza and paths of the user's site become the run's repository on the archive node" });
          continue;
        }
        mapped.push({ setting: name, source: s.source, to: '', why: "its destination is outside the containers; the archive node receives the WAL by streaming (pg_receivewal) in its place" });
        continue;
      }
      if (name === 'archive_mode' && streamedInstead) {
        mapped.push({ setting: name, source: s.source, to: 'off', why: 'the archive node streams the WAL (pg_receivewal) in place of the archive_command; on without a command, WAL would pile up on the primary' });
        continue;
      }
      if (name === 'synchronous_standby_names') {
        const unquoted = bareStandbyNames(s.value).filter((n) => n !== '*' && !/^[A-Za-z_][A-Za-z0-9_$]*$/.test(n));
        if (unquoted.length > 0) {
          refused.push(`${where}: PostgreSQL reads ${unquoted.map((n) => `${n}`).join(', ')} as a syntax error: double-quote ${unquoted.length === 1 ? 'that name' : 'those names'}, e.g. ${unquoted.map((n) => `"${n}"`).join(', ')}`);
          continue;
        }
        // Barman's receive-wal streams as barman_receive_wal unless its streaming_archiver_name says otherwise.
        const barmanName = (n: string) => input.backupTool === 'barman' && n.toLowerCase() === 'barman_receive_wal';
        const unknown = (parseStandbyNames(s.value)?.names ?? []).filter((n) => n !== '*' && !barmanName(n) && !names.some((known) => known.toLowerCase() === n.toLowerCase()));
        if (unknown.length > 0) {
          refused.push(`${where}: ${unknown.map((n) => `'${n}'`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} no node of the topology (nodes: ${names.join(', ')}): name the nodes in the topology as your standbys' application_name`);
          continue;
        }
      }
      if (name === 'wal_level' && s.value.toLowerCase() === 'minimal' && input.nodes.length > 1) {
        refused.push(`${where}: with wal_level 'minimal' no replica or archive can follow the primary, so the topology's ${input.nodes.filter((n) => n.role !== 'primary').map((n) => `'${n.name}'`).join(', ')} cannot start: set wal_level = replica`);
        continue;
      }
      if (name === 'max_wal_senders' || name === 'max_replication_slots') {
        const needed = input.nodes.length + 4;
        if (Number(s.value) < needed) {
          refused.push(`${where}: the topology's ${input.nodes.length - 1} followers, a restore and a rehearsal need at least ${needed}: raise it`);
          continue;
        }
      }
      lines.push(confLine(name, s.value));
    }
    return lines;
  };

  const server = filter(input.settings);
  const nodes: Record<string, string[]> = {};
  for (const node of input.nodes) {
    if (node.settings.length === 0) continue;
    if (node.role === 'archive') {
      refused.push(`Node '${node.name}' is the archive: it runs no PostgreSQL server, so its settings (${node.settings.map((s) => `${s.name} from ${s.source}`).join(', ')}) would apply to nothing: move them to 'postgres.settings' or to a server node`);
      continue;
    }
    nodes[node.name] = filter(node.settings);
  }

  const pgbackrest = { global: [] as string[], stanza: [] as string[], sections: [] as string[] };
  const extraSections = new Map<string, string[]>();
  for (const o of input.pgbackrest) {
    if (PGBR_SITE.test(o.key)) {
      mapped.push({ setting: `${o.key} [${o.section}]`, source: o.source, to: '', why: 'it names a place of the user\'s site; the run\'s repository is a posix repository on the archive node, reached over pgBackRest\'s TLS server' });
      continue;
    }
    if (/^repo([2-9]|\d\d+)-/.test(o.key)) {
      refused.push(`${o.key} [${o.section}] (${o.source}): faultline runs one repository (repo1): validate each repository's options as repo1, one at a time`);
      continue;
    }
    if (o.values.some((v) => /[\r\n]/.test(v))) {
      refused.push(`${o.key} [${o.section}] (${o.source}): a value holds a line break, which pgbackrest.conf cannot: write it on one line`);
      continue;
    }
    const [scope, command] = o.section.split(':') as [string, string | undefined];
    const lines = o.values.map((v) => `${o.key}=${v === 'true' ? 'y' : v === 'false' ? 'n' : v}`);
    if (command) {
      const section = `${scope === 'global' ? 'global' : 'main'}:${command}`;
      extraSections.set(section, [...(extraSections.get(section) ?? []), ...lines]);
    } else if (scope === 'global') pgbackrest.global.push(...lines);
    else pgbackrest.stanza.push(...lines);
  }
  for (const [section, lines] of extraSections) pgbackrest.sections.push(`[${section}]`, ...lines, '');
  if (input.pgbackrest.length > 0 && input.backupTool !== 'pgbackrest') {
    refused.push(`pgBackRest options are given (${input.pgbackrest[0]!.source}) but the topology's backupTool is '${input.backupTool}': set "backupTool": "pgbackrest"`);
  }

  if (refused.length > 0) {
    throw new ConfigError(`${refused.length === 1 ? 'A setting' : `${refused.length} settings`} cannot be run in faultline's containers:\n  - ${refused.join('\n  - ')}`);
  }
  return { server, nodes, pgbackrest, mapped, ...(restoreCommand ? { restoreCommand } : {}), ...(verbatim ? { archive } : {}) };
}
