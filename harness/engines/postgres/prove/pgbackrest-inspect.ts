// Reading a user's pgBackRest repository before anything starts, without writing to it: their
// pgbackrest.conf and stanza, the repository's backup.info (in a folder of this machine, or an S3
// bucket), and the configuration the scratch node restores with.

import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { BackupSource, InspectedBackup } from '../../../cluster/prove-ability.ts';
import { ConfigError, describeError } from '../../../errors.ts';
import { formatBytes } from '../../../units.ts';
import { parsePgBackRestConf, pgBackRestOption, type PgBackRestConf } from '../pgbackrest-conf.ts';
import { majorOf, scratchBytes } from './inspect.ts';
import { s3BackupInfo, s3Listing, s3RepoOf, type S3Repo } from './s3.ts';

/** The repository types whose files can be mounted as they are. */
const POSIX_REPOS = ['posix', 'cifs'];

/** A pgBackRest backup.info or archive.info: [section] and key=value lines (values JSON or plain). */
function parseInfo(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const header = /^\[([^\]]+)\]$/.exec(raw.trim());
    if (header) sections.set(header[1]!, (current = new Map()));
    else if (current && raw.includes('=')) current.set(raw.slice(0, raw.indexOf('=')).trim(), raw.slice(raw.indexOf('=') + 1).trim());
  }
  return sections;
}

function unquote(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'string' || typeof parsed === 'number' ? String(parsed) : value;
  } catch {
    return value;
  }
}

/** A pgBackRest source naming several stanzas ('main,sales', or '*' for every stanza of the file), one source each. */
export function expandPgBackRest(source: BackupSource): BackupSource[] {
  const asked = source.options.stanza!;
  if (!asked.includes(',') && asked !== '*') return [source];
  const confFile = source.options.conf!;
  if (!existsSync(confFile)) throw new ConfigError(`The pgBackRest configuration '${confFile}' (--pgbackrest-conf) does not exist: name your pgbackrest.conf`);
  const conf = parsePgBackRestConf(confFile);
  const all = [...conf.sections.keys()].filter((s) => !s.includes(':') && s !== 'global');
  const names = asked === '*' ? all : asked.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new ConfigError(`${conf.file} has no stanza section to prove (--stanza '${asked}')`);
  for (const name of names) if (!all.includes(name)) throw new ConfigError(`Stanza '${name}' (--stanza) is not in ${conf.file}: it has ${all.map((s) => `'${s}'`).join(', ') || 'no stanza section'}`);
  return names.map((stanza) => ({ kind: source.kind, options: { ...source.options, stanza }, label: `stanza '${stanza}' of ${conf.file}` }));
}

/** The user's pgbackrest.conf, stanza and repository, read on this machine. */
export async function inspectPgBackRest(source: BackupSource): Promise<InspectedBackup> {
  const confFile = source.options.conf!;
  const stanza = source.options.stanza!;
  if (!existsSync(confFile)) throw new ConfigError(`The pgBackRest configuration '${confFile}' (--pgbackrest-conf) does not exist: name your pgbackrest.conf`);
  const conf = parsePgBackRestConf(confFile);
  const stanzas = [...conf.sections.keys()].filter((s) => !s.includes(':') && s !== 'global');
  if (!conf.sections.has(stanza)) {
    throw new ConfigError(`Stanza '${stanza}' (--stanza) is not in ${conf.file}: it has ${stanzas.length ? stanzas.map((s) => `'${s}'`).join(', ') : 'no stanza section'}`);
  }
  const option = (key: string) => pgBackRestOption(conf, key, stanza, 'restore')?.values.at(-1);
  const host = option('repo1-host');
  if (host) throw new ConfigError(`${conf.file} reaches the repository on host '${host}' (repo1-host): run prove-backup on the repository host, with the pgbackrest.conf that names its repo1-path`);
  const type = option('repo1-type') ?? 'posix';
  if (!POSIX_REPOS.includes(type) && type !== 's3') throw new ConfigError(`${conf.file}: repo1-type=${type} is not supported by prove-backup yet: it reads repositories of type ${[...POSIX_REPOS, 's3'].join(', ')}`);
  const cipher = option('repo1-cipher-type');
  if (cipher && cipher !== 'none') throw new ConfigError(`${conf.file}: an encrypted repository (repo1-cipher-type=${cipher}) is not supported by prove-backup yet`);
  const repoPath = option('repo1-path') ?? '/var/lib/pgbackrest';
  if (!isAbsolute(repoPath)) throw new ConfigError(`${conf.file}: repo1-path '${repoPath}' is not an absolute path`);
  let where: Pick<InspectedBackup, 'paths' | 'remote' | 'reach'>;
  let s3: S3Repo | undefined;
  let infoText: string;
  let infoFile: string;
  if (type === 's3') {
    // Read with the user's endpoint and key from here; the scratch node may reach that endpoint only.
    s3 = s3RepoOf(conf, stanza);
    infoFile = `s3://${s3.bucket}/${s3.prefix}/backup/${stanza}/backup.info`;
    infoText = await s3BackupInfo(s3, stanza, conf.file);
    const what = `the pgBackRest repository (bucket '${s3.bucket}' at ${s3.endpoint}:${s3.port})`;
    const repo = s3;
    where = { paths: [], remote: [{ what, where: `s3://${s3.bucket}/${s3.prefix}`, list: () => s3Listing(repo) }], reach: [{ host: s3.endpoint, port: s3.port, what: 'the S3 endpoint' }] };
  } else {
    infoFile = join(repoPath, 'backup', stanza, 'backup.info');
    if (!existsSync(repoPath)) throw new ConfigError(`The pgBackRest repository ${repoPath} (repo1-path in ${conf.file}) does not exist on this machine: run prove-backup where the repository is, or mount it at that path`);
    try {
      infoText = readFileSync(infoFile, 'utf8');
    } catch (error) {
      throw new ConfigError(`Stanza '${stanza}' has no backup.info in the repository ${repoPath} (${describeError(error)}): was 'pgbackrest stanza-create' run, and is this the repository's path?`);
    }
    where = { paths: [{ source: repoPath, target: repoPath, what: 'the pgBackRest repository' }] };
  }
  const info = parseInfo(infoText);
  const version = unquote(info.get('db')?.get('db-version'));
  const major = majorOf(version, `${infoFile} (db-version)`);
  const backups = [...(info.get('backup:current') ?? new Map<string, string>()).entries()].map(([label, json]) => {
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(json) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`${infoFile}: backup '${label}' is not readable JSON (${describeError(error)}): is the repository damaged?`);
    }
    return { label, size: Number(fields['backup-info-size'] ?? 0), stop: Number(fields['backup-timestamp-stop'] ?? 0), start: String(fields['backup-archive-start'] ?? ''), type: String(fields['backup-type'] ?? '') };
  });
  const newest = backups.sort((a, b) => a.stop - b.stop).at(-1);
  if (!newest) throw new ConfigError(`Stanza '${stanza}' in ${type === 's3' ? infoFile : repoPath} holds no backup (backup.info lists none): take one with 'pgbackrest --stanza=${stanza} backup' first`);
  return {
    source,
    server: 'PostgreSQL',
    major,
    majorFrom: 'backup.info db-version',
    bytes: scratchBytes(newest.size),
    bytesFrom: `backup ${newest.label} holds ${formatBytes(newest.size)} of data (backup.info), plus room for WAL`,
    ...where,
    backup: { label: newest.label, stoppedAt: new Date(newest.stop * 1000).toISOString() },
    details: { conf: confText(conf, stanza), stanza, repoPath, ...(s3 ? { s3 } : {}), archiveStart: newest.start, backups: backups.length },
  };
}

/** Options of the user's file that name this machine's paths or processes, which the scratch node has its own of. */
const LOCAL_KEYS = /^(pg\d+-.*|repo\d+-host.*|lock-path|log-path|spool-path|archive-async|archive-get-queue-max|archive-push-queue-max|exec-id)$/;

/**
 * The user's pgbackrest.conf as the scratch node runs it: every option as written, but for where the
 * server is (pg1-path: the scratch node's), and its own lock, log and spool paths; WAL is fetched
 * one segment at a time (no asynchronous spool).
 */
function confText(conf: PgBackRestConf, stanza: string): string {
  const sections: string[] = [];
  for (const [name, options] of conf.sections) {
    const lines = [...options].filter(([key]) => !LOCAL_KEYS.test(key)).flatMap(([key, value]) => value.values.map((v) => `${key}=${v}`));
    if (name === 'global') lines.push('lock-path=/tmp/pgbackrest-lock', 'log-path=/var/log/pgbackrest', 'spool-path=/tmp/pgbackrest-spool', 'archive-async=n', 'log-level-file=detail');
    if (name === stanza) lines.push('pg1-path=/var/lib/faultline/data/pgdata', 'pg1-socket-path=/run/postgresql');
    sections.push([`[${name}]`, ...lines].join('\n'));
  }
  if (!conf.sections.has('global')) sections.unshift('[global]\nlock-path=/tmp/pgbackrest-lock\nlog-path=/var/log/pgbackrest\nspool-path=/tmp/pgbackrest-spool\narchive-async=n\nlog-level-file=detail');
  return `# The user's pgbackrest.conf (${conf.file}), as faultline's scratch node runs it\n${sections.join('\n\n')}\n`;
}
