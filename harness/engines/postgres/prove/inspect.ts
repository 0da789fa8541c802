// Reading a user's PostgreSQL backup before anything starts, and without writing to it: a
// pgBackRest repository (its backup.info) or a base backup with a WAL archive directory. What is
// read here decides the major, the scratch node's size and what it mounts; bad input is a
// ConfigError that names the path and what to do.

import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { BackupSource, InspectedBackup } from '../../../cluster/prove-ability.ts';
import { ConfigError, describeError } from '../../../errors.ts';
import { formatBytes } from '../../../units.ts';
import { parsePgBackRestConf, pgBackRestOption, type PgBackRestConf } from '../pgbackrest-conf.ts';
import { POSTGRES_BUILDS, supportedPostgresText } from '../versions.ts';
import { s3BackupInfo, s3Listing, s3RepoOf, type S3Repo } from './s3.ts';

/** Where the scratch node sees a base backup and a WAL archive directory. */
export const BASE_MOUNT = '/var/lib/faultline/backup/base';
export const WAL_MOUNT = '/var/lib/faultline/backup/wal';

/** The compressions a WAL archive's segments may have, by file suffix: those restore.ts's restore_command reads. */
const WAL_SUFFIXES: readonly string[] = ['', '.gz', '.lz4'];
/** The compressions a tar-format base backup may have. */
const TAR_SUFFIXES = ['.tar', '.tar.gz', '.tgz'];
const SUPPORTED_TAR = 'an uncompressed or gzip-compressed tar (pg_basebackup -Ft or -Ft -z)';

export function majorOf(version: string | undefined, where: string): number {
  const major = Number(/^(\d+)/.exec(version ?? '')?.[1]);
  if (!Number.isInteger(major) || major < 1) throw new ConfigError(`${where} does not name a PostgreSQL major version (read '${version ?? ''}'): is it a backup of PostgreSQL?`);
  if (!POSTGRES_BUILDS[major]) throw new ConfigError(`The backup is of PostgreSQL ${version} (${where}), which faultline cannot run: it runs ${supportedPostgresText()}`);
  return major;
}

/** Room for the restored data plus the WAL replay keeps, and a floor for a small database. */
export function scratchBytes(dataBytes: number): number {
  return Math.max(1024 ** 3, Math.ceil((dataBytes * 1.25 + 1024 ** 3) / 1024 ** 2) * 1024 ** 2);
}

/** How a base backup is laid out: a plain data directory, or tar files (base and pg_wal). */
export interface BaseLayout {
  format: 'plain' | 'tar';
  /** The folder the scratch node mounts (the backup's, or the tar file's). */
  dir: string;
  /** For tar: the base tar's and the pg_wal tar's names in that folder. */
  baseTar?: string;
  walTar?: string;
  manifest?: string;
}

function tarIn(dir: string, stem: string): string | undefined {
  for (const suffix of TAR_SUFFIXES) if (existsSync(join(dir, `${stem}${suffix}`))) return `${stem}${suffix}`;
  const other = readdirSync(dir).find((f) => f.startsWith(`${stem}.tar.`));
  if (other) throw new ConfigError(`${join(dir, other)} is compressed in a way prove-backup does not read yet: it reads ${SUPPORTED_TAR}`);
  return undefined;
}

/** What --base-backup names: a plain backup's data directory, a folder of tar files, or one tar file. */
export function baseLayout(path: string): BaseLayout {
  if (!existsSync(path)) throw new ConfigError(`The base backup '${path}' (--base-backup) does not exist: name the folder pg_basebackup wrote, or its base.tar`);
  if (statSync(path).isFile()) {
    const name = basename(path);
    if (!TAR_SUFFIXES.some((s) => name.endsWith(s))) throw new ConfigError(`The base backup '${path}' is a file but not a tar: prove-backup reads ${SUPPORTED_TAR}, or a plain backup's folder`);
    const dir = dirname(path);
    const manifest = existsSync(join(dir, 'backup_manifest')) ? 'backup_manifest' : undefined;
    const walTar = name.startsWith('base.') ? tarIn(dir, 'pg_wal') : undefined;
    return { format: 'tar', dir, baseTar: name, ...(walTar ? { walTar } : {}), ...(manifest ? { manifest } : {}) };
  }
  const manifest = existsSync(join(path, 'backup_manifest')) ? 'backup_manifest' : undefined;
  if (existsSync(join(path, 'PG_VERSION'))) return { format: 'plain', dir: path, ...(manifest ? { manifest } : {}) };
  const baseTar = tarIn(path, 'base');
  if (!baseTar) throw new ConfigError(`${path} (--base-backup) is neither a base backup's data directory (no PG_VERSION) nor a folder with base.tar: name the folder pg_basebackup -D wrote`);
  const walTar = tarIn(path, 'pg_wal');
  return { format: 'tar', dir: path, baseTar, ...(walTar ? { walTar } : {}), ...(manifest ? { manifest } : {}) };
}

/** PG_VERSION from a tar (plain or gzip), read as a stream until it is found. */
async function versionInTar(file: string): Promise<string | undefined> {
  const stream = file.endsWith('.tar') ? createReadStream(file) : createReadStream(file).pipe(createGunzip());
  let pending = Buffer.alloc(0);
  let skip = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending = Buffer.concat([pending, chunk]);
      while (true) {
        if (skip > 0) {
          const dropped = Math.min(skip, pending.length);
          pending = pending.subarray(dropped);
          skip -= dropped;
          if (skip > 0) break;
        }
        if (pending.length < 512) break;
        const header = pending.subarray(0, 512);
        if (header.every((b) => b === 0)) return undefined;
        const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
        const size = parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
        if (name === 'PG_VERSION' || name === './PG_VERSION') {
          if (pending.length < 512 + size) break;
          return pending.subarray(512, 512 + size).toString('utf8').trim();
        }
        pending = pending.subarray(512);
        skip = Math.ceil(size / 512) * 512;
      }
    }
  } catch (error) {
    throw new ConfigError(`Cannot read ${file} as ${SUPPORTED_TAR}: ${describeError(error)}`);
  } finally {
    stream.destroy();
  }
  return undefined;
}

/** The data size a base backup restores to: its manifest's files, else its own size (a gzip tar counted four times). */
function baseBytes(layout: BaseLayout): { bytes: number; from: string } {
  if (layout.manifest) {
    try {
      const manifest = JSON.parse(readFileSync(join(layout.dir, layout.manifest), 'utf8')) as { Files?: Array<{ Size?: number }> };
      const bytes = (manifest.Files ?? []).reduce((sum, f) => sum + (f.Size ?? 0), 0);
      return { bytes, from: `backup_manifest lists ${formatBytes(bytes)} of files` };
    } catch {
      // an unreadable manifest is pg_verifybackup's to report; size from the files
    }
  }
  if (layout.format === 'tar') {
    const size = statSync(join(layout.dir, layout.baseTar!)).size;
    const gzip = !layout.baseTar!.endsWith('.tar');
    return { bytes: gzip ? size * 4 : size, from: `${layout.baseTar} is ${formatBytes(size)}${gzip ? ', counted four times for its compression' : ''}` };
  }
  let bytes = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.isFile()) bytes += statSync(join(dir, entry.name)).size;
    }
  };
  walk(layout.dir);
  return { bytes, from: `the backup folder holds ${formatBytes(bytes)}` };
}

/** The suffix of every segment in a WAL archive directory; one that is not supported is a ConfigError. */
export function walSuffixes(dir: string): { segments: number; suffixes: string[] } {
  const suffixes = new Set<string>();
  let segments = 0;
  for (const name of readdirSync(dir)) {
    // Segments, their .partial ends, backup history files (.backup) and timeline histories, each perhaps compressed.
    const match = /^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)(.*)$/.exec(name);
    if (!match) continue;
    const suffix = match[1]!;
    if (!WAL_SUFFIXES.includes(suffix)) {
      throw new ConfigError(`${join(dir, name)} in the WAL archive (--wal-archive) is compressed as '${suffix}', which prove-backup does not read: it reads segments that are uncompressed, .gz or .lz4`);
    }
    suffixes.add(suffix);
    segments++;
  }
  return { segments, suffixes: [...suffixes] };
}

/** A base backup (plain or tar) and, optionally, a WAL archive directory, read on this machine. */
export async function inspectBaseBackup(source: BackupSource): Promise<InspectedBackup> {
  const base = resolve(source.options.base!);
  const layout = baseLayout(base);
  const version = layout.format === 'plain' ? readFileSync(join(layout.dir, 'PG_VERSION'), 'utf8').trim() : await versionInTar(join(layout.dir, layout.baseTar!));
  const major = majorOf(version, layout.format === 'plain' ? join(layout.dir, 'PG_VERSION') : `PG_VERSION in ${join(layout.dir, layout.baseTar!)}`);
  const size = baseBytes(layout);
  // A tar file is read from its folder, where pg_basebackup put its pg_wal.tar and manifest too.
  const paths: InspectedBackup['paths'] = [{ source: layout.dir, target: BASE_MOUNT, what: 'the base backup' }];
  let wal: { segments: number; suffixes: string[] } | undefined;
  const walDir = source.options.wal ? resolve(source.options.wal) : undefined;
  if (walDir) {
    if (!existsSync(walDir) || !statSync(walDir).isDirectory()) throw new ConfigError(`The WAL archive '${walDir}' (--wal-archive) is not a folder: name the folder your archive_command copies segments into`);
    wal = walSuffixes(walDir);
    paths.push({ source: walDir, target: WAL_MOUNT, what: 'the WAL archive' });
  }
  return {
    source,
    server: 'PostgreSQL',
    major,
    majorFrom: layout.format === 'plain' ? 'PG_VERSION' : `PG_VERSION in ${layout.baseTar}`,
    bytes: scratchBytes(size.bytes),
    bytesFrom: `${size.from}, plus room for WAL`,
    paths,
    backup: { label: basename(base) },
    details: { layout, ...(wal ? { wal } : {}) },
  };
}
