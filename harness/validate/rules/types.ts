// Preflight rules: each one a danger in a backup configuration that can be seen without starting
// anything. A rule is data (id, severity, reason, fix, documentation link) plus one pure function
// that looks at the user's configuration and says where the danger is.

import type { PostgresTopology } from '../../engines/postgres/index.ts';
import type { ConfSetting } from '../postgresql-conf.ts';
import type { PgBackRestConf } from '../../engines/postgres/index.ts';
import type { PatroniYml } from '../../engines/postgres/index.ts';

export type Severity = 'error' | 'warning' | 'info';

/** What `faultline validate` knows about the user's system before anything starts. */
export interface UserConfig {
  /** postgresql.conf as PostgreSQL would read it (includes resolved), by lower-case name. */
  settings: Map<string, ConfSetting>;
  /** pgbackrest.conf, when the user gave one. */
  pgbackrest?: PgBackRestConf;
  /** The pgBackRest stanza the drills use: the first stanza section of pgbackrest.conf, else 'main'. */
  stanza: string;
  /** The user's topology (or the default one): which nodes exist, their roles and failure domains. */
  topology: PostgresTopology;
  /**
   * What each local path archive_command copies into is in the user's world (a path and what is
   * below it): 'nfs-sync' (an NFS mount exported `sync`: a file is committed when closed; the
   * assumption for an unlisted path), 'nfs-async' (exported `async`: nothing is committed until
   * fsynced) or 'local' (the server's own disk). Merged over the topology's archiveMounts.
   */
  archiveMounts?: Record<string, 'nfs-sync' | 'nfs-async' | 'local'>;
  /** The scripts archive_command runs, by the path the command names, with their text. Merged over the topology's archiveScripts. */
  archiveScripts?: Record<string, string>;
  /**
   * The user's patroni.yml (--patroni-conf): Patroni manages replication, so its parameters are
   * already in `settings` (they win over postgresql.conf's) and the rules about
   * synchronous_standby_names and slots, which Patroni writes itself, give way to Patroni's own.
   */
  patroni?: PatroniYml;
}

/** Where a finding points: a line of one of the user's files, or a path in the topology. */
export interface Source {
  file: string;
  line?: number;
}

/** A source written 'file:12' as a Source; without a line number (or with no text) just `file`. */
export function sourceOf(text: string | undefined, file: string): Source {
  const match = text ? /^(.*):(\d+)$/.exec(text) : null;
  return match ? { file: match[1]!, line: Number(match[2]) } : { file };
}

/** One place a rule found its danger. */
export interface RuleHit {
  /** What was found, naming the setting and its value, e.g. "archive_command is '/bin/true'". */
  message: string;
  source?: Source;
  /** This hit's severity when it is not the rule's (a danger that depends on something the files do not say). */
  severity?: Severity;
}

export interface Rule<C = UserConfig> {
  /** Kebab case, stable: users filter and suppress by it. */
  id: string;
  severity: Severity;
  /** A few words, for the rules list. */
  title: string;
  /** Why this loses acknowledged writes or a restore, in one sentence. */
  reason: string;
  /** What to change, in one sentence. */
  fix: string;
  /** The documentation page (PostgreSQL, pgBackRest, Patroni, Redis) that explains the setting. */
  docs: string;
  /** Pure: no I/O. Empty when the configuration is fine for this rule. */
  check: (config: C) => RuleHit[];
}

/** A rule's hit, with the rule's data, as validate reports it. */
export interface Finding extends RuleHit {
  rule: string;
  severity: Severity;
  title: string;
  reason: string;
  fix: string;
  docs: string;
}
