// A reason is the real reason, on real containers: `faultline validate` with an archive_command that
// copies nothing restores the base backup alone (faultline's own copy does not trip over an empty
// WAL list), loses only the writes after it, and says it was the missing WAL, counted in the
// archive, not faultline's tar. pg_amcheck's own error (exit 1) is read as "could not tell", and a
// Redis node with no file to check is no integrity pass.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ValidateResult } from '../../harness/validate/index.ts';
import type { ExperimentResult } from '../../harness/experiment/index.ts';
import type { RecoveryEvent } from '../../harness/history/events.ts';
import { readPgAmcheck } from '../../harness/engines/postgres/verification.ts';
import { postgresImage } from '../../harness/engines/postgres/index.ts';
import { GenericContainer } from 'testcontainers';
import { runExperiment, type ExperimentDefinition } from '../../harness/experiment/index.ts';
import { redisCrashRdb, redisEmptyRestart } from '../../experiments/redis.ts';
import { cli, historyOf, nothingLeft, out, waitForNoLeftovers } from '../helpers.ts';

describe("a restore from an archive that never received WAL (archive_command = '/usr/bin/true')", () => {
  it('restores the base backup alone, loses only the writes after it, and names the missing WAL as the reason', async () => {
    const dir = out('faultline-reasons-');
    const conf = join(dir, 'postgresql.conf');
    writeFileSync(conf, "wal_level = replica\narchive_mode = on\narchive_command = '/usr/bin/true'\n");
    const outDir = join(dir, 'out');
    const run = await cli(['validate', '--postgres-conf', conf, '--drill', 'restore', '--seed', '5', '--out', outDir, '--json']);
    expect(run.stderr, run.stderr).not.toMatch(/internal error/);
    const result = JSON.parse(run.stdout) as ValidateResult;
    const [drill] = result.drills;
    expect(drill, JSON.stringify(drill)).toMatchObject({ name: 'restore', status: 'fail', restoreCompleted: true });
    // Writes before the base backup survive; those after it are lost, and only those.
    expect(drill!.writes!.lost).toBeGreaterThan(0);
    expect(drill!.writes!.lost).toBeLessThan(drill!.writes!.acknowledged);
    expect(drill!.why).toContain("the archive held no WAL segment after the base backup: archive_command is '/usr/bin/true'");
    expect(drill!.why).not.toMatch(/tar|lz4|copying from/);

    const runDir = join(outDir, drill!.runDir!);
    const drillResult = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as ExperimentResult;
    const lostWrites = drillResult.checks.find((c) => c.name === 'lost-writes')!;
    expect(lostWrites.details.restoreLoss).toMatchObject({ kind: 'no-wal', walSegments: 0, by: 'restore', archive: 'none' });
    // Every lost write came after the newest one the restored node holds: the backup's end.
    expect((lostWrites.details.restoreLoss as { after: number }).after).toBe(drill!.writes!.lost);
    const history = historyOf(runDir);
    const restore = history.find((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'end' && e.name === 'restore')!;
    expect(restore.outcome).toBe('ok');
    expect(restore.detail).toMatch(/from base backup \S+ alone: the archive on pg-archive held no WAL segment after it/);
    expect(restore.detail).toMatch(/replay ended where the backup ends, at [0-9A-F]+\/[0-9A-F]+/);
    expect(await waitForNoLeftovers(drillResult.runId!)).toEqual(nothingLeft);
  });
});

describe("pg_amcheck's exit codes, on the real tool", () => {
  it('reads exit 1 ("amcheck is not installed") as could-not-tell, never as corruption', async () => {
    const image = await postgresImage();
    // A bare server of the node image, in a database where the amcheck extension was never created.
    await using node = await new GenericContainer(image).withEntrypoint(['sleep', 'infinity']).start();
    const script = 'initdb -D /tmp/pg -A trust >/dev/null && pg_ctl -D /tmp/pg -o "-k /tmp" -l /tmp/pg.log -w start >/dev/null && pg_amcheck -h /tmp --all --heapallindexed; echo "exit=$?"';
    const { output } = await node.exec(['bash', '-c', script], { user: 'postgres' });
    const exit = Number(/exit=(\d+)/.exec(output)?.[1]);
    expect(exit, output).toBe(1);
    expect(output).toMatch(/amcheck is not installed/);
    expect(readPgAmcheck(exit, output.replace(/exit=\d+\s*$/, ''))).toMatchObject({ verdict: 'unknown', why: expect.stringMatching(/amcheck is not installed/) });
  });
});

describe('Redis integrity with nothing on disk to check', () => {
  const integrityOf = async (definition: ExperimentDefinition) => {
    const result = await runExperiment({ ...definition, workload: { ...definition.workload, duration: '4s' } }, { outDir: out('faultline-reasons-redis-'), seed: 1 });
    expect(await waitForNoLeftovers(result.runId!)).toEqual(nothingLeft);
    return result.checks.find((c) => c.name === 'integrity')!;
  };

  it('is skipped, with the reason, where persistence is off on every node, and never passed on nothing', async () => {
    const alone = { ...redisEmptyRestart, name: 'redis-no-persistence', faults: [], shows: undefined, topology: { domains: ['san-a'], redis: { appendonly: false, save: '', nodes: [{ name: 'redis-primary', role: 'primary' as const, domain: 'san-a' }] } } };
    const integrity = await integrityOf(alone);
    expect(integrity.status).toBe('skipped');
    expect(integrity.summary).toBe('nothing to verify: redis-primary (its persistence is off (appendonly no, save ""): no AOF or RDB file is meant to exist)');
  });

  it('names a node with nothing to verify beside one it verified (a replica keeps the RDB of its full sync)', async () => {
    const integrity = await integrityOf(redisEmptyRestart);
    expect(integrity.status).toBe('pass');
    expect(integrity.summary).toMatch(/^redis-check-aof, redis-check-rdb on redis-replica: no corruption found; nothing to verify on redis-primary \(its persistence is off/);
  });

  it('is unknown where the node is configured to persist but holds no file yet (no save point was reached)', async () => {
    const integrity = await integrityOf(redisCrashRdb);
    expect(integrity.status).toBe('unknown');
    expect(integrity.summary).toMatch(/redis-primary could not tell \(exit 0\): it is configured to persist \(save "3600 1 300 100 60 10000"\) but holds no AOF or RDB file to verify/);
  });
});
