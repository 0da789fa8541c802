import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { asPostgres } from '../../harness/engines/postgres/index.ts';
import { describe, expect, it } from 'vitest';
import { type ExperimentResult, type StepContext } from '../../harness/experiment/index.ts';
import { asyncFailover, syncFailover } from '../../experiments/failover.ts';
import pitrRestore from '../../experiments/pitr-restore.ts';
import pitrRestorePgBackRest from '../../experiments/pitr-restore-pgbackrest.ts';
import archiveGap from '../../experiments/archive-gap.ts';
import sidekickHardened from '../../experiments/sidekick-hardened.ts';
import { historyOf, nothingLeft, out, run, waitForNoLeftovers } from '../helpers.ts';

describe('the Sidekick drill (faultline run sidekick, as the README says)', () => {
  it('reports the naive topology losing acknowledged writes and failing to restore, and the hardened one losing none', async () => {
    const dir = out('faultline-drill-');
    const cli = await execa('node', ['harness/cli.ts', 'run', 'sidekick', '--out', dir, '--seed', '7', '--junit', join(dir, 'ci', 'junit.xml')], { reject: false });
    expect(cli.exitCode, cli.stderr).toBe(1); // one of the two fails: exit 1
    // One JUnit file for the invocation: a suite per experiment, with its seed.
    const junit = readFileSync(join(dir, 'ci', 'junit.xml'), 'utf8');
    expect(junit.match(/<testsuite name="sidekick-(naive|hardened)"/g)).toHaveLength(2);
    expect(junit.match(/<property name="seed" value="7"\/>/g)).toHaveLength(2);
    // The side-by-side table ends the output.
    expect(cli.stdout).toMatch(/\s+sidekick-naive\s+sidekick-hardened\n/);
    expect(cli.stdout).toMatch(/verdict\s+FAIL\s+PASS/);
    expect(cli.stdout).toMatch(/restore completed\s+NO\s+yes/);
    expect(cli.stdout).toMatch(/backup rehearsed\s+—\s+yes/);

    const naive = JSON.parse(readFileSync(join(dir, 'sidekick-naive', 'latest', 'result.json'), 'utf8')) as ExperimentResult;
    expect(naive.verdict).toBe('fail');
    expect(naive.writes.lost).toBeGreaterThan(0);
    expect(naive.writes.lost).toBe(naive.writes.acknowledged); // the whole SAN, backups included
    expect(naive.restore.completed).toBe(false);
    expect(naive.documented.ok).toBe(true); // it fails as its `shows` says, which --as-documented accepts
    const naiveRestore = naive.checks.find((c) => c.name === 'restore-completed')!;
    expect(naiveRestore.summary).toMatch(/failover: no replica survives.*restore: the backup repository on 'pg-archive' was lost/);

    const hardened = JSON.parse(readFileSync(join(dir, 'sidekick-hardened', 'latest', 'result.json'), 'utf8')) as ExperimentResult;
    expect(hardened.verdict).toBe('pass');
    expect(hardened.writes.acknowledged).toBeGreaterThan(1000);
    expect(hardened.writes.lost).toBe(0);
    expect(hardened.restore.completed).toBe(true);
    expect(hardened.rtoMs).not.toBeNull();
    // Recovery was a failover; the rehearsal proves the fresh backup and the archive restore too.
    expect(hardened.restore.rehearsal).toMatchObject({ completed: true, missing: 0 });
    const rehearsalCheck = hardened.checks.find((c) => c.name === 'restore-rehearsal')!;
    expect(rehearsalCheck.valid).toBe(true);
    expect(rehearsalCheck.details.acknowledged).toBe(hardened.writes.acknowledged); // every write, up to the switch before the rehearsal
    // The archive followed the failover onto the new timeline and holds the end of the run.
    const continuity = hardened.checks.find((c) => c.name === 'archive-continuity')!;
    expect(continuity.valid).toBe(true);
    expect(continuity.summary).toMatch(/timeline 2's history/);
    expect(hardened.checks.find((c) => c.name === 'faults-applied')!.valid).toBe(true);
    // A measure without a budget, and no replica left to compare, are not evidence: skipped.
    for (const name of ['rpo', 'rto', 'replica-parity']) expect(hardened.checks.find((c) => c.name === name)!.valid).toBe('skipped');
    for (const result of [naive, hardened]) expect(await waitForNoLeftovers(result.runId!)).toEqual(nothingLeft);
  });
});

describe('failover', () => {
  it.each([1, 2])('of an asynchronous replica that fell behind loses acknowledged writes and says so (seed %i)', async (seed) => {
    const result = await run(asyncFailover, seed);
    expect(result.writes.lost).toBeGreaterThan(0);
    expect(result.checks.find((c) => c.name === 'lost-writes')!.summary).toMatch(/acknowledged writes are missing from the final state/);
    expect(result.restore.completed).toBe(true); // the failover itself worked: it just lost data
    expect(result.verdict).toBe('fail');
    // The old primary was rewound (its diverged writes discarded) and now mirrors the new primary.
    const parity = result.checks.find((c) => c.name === 'replica-parity')!;
    expect(parity.details.compared).toEqual(['pg-primary']);
    expect(parity.valid).toBe(true);
  });

  it('of a synchronous replica loses no acknowledged write', async () => {
    const result = await run(syncFailover, 1);
    expect(result.writes.acknowledged).toBeGreaterThan(1000);
    expect(result.writes.lost).toBe(0);
    expect(result.checks.find((c) => c.name === 'replica-parity')!.details.compared).toEqual(['pg-primary']);
    expect(result.verdict).toBe('pass');
  });
});

describe('point-in-time restore', () => {
  it('restores a lost primary from base backup + WAL archive with nothing acknowledged lost', async () => {
    const result = await run(pitrRestore, 3);
    expect(result.writes.lost).toBe(0);
    expect(result.restore.completed).toBe(true);
    expect(result.checks.find((c) => c.name === 'integrity')!.summary).toMatch(/pg_amcheck on pg-restored/);
    expect(result.verdict).toBe('pass');
  });
});

describe('point-in-time restore with pgBackRest', () => {
  it('restores from the repository over TLS, verifies it, and counts what archive_command had not shipped yet', async () => {
    const result = await run(pitrRestorePgBackRest, 2);
    expect(result.restore.completed).toBe(true);
    const integrity = result.checks.find((c) => c.name === 'integrity')!;
    expect(integrity.valid).toBe(true);
    expect((integrity.details.runs as Array<{ tool: string }>).map((r) => r.tool)).toEqual(['pg_amcheck', 'pgbackrest verify']);
    // Only the tail after the last archived segment can be lost: at most a few seconds of writes.
    expect(result.rpo.writes).not.toBeNull();
    expect(result.rpo.ms ?? 0).toBeLessThan(5000);
    expect(result.writes.lost).toBeLessThan(result.writes.acknowledged / 2);
    expect(result.verdict).toBe(result.writes.lost === 0 ? 'pass' : 'fail');
  });
});

describe('point-in-time restore to a target time', () => {
  it('brings back exactly the writes acknowledged before the target, and none after it', async () => {
    const result = await run({ ...pitrRestore, name: 'pitr-to-target', recovery: { ...pitrRestore.recovery!, restoreTo: '2s' } }, 4);
    expect(result.restore.completed).toBe(true);
    const history = historyOf<Record<string, unknown>>(result);
    const workloadStart = history.find((e) => e.type === 'run' && String(e.name).startsWith('workload'))!.time as number;
    // The target comes after the fresh backup, so it moves with the timetable when the backup overran.
    const shiftMs = (history.find((e) => e.type === 'run' && typeof e.shiftMs === 'number')?.shiftMs as number | undefined) ?? 0;
    const target = workloadStart + 2000 + shiftMs;
    const lostKeys = new Set(result.checks.find((c) => c.name === 'lost-writes')!.details.lostKeys as number[]);
    const acks = history.filter((e) => e.type === 'ok' && e.f === 'write') as Array<{ key: number; time: number }>;
    // Clocks: the history's is taken on the client, the target is compared with commit times on
    // the server; allow 250 ms either side of the target.
    const before = acks.filter((a) => a.time < target - 250);
    const after = acks.filter((a) => a.time > target + 250);
    expect(before.length).toBeGreaterThan(100);
    expect(before.filter((a) => lostKeys.has(a.key))).toEqual([]);
    expect(after.length).toBeGreaterThan(100);
    expect(after.filter((a) => a.time < target + 1000).every((a) => lostKeys.has(a.key))).toBe(true);
  });
});

type Event = { type: string; time: number; phase?: string; name?: string; f?: string; key?: number; detail?: string };

describe('a restore that cannot complete', () => {
  it('fails with its reason when no base backup was ever taken, and the run still checks and reports', async () => {
    const { freshBackupAt: _none, ...definition } = pitrRestore;
    const result = await run({ ...definition, name: 'pitr-without-backup' }, 5);
    expect(result.restore.completed).toBe(false);
    expect(result.checks.find((c) => c.name === 'restore-completed')!.summary).toMatch(/restore: no completed base backup in the repository on 'pg-archive'/);
    expect(result.writes.lost).toBe(result.writes.acknowledged);
    expect(result.verdict).toBe('fail');
  });

  it('fails, naming the missing segment, when the WAL archive has a hole, though PostgreSQL promoted without a word', async () => {
    const result = await run(archiveGap, 1);
    expect(result.restore.completed).toBe(false);
    const restore = result.checks.find((c) => c.name === 'restore-completed')!;
    const history = historyOf<Event>(result);
    const gap = history.find((e) => e.type === 'fault' && e.name === 'archive-gap' && e.phase === 'active')!;
    const segment = /removed WAL segment ([0-9A-F]{24})/.exec(gap.detail!)![1]!;
    expect(restore.summary).toContain(`the WAL chain is broken: segment ${segment} missing from the archive`);
    // What the base backup holds came back; what was acknowledged after the hole did not.
    const lostKeys = new Set(result.checks.find((c) => c.name === 'lost-writes')!.details.lostKeys as number[]);
    const acks = history.filter((e) => e.type === 'ok' && e.f === 'write');
    const backupStart = history.find((e) => e.type === 'backup' && e.phase === 'start')!.time;
    const loss = history.find((e) => e.type === 'fault' && e.name === 'volume-loss' && e.phase === 'start')!.time;
    const beforeBackup = acks.filter((a) => a.time < backupStart);
    const afterHole = acks.filter((a) => a.time > gap.time && a.time < loss);
    expect(beforeBackup.length).toBeGreaterThan(100);
    expect(beforeBackup.filter((a) => lostKeys.has(a.key!))).toEqual([]);
    expect(afterHole.length).toBeGreaterThan(100);
    expect(afterHole.filter((a) => !lostKeys.has(a.key!))).toEqual([]);
    expect(result.verdict).toBe('fail');
  });

  it('with pgBackRest, fails on a damaged archived segment, and pgbackrest verify is not taken at its exit code', async () => {
    const definition = {
      ...pitrRestorePgBackRest,
      name: 'pgbackrest-damaged-wal',
      faults: [{ at: '4s', fault: 'archive-gap', target: 'archive', params: { how: 'damage' } }, ...pitrRestorePgBackRest.faults!],
    };
    const result = await run(definition, 2);
    const damage = historyOf<Event>(result).find((e) => e.type === 'fault' && e.name === 'archive-gap' && e.phase === 'active')!;
    const segment = /of WAL segment ([0-9A-F]{24})/.exec(damage.detail!)![1]!;
    expect(result.restore.completed).toBe(false);
    expect(result.checks.find((c) => c.name === 'restore-completed')!.summary).toMatch(new RegExp(`the WAL chain is broken: replay stopped at \\S+ (inside|at the start of) ${segment}, which the archive holds but which cannot be read`));
    // pgBackRest 2.45 exits 0 here and says "status: error"; faultline reads the status.
    const integrity = result.checks.find((c) => c.name === 'integrity')!;
    expect(integrity.valid).toBe(false);
    expect(integrity.summary).toMatch(new RegExp(`pgbackrest verify on pg-archive \\(exit 1\\): pgbackrest verify found damage in the repository: \\S*${segment}`));
    expect(result.writes.lost).toBeGreaterThan(0);
    expect(result.verdict).toBe('fail');
  });
});

describe('the restore rehearsal', () => {
  it('finds the broken backup that a clean failover hides', async () => {
    // The hardened Sidekick drill, but a WAL segment vanished from the archive before the upgrade.
    // A WAL switch after it puts the hole below the newest archived segment: when the archive is
    // re-pointed at the new primary, pg_receivewal resumes after the newest segment it holds, so a
    // hole at the very top would be streamed again (and really be repaired).
    const definition = {
      ...sidekickHardened,
      name: 'hardened-with-archive-gap',
      faults: [{ at: '1s', fault: 'archive-gap', target: 'archive' }, ...sidekickHardened.faults!],
      schedule: [{ at: '1200ms', name: 'switch WAL', run: async ({ cluster }: StepContext) => void (await asPostgres(cluster).primary().psql("SELECT pg_logical_emit_message(false, 'test', 'x'), pg_switch_wal()")) }],
    };
    const result = await run(definition, 3);
    expect(result.writes.lost).toBe(0); // the failover itself lost nothing
    expect(result.checks.find((c) => c.name === 'restore-completed')!.valid).toBe(true);
    expect(result.restore.rehearsal).toMatchObject({ completed: false, missing: null });
    const rehearsal = result.checks.find((c) => c.name === 'restore-rehearsal')!;
    expect(rehearsal.valid).toBe(false);
    const removed = /removed WAL segment ([0-9A-F]{24})/.exec(historyOf<Event>(result).find((e) => e.type === 'fault' && e.name === 'archive-gap' && e.phase === 'active')!.detail!)![1]!;
    expect(rehearsal.summary).toMatch(new RegExp(`^the backup did not restore: pg-rehearsal was restored from .* but it is incomplete: the WAL chain is broken: segment ${removed} missing`));
    expect(result.verdict).toBe('fail');
  });
});
