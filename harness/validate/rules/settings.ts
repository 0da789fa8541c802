// What the rules share: a setting's effective value (the built-in default of the configuration's
// PostgreSQL major when the file does not set it, from that major's shipped settings list) with the
// line to point at, a pgBackRest option resolved for the drills' stanza, and the
// topology's nodes by role.

import { posix } from 'node:path';
import type { PostgresNode, PostgresTopology } from '../../engines/postgres/index.ts';
import { pgBackRestOption } from '../../engines/postgres/index.ts';
import { parseBoolean } from '../postgresql-conf.ts';
import { defaultOf } from '../settings-lists.ts';
import type { Source, UserConfig } from './types.ts';

export interface Effective {
  value: string;
  /** The setting's line, or only the file when PostgreSQL's default applies. */
  source: Source;
  /** False when the value is PostgreSQL's default because no file sets it. */
  set: boolean;
}

/** The file a finding about an absent setting points at. */
export function confFile(config: UserConfig): string {
  return config.settings.values().next().value?.file ?? 'postgresql.conf';
}

/** A postgresql.conf setting as the server would run with it. */
export function setting(config: UserConfig, name: string): Effective {
  const found = config.settings.get(name);
  if (found) return { value: found.value, source: { file: found.file, line: found.line }, set: true };
  return { value: defaultOf(config.topology.postgres.version, name), source: { file: confFile(config) }, set: false };
}

/** archive_mode is 'on' or 'always': the server hands each finished segment to the archiver. */
export function archiving(config: UserConfig): boolean {
  const mode = setting(config, 'archive_mode').value.trim().toLowerCase();
  return mode === 'always' || parseBoolean(mode) === true;
}

export interface Option {
  value: string;
  source: Source;
}

/** A pgBackRest option for the drills' stanza (and a command's sections first, when given). */
export function option(config: UserConfig, key: string, command?: string): Option | undefined {
  const conf = config.pgbackrest;
  if (!conf) return undefined;
  const found = pgBackRestOption(conf, key, config.stanza, command);
  return found && { value: found.values.at(-1) ?? '', source: { file: conf.file, line: found.line } };
}

/** The indexes N of every repoN-… (or pgN-…) option anywhere in pgbackrest.conf, 1 always included for repo. */
export function indexes(config: UserConfig, prefix: 'repo' | 'pg'): number[] {
  const found = new Set<number>(prefix === 'repo' ? [1] : []);
  const pattern = new RegExp(`^${prefix}(\\d+)-`);
  for (const section of config.pgbackrest?.sections.values() ?? []) {
    for (const key of section.keys()) {
      const match = pattern.exec(key);
      if (match) found.add(Number(match[1]));
    }
  }
  return [...found].sort((a, b) => a - b);
}

export const TOPOLOGY: Source = { file: 'topology' };

export function primaryOf(topology: PostgresTopology): PostgresNode | undefined {
  return topology.postgres.nodes.find((node) => node.role === 'primary');
}

export function nodesWithRole(topology: PostgresTopology, role: PostgresNode['role']): PostgresNode[] {
  return topology.postgres.nodes.filter((node) => node.role === role);
}

/**
 * WAL reaches the archive node by streaming (pg_receivewal), not by archive_command: the topology
 * has an archive node backed up by pg_receivewal and the user gave no pgbackrest.conf.
 */
export function streamsToArchive(config: UserConfig): boolean {
  return nodesWithRole(config.topology, 'archive').length > 0 && config.topology.postgres.backupTool === 'pg_receivewal' && !config.pgbackrest;
}

/** Whether `path` is `dir` or below it (both absolute, normalised). */
export function isInside(path: string, dir: string): boolean {
  const p = posix.normalize(path).replace(/\/+$/, '');
  const d = posix.normalize(dir).replace(/\/+$/, '');
  return p === d || p.startsWith(`${d}/`);
}

/** The data directories the user's files name: data_directory and pgBackRest's pgN-path. */
export function dataDirectories(config: UserConfig): Array<{ path: string; named: string }> {
  const dirs: Array<{ path: string; named: string }> = [];
  const dataDirectory = config.settings.get('data_directory');
  if (dataDirectory?.value) dirs.push({ path: dataDirectory.value, named: `data_directory '${dataDirectory.value}'` });
  for (const n of indexes(config, 'pg')) {
    const path = option(config, `pg${n}-path`)?.value;
    if (path && !dirs.some((d) => isInside(path, d.path) && isInside(d.path, path))) dirs.push({ path, named: `pg${n}-path '${path}'` });
  }
  return dirs;
}

/** Quotes a value for a message, as the user wrote it. */
export function quote(value: string): string {
  return `'${value}'`;
}
