// The user's system as `faultline validate` and `faultline rehearse` see it: their postgresql.conf
// (with its includes), their pgbackrest.conf, and their topology (or the default one), turned into
// one topology whose settings carry their source lines. The files are only read.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError, describeError } from '../errors.ts';
import { defaultTopology, validatePostgresTopology, type PostgresTopology, type PostgresTopologySpec } from '../engines/postgres/index.ts';
import { isNoOpCommand, isPgBackRestCommand } from '../engines/postgres/index.ts';
import { parsePostgresqlConf, type ConfSetting } from './postgresql-conf.ts';
import { parsePgBackRestConf, type PgBackRestConf } from './pgbackrest-conf.ts';
import type { UserConfig } from './rules/types.ts';

export interface UserConfigFiles {
  /** Without it, the topology's own settings (if any) and PostgreSQL's defaults. */
  postgresConf?: string;
  pgbackrestConf?: string;
  topology?: string;
}

export interface LoadedUserConfig {
  /** What the preflight rules read. */
  config: UserConfig;
  /** The topology the drills run: the user's, with their settings and options in it. */
  spec: PostgresTopologySpec;
  topology: PostgresTopology;
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

/** The PostgreSQL major a configuration is for: PG_VERSION beside it (a data directory), or Debian's /etc/postgresql/<major>/ path. */
function majorOf(file: string): number | undefined {
  const beside = join(dirname(resolve(file)), 'PG_VERSION');
  if (existsSync(beside)) return Number(readFileSync(beside, 'utf8').trim()) || undefined;
  const match = /\/(?:postgresql|pgsql)[-/]?(\d{2})\//.exec(resolve(file));
  return match ? Number(match[1]) : undefined;
}

export function loadUserConfig(files: UserConfigFiles, options: { applySettings?: boolean } = {}): LoadedUserConfig {
  const applySettings = options.applySettings ?? true;
  const settings = files.postgresConf ? parsePostgresqlConf(files.postgresConf) : new Map<string, ConfSetting>();
  const pgbackrest = files.pgbackrestConf ? parsePgBackRestConf(files.pgbackrestConf) : undefined;
  const assumptions: string[] = [];
  const given = files.topology ? readTopologyFile(files.topology) : structuredClone(defaultTopology);
  if (!files.topology) {
    assumptions.push('a primary, a replica and an archive node, each in a failure domain of its own (san-a, san-b, backup-site), as no --topology was given');
  }
  if (typeof given !== 'object' || given === null || typeof given.postgres !== 'object' || given.postgres === null) {
    // Let the topology's own validation say what is wrong with it.
    validatePostgresTopology(given, files.topology ?? 'topology');
  }
  const found = files.postgresConf && given.postgres.version === undefined ? majorOf(files.postgresConf) : undefined;
  const major = found !== undefined && found >= 13 && found <= 17 ? found : undefined;
  if (found !== undefined && major === undefined) assumptions.push(`the configuration looks written for PostgreSQL ${found}, which the node image does not offer (13 to 17): the drills run PostgreSQL 15`);
  if (major !== undefined) assumptions.push(`PostgreSQL ${major}, as the path of ${shown(files.postgresConf!)} says (set "version" in the topology to choose)`);
  const archiveCommand = settings.get('archive_command');
  const stanza = firstStanza(pgbackrest);
  const pgbackrestUsed = pgbackrest !== undefined || (archiveCommand !== undefined && isPgBackRestCommand(archiveCommand.value));
  const backupTool = given.postgres.backupTool ?? (pgbackrestUsed ? 'pgbackrest' : 'pg_receivewal');
  if (!given.postgres.backupTool) {
    assumptions.push(
      backupTool === 'pgbackrest'
        ? `the archive node holds a pgBackRest repository (stanza '${stanza}' runs as 'main'), reached over pgBackRest's TLS server`
        : 'the archive node holds base backups taken with pg_basebackup and receives the WAL by streaming (pg_receivewal), unless said otherwise below',
    );
  }
  const source = (s: ConfSetting) => `${shown(s.file)}:${s.line}`;
  const fromFile = Object.fromEntries([...settings.values()].map((s) => [s.name, { value: s.value, source: source(s) }]));
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
      backupTool,
      ...(noOp && given.postgres.archiveWal === undefined ? { archiveWal: 'none' as const } : {}),
      ...(major !== undefined ? { version: major } : {}),
      // PostgreSQL's default when the file does not set it: 0, no forced switch.
      ...(backupTool === 'pgbackrest' && given.postgres.archiveTimeout === undefined ? { archiveTimeout: '0' } : {}),
      ...(applySettings ? { settings: { ...given.postgres.settings, ...fromFile } } : {}),
      ...(applySettings && Object.keys(sections).length > 0 ? { pgbackrest: { ...given.postgres.pgbackrest, ...sections } } : {}),
    },
  };
  const topology = validatePostgresTopology(spec, files.topology ? `topology file '${files.topology}'` : 'default topology');
  return { config: { settings, ...(pgbackrest ? { pgbackrest } : {}), stanza, topology }, spec, topology, assumptions };
}
