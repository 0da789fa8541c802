// Reading a user's PostgreSQL backup before anything starts: base backups (plain, tar, gzip tar) and
// pgBackRest repositories built in temporary folders, and the ConfigErrors bad input gets.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackupSource } from '../../../harness/cluster/prove-ability.ts';
import { BASE_MOUNT, baseLayout, inspectBaseBackup, scratchBytes, WAL_MOUNT, walSuffixes } from '../../../harness/engines/postgres/prove/inspect.ts';
import { inspectPgBackRest } from '../../../harness/engines/postgres/prove/pgbackrest-inspect.ts';
import { ConfigError } from '../../../harness/errors.ts';

const GiB = 1024 ** 3;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'faultline-pg-inspect-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** One ustar member: a 512-byte header (with a real checksum) and the content padded to 512. */
function tarMember(name: string, content: Buffer | string): Buffer {
  const body = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100, 'ascii'); // mode
  header.write('0000000\0', 108, 'ascii'); // uid
  header.write('0000000\0', 116, 'ascii'); // gid
  header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii'); // size
  header.write('00000000000\0', 136, 'ascii'); // mtime
  header.write('        ', 148, 'ascii'); // checksum, as spaces while it is summed
  header.write('0', 156, 'ascii'); // a regular file
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  const sum = header.reduce((s, b) => s + b, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  body.copy(padded);
  return Buffer.concat([header, padded]);
}

function tar(members: Array<[string, Buffer | string]>): Buffer {
  return Buffer.concat([...members.map(([name, content]) => tarMember(name, content)), Buffer.alloc(1024)]);
}

function baseSource(base: string, wal?: string): BackupSource {
  return { kind: 'base-backup', options: { base, ...(wal ? { wal } : {}) }, label: `base backup ${base}` };
}

async function configError(promise: Promise<unknown> | (() => unknown)): Promise<ConfigError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

function plainBackup(at: string, version = '17\n', manifestSizes?: number[]): string {
  mkdirSync(join(at, 'global'), { recursive: true });
  writeFileSync(join(at, 'PG_VERSION'), version);
  writeFileSync(join(at, 'global', 'pg_control'), Buffer.alloc(8192));
  if (manifestSizes) writeFileSync(join(at, 'backup_manifest'), JSON.stringify({ 'PostgreSQL-Backup-Manifest-Version': 1, Files: manifestSizes.map((Size, i) => ({ Path: `base/1/${i}`, Size })) }));
  return at;
}

describe('a base backup', () => {
  it('reads a plain backup: major from PG_VERSION, size from backup_manifest', async () => {
    const base = plainBackup(join(dir, 'base'), '17\n', [6 * GiB, 4 * GiB]);
    const backup = await inspectBaseBackup(baseSource(base));
    expect(backup.major).toBe(17);
    expect(backup.majorFrom).toBe('PG_VERSION');
    expect(backup.bytes).toBe(scratchBytes(10 * GiB));
    expect(backup.bytesFrom).toContain('backup_manifest lists 10 GiB');
    expect(backup.paths).toEqual([{ source: base, target: BASE_MOUNT, what: 'the base backup' }]);
    expect(backup.backup.label).toBe('base');
    expect(backup.details.layout).toMatchObject({ format: 'plain', dir: base, manifest: 'backup_manifest' });
  });

  it('sizes a plain backup without a manifest by its files', async () => {
    const base = plainBackup(join(dir, 'base'));
    const backup = await inspectBaseBackup(baseSource(base));
    expect(backup.bytesFrom).toContain(`the backup folder holds ${8192 + 3} B`);
  });

  it('reads the major from inside an uncompressed tar, past other members', async () => {
    const base = join(dir, 'tar');
    mkdirSync(base);
    // A member larger than a read chunk before PG_VERSION: the reader must skip across chunks.
    writeFileSync(join(base, 'base.tar'), tar([['backup_label', 'START WAL LOCATION: 0/2000028\n'], ['base/1/1259', Buffer.alloc(300_001, 7)], ['PG_VERSION', '17\n']]));
    writeFileSync(join(base, 'pg_wal.tar'), tar([['000000010000000000000002', Buffer.alloc(1024)]]));
    const backup = await inspectBaseBackup(baseSource(base));
    expect(backup.major).toBe(17);
    expect(backup.majorFrom).toBe('PG_VERSION in base.tar');
    expect(backup.details.layout).toMatchObject({ format: 'tar', dir: base, baseTar: 'base.tar', walTar: 'pg_wal.tar' });
  });

  it('reads the major from inside a gzip tar (./PG_VERSION), and counts its size four times', async () => {
    const base = join(dir, 'tgz');
    mkdirSync(base);
    const gz = gzipSync(tar([['./backup_label', 'x'], ['./PG_VERSION', '18\n']]));
    writeFileSync(join(base, 'base.tar.gz'), gz);
    const backup = await inspectBaseBackup(baseSource(base));
    expect(backup.major).toBe(18);
    expect(backup.majorFrom).toBe('PG_VERSION in base.tar.gz');
    expect(backup.bytesFrom).toContain(`base.tar.gz is ${gz.length} B, counted four times`);
  });

  it('reads a tar named directly, from its folder, with the pg_wal tar beside it', async () => {
    writeFileSync(join(dir, 'base.tar'), tar([['PG_VERSION', '15\n']]));
    writeFileSync(join(dir, 'pg_wal.tar.gz'), gzipSync(tar([])));
    const backup = await inspectBaseBackup(baseSource(join(dir, 'base.tar')));
    expect(backup.major).toBe(15);
    expect(backup.paths[0]!.source).toBe(dir);
    expect(baseLayout(join(dir, 'base.tar'))).toEqual({ format: 'tar', dir, baseTar: 'base.tar', walTar: 'pg_wal.tar.gz' });
  });

  it('refuses a tar without PG_VERSION, saying it may not be a PostgreSQL backup', async () => {
    writeFileSync(join(dir, 'base.tar'), tar([['backup_label', 'x']]));
    const error = await configError(inspectBaseBackup(baseSource(dir)));
    expect(error.message).toMatch(/does not name a PostgreSQL major version/);
  });

  it('refuses a .tar.gz that is not gzip, naming the file', async () => {
    writeFileSync(join(dir, 'base.tar.gz'), 'this is not gzip');
    const error = await configError(inspectBaseBackup(baseSource(dir)));
    expect(error.message).toContain(join(dir, 'base.tar.gz'));
    expect(error.message).toContain('gzip-compressed tar');
  });

  it('refuses a .tar.zst, naming the compressions it reads', async () => {
    writeFileSync(join(dir, 'base.tar.zst'), Buffer.alloc(10));
    const error = await configError(inspectBaseBackup(baseSource(dir)));
    expect(error.message).toContain(join(dir, 'base.tar.zst'));
    expect(error.message).toContain('an uncompressed or gzip-compressed tar');
    const direct = await configError(() => baseLayout(join(dir, 'base.tar.zst')));
    expect(direct.message).toContain('an uncompressed or gzip-compressed tar');
  });

  it('refuses a pg_wal tar compressed as zstd beside a readable base.tar', async () => {
    writeFileSync(join(dir, 'base.tar'), tar([['PG_VERSION', '17\n']]));
    writeFileSync(join(dir, 'pg_wal.tar.zst'), Buffer.alloc(10));
    const error = await configError(() => baseLayout(dir));
    expect(error.message).toContain('pg_wal.tar.zst');
  });

  it.each(['14', '13\n', '19'])("refuses PG_VERSION '%s', which faultline cannot run, naming the majors it runs", async (version) => {
    const base = plainBackup(join(dir, 'base'), version);
    const error = await configError(inspectBaseBackup(baseSource(base)));
    expect(error.message).toContain(join(base, 'PG_VERSION'));
    expect(error.message).toContain('15, 17, 18');
  });

  it("refuses PG_VERSION '9.6' (before PostgreSQL 10), quoting the version read", async () => {
    // Today's message asks whether it is a PostgreSQL backup at all rather than naming the majors
    // faultline runs (see the report): this holds either way, as long as it quotes what was read.
    const base = plainBackup(join(dir, 'base'), '9.6\n');
    const error = await configError(inspectBaseBackup(baseSource(base)));
    expect(error.message).toContain(join(base, 'PG_VERSION'));
    expect(error.message).toContain('9.6');
  });

  it('refuses a PG_VERSION that is not a version at all', async () => {
    const base = plainBackup(join(dir, 'base'), 'hello\n');
    const error = await configError(inspectBaseBackup(baseSource(base)));
    expect(error.message).toMatch(/does not name a PostgreSQL major version \(read 'hello'\)/);
  });

  it('refuses a --base-backup path that does not exist, naming it', async () => {
    const missing = join(dir, 'nope');
    const error = await configError(inspectBaseBackup(baseSource(missing)));
    expect(error.message).toContain(`'${missing}'`);
    expect(error.message).toContain('--base-backup');
  });

  it('refuses a folder that is neither a data directory nor holds base.tar', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const error = await configError(() => baseLayout(dir));
    expect(error.message).toContain('no PG_VERSION');
  });

  it('refuses a file that is not a tar', async () => {
    writeFileSync(join(dir, 'base.zip'), 'x');
    const error = await configError(() => baseLayout(join(dir, 'base.zip')));
    expect(error.message).toContain('is a file but not a tar');
  });
});

describe('a WAL archive directory', () => {
  it('accepts segments, .partial, .backup and .history files, plain and .gz, and reports their suffixes', async () => {
    const base = plainBackup(join(dir, 'base'));
    const wal = join(dir, 'wal');
    mkdirSync(wal);
    for (const name of ['000000010000000000000001', '000000010000000000000002.gz', '000000010000000000000002.00000028.backup', '00000002.history', '000000010000000000000003.partial', '000000020000000000000003.lz4', 'README']) {
      writeFileSync(join(wal, name), 'x');
    }
    const backup = await inspectBaseBackup(baseSource(base, wal));
    expect(backup.paths).toEqual([
      { source: base, target: BASE_MOUNT, what: 'the base backup' },
      { source: wal, target: WAL_MOUNT, what: 'the WAL archive' },
    ]);
    const found = backup.details.wal as { segments: number; suffixes: string[] };
    expect(found.segments).toBe(6); // README is not WAL
    expect([...found.suffixes].sort()).toEqual(['', '.gz', '.lz4']);
  });

  it.each(['000000010000000000000001.zst', '000000010000000000000001.bz2', '00000002.history.xz'])('refuses %s, naming the file and the compressions it reads', (name) => {
    writeFileSync(join(dir, '000000010000000000000000'), 'x');
    writeFileSync(join(dir, name), 'x');
    let error: unknown;
    try {
      walSuffixes(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(join(dir, name));
    expect((error as Error).message).toContain('uncompressed, .gz or .lz4');
  });

  it('refuses a --wal-archive that is not a folder, naming it', async () => {
    const base = plainBackup(join(dir, 'base'));
    const error = await configError(inspectBaseBackup(baseSource(base, join(dir, 'missing-wal'))));
    expect(error.message).toContain(join(dir, 'missing-wal'));
    expect(error.message).toContain('--wal-archive');
  });
});

describe('a pgBackRest repository', () => {
  const label = '20261207-021810F';
  const backupLine = `${label}={"backup-info-size":123456,"backup-timestamp-stop":1765073890,"backup-archive-start":"000000010000000000000002","backup-type":"full"}`;

  function repo(info?: string): string {
    const repoPath = join(dir, 'repo');
    mkdirSync(join(repoPath, 'backup', 'main'), { recursive: true });
    if (info !== undefined) writeFileSync(join(repoPath, 'backup', 'main', 'backup.info'), info);
    return repoPath;
  }

  function conf(text: string): string {
    const file = join(dir, 'pgbackrest.conf');
    writeFileSync(file, text);
    return file;
  }

  const source = (file: string, stanza = 'main'): BackupSource => ({ kind: 'pgbackrest', options: { conf: file, stanza }, label: `stanza '${stanza}' of ${file}` });
  const info = (version = '"17"', lines = [backupLine]) => `[backrest]\nbackrest-format=5\n\n[db]\ndb-id=1\ndb-version=${version}\n\n[backup:current]\n${lines.join('\n')}\n`;

  it('refuses a configuration file that does not exist, naming it', async () => {
    const missing = join(dir, 'nope.conf');
    const error = await configError(() => inspectPgBackRest(source(missing)));
    expect(error.message).toContain(missing);
    expect(error.message).toContain('--pgbackrest-conf');
  });

  it('refuses a stanza the file does not have, naming the stanzas it has', async () => {
    const file = conf(`[global]\nrepo1-path=${repo(info())}\n\n[global:archive-push]\ncompress-level=3\n\n[prod]\npg1-path=/pg\n\n[prod:backup]\nprocess-max=2\n\n[staging]\npg1-path=/pg2\n`);
    const error = await configError(() => inspectPgBackRest(source(file, 'main')));
    expect(error.message).toContain("Stanza 'main'");
    expect(error.message).toContain("'prod', 'staging'");
    expect(error.message).not.toContain("'global'");
    expect(error.message).not.toContain('prod:backup');
  });

  it('refuses a repository on another host, saying to run on the repository host', async () => {
    const file = conf(`[global]\nrepo1-host=backup.example.com\n\n[main]\npg1-path=/pg\n`);
    const error = await configError(() => inspectPgBackRest(source(file)));
    expect(error.message).toContain("'backup.example.com'");
    expect(error.message).toContain('run prove-backup on the repository host');
  });

  it('refuses an S3 repository whose configuration lacks what reaching it needs, naming the option', async () => {
    const file = conf(`[global]\nrepo1-type=s3\n\n[main]\npg1-path=/pg\n`);
    const error = await configError(() => inspectPgBackRest(source(file)));
    expect(error.message).toContain('an S3 repository needs repo1-s3-endpoint');
  });

  it('refuses a repository type it does not read, naming those it does', async () => {
    const file = conf(`[global]\nrepo1-type=gcs\n\n[main]\npg1-path=/pg\n`);
    const error = await configError(() => inspectPgBackRest(source(file)));
    expect(error.message).toContain('repo1-type=gcs');
    expect(error.message).toContain('posix, cifs, s3');
  });

  it('refuses an encrypted repository, even when the cipher is set only for the stanza', async () => {
    const file = conf(`[global]\nrepo1-path=${repo(info())}\n\n[main]\npg1-path=/pg\nrepo1-cipher-type=aes-256-cbc\n`);
    const error = await configError(() => inspectPgBackRest(source(file)));
    expect(error.message).toContain('repo1-cipher-type=aes-256-cbc');
  });

  it('accepts repo1-cipher-type=none', async () => {
    const file = conf(`[global]\nrepo1-path=${repo(info())}\nrepo1-cipher-type=none\n\n[main]\npg1-path=/pg\n`);
    expect((await inspectPgBackRest(source(file))).major).toBe(17);
  });

  it('refuses a repository path that does not exist on this machine, naming it', async () => {
    const missing = join(dir, 'no-repo');
    const file = conf(`[global]\nrepo1-path=${missing}\n\n[main]\npg1-path=/pg\n`);
    const error = await configError(() => inspectPgBackRest(source(file)));
    expect(error.message).toContain(missing);
    expect(error.message).toContain('does not exist');
  });

  it('refuses a repository without the stanza backup.info, suggesting stanza-create', async () => {
    const file = conf(`[global]\nrepo1-path=${repo()}\n\n[main]\npg1-path=/pg\n`);
    const error = await configError(() => inspectPgBackRest(source(file)));
    expect(error.message).toContain('no backup.info');
    expect(error.message).toContain('stanza-create');
  });

  it('refuses a backup.info that lists no backup', async () => {
    const file = conf(`[global]\nrepo1-path=${repo(info('"17"', []))}\n\n[main]\npg1-path=/pg\n`);
    const error = await configError(() => inspectPgBackRest(source(file)));
    expect(error.message).toContain('holds no backup');
  });

  it('refuses a backup.info of a major faultline cannot run', async () => {
    const file = conf(`[global]\nrepo1-path=${repo(info('"14"'))}\n\n[main]\npg1-path=/pg\n`);
    const error = await configError(() => inspectPgBackRest(source(file)));
    expect(error.message).toContain('PostgreSQL 14');
    expect(error.message).toContain('15, 17, 18');
  });

  it('reads the major, the newest backup, its stop time and size from backup.info', async () => {
    const older = `20261206-021810F={"backup-info-size":999999999,"backup-timestamp-stop":1764987490,"backup-archive-start":"000000010000000000000001","backup-type":"full"}`;
    const repoPath = repo(info('"17"', [backupLine, older]));
    const file = conf(`[global]\nrepo1-path=${repoPath}\n\n[main]\npg1-path=/pg\n`);
    const backup = await inspectPgBackRest(source(file));
    expect(backup.major).toBe(17);
    expect(backup.majorFrom).toBe('backup.info db-version');
    expect(backup.backup).toEqual({ label, stoppedAt: '2025-12-07T02:18:10.000Z' });
    expect(backup.bytes).toBe(scratchBytes(123456));
    expect(backup.bytesFrom).toContain(label);
    expect(backup.paths).toEqual([{ source: repoPath, target: repoPath, what: 'the pgBackRest repository' }]);
    expect(backup.details).toMatchObject({ stanza: 'main', repoPath, archiveStart: '000000010000000000000002', backups: 2 });
  });

  it("writes the scratch node's pgbackrest.conf: the user's options kept, its own server, lock, log and spool paths", async () => {
    const repoPath = repo(info());
    const file = conf(
      [
        '[global]',
        `repo1-path=${repoPath}`,
        'repo1-retention-full=2',
        'lock-path=/var/lock/mine',
        'log-path=/var/log/mine',
        'spool-path=/var/spool/mine',
        'archive-async=y',
        'process-max=4',
        '',
        '[global:archive-get]',
        'process-max=2',
        '',
        '[main]',
        'pg1-path=/var/lib/postgresql/17/main',
        'pg1-port=5433',
        'compress-type=lz4',
        '',
      ].join('\n'),
    );
    const text = (await inspectPgBackRest(source(file))).details.conf as string;
    const lines = text.split('\n');
    for (const kept of [`repo1-path=${repoPath}`, 'repo1-retention-full=2', 'process-max=4', 'process-max=2', 'compress-type=lz4', '[global:archive-get]']) expect(lines).toContain(kept);
    for (const dropped of ['/var/lock/mine', '/var/log/mine', '/var/spool/mine', 'archive-async=y', '/var/lib/postgresql/17/main', 'pg1-port']) expect(text).not.toContain(dropped);
    for (const own of ['lock-path=/tmp/pgbackrest-lock', 'log-path=/var/log/pgbackrest', 'spool-path=/tmp/pgbackrest-spool', 'archive-async=n', 'pg1-path=/var/lib/faultline/data/pgdata', 'pg1-socket-path=/run/postgresql']) {
      expect(lines.filter((l) => l === own)).toHaveLength(1);
    }
    // The server's own paths go to the stanza, the process paths to [global].
    const section = (name: string) => text.split(/\n\n/).find((s) => s.includes(`[${name}]\n`)) ?? '';
    expect(section('main')).toContain('pg1-path=/var/lib/faultline/data/pgdata');
    expect(section('global')).toContain('lock-path=/tmp/pgbackrest-lock');
    expect(section('global')).not.toContain('pg1-path');
  });

  it('gives the scratch node a [global] of its own when the file has none', async () => {
    const repoPath = repo(info());
    const file = conf(`[main]\nrepo1-path=${repoPath}\npg1-path=/pg\n`);
    const backup = await inspectPgBackRest(source(file));
    expect(backup.details.repoPath).toBe(repoPath);
    const text = backup.details.conf as string;
    expect(text).toMatch(/\[global\]\nlock-path=\/tmp\/pgbackrest-lock/);
    expect(text.indexOf('[global]')).toBeLessThan(text.indexOf('[main]'));
    expect(text).toContain(`repo1-path=${repoPath}`);
  });
});
