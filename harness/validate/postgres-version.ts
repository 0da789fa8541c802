// Which PostgreSQL major a user's configuration is for, as `faultline validate` decides it: what the
// user says (--postgres-version, or "version" in their topology file), then the configuration's
// path (/etc/postgresql/17/main/), then a PG_VERSION file beside it (a data directory), then the
// settings themselves (summarize_wal needs 17, io_method 18), then faultline's default. Sources that
// disagree are refused (exit 2), each named with what it said; the settings are then checked against
// that major's own list.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, UsageError } from '../errors.ts';
import { DEFAULT_POSTGRES, POSTGRES_VERSIONS, supportedPostgresText } from '../engines/postgres/index.ts';
import type { ConfSetting } from './postgresql-conf.ts';
import { checkSettingNames, majorsOfSettings } from './settings-lists.ts';

export interface PostgresVersionInput {
  /** --postgres-version. */
  option?: number;
  /** `postgres.version` of the user's topology file, and that file. */
  topology?: { version: number; file: string };
  /** The postgresql.conf given, as the user typed it (for messages). */
  confFile?: string;
  settings: Map<string, ConfSetting>;
  /** A setting's place as messages show it (file:line). */
  where: (s: ConfSetting) => string;
}

export interface DecidedVersion {
  major: number;
  /** Where the major came from, after "PostgreSQL 17, ": "as --postgres-version says". */
  decidedBy: string;
  source: 'option' | 'topology' | 'path' | 'PG_VERSION' | 'settings' | 'default';
}

interface Said {
  source: DecidedVersion['source'];
  major: number;
  /** "the path of /etc/postgresql/17/main/postgresql.conf says". */
  says: string;
}

/** The major in a Debian or Red Hat style path: /etc/postgresql/17/main/, /var/lib/pgsql/17/data/, /usr/pgsql-17/. */
export function majorOfPath(file: string): number | undefined {
  const match = /\/(?:postgresql|pgsql)[-/]?(\d{2})\//.exec(resolve(file));
  return match ? Number(match[1]) : undefined;
}

/** The major of a data directory's PG_VERSION file beside the configuration. */
export function majorOfPgVersion(file: string): { major: number; file: string } | undefined {
  const beside = join(dirname(resolve(file)), 'PG_VERSION');
  if (!existsSync(beside)) return undefined;
  const major = Number(readFileSync(beside, 'utf8').trim());
  return Number.isInteger(major) && major > 0 ? { major, file: beside } : undefined;
}

/** The major the user's configuration is for, with where that came from; throws ConfigError when sources disagree or a setting is not that major's. */
export function decidePostgresVersion(input: PostgresVersionInput): DecidedVersion {
  const said: Said[] = [];
  if (input.option !== undefined) said.push({ source: 'option', major: input.option, says: '--postgres-version says' });
  if (input.topology) said.push({ source: 'topology', major: input.topology.version, says: `"version" in the topology file ${input.topology.file} says` });
  if (input.confFile) {
    const path = majorOfPath(input.confFile);
    if (path !== undefined) said.push({ source: 'path', major: path, says: `the path of ${input.confFile} says` });
    const pgVersion = majorOfPgVersion(input.confFile);
    if (pgVersion) said.push({ source: 'PG_VERSION', major: pgVersion.major, says: `${pgVersion.file} says` });
  }
  const first = said[0];
  const disagreeing = said.filter((s) => first && s.major !== first.major);
  if (first && disagreeing.length > 0) {
    const all = [first, ...disagreeing].map((s) => `${s.says} ${s.major}`).join(', but ');
    throw new ConfigError(
      `The sources of the PostgreSQL major disagree: ${all}. Make them agree: give the major the configuration is for with --postgres-version (and the same "version" in the topology), or point --postgres-conf at the file that major uses.`,
    );
  }
  let decided: DecidedVersion;
  if (first) {
    decided = { major: first.major, decidedBy: `as ${first.says}`, source: first.source };
  } else {
    const say = majorsOfSettings(input.settings.values());
    const by = say.atLeast ?? say.atMost;
    decided = by
      ? {
          major: by.major,
          decidedBy: `as ${by.setting.name} (${input.where(by.setting)}) says, a setting of PostgreSQL ${by.major} and ${by === say.atLeast ? 'later' : 'earlier'}`,
          source: 'settings',
        }
      : { major: DEFAULT_POSTGRES, decidedBy: "faultline's default, as neither the path, a PG_VERSION file beside it nor a setting says which major (--postgres-version N to choose)", source: 'default' };
  }
  if (!POSTGRES_VERSIONS.includes(decided.major)) {
    throw new ConfigError(
      `The configuration is for PostgreSQL ${decided.major}, ${decided.decidedBy}, which faultline can neither check nor run: it supports PostgreSQL ${supportedPostgresText()}. To judge it as another major, copy it where no path names a major and give --postgres-version.`,
    );
  }
  checkSettingNames(input.settings.values(), decided.major, decided.decidedBy, input.where);
  return decided;
}

/** --postgres-version as typed: a major faultline supports, or a UsageError saying which are. */
export function parsePostgresVersion(text: string): number {
  const major = Number(text);
  if (!Number.isInteger(major) || !POSTGRES_VERSIONS.includes(major)) {
    throw new UsageError(`--postgres-version '${text}' is not a PostgreSQL major faultline supports: use PostgreSQL ${supportedPostgresText()}`);
  }
  return major;
}
