// The user's system as `faultline validate` and `faultline rehearse` see it: their postgresql.conf
// (with its includes), their pgbackrest.conf, and their topology (or the default one), turned into
// one topology whose settings carry their source lines. The files are only read.

import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { ConfigError, describeError } from '../errors.ts';
import { defaultTopology, validatePostgresTopology, type PostgresTopology, type PostgresTopologySpec } from '../engines/postgres/index.ts';
import { patroniTopology, readPatroniYml, type PatroniYml } from '../engines/postgres/index.ts';
import { isNoOpCommand, isPgBackRestCommand, programsOf, type ArchiveMountKind } from '../engines/postgres/index.ts';
import { parsePostgresqlConf, type ConfSetting } from './postgresql-conf.ts';
import { parsePgBackRestConf, type PgBackRestConf } from '../engines/postgres/index.ts';
import { sourceOf, type UserConfig } from './rules/types.ts';
import { decidePostgresVersion, type DecidedVersion } from './postgres-version.ts';

export interface UserConfigFiles {
  /** Without it, the topology's own settings (if any) and PostgreSQL's defaults. */
  postgresConf?: string;
  pgbackrestConf?: string;
  topology?: string;
  /** --postgres-version: the major the configuration is for, when the user says. */
  postgresVersion?: number;
  /** --archive-mount PATH=KIND: what each local path archive_command copies into is. */
  archiveMounts?: Record<string, ArchiveMountKind>;
  /** --archive-script PATH=FILE: the scripts archive_command (or restore_command) runs, by their path there, with the local file. */
  archiveScripts?: Record<string, string>;
  /** --barman-conf FILE and --barman-server FILE: the user's Barman configuration. */
  barmanConf?: string;
  barmanServer?: string;
  /** --patroni-conf FILE: the user's patroni.yml; the drills then run under Patroni. */
  patroniConf?: string;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read ${what} '${file}': ${describeError(error)}`);
  }
}

/** Whether an archive_command pushes WAL to Barman (barman-wal-archive). */
function isBarmanCommand(command: string): boolean {
  return programsOf(command).some((word) => word.split('/').at(-1) === 'barman-wal-archive');
}

export interface LoadedUserConfig {
  /** What the preflight rules read. */
  config: UserConfig;
  /** The topology the drills run: the user's, with their settings and options in it. */
  spec: PostgresTopologySpec;
  topology: PostgresTopology;
  /** The PostgreSQL major the configuration is judged and drilled as, and what decided it. */
  postgres: DecidedVersion;
  /** Assumptions made for what the files do not say, shown with the findings. */
  assumptions: string[];
}

/** A path as the user would type it from here. */
export function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export function readTopologyFile(file: string): PostgresTopologySpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read topology file '${file}': ${describeError(error)}`);
  }
  try {
    return JSON.parse(text) as PostgresTopologySpec;
  } catch (error) {
    throw new ConfigError(`Topology file '${file}' is not valid JSON: ${describeError(error)}`);
  }
}

/** The first stanza of a pgbackrest.conf: the section that is neither [global] nor a command section of it. */
function firstStanza(conf: PgBackRestConf | undefined): string {
  for (const section of conf?.sections.keys() ?? []) {
    const scope = section.split(':')[0]!;
    if (scope !== 'global') return scope;
  }
  return 'main';
}

export function loadUserConfig(files: UserConfigFiles, options: { applySettings?: boolean } = {}): LoadedUserConfig {
  const applySettings = options.applySettings ?? true;
  const settings = files.postgresConf ? parsePostgresqlConf(files.postgresConf) : new Map<string, ConfSetting>();
  const pgbackrest = files.pgbackrestConf ? parsePgBackRestConf(files.pgbackrestConf) : undefined;
  const assumptions: string[] = [];
  const patroni = files.patroniConf ? readPatroniYml(files.patroniConf, shown(files.patroniConf)) : undefined;
  const given = files.topology ? readTopologyFile(files.topology) : patroni ? patroniTopology() : structuredClone(defaultTopology);
  if (!files.topology) {
    assumptions.push(
      patroni
        ? 'a primary and two replicas under Patroni, each in a failure domain of its own (san-a, san-b, san-c) with an etcd member beside it, clients through HAProxy, as no --topology was given'
        : 'a primary, a replica and an archive node, each in a failure domain of its own (san-a, san-b, backup-site), as no --topology was given',
    );
  }
  if (patroni) mergePatroniParameters(settings, patroni, assumptions);
  if (typeof given !== 'object' || given === null || typeof given.postgres !== 'object' || given.postgres === null) {
    // Let the topology's own validation say what is wrong with it.
    validatePostgresTopology(given, files.topology ?? 'topology');
  }
  const source = (s: ConfSetting) => `${shown(s.file)}:${s.line}`;
  const topologyVersion = files.topology && typeof given.postgres.version === 'number' ? { version: given.postgres.version, file: shown(files.topology) } : undefined;
  const postgres = decidePostgresVersion({
    ...(files.postgresVersion !== undefined ? { option: files.postgresVersion } : {}),
    ...(topologyVersion ? { topology: topologyVersion } : {}),
    ...(files.postgresConf ? { confFile: shown(files.postgresConf) } : {}),
    settings,
    where: source,
  });
  const major = postgres.major;
  assumptions.push(`PostgreSQL ${major}, ${postgres.decidedBy}: the settings are checked against its own and the drills run it`);
  const archiveCommand = settings.get('archive_command');
  const stanza = firstStanza(pgbackrest);
  const pgbackrestUsed = pgbackrest !== undefined || (archiveCommand !== undefined && isPgBackRestCommand(archiveCommand.value));
  const archiving = ['on', 'always'].includes(settings.get('archive_mode')?.value.toLowerCase() ?? 'off');
  const barmanUsed = files.barmanConf !== undefined || files.barmanServer !== undefined || (archiveCommand !== undefined && isBarmanCommand(archiveCommand.value));
  // The user's own archive_command (or archive_library) runs as written when it copies something.
  const ownCommand = archiving && ((archiveCommand !== undefined && !isNoOpCommand(archiveCommand.value)) || !!settings.get('archive_library')?.value);
  const backupTool = given.postgres.backupTool ?? (patroni ? 'pg_receivewal' : pgbackrestUsed ? 'pgbackrest' : barmanUsed ? 'barman' : ownCommand ? 'archive_command' : 'pg_receivewal');
  if (!given.postgres.backupTool && !patroni) {
    assumptions.push(
      backupTool === 'pgbackrest'
        ? `the archive node holds a pgBackRest repository (stanza '${stanza}' runs as 'main'), reached over pgBackRest's TLS server`
        : backupTool === 'barman'
          ? 'the archive node is a Barman server (barman backup, barman recover), with the configuration you gave or a streaming one'
          : backupTool === 'archive_command'
            ? 'the archive node is the backup host your archive_command copies to: your command runs as written on every server, its destination made real on the archive node (see the set-up line of each drill for what was mapped)'
            : 'the archive node holds base backups taken with pg_basebackup and receives the WAL by streaming (pg_receivewal), unless said otherwise below',
    );
  }
  const archiveScripts = Object.fromEntries(Object.entries(files.archiveScripts ?? {}).map(([path, file]) => [path, readText(file, `the script for ${path}`)]));
  const barman = {
    ...(files.barmanConf ? { conf: readText(files.barmanConf, 'Barman configuration') } : {}),
    ...(files.barmanServer ? { server: readText(files.barmanServer, 'Barman server file') } : {}),
  };
  // Beside Patroni the drills have no backup host (not supported yet): archiving is judged by the rules only.
  const drilled = [...settings.values()].filter((s) => !(patroni && ARCHIVING.includes(s.name)));
  if (patroni && drilled.length < settings.size) {
    assumptions.push(`${ARCHIVING.filter((name) => settings.has(name)).join(', ')} not drilled: the drills beside Patroni run without a backup host (not supported yet), so WAL is not archived in them`);
  }
  const fromFile = Object.fromEntries(drilled.map((s) => [s.name, { value: s.value, source: source(s) }]));
  const sections: Record<string, Record<string, { value: string; source: string } | string[]>> = {};
  for (const [section, options] of pgbackrest?.sections ?? []) {
    const scope = section.split(':')[0]!;
    if (scope !== 'global' && scope !== stanza) {
      assumptions.push(`pgbackrest.conf section [${section}] is not used: the drills run stanza '${stanza}' only`);
      continue;
    }
    sections[section] = Object.fromEntries(
      [...options].map(([key, value]) => [key, value.values.length === 1 ? { value: value.values[0]!, source: `${shown(pgbackrest!.file)}:${value.line}` } : value.values]),
    );
  }
  // The archive node stands for where archive_command sends WAL; one that copies nothing sends none.
  const archiveMode = settings.get('archive_mode')?.value.toLowerCase();
  const noOp = backupTool === 'pg_receivewal' && (archiveMode === 'on' || archiveMode === 'always') && isNoOpCommand(archiveCommand?.value ?? '') && !settings.get('archive_library')?.value;
  if (noOp && given.postgres.nodes.some((n) => n.role === 'archive')) {
    assumptions.push(`the archive node receives what archive_command sends (${archiveCommand ? `'${archiveCommand.value}'` : 'no command'}): no WAL, only base backups`);
  }
  const spec: PostgresTopologySpec = {
    ...given,
    postgres: {
      ...given.postgres,
      ...(patroni ? { ha: { ...given.postgres.ha, ...patroni.ha } } : { backupTool }),
      ...(noOp && given.postgres.archiveWal === undefined ? { archiveWal: 'none' as const } : {}),
      ...(files.archiveMounts && Object.keys(files.archiveMounts).length ? { archiveMounts: { ...given.postgres.archiveMounts, ...files.archiveMounts } } : {}),
      ...(Object.keys(archiveScripts).length ? { archiveScripts: { ...given.postgres.archiveScripts, ...archiveScripts } } : {}),
      ...(Object.keys(barman).length ? { barman: { ...given.postgres.barman, ...barman } } : {}),
      version: major,
      // PostgreSQL's default when the file does not set it: 0, no forced switch.
      ...((backupTool === 'pgbackrest' || backupTool === 'archive_command') && given.postgres.archiveTimeout === undefined ? { archiveTimeout: '0' } : {}),
      ...(applySettings ? { settings: { ...given.postgres.settings, ...fromFile } } : {}),
      ...(applySettings && Object.keys(sections).length > 0 ? { pgbackrest: { ...given.postgres.pgbackrest, ...sections } } : {}),
    },
  };
  const topology = validatePostgresTopology(spec, files.topology ? `topology file '${files.topology}'` : 'default topology');
  const chosen = patroni ? (topology.postgres.ha?.defaulted ?? []) : [];
  if (chosen.length > 0) {
    assumptions.push(`${shown(files.patroniConf!)} does not set ${chosen.map((c) => c.split(' ')[0]).join(', ')}: the drills run faultline's values for short drills (${chosen.join(', ')}), not Patroni's defaults (ttl 30, loop_wait 10, retry_timeout 10, use_pg_rewind false), so Patroni acts sooner in them than it would on your cluster`);
  }
  return {
    config: { settings, ...(pgbackrest ? { pgbackrest } : {}), stanza, topology, archiveMounts: topology.postgres.archiveMounts, archiveScripts: topology.postgres.archiveScripts, ...(patroni ? { patroni } : {}) },
    spec,
    topology,
    postgres,
    assumptions,
  };
}

/** WAL archiving settings the drills beside Patroni leave out: they have no backup host yet. */
const ARCHIVING = ['archive_mode', 'archive_command', 'archive_library', 'restore_command'];

/** Patroni's postgresql.parameters into the settings, as Patroni applies them: over postgresql.conf's, each override named. */
function mergePatroniParameters(settings: Map<string, ConfSetting>, patroni: PatroniYml, assumptions: string[]): void {
  for (const parameter of patroni.parameters) {
    const { file, line = 0 } = sourceOf(parameter.source, parameter.source);
    const before = settings.get(parameter.name);
    if (before && before.value !== parameter.value) {
      assumptions.push(`${parameter.name} = '${parameter.value}' from Patroni's parameters (${parameter.source}) overrides '${before.value}' (${shown(before.file)}:${before.line}), as Patroni applies it in production`);
    }
    settings.set(parameter.name, { name: parameter.name, value: parameter.value, file, line });
  }
}
