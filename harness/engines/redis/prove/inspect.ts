// Reading a user's Redis or Valkey data directory before anything starts, without writing to it:
// which files it holds (dump.rdb, an append-only file), who wrote them (the RDB's aux fields), and
// so which image restores them, how big the scratch volume must be, and how fresh the data is.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BackupSource, InspectedBackup } from '../../../cluster/prove-ability.ts';
import { ConfigError, describeError } from '../../../errors.ts';
import { formatBytes } from '../../../units.ts';
import { DEFAULT_REDIS_VERSION, REDIS_BUILDS, redisVersions, serverLabel, type RedisServer } from '../versions.ts';
import { looksLikeRdb, parseRdbHeader, readHead, type RdbHeader } from './rdb-header.ts';

/** Where the scratch node sees the user's data directory (read-only). */
export const REDIS_DIR_MOUNT = '/var/lib/faultline/backup/redis';

/** The files of a data directory the server loads. */
export interface RedisLayout {
  /** The RDB file's name in the directory (dump.rdb, or the one .rdb there). */
  rdb?: string;
  /** A Redis 7+ multi-part AOF (a folder with a manifest), or an older single appendonly.aof. */
  aof?: { kind: 'multi'; dir: string; manifest: string; appendfilename: string; base?: string; incr: string[]; missing: string[] } | { kind: 'single'; file: string };
}

/** What the proof needs from inspection (InspectedBackup.details). */
export interface RedisDetails {
  layout: RedisLayout;
  server: RedisServer;
  /** How the restored data is dated (backup.stoppedAt), for the freshness evidence. */
  datedBy: string;
}

/** The newest RDB format each image's server loads (a newer file needs a newer server). */
const LOADS_RDB: Readonly<Record<RedisServer, Readonly<Record<number, number>>>> = { redis: { 7: 10, 8: 12 }, valkey: { 8: 11, 9: 80 } };

/** The multi-part AOF's manifest: lines `file NAME seq N type b|h|i ...` (h: history, not loaded). */
export function parseManifest(text: string): { base?: string; incr: string[] } {
  const found: { base?: string; incr: string[] } = { incr: [] };
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const field = (key: string) => words[words.indexOf(key) + 1];
    if (!words.includes('file') || !words.includes('type')) continue;
    const name = field('file')?.replace(/^"|"$/g, '');
    if (!name) continue;
    if (field('type') === 'b') found.base = name;
    else if (field('type') === 'i') found.incr.push(name);
  }
  return found;
}

/** The directory's RDB and AOF, by the names the server uses by default (else the only one there is). */
export function redisLayout(dir: string): RedisLayout {
  const entries = readdirSync(dir, { withFileTypes: true });
  const layout: RedisLayout = {};
  const rdbs = entries.filter((e) => e.isFile() && e.name.endsWith('.rdb')).map((e) => e.name);
  const rdb = rdbs.includes('dump.rdb') ? 'dump.rdb' : rdbs.length === 1 ? rdbs[0] : undefined;
  if (rdb) layout.rdb = rdb;
  const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort((a, b) => (a === 'appendonlydir' ? -1 : b === 'appendonlydir' ? 1 : a.localeCompare(b)));
  for (const folder of folders) {
    const manifest = readdirSync(join(dir, folder)).find((f) => f.endsWith('.manifest'));
    if (!manifest) continue;
    const parsed = parseManifest(readFileSync(join(dir, folder, manifest), 'utf8'));
    const named = [...(parsed.base ? [parsed.base] : []), ...parsed.incr];
    // A file the manifest names but the folder lacks is the check tools' (and the server's) to report.
    layout.aof = { kind: 'multi', dir: folder, manifest, appendfilename: manifest.slice(0, -'.manifest'.length), ...(parsed.base ? { base: parsed.base } : {}), incr: parsed.incr, missing: named.filter((f) => !existsSync(join(dir, folder, f))) };
    return layout;
  }
  const aofs = entries.filter((e) => e.isFile() && e.name.endsWith('.aof')).map((e) => e.name);
  const single = aofs.includes('appendonly.aof') ? 'appendonly.aof' : aofs.length === 1 ? aofs[0] : undefined;
  if (single) layout.aof = { kind: 'single', file: single };
  return layout;
}

/** The files the server loads: the AOF when there is one (it wins over dump.rdb), else the RDB. */
export function loadedFiles(layout: RedisLayout): string[] {
  if (layout.aof?.kind === 'single') return [layout.aof.file];
  if (layout.aof) return [...(layout.aof.base ? [layout.aof.base] : []), ...layout.aof.incr].map((f) => `${(layout.aof as { dir: string }).dir}/${f}`);
  return layout.rdb ? [layout.rdb] : [];
}

/** Who wrote an RDB, from its aux fields (valkey-ver, else redis-ver; Valkey 9's own magic). */
export function writerOf(header: RdbHeader): { server: RedisServer; version?: string; field?: string } {
  if (header.aux['valkey-ver']) return { server: 'valkey', version: header.aux['valkey-ver'], field: 'valkey-ver' };
  const server: RedisServer = header.magic === 'VALKEY' ? 'valkey' : 'redis';
  return header.aux['redis-ver'] ? { server, version: header.aux['redis-ver'], field: 'redis-ver' } : { server };
}

/** The image's server and major for a writer; a major faultline has no image for is a ConfigError. */
export function imageFor(writer: { server: RedisServer; version?: string }, rdbVersion: number | undefined, where: string): { server: RedisServer; major: number; majorFrom: string } {
  const { server } = writer;
  if (!writer.version) {
    const major = DEFAULT_REDIS_VERSION[server];
    return { server, major, majorFrom: `no version is recorded (${where}): ${serverLabel(server, major)}, the default` };
  }
  const major = Number(/^(\d+)\./.exec(writer.version)?.[1]);
  const supported = redisVersions(server);
  if (!Number.isInteger(major) || !REDIS_BUILDS[server][major]) {
    throw new ConfigError(`The backup was written by ${server === 'valkey' ? 'Valkey' : 'Redis'} ${writer.version} (${where}), which faultline cannot run: it runs ${supported.map((v) => serverLabel(server, v)).join(', ')}`);
  }
  const majorFrom = `${where}: ${writer.version}`;
  // Redis 7.2 writes RDB 11, which the Redis 7.0 of the image cannot load: the next major that can.
  if (rdbVersion !== undefined && rdbVersion > (LOADS_RDB[server][major] ?? Infinity)) {
    const newer = supported.find((v) => v > major && (LOADS_RDB[server][v] ?? Infinity) >= rdbVersion);
    if (!newer) throw new ConfigError(`The backup's RDB format ${rdbVersion} (${where}: ${writer.version}) is newer than faultline's ${serverLabel(server, major)} loads, and no image it builds loads it`);
    return { server, major: newer, majorFrom: `${majorFrom}; its RDB format ${rdbVersion} is newer than ${serverLabel(server, major)} here loads, so ${serverLabel(server, newer)}` };
  }
  return { server, major, majorFrom };
}

/** Room for the copy, the server's rewrite of it, and a floor for a small dump. */
export function redisScratchBytes(fileBytes: number): number {
  return Math.max(1024 ** 3, Math.ceil((fileBytes * 3 + 512 * 1024 ** 2) / 1024 ** 2) * 1024 ** 2);
}

function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** The user's Redis data directory, read on this machine. */
export function inspectRedisDir(source: BackupSource): InspectedBackup {
  const dir = source.options.dir!;
  if (!existsSync(dir)) throw new ConfigError(`The Redis data directory '${dir}' (--redis-dir) does not exist: name the folder that holds dump.rdb or appendonlydir/`);
  if (!statSync(dir).isDirectory()) throw new ConfigError(`'${dir}' (--redis-dir) is not a folder: name the Redis data directory (its 'dir' setting) that holds dump.rdb or appendonlydir/`);
  let layout: RedisLayout;
  try {
    layout = redisLayout(dir);
  } catch (error) {
    throw new ConfigError(`Cannot read the Redis data directory '${dir}': ${describeError(error)}`);
  }
  if (!layout.rdb && !layout.aof) {
    throw new ConfigError(`'${dir}' (--redis-dir) holds no Redis data: expected dump.rdb (an RDB snapshot), appendonlydir/ with its *.manifest (Redis 7+ append-only files), or appendonly.aof`);
  }
  // Who wrote it: the RDB's aux fields; for an AOF alone, its base's (an RDB preamble).
  const aof = layout.aof;
  const rdbToRead = layout.rdb ? { path: join(dir, layout.rdb), name: layout.rdb } : aof?.kind === 'multi' && aof.base && !aof.missing.includes(aof.base) ? { path: join(dir, aof.dir, aof.base), name: `${aof.dir}/${aof.base}` } : aof?.kind === 'single' ? { path: join(dir, aof.file), name: aof.file } : undefined;
  const head = rdbToRead ? readHead(rdbToRead.path) : undefined;
  const header = head && looksLikeRdb(head) ? parseRdbHeader(head) : undefined;
  const writer = header ? writerOf(header) : { server: 'redis' as RedisServer };
  const where = !rdbToRead ? 'the AOF has no base file to read' : header ? `${rdbToRead.name}${writer.field ? ` (${writer.field})` : ''}` : `${rdbToRead.name} is a plain AOF (commands, no RDB preamble)`;
  const image = imageFor(writer, header?.version, where);

  const files = [...(layout.rdb ? [layout.rdb] : []), ...(aof?.kind === 'single' ? [aof.file] : aof ? [`${aof.dir}/${aof.manifest}`, ...loadedFiles(layout)] : [])];
  const fileBytes = files.reduce((sum, f) => sum + sizeOf(join(dir, f)), 0);
  const dated = dating(dir, layout, header, rdbToRead?.name);
  const loaded = loadedFiles(layout);
  const label = aof
    ? `${aof.kind === 'multi' ? `${aof.dir}/${aof.manifest} (${loaded.length} file${loaded.length === 1 ? '' : 's'})` : aof.file}${layout.rdb ? ` (and ${layout.rdb}, which the server skips when it has the AOF)` : ''}`
    : layout.rdb!;
  const details: RedisDetails = { layout, server: image.server, datedBy: dated.by };
  return {
    source,
    server: image.server === 'valkey' ? 'Valkey' : 'Redis',
    major: image.major,
    majorFrom: image.majorFrom,
    bytes: redisScratchBytes(fileBytes),
    bytesFrom: `the files to load are ${formatBytes(fileBytes)}, counted three times (the copy, the server's rewrite) plus 512 MiB`,
    paths: [{ source: dir, target: REDIS_DIR_MOUNT, what: 'the Redis data directory' }],
    backup: { label, ...(dated.at ? { stoppedAt: dated.at } : {}) },
    details: details as unknown as Record<string, unknown>,
  };
}

/**
 * When the data was written: an AOF with commands after its base is as new as its newest file;
 * otherwise the RDB's own ctime (when it has one), else the newest file's modification time.
 */
function dating(dir: string, layout: RedisLayout, header: RdbHeader | undefined, rdbName: string | undefined): { at?: string; by: string } {
  const aof = layout.aof;
  const mtime = (f: string) => statSync(join(dir, f)).mtime;
  if (aof?.kind === 'multi') {
    const incr = aof.incr.filter((f) => !aof.missing.includes(f) && sizeOf(join(dir, aof.dir, f)) > 0).map((f) => `${aof.dir}/${f}`);
    const newest = incr.sort((a, b) => mtime(b).getTime() - mtime(a).getTime())[0];
    if (newest) return { at: mtime(newest).toISOString(), by: `the modification time of ${newest}, the AOF's newest commands` };
  }
  if (aof?.kind === 'single') return { at: mtime(aof.file).toISOString(), by: `the modification time of ${aof.file}` };
  // An AOF with no commands after its base is as new as the base: its own ctime, not dump.rdb's.
  if (aof?.kind === 'multi' && aof.base && !aof.missing.includes(aof.base)) {
    const base = parseRdbHeader(readHead(join(dir, aof.dir, aof.base)));
    header = base;
    rdbName = `${aof.dir}/${aof.base}`;
  }
  const ctime = Number(header?.aux.ctime);
  if (header && Number.isInteger(ctime) && ctime > 0) return { at: new Date(ctime * 1000).toISOString(), by: `ctime in ${rdbName}` };
  const files = loadedFiles(layout).filter((f) => existsSync(join(dir, f)));
  const newest = files.sort((a, b) => mtime(b).getTime() - mtime(a).getTime())[0];
  return newest ? { at: mtime(newest).toISOString(), by: `the modification time of ${newest}` } : { by: 'nothing: no file to date' };
}
