// Each verification tool's exit code and words, read as its manual defines them: a finding only
// where the tool reports damage; its own failure (exit 1 of pg_amcheck, a lock, a timeout) is
// "could not tell". The words are the tools' own (PostgreSQL 15, pgBackRest 2.45, Redis 7).
import { describe, expect, it } from 'vitest';
import { amcheckFindings, readPgAmcheck, readPgBackRestVerify, readPgChecksums, readPgVerifyBackup } from '../../harness/engines/postgres/verification.ts';
import { judgePgBackRestVerify } from '../../harness/engines/postgres/pgbackrest-verify.ts';
import { readRedisCheck } from '../../harness/engines/redis/final-state.ts';

const heapDamage = 'heap table "postgres.public.faultline_ledger", block 3, offset 2:\n    line pointer redirection to item at offset 99 exceeds maximum offset 12\n';
const indexDamage = 'btree index "postgres.public.faultline_ledger_pkey":\n    ERROR:  index "faultline_ledger_pkey" lacks a main relation fork\n';
const timedOut = 'heap table "postgres.public.faultline_ledger":\n    ERROR:  canceling statement due to statement timeout\n';

describe('pg_amcheck (0 clean, 2 corruption, 1 its own error)', () => {
  it('reads exit 1 as could-not-tell, with its own words', () => {
    const output = 'pg_amcheck: warning: skipping database "postgres": amcheck is not installed\npg_amcheck: error: no relations to check\n';
    expect(readPgAmcheck(1, output)).toEqual({ verdict: 'unknown', why: 'pg_amcheck: warning: skipping database "postgres": amcheck is not installed' });
  });

  it('reads exit 2 as damage, table or index', () => {
    expect(readPgAmcheck(2, heapDamage)).toEqual({ verdict: 'damaged' });
    expect(readPgAmcheck(2, indexDamage)).toEqual({ verdict: 'damaged' });
    expect(amcheckFindings(heapDamage + indexDamage).map((f) => f.relation)).toEqual(['heap table "postgres.public.faultline_ledger"', 'btree index "postgres.public.faultline_ledger_pkey"']);
  });

  it('reads exit 1 that also printed corruption as damage: its own failure is tested first, so it hides exit 2', () => {
    expect(readPgAmcheck(1, `pg_amcheck: warning: skipping database "template1": amcheck is not installed\n${heapDamage}`)).toEqual({ verdict: 'damaged' });
  });

  it('reads a check cancelled by statement_timeout (printed like a finding, exit 2) as could-not-tell', () => {
    expect(readPgAmcheck(2, timedOut)).toMatchObject({ verdict: 'unknown', why: expect.stringContaining('canceling statement due to statement timeout') });
  });

  it('reads a tool that did not run at all as could-not-tell, and exit 0 as clean', () => {
    expect(readPgAmcheck(-1, 'the container is gone')).toMatchObject({ verdict: 'unknown', why: 'pg_amcheck did not run: the container is gone' });
    expect(readPgAmcheck(0, '')).toEqual({ verdict: 'ok' });
  });
});

describe('pg_checksums --check (non-zero both for checksum failures and for its own errors)', () => {
  it('reads checksum failures as damage', () => {
    const output = 'pg_checksums: error: checksum verification failed in file "/var/lib/faultline/data/pgdata/base/5/16384", block 3: calculated checksum 9A1F but block contains 0\nChecksum operation completed\nFiles scanned:   950\nBlocks scanned:  3000\nBad checksums:  1\nData checksum version: 1\n';
    expect(readPgChecksums(1, output)).toEqual({ verdict: 'damaged' });
  });

  it("reads its own errors as could-not-tell", () => {
    expect(readPgChecksums(1, 'pg_checksums: error: cluster must be shut down\n')).toEqual({ verdict: 'unknown', why: 'pg_checksums: error: cluster must be shut down' });
    expect(readPgChecksums(1, 'pg_checksums: error: data checksums are not enabled in cluster\n')).toMatchObject({ verdict: 'unknown' });
  });
});

describe('pg_verifybackup', () => {
  it('reads a backup that does not match its manifest as damage', () => {
    expect(readPgVerifyBackup(1, 'pg_verifybackup: error: checksum mismatch for file "base/5/16384"\n')).toEqual({ verdict: 'damaged' });
    expect(readPgVerifyBackup(1, 'pg_verifybackup: error: "base/5/16384" is present in the manifest but not on disk\n')).toEqual({ verdict: 'damaged' });
  });

  it('reads its own failure as could-not-tell', () => {
    expect(readPgVerifyBackup(1, 'pg_verifybackup: error: could not open file "backup_manifest": Permission denied\n')).toMatchObject({ verdict: 'unknown', why: expect.stringContaining('Permission denied') });
  });
});

describe('pgbackrest verify (2.45 exits 0 even on damage; its summary says)', () => {
  it('reads status: error as damage, through the same judge the product runs', () => {
    const summary = 'stanza: main\nstatus: error\n  archiveId: 15-1, total WAL checked: 3, total valid WAL: 2\n    missing: 0, checksum invalid: 1, size invalid: 0, other: 0\n';
    const judged = judgePgBackRestVerify(0, summary, '');
    expect(readPgBackRestVerify(judged.exitCode, judged.output)).toEqual({ verdict: 'damaged' });
  });

  it('reads a lock held by another command, or no status line, as could-not-tell', () => {
    const locked = judgePgBackRestVerify(50, '', 'ERROR: [050]: unable to acquire lock on file /tmp/pgbackrest/main-backup.lock: Resource temporarily unavailable\n');
    expect(readPgBackRestVerify(locked.exitCode, locked.output)).toMatchObject({ verdict: 'unknown', why: expect.stringContaining('unable to acquire lock') });
    const silent = judgePgBackRestVerify(0, 'nothing useful', '');
    expect(readPgBackRestVerify(silent.exitCode, silent.output)).toMatchObject({ verdict: 'unknown', why: expect.stringContaining('printed no status line') });
  });
});

describe('redis-check-aof and redis-check-rdb (through fl-redis check)', () => {
  it('reads their findings as damage and anything else that failed as could-not-tell', () => {
    expect(readRedisCheck(1, "== redis-check-aof appendonly.aof.manifest\n0x 2a: Expected prefix '*', got: 'x'\nAOF appendonly.aof.1.incr.aof is not valid. Use the --fix option to try fixing it.")).toEqual({ verdict: 'damaged' });
    expect(readRedisCheck(1, '== redis-check-rdb dump.rdb\n--- RDB ERROR DETECTED ---')).toEqual({ verdict: 'damaged' });
    expect(readRedisCheck(-1, 'exec failed: no such container')).toMatchObject({ verdict: 'unknown' });
    expect(readRedisCheck(1, 'fl-redis: permission denied')).toMatchObject({ verdict: 'unknown', why: 'fl-redis: permission denied' });
    expect(readRedisCheck(0, 'AOF is valid')).toEqual({ verdict: 'ok' });
  });
});
