// `faultline prove-backup` on PostgreSQL backups made the way users make them (pg_basebackup with an
// archive_command directory; pgBackRest to a posix repository), exported to this machine and proved
// (and to an S3-compatible bucket) through the command line: a sound backup passes with the point and the last commit named, and each
// kind of damage fails with its evidence; the user's files are byte-for-byte unchanged.

import { cpSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentResult } from '../../harness/report/result.ts';
import { getEngine } from '../../harness/cluster/docker/engine.ts';
import { LABEL_APP } from '../../harness/cluster/docker/labels.ts';
import { cli, out, proveBackupCli, requireCheck } from '../helpers.ts';
import { hashTree, makeBaseBackupWithArchive, makePgBackRestRepo, type MadeBackup } from '../support/user-backups.ts';
import { startS3, type RunningS3 } from '../support/s3-server.ts';

const prove = proveBackupCli;

const summaries = (result: ExperimentResult) => result.checks.map((c) => `${c.name}: ${c.valid} ${c.summary}`).join('\n');

/** Containers faultline made, of any run. */
async function faultlineContainers(): Promise<number> {
  const { docker } = await getEngine();
  return (await docker.listContainers({ all: true, filters: JSON.stringify({ label: [LABEL_APP] }) })).length;
}

/** Flips bytes in the middle of the largest member of an uncompressed tar (a data file, not a header). */
function damageLargestMember(tar: string): string {
  const bytes = readFileSync(tar);
  let largest = { name: '', at: 0, size: 0 };
  for (let at = 0; at + 512 <= bytes.length; ) {
    const header = bytes.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    if (size > largest.size) largest = { name, at: at + 512, size };
    at += 512 + Math.ceil(size / 512) * 512;
  }
  const middle = largest.at + Math.floor(largest.size / 2);
  for (let i = 0; i < 16; i++) bytes[middle + i] = bytes[middle + i]! ^ 0xff;
  writeFileSync(tar, bytes);
  return largest.name;
}

describe('prove-backup: a base backup and its WAL archive', () => {
  let made: MadeBackup & { baseBackup: string; walArchive: string };
  const copies: string[] = [];
  /** A copy of the user's backup to damage, with its base backup and WAL archive paths. */
  const copy = () => {
    const dir = out('faultline-prove-copy-');
    cpSync(made.dir, dir, { recursive: true, preserveTimestamps: true });
    copies.push(dir);
    return { dir, base: join(dir, 'base'), wal: join(dir, 'wal') };
  };
  beforeAll(async () => {
    made = await makeBaseBackupWithArchive({ format: 'tar' });
  }, 180_000);
  afterAll(() => {
    for (const dir of [made?.dir, ...copies]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('proves a sound backup: exit 0, every check holds, the point reached and the last commit named, the files byte-for-byte unchanged', async () => {
    const checks = join(out('faultline-prove-checks-'), 'checks.sql');
    writeFileSync(checks, `-- every order is there\nSELECT count(*) = ${made.rows} FROM orders;\n-- db: postgres\nSELECT max(id) = ${made.rows} FROM orders;\n`);
    const before = await hashTree(made.dir);
    const { exitCode, result } = await prove(['--base-backup', made.baseBackup, '--wal-archive', made.walArchive, '--check', checks, '--max-age', '1h', '--rto-budget', '10m']);
    expect(exitCode, summaries(result)).toBe(0);
    expect(result.checks.map((c) => [c.name, c.valid])).toEqual([
      ['restore-completed', true],
      ['recovery-reached', true],
      ['freshness', true],
      ['integrity', true],
      ['user-checks', true],
      ['rto', true],
      ['backup-unchanged', true],
    ]);
    const reached = result.prove!.evidence!.reached!;
    expect(reached.lastCommitAt).toBe(made.lastCommitAt.toISOString());
    expect(requireCheck(result, 'recovery-reached').summary).toContain(made.lastCommitAt.toISOString());
    expect(requireCheck(result, 'recovery-reached').summary).toContain(`WAL up to segment ${made.walSegments.at(-1)}`);
    expect(requireCheck(result, 'integrity').summary).toMatch(/pg_verifybackup, pg_amcheck, pg_checksums/);
    expect(result.prove!.evidence!.mounts.every((m) => m.flags.split(',').includes('ro'))).toBe(true);
    expect(await hashTree(made.dir)).toBe(before);
  });

  it('names the first missing segment and the point reached when a segment is removed from the middle of the archive', async () => {
    const damaged = copy();
    const missing = made.walSegments[3]!; // …04: after the backup (…02), before the archive's end
    rmSync(join(damaged.wal, missing));
    const { exitCode, result } = await prove(['--base-backup', damaged.base, '--wal-archive', damaged.wal]);
    expect(exitCode, summaries(result)).toBe(1);
    const reached = requireCheck(result, 'recovery-reached');
    expect(reached.valid).toBe(false);
    expect(reached.summary).toContain(`WAL segment ${missing} is missing`);
    expect(reached.summary).toContain('replay stopped at 0/4000000');
    expect(requireCheck(result, 'restore-completed').valid).toBe(true); // it came up: on less than the backups hold
  });

  it('finds a damaged file of the base backup with pg_verifybackup', async () => {
    const damaged = copy();
    const file = damageLargestMember(join(damaged.base, 'base.tar'));
    const { exitCode, result } = await prove(['--base-backup', damaged.base, '--wal-archive', damaged.wal]);
    expect(exitCode, summaries(result)).toBe(1);
    const integrity = requireCheck(result, 'integrity');
    expect(integrity.valid).toBe(false);
    expect(integrity.summary).toContain('pg_verifybackup');
    expect(integrity.summary).toContain(file.replace(/^\.\//, ''));
  });

  it('fails a backup older than --max-age, and a check of the user that returns false, naming its line', async () => {
    while (Date.now() - made.lastCommitAt.getTime() < 2000) await new Promise((resolve) => setTimeout(resolve, 200));
    const checks = join(out('faultline-prove-checks-'), 'checks.sql');
    writeFileSync(checks, `SELECT count(*) > 0 FROM orders;\n\nSELECT count(*) = ${made.rows + 1} FROM orders;\n`);
    const { exitCode, result } = await prove(['--base-backup', made.baseBackup, '--wal-archive', made.walArchive, '--max-age', '1s', '--check', checks]);
    expect(exitCode, summaries(result)).toBe(1);
    expect(requireCheck(result, 'freshness').valid).toBe(false);
    expect(requireCheck(result, 'freshness').summary).toContain('older than --max-age 1.0 s');
    const user = requireCheck(result, 'user-checks');
    expect(user.valid).toBe(false);
    expect(user.summary).toMatch(/^1 of 2 of your checks failed: #2 \(line 3, database postgres\) returned false/);
    expect(requireCheck(result, 'restore-completed').valid).toBe(true);
  });

  it('replays to --target-time and stops there: the last commit before it restored, the one after it not', async () => {
    const target = new Date(made.lastCommitAt.getTime() - 1); // just before the last commit
    const checks = join(out('faultline-prove-checks-'), 'checks.sql');
    writeFileSync(checks, `SELECT count(*) < ${made.rows} FROM orders;\nSELECT count(*) > ${made.rowsBefore} FROM orders;\n`);
    const { exitCode, result } = await prove(['--base-backup', made.baseBackup, '--wal-archive', made.walArchive, '--target-time', target.toISOString(), '--check', checks]);
    expect(exitCode, summaries(result)).toBe(0);
    const reached = result.prove!.evidence!.reached!;
    expect(reached.target).toMatchObject({ asked: `time ${target.toISOString()}`, reached: true });
    expect(reached.target!.detail).toMatch(/^recovery stopping before commit of transaction \d+, time /);
    expect(new Date(reached.lastCommitAt!).getTime()).toBeLessThanOrEqual(target.getTime());
    expect(requireCheck(result, 'user-checks').valid).toBe(true);
  });

  it('refuses a backup that is not there with exit 2, before anything starts', async () => {
    const containers = await faultlineContainers();
    const run = await cli(['prove-backup', '--base-backup', join(made.dir, 'nowhere'), '--wal-archive', made.walArchive, '--out', out('faultline-prove-')]);
    expect(run.exitCode).toBe(2);
    expect(run.all).toContain(`The base backup '${join(made.dir, 'nowhere')}' (--base-backup) does not exist`);
    expect(await faultlineContainers()).toBe(containers);
  });
});

describe('prove-backup: a pgBackRest repository', () => {
  let made: Awaited<ReturnType<typeof makePgBackRestRepo>>;
  const copies: string[] = [];
  beforeAll(async () => {
    made = await makePgBackRestRepo({ stanzas: ['main', 'sales'] });
  }, 180_000);
  afterAll(() => {
    for (const dir of [made?.dir, ...copies]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('proves a stanza: exit 0, the point reached and its last commit named, pgbackrest verify among the tools, the repository unchanged', async () => {
    const before = await hashTree(made.repoPath);
    const { exitCode, result } = await prove(['--pgbackrest-conf', made.conf, '--stanza', 'main']);
    expect(exitCode, summaries(result)).toBe(0);
    const main = made.stanzas.find((s) => s.stanza === 'main')!;
    expect(result.prove!.backup.label).toBe(main.backupLabel);
    expect(result.prove!.evidence!.reached!.lastCommitAt).toBe(main.lastCommitAt.toISOString());
    expect(requireCheck(result, 'integrity').summary).toContain('pgbackrest verify');
    expect(requireCheck(result, 'backup-unchanged').valid).toBe(true);
    expect(await hashTree(made.repoPath)).toBe(before);
  });

  it("proves a fleet ('*': both stanzas) two at a time, as a campaign with a folder each", async () => {
    const dir = out('faultline-prove-fleet-');
    const run = await cli(['prove-backup', '--pgbackrest-conf', made.conf, '--stanza', '*', '--parallel', '2', '--out', dir]);
    expect(run.exitCode, run.all).toBe(0);
    const campaign = JSON.parse(readFileSync(join(dir, 'campaign.json'), 'utf8')) as { pairs: number; passed: number; entries: Array<{ experiment: string; replay: string }> };
    expect(campaign.pairs).toBe(2);
    expect(campaign.passed).toBe(2);
    expect(campaign.entries.map((e) => e.experiment)).toEqual(['prove-backup-main', 'prove-backup-sales']);
    expect(campaign.entries[1]!.replay).toContain('--stanza sales');
    expect(readdirSync(dir).sort()).toEqual(['campaign.json', 'junit.xml', 'prove-backup-main', 'prove-backup-sales', 'report.html']);
  });

  it('fails on a damaged file in the repository, naming what found it', async () => {
    const dir = out('faultline-prove-copy-');
    copies.push(dir);
    cpSync(made.dir, dir, { recursive: true, preserveTimestamps: true });
    const conf = join(dir, 'pgbackrest.conf');
    writeFileSync(conf, readFileSync(made.conf, 'utf8').replaceAll(made.dir, dir));
    const main = made.stanzas.find((s) => s.stanza === 'main')!;
    // The largest file of the backup (a catalog relation, gzip-compressed): damaged in its middle.
    const files: Array<{ path: string; size: number }> = [];
    const walk = (at: string) => {
      for (const entry of readdirSync(at, { withFileTypes: true })) {
        const path = join(at, entry.name);
        if (entry.isDirectory()) walk(path);
        else files.push({ path, size: statSync(path).size });
      }
    };
    walk(join(dir, 'repo', 'backup', 'main', main.backupLabel, 'pg_data'));
    const largest = files.sort((a, b) => b.size - a.size)[0]!;
    const bytes = readFileSync(largest.path);
    for (let i = 0; i < 16; i++) bytes[Math.floor(bytes.length / 2) + i] = bytes[Math.floor(bytes.length / 2) + i]! ^ 0xff;
    writeFileSync(largest.path, bytes);
    const { exitCode, result } = await prove(['--pgbackrest-conf', conf, '--stanza', 'main']);
    expect(exitCode, summaries(result)).toBe(1);
    const failed = result.checks.filter((c) => c.valid === false);
    expect(failed.map((c) => c.name)).toEqual(expect.arrayContaining([expect.stringMatching(/^(restore-completed|integrity)$/)]));
    expect(failed.map((c) => c.summary).join('\n')).toMatch(/pgbackrest/);
  });

  it('refuses a repository that is not there with exit 2, before anything starts', async () => {
    const dir = out('faultline-prove-gone-');
    copies.push(dir);
    const conf = join(dir, 'pgbackrest.conf');
    writeFileSync(conf, readFileSync(made.conf, 'utf8').replaceAll(made.dir, join(dir, 'gone')));
    const containers = await faultlineContainers();
    const run = await cli(['prove-backup', '--pgbackrest-conf', conf, '--stanza', 'main', '--out', out('faultline-prove-')]);
    expect(run.exitCode).toBe(2);
    expect(run.all).toContain(`The pgBackRest repository ${join(dir, 'gone', 'repo')} (repo1-path in ${conf}) does not exist on this machine`);
    expect(await faultlineContainers()).toBe(containers);
  });
});

describe('prove-backup: a pgBackRest repository in an S3-compatible bucket', () => {
  // s3rver on this machine over TLS (a certificate made for the test), path-style, TLS verification
  // off in the user's pgbackrest.conf, as for a private endpoint; containers reach it at the bridge's address.
  let s3: RunningS3;
  let made: Awaited<ReturnType<typeof makePgBackRestRepo>>;
  beforeAll(async () => {
    s3 = await startS3();
    made = await makePgBackRestRepo({ s3 });
  }, 180_000);
  afterAll(async () => {
    if (made) rmSync(made.dir, { recursive: true, force: true });
    await s3?.stop();
  });

  it('proves the stanza through the endpoint alone: the newest archived segment reached, the bucket listed the same before and after', async () => {
    const { exitCode, result } = await prove(['--pgbackrest-conf', made.conf, '--stanza', 'main', '--max-age', '1h']);
    expect(exitCode, summaries(result)).toBe(0);
    const main = made.stanzas[0]!;
    expect(result.prove!.evidence!.reached!.lastCommitAt).toBe(main.lastCommitAt.toISOString());
    // The archive's end is read from the bucket's own listing: the backup's WAL and the segments after it.
    expect(requireCheck(result, 'recovery-reached').summary).toMatch(/the newest point the backups hold \(WAL up to segment 0{7}1[0-9A-F]{16}\)/);
    expect(requireCheck(result, 'backup-unchanged').summary).toContain(`bucket '${s3.bucket}'`);
    expect(result.prove!.evidence!.notes).toContain(`the scratch node's only way out is TCP to the S3 endpoint ${s3.endpoint}:${s3.port} (${s3.endpoint}); its firewall drops all else`);
  });
});
