// faultline rehearse with the sample runbooks of examples/runbooks, through the CLI: one that
// restores from the pgBackRest repository passes; one that does nothing and exits 0 fails with
// "no primary accepts writes"; one that hangs is stopped at its budget, every process it started
// with it, and nothing is left behind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExperimentResult } from '../../harness/experiment/index.ts';
import { cli, nothingLeft, out, requireCheck, waitForNoLeftovers } from '../helpers.ts';

const RUNBOOKS = join(import.meta.dirname, '../../examples/runbooks');
const topology = join(RUNBOOKS, 'topology-pgbackrest.json');

async function rehearse(runbook: string, extra: string[]) {
  const dir = out('faultline-rehearse-');
  const run = await cli(['rehearse', '--runbook', runbook, '--topology', topology, '--out', dir, '--json', ...extra]);
  expect(run.stderr).not.toMatch(/internal error/);
  const [result] = JSON.parse(run.stdout) as ExperimentResult[];
  expect(await waitForNoLeftovers(result!.runId!)).toEqual(nothingLeft);
  const check = (name: string) => requireCheck(result!, name);
  return { exitCode: run.exitCode, result: result!, check, stderr: run.stderr };
}

describe('faultline rehearse', () => {
  it('passes a runbook that restores the latest pgBackRest backup into the prepared node', async () => {
    const { exitCode, result, check, stderr } = await rehearse(`sh ${join(RUNBOOKS, 'pgbackrest-restore.sh')}`, ['--rto-budget', '90s', '--rpo-budget', '5s', '--seed', '11']);
    expect(check('restore-completed')).toMatchObject({ status: 'pass' });
    expect(check('restore-completed').summary).toContain('pg-restored');
    expect(check('rto').status).toBe('pass');
    expect(check('integrity').status).toBe('pass');
    expect(result.restore.completed).toBe(true);
    expect(result.writes.acknowledged).toBeGreaterThan(100);
    // Its output reached the terminal and the run's files.
    expect(stderr).toContain('runbook| restoring the latest backup');
    expect(readFileSync(join(result.dir, 'runbook', 'runbook.log'), 'utf8')).toContain('pg-restored accepts writes');
    const context = JSON.parse(readFileSync(join(result.dir, 'runbook', 'context.json'), 'utf8'));
    expect(context).toMatchObject({ backupTool: 'pgbackrest', emptyNode: 'pg-restored', repository: { node: 'pg-archive' } });
    expect(context.nodes.find((n: { name: string }) => n.name === 'pg-primary')).toMatchObject({ lost: true });
    expect(exitCode, JSON.stringify(result.checks.filter((c) => c.status === 'fail'))).toBe(0);
  });

  it('fails a runbook that does nothing and exits 0: no primary accepts writes', async () => {
    const { exitCode, check } = await rehearse(`sh ${join(RUNBOOKS, 'do-nothing.sh')}`, ['--seed', '12']);
    expect(exitCode).toBe(1);
    expect(check('restore-completed').status).toBe('fail');
    expect(check('restore-completed').summary).toMatch(/runbook: the runbook exited 0 .*no primary accepts writes/);
  });

  it('stops a runbook that hangs at its budget, with every process it started', async () => {
    const { exitCode, result, check } = await rehearse(`sh ${join(RUNBOOKS, 'hang.sh')}`, ['--rto-budget', '6s', '--seed', '13']);
    expect(exitCode).toBe(1);
    expect(check('restore-completed').summary).toMatch(/did not finish within its budget of 6 s and was stopped \(its whole process group\)/);
    expect(check('rto').status).toBe('fail');
    const pids = readFileSync(join(result.dir, 'runbook', 'work', 'pids'), 'utf8').trim().split(' ').map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(() => process.kill(pid, 0), `process ${pid} outlived the budget`).toThrow();
  });
});
