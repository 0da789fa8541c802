// `faultline prove-backup --redis-dir` on real Redis dumps, through the CLI as a user runs it: a good
// dump proves (every key loaded, the folder unchanged), a damaged one fails in the tools' own words,
// and the user's own commands are judged line by line. No container is left behind.
import { cpSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proveBackupCli, requireCheck } from '../helpers.ts';
import { hashTree, makeRedisDump } from '../support/user-backups.ts';

let dump: { dir: string; keys: number };
const made: string[] = [];

const prove = (dir: string, extra: string[] = []) => proveBackupCli(['--redis-dir', dir, ...extra]);

beforeAll(async () => {
  dump = await makeRedisDump({ keys: 1000 });
  made.push(dump.dir);
});

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('faultline prove-backup --redis-dir', () => {
  it('proves a good dump: every key loaded, checked by redis-check-rdb, the folder left as it was', async () => {
    const before = await hashTree(dump.dir);
    const { exitCode, result, all } = await prove(dump.dir);
    expect(exitCode, all).toBe(0);
    for (const name of ['restore-completed', 'recovery-reached', 'integrity', 'backup-unchanged']) expect(requireCheck(result, name).valid, `${name}: ${requireCheck(result, name).summary}`).toBe(true);
    const evidence = result.prove!.evidence!;
    expect(evidence.reached?.counts?.keys).toBe(1000);
    expect(evidence.version).toMatch(/^Redis \d+\.\d+/);
    expect(evidence.integrity.map((r) => r.tool)).toContain('redis-check-rdb');
    expect(evidence.mounts[0]?.flags.split(',')).toContain('ro');
    expect(evidence.freshness?.by).toBe('dump-time');
    expect(await hashTree(dump.dir)).toBe(before);
  });

  it('fails a damaged dump, naming redis-check-rdb, and the server that would not load it', async () => {
    const damaged = mkdtempSync(join(tmpdir(), 'faultline-redis-damaged-'));
    made.push(damaged);
    cpSync(join(dump.dir, 'dump.rdb'), join(damaged, 'dump.rdb'));
    const size = statSync(join(damaged, 'dump.rdb')).size;
    const fd = openSync(join(damaged, 'dump.rdb'), 'r+');
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, Math.floor(size / 2));
    closeSync(fd);
    const before = readFileSync(join(damaged, 'dump.rdb'));
    const { exitCode, result, all } = await prove(damaged);
    expect(exitCode, all).toBe(1);
    const integrity = requireCheck(result, 'integrity');
    expect(integrity.valid, integrity.summary).toBe(false);
    expect(integrity.summary).toContain('redis-check-rdb');
    expect(requireCheck(result, 'restore-completed').valid).toBe(false);
    expect(result.prove!.evidence!.startError).toBeTruthy();
    expect(readFileSync(join(damaged, 'dump.rdb')).equals(before)).toBe(true);
  });

  it("judges the user's own commands line by line, naming the one that failed", async () => {
    const checks = join(mkdtempSync(join(tmpdir(), 'faultline-redis-checks-')), 'checks.redis');
    made.push(join(checks, '..'));
    writeFileSync(checks, 'EXISTS key:1\nEXISTS nope\n');
    const { exitCode, result, all } = await prove(dump.dir, ['--check', checks]);
    expect(exitCode, all).toBe(1);
    const user = requireCheck(result, 'user-checks');
    expect(user.valid, user.summary).toBe(false);
    expect(user.summary).toContain('line 2');
    expect(user.summary).not.toContain('line 1,');
    expect(result.prove!.evidence!.userChecks?.map((c) => c.ok)).toEqual([true, false]);
    expect(requireCheck(result, 'restore-completed').valid).toBe(true);
  });
});
