// Inspecting a Redis data directory before anything starts: real-looking RDB headers written here
// (magic, version, aux fields), a multi-part AOF with its manifest, and the folders that are not one.
import { mkdir, mkdtemp, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../harness/errors.ts';
import { redisEngine } from '../../../harness/engines/redis/index.ts';
import { parseCliReply } from '../../../harness/engines/redis/prove/cli-reply.ts';
import { parseRdbHeader } from '../../../harness/engines/redis/prove/rdb-header.ts';
import { RedisErrorReply } from '../../../harness/prove/redis-checks.ts';

const ability = redisEngine.proveBackup!;
let dir: string;

/** An RDB's head as a server writes it: magic and version, then 0xFA aux fields (short strings, or ctime as a 32-bit integer). */
function rdbHead(magic: 'REDIS' | 'VALKEY', version: number, aux: Record<string, string | number>): Buffer {
  const parts = [Buffer.from(`${magic}${String(version).padStart(magic === 'REDIS' ? 4 : 3, '0')}`, 'latin1')];
  const str = (text: string) => Buffer.concat([Buffer.from([Buffer.byteLength(text)]), Buffer.from(text)]);
  for (const [key, value] of Object.entries(aux)) {
    const encoded = typeof value === 'number' ? Buffer.concat([Buffer.from([0xc2]), Buffer.alloc(4)]) : str(value);
    if (typeof value === 'number') encoded.writeInt32LE(value, 1);
    parts.push(Buffer.from([0xfa]), str(key), encoded);
  }
  // A database selector and the end: the header stops at the first opcode that is not an aux field.
  parts.push(Buffer.from([0xfe, 0x00, 0xff]), Buffer.alloc(8));
  return Buffer.concat(parts);
}

const inspect = (path: string) => ability.inspect({ kind: 'redis-dir', options: { dir: path }, label: `Redis data directory ${path}` });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-redis-inspect-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('inspecting a Redis data directory', () => {
  it('reads the server, major and dump time from dump.rdb', async () => {
    await writeFile(join(dir, 'dump.rdb'), rdbHead('REDIS', 12, { 'redis-ver': '8.0.2', 'redis-bits': '64', ctime: 1796610163, 'aof-base': '0' }));
    const backup = await inspect(dir);
    expect(backup.server).toBe('Redis');
    expect(backup.major).toBe(8);
    expect(backup.majorFrom).toContain('redis-ver');
    expect(backup.backup).toEqual({ label: 'dump.rdb', stoppedAt: new Date(1796610163 * 1000).toISOString() });
    expect(backup.paths).toEqual([{ source: dir, target: '/var/lib/faultline/backup/redis', what: 'the Redis data directory' }]);
    expect(backup.bytes).toBe(1024 ** 3);
  });

  it('takes valkey-ver (or Valkey 9 magic) as Valkey', async () => {
    await writeFile(join(dir, 'dump.rdb'), rdbHead('REDIS', 11, { 'valkey-ver': '8.1.1', 'redis-ver': '7.2.4', ctime: 1700000000 }));
    expect(await inspect(dir)).toMatchObject({ server: 'Valkey', major: 8 });
    await writeFile(join(dir, 'dump.rdb'), rdbHead('VALKEY', 80, { 'valkey-ver': '9.0.0' }));
    expect(await inspect(dir)).toMatchObject({ server: 'Valkey', major: 9 });
  });

  it('runs a Redis 7.2 dump (RDB 11) on Redis 8, which loads it, and says why', async () => {
    await writeFile(join(dir, 'dump.rdb'), rdbHead('REDIS', 11, { 'redis-ver': '7.2.4' }));
    const backup = await inspect(dir);
    expect(backup.major).toBe(8);
    expect(backup.majorFrom).toMatch(/RDB format 11/);
  });

  it('refuses a major with no image, naming the supported ones', async () => {
    await writeFile(join(dir, 'dump.rdb'), rdbHead('REDIS', 9, { 'redis-ver': '6.2.14' }));
    await expect(inspect(dir)).rejects.toThrow(ConfigError);
    await expect(inspect(dir)).rejects.toThrow(/Redis 6\.2\.14.*Redis 7, Redis 8/);
  });

  it('refuses a missing folder, naming it, and an empty one, saying what is expected', async () => {
    await expect(inspect(join(dir, 'nope'))).rejects.toThrow(new RegExp(`'${join(dir, 'nope')}'.*does not exist`));
    await expect(inspect(dir)).rejects.toThrow(ConfigError);
    await expect(inspect(dir)).rejects.toThrow(/dump\.rdb.*appendonlydir.*manifest/);
  });

  it('reads an AOF-only folder through its manifest: the base names the server, the newest incr file dates it', async () => {
    const aof = join(dir, 'appendonlydir');
    await mkdir(aof);
    await writeFile(join(aof, 'appendonly.aof.manifest'), 'file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.3.incr.aof seq 3 type i\n');
    await writeFile(join(aof, 'appendonly.aof.3.base.rdb'), rdbHead('REDIS', 10, { 'redis-ver': '7.0.15', ctime: 1700000000, 'aof-base': '1' }));
    await writeFile(join(aof, 'appendonly.aof.3.incr.aof'), '*1\r\n$4\r\nPING\r\n');
    await utimes(join(aof, 'appendonly.aof.3.incr.aof'), 1800000000, 1800000000);
    const backup = await inspect(dir);
    expect(backup).toMatchObject({ server: 'Redis', major: 7 });
    expect(backup.backup.label).toBe('appendonlydir/appendonly.aof.manifest (2 files)');
    expect(backup.backup.stoppedAt).toBe(new Date(1800000000 * 1000).toISOString());
    expect((backup.details as { layout: unknown }).layout).toMatchObject({ aof: { kind: 'multi', dir: 'appendonlydir', appendfilename: 'appendonly.aof', base: 'appendonly.aof.3.base.rdb', incr: ['appendonly.aof.3.incr.aof'], missing: [] } });
  });

  it('takes a plain AOF (no RDB preamble) as the default server, and says the version is not recorded', async () => {
    await writeFile(join(dir, 'appendonly.aof'), '*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n');
    const backup = await inspect(dir);
    expect(backup).toMatchObject({ server: 'Redis', major: 8 });
    expect(backup.majorFrom).toMatch(/no version is recorded/);
  });

  it('sizes the scratch volume generously: three times the files plus 512 MiB, at least 1 GiB', async () => {
    await writeFile(join(dir, 'dump.rdb'), rdbHead('REDIS', 12, { 'redis-ver': '8.0.2' }));
    await truncate(join(dir, 'dump.rdb'), 300 * 1024 ** 2); // sparse: its size is what counts
    const backup = await inspect(dir);
    expect(backup.bytes).toBeGreaterThanOrEqual(3 * 300 * 1024 ** 2 + 512 * 1024 ** 2);
    expect(backup.bytes % 1024 ** 2).toBe(0);
  });

  it('counts the checks of a checks file', () => {
    expect(ability.parseChecks('EXISTS key:1\n# a comment\nEXISTS nope\n', 'checks.txt')).toBe(2);
    expect(() => ability.parseChecks('\n', 'checks.txt')).toThrow(ConfigError);
  });
});

describe('the pieces', () => {
  it('parses aux fields, integer-encoded ones too, and stops at the first other opcode', () => {
    expect(parseRdbHeader(rdbHead('REDIS', 12, { 'redis-ver': '8.0.2', ctime: 1796610163 }))).toEqual({ magic: 'REDIS', version: 12, aux: { 'redis-ver': '8.0.2', ctime: '1796610163' } });
    expect(parseRdbHeader(Buffer.from('*1\r\n$4\r\nPING\r\n'))).toBeUndefined();
  });

  it('reads redis-cli --no-raw replies back with their types', () => {
    expect(parseCliReply(0, '(integer) 1\n', '')).toBe(1);
    expect(parseCliReply(0, '(nil)\n', '')).toBeNull();
    expect(parseCliReply(0, 'OK\n', '')).toBe('OK');
    expect(parseCliReply(0, '"a\\"b\\x41"\n', '')).toBe('a"bA');
    expect(parseCliReply(0, ' 1) "a"\n 2) "b"\n 3) 1) "x"\n    2) "y"\n 4) "c"\n 5) "d"\n 6) "e"\n 7) "f"\n 8) "g"\n 9) "h"\n10) "i"\n', '')).toHaveLength(10);
    expect(parseCliReply(1, '(error) ERR unknown command\n', '')).toBeInstanceOf(RedisErrorReply);
    expect(parseCliReply(1, '', 'Could not connect')).toBeInstanceOf(RedisErrorReply);
  });
});
