// The checks of `faultline prove-backup`, each a pure function of hand-made evidence: what each one
// concludes from what the proof saw, and that a check says unknown when the evidence is missing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProveEvidence } from '../../../harness/history/prove-evidence.ts';
import {
  backupUnchangedCheck,
  freshnessCheck,
  integrityCheck,
  proveChecks,
  recoveryReachedCheck,
  restoreCompletedCheck,
  rtoCheck,
  userChecksCheck,
  type UnchangedEvidence,
} from '../../../harness/checkers/prove.ts';

const HOUR = 3600_000;
const now = new Date('2026-12-07T12:00:00.000Z');

function evidence(overrides: Partial<ProveEvidence> = {}): ProveEvidence {
  return {
    version: 'PostgreSQL 17.7 (Debian 17.7-3)',
    image: 'faultline-postgres:17',
    started: true,
    read: { ok: true, detail: '3 databases' },
    write: { ok: true, detail: 'created and dropped a table' },
    integrity: [],
    phases: {},
    mounts: [],
    notes: [],
    ...overrides,
  };
}

describe('restore-completed', () => {
  it('is false when the server did not come up, quoting its start error', () => {
    const check = restoreCompletedCheck(evidence({ started: false, startError: 'FATAL: could not locate required checkpoint record', read: undefined, write: undefined }));
    expect(check.name).toBe('restore-completed');
    expect(check.valid).toBe(false);
    expect(check.summary).toContain('FATAL: could not locate required checkpoint record');
    expect(check.details.startError).toBe('FATAL: could not locate required checkpoint record');
  });

  it('is unknown when there is no evidence at all', () => {
    expect(restoreCompletedCheck(undefined).valid).toBe('unknown');
  });

  it.each([
    ['the read', { read: undefined }],
    ['the write', { write: undefined }],
  ])('is unknown when the server came up but %s was not made', (_what, missing) => {
    const check = restoreCompletedCheck(evidence(missing));
    expect(check.valid).toBe('unknown');
  });

  it('is false when a read failed, with what the server said', () => {
    const check = restoreCompletedCheck(evidence({ read: { ok: false, detail: 'relation "pg_database" is corrupt' } }));
    expect(check.valid).toBe(false);
    expect(check.summary).toContain('relation "pg_database" is corrupt');
  });

  it('is false when the write was refused, with what the server said', () => {
    const check = restoreCompletedCheck(evidence({ write: { ok: false, detail: 'cannot execute CREATE TABLE in a read-only transaction' } }));
    expect(check.valid).toBe(false);
    expect(check.summary).toContain('refused a write');
    expect(check.summary).toContain('cannot execute CREATE TABLE in a read-only transaction');
  });

  it('is true when the server came up and served a read and a write, naming both', () => {
    const check = restoreCompletedCheck(evidence());
    expect(check.valid).toBe(true);
    expect(check.summary).toContain('3 databases');
    expect(check.summary).toContain('created and dropped a table');
  });
});

describe('recovery-reached', () => {
  const reached = { point: 'replay ended at 0/5000060 on timeline 1', lsn: '0/5000060', timeline: 1 };

  it('is unknown when where replay stopped was not read, saying why when the server did not come up', () => {
    expect(recoveryReachedCheck(undefined).valid).toBe('unknown');
    const check = recoveryReachedCheck(evidence({ started: false, startError: 'PANIC: bad checkpoint' }));
    expect(check.valid).toBe('unknown');
    expect(check.summary).toContain('PANIC: bad checkpoint');
  });

  it('is false with the reason when replay stopped short of what the backups hold', () => {
    const short = 'replay stopped at 0/3000000 on timeline 1: WAL segment 000000010000000000000003 is missing';
    const check = recoveryReachedCheck(evidence({ reached: { ...reached, short, lastCommitAt: '2026-12-07T02:00:00.000Z' } }));
    expect(check.valid).toBe(false);
    expect(check.summary).toContain(short);
    expect(check.summary).toContain('2026-12-07T02:00:00.000Z');
  });

  it('is false when the target asked for was not reached, naming the target and why', () => {
    const check = recoveryReachedCheck(evidence({ reached: { ...reached, target: { asked: 'LSN 0/9000000', reached: false, detail: 'replay ended before 0/9000000' } } }));
    expect(check.valid).toBe(false);
    expect(check.summary).toContain('LSN 0/9000000');
    expect(check.summary).toContain('replay ended before 0/9000000');
  });

  it('is true when the target was reached, naming the point and the target', () => {
    const check = recoveryReachedCheck(evidence({ reached: { ...reached, target: { asked: 'LSN 0/4000000', reached: true, detail: 'replay passed 0/4000000' } } }));
    expect(check.valid).toBe(true);
    expect(check.summary).toContain(reached.point);
    expect(check.summary).toContain('LSN 0/4000000');
  });

  it('is true without a target, naming the point and the newest point the backups hold', () => {
    const check = recoveryReachedCheck(evidence({ reached: { ...reached, newest: 'WAL up to segment 000000010000000000000005' } }));
    expect(check.valid).toBe(true);
    expect(check.summary).toContain(reached.point);
    expect(check.summary).toContain('WAL up to segment 000000010000000000000005');
    expect(check.details.lsn).toBe('0/5000060');
  });
});

describe('freshness', () => {
  const at = (ageMs: number) => new Date(now.getTime() - ageMs).toISOString();

  it('is true when the newest restored data is within --max-age', () => {
    const check = freshnessCheck(evidence({ freshness: { at: at(2 * HOUR), by: 'last-commit', detail: '' } }), { now, maxAgeMs: 26 * HOUR });
    expect(check.valid).toBe(true);
    expect(check.details.ageMs).toBe(2 * HOUR);
    expect(check.summary).toContain('the last restored commit');
  });

  it('is false when the newest restored data is older than --max-age', () => {
    const check = freshnessCheck(evidence({ freshness: { at: at(30 * HOUR), by: 'backup-stop', detail: 'backup 20261207-021810F' } }), { now, maxAgeMs: 26 * HOUR });
    expect(check.valid).toBe(false);
    expect(check.summary).toContain('older than --max-age');
    expect(check.summary).toContain('backup 20261207-021810F');
  });

  it('holds exactly at the limit and fails one millisecond past it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 * HOUR }), fc.integer({ min: 0, max: 100 * HOUR }), (age, max) => {
        const check = freshnessCheck(evidence({ freshness: { at: at(age), by: 'newest-segment', detail: '' } }), { now, maxAgeMs: max });
        expect(check.valid).toBe(age <= max);
      }),
    );
  });

  it('is a measure (skipped) when no --max-age was given', () => {
    const check = freshnessCheck(evidence({ freshness: { at: at(HOUR), by: 'dump-time', detail: '' } }), { now });
    expect(check.valid).toBe('skipped');
    expect(check.summary).toContain('no --max-age');
    expect(check.details.ageMs).toBe(HOUR);
  });

  it('is unknown when the restored data could not be dated', () => {
    expect(freshnessCheck(evidence(), { now, maxAgeMs: HOUR }).valid).toBe('unknown');
    expect(freshnessCheck(undefined, { now }).valid).toBe('unknown');
  });
});

describe('integrity', () => {
  const ok = { tool: 'pg_amcheck', verdict: 'ok' as const, detail: 'every table' };
  const damaged = { tool: 'pg_checksums', verdict: 'damaged' as const, detail: 'checksum mismatch in base/5/16384' };
  const unknown = { tool: 'pg_verifybackup', verdict: 'unknown' as const, detail: 'no manifest' };
  const skipped = { tool: 'pgbackrest verify', verdict: 'skipped' as const, detail: 'not a pgBackRest backup' };

  it('is false when any tool found damage, whatever the others said', () => {
    const check = integrityCheck(evidence({ integrity: [ok, unknown, damaged, skipped] }));
    expect(check.valid).toBe(false);
    expect(check.summary).toContain('pg_checksums: checksum mismatch in base/5/16384');
  });

  it('is unknown when a tool could not tell, even if another found no damage', () => {
    const check = integrityCheck(evidence({ integrity: [ok, unknown] }));
    expect(check.valid).toBe('unknown');
    expect(check.summary).toContain('pg_verifybackup: no manifest');
  });

  it('is unknown when every tool was skipped, or none ran', () => {
    expect(integrityCheck(evidence({ integrity: [skipped] })).valid).toBe('unknown');
    expect(integrityCheck(evidence({ integrity: [] })).valid).toBe('unknown');
    expect(integrityCheck(undefined).valid).toBe('unknown');
  });

  it('is true when the tools that ran found no damage, naming what was not run', () => {
    const check = integrityCheck(evidence({ integrity: [ok, skipped] }));
    expect(check.valid).toBe(true);
    expect(check.summary).toContain('pg_amcheck');
    expect(check.summary).toContain('not run: pgbackrest verify (not a pgBackRest backup)');
  });

  it('is false exactly when some reading is damaged', () => {
    const reading = fc.record({ tool: fc.constantFrom('a', 'b', 'c'), verdict: fc.constantFrom('ok' as const, 'damaged' as const, 'unknown' as const, 'skipped' as const), detail: fc.string() });
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 6 }), (readings) => {
        const valid = integrityCheck(evidence({ integrity: readings })).valid;
        expect(valid === false).toBe(readings.some((r) => r.verdict === 'damaged'));
        expect(valid === true).toBe(readings.some((r) => r.verdict === 'ok') && readings.every((r) => r.verdict === 'ok' || r.verdict === 'skipped'));
      }),
    );
  });
});

describe('user-checks', () => {
  const passed = { index: 1, line: 1, where: 'database postgres', text: 'SELECT count(*) > 0 FROM orders', ok: true, why: 'returned true' };
  const failed = { index: 2, line: 4, where: 'database shop', text: 'SELECT max(created_at) > now() - interval \'1 day\' FROM orders', ok: false, why: 'returned false' };

  it('is skipped when no --check file was given', () => {
    expect(userChecksCheck(evidence({ userChecks: [failed] }), false).valid).toBe('skipped');
  });

  it('is unknown when checks were given but none ran', () => {
    expect(userChecksCheck(evidence(), true).valid).toBe('unknown');
    const check = userChecksCheck(evidence({ started: false }), true);
    expect(check.valid).toBe('unknown');
    expect(check.summary).toContain('did not come up');
  });

  it('is false when a check failed, naming its index, line and why', () => {
    const check = userChecksCheck(evidence({ userChecks: [passed, failed] }), true);
    expect(check.valid).toBe(false);
    expect(check.summary).toContain('1 of 2');
    expect(check.summary).toContain('#2');
    expect(check.summary).toContain('line 4');
    expect(check.summary).toContain('returned false');
    expect(check.summary).not.toContain('#1 ');
  });

  it('shortens a long failed query in the summary', () => {
    const long = { ...failed, text: `SELECT ${'x'.repeat(200)}` };
    const check = userChecksCheck(evidence({ userChecks: [long] }), true);
    expect(check.summary).toContain('...');
    expect(check.summary).not.toContain('x'.repeat(100));
  });

  it('is true when every check returned true', () => {
    const check = userChecksCheck(evidence({ userChecks: [passed, { ...passed, index: 2 }] }), true);
    expect(check.valid).toBe(true);
    expect(check.summary).toContain('all 2');
  });
});

describe('rto', () => {
  const phases = { fetch: 10_000, restore: 20_000, replay: 30_000, checks: 500_000 };

  it('sums only fetch, restore and replay as the time to serve', () => {
    const check = rtoCheck(evidence(), phases, { now, rtoBudgetMs: 60_000 });
    expect(check.details.toServeMs).toBe(60_000);
    expect(check.valid).toBe(true);
  });

  it('counts a missing phase as zero', () => {
    expect(rtoCheck(evidence(), { restore: 5000, checks: 1 }, { now }).details.toServeMs).toBe(5000);
  });

  it('is false when the time to serve is over --rto-budget', () => {
    const check = rtoCheck(evidence(), phases, { now, rtoBudgetMs: 59_999 });
    expect(check.valid).toBe(false);
    expect(check.summary).toContain('over --rto-budget');
  });

  it('is a measure (skipped) when no --rto-budget was given', () => {
    const check = rtoCheck(evidence(), phases, { now });
    expect(check.valid).toBe('skipped');
    expect(check.summary).toContain('no --rto-budget');
  });

  it('is unknown when the server never started, whatever the budget', () => {
    expect(rtoCheck(evidence({ started: false }), phases, { now, rtoBudgetMs: 10 * HOUR }).valid).toBe('unknown');
    expect(rtoCheck(undefined, {}, { now, rtoBudgetMs: HOUR }).valid).toBe('unknown');
  });
});

describe('backup-unchanged', () => {
  const path = (changes: number, described = 'unchanged') => ({ source: '/var/lib/pgbackrest', what: 'the pgBackRest repository', files: 12, bytes: 4096, changes, described });

  it('is false when a path changed, naming the path and the change', () => {
    const unchanged: UnchangedEvidence = { paths: [path(0), { ...path(1, '1 file changed: backup/main/backup.info'), source: '/srv/wal', what: 'the WAL archive' }] };
    const check = backupUnchangedCheck(unchanged, []);
    expect(check.valid).toBe(false);
    expect(check.summary).toContain('/srv/wal');
    expect(check.summary).toContain('1 file changed: backup/main/backup.info');
    expect(check.summary).not.toContain('/var/lib/pgbackrest');
  });

  it('is true when nothing changed, with the mounts it was read through', () => {
    const check = backupUnchangedCheck({ paths: [path(0)] }, [{ target: '/var/lib/pgbackrest', flags: 'ro' }]);
    expect(check.valid).toBe(true);
    expect(check.summary).toContain('12 files');
    expect(check.summary).toContain('/var/lib/pgbackrest ro');
  });

  it('is unknown when the listing after could not be taken', () => {
    expect(backupUnchangedCheck(undefined, []).valid).toBe('unknown');
  });
});

describe('proveChecks', () => {
  it('gives every check once, in the order a reader takes them', () => {
    const names = proveChecks(evidence(), {}, { now }, false, { paths: [] }).map((c) => c.name);
    expect(names).toEqual(['restore-completed', 'recovery-reached', 'freshness', 'integrity', 'user-checks', 'rto', 'backup-unchanged']);
  });

  it('passes the evidence, budgets and mounts through to each check', () => {
    const e = evidence({ reached: { point: 'replay ended at 0/5000060 on timeline 1' }, freshness: { at: now.toISOString(), by: 'last-commit', detail: '' }, integrity: [{ tool: 'pg_amcheck', verdict: 'ok', detail: '' }], userChecks: [], mounts: [{ target: '/b', flags: 'ro' }] });
    const checks = proveChecks(e, { fetch: 1, restore: 1, replay: 1 }, { now, maxAgeMs: HOUR, rtoBudgetMs: HOUR }, true, { paths: [] });
    expect(checks.map((c) => c.valid)).toEqual([true, true, true, true, true, true, true]);
    expect(checks[6]!.summary).toContain('/b ro');
  });
});
