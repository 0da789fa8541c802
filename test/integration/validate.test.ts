// faultline validate on real containers, through the CLI users run: the safe sample configuration
// passes every drill three runs in a row (never cries wolf), and the unsafe ones are caught by the
// drill their expect.json names, with the reason in the sentence; the drills that crash the host
// (power-loss, fsync-error) show what a process crash cannot. Nothing is left behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ValidateResult } from '../../harness/validate/index.ts';
import { cli, nothingLeft, out, waitForNoLeftovers } from '../helpers.ts';

const CONFIGS = join(import.meta.dirname, '../../experiments/configs');

async function validate(args: string[]): Promise<{ exitCode: number | undefined; result: ValidateResult; stderr: string }> {
  const dir = out('faultline-validate-');
  const run = await cli(['validate', ...args, '--out', dir, '--json']);
  expect(run.stderr, run.stderr).not.toMatch(/internal error/);
  const result = JSON.parse(run.stdout) as ValidateResult;
  expect(JSON.parse(readFileSync(join(dir, 'validate.json'), 'utf8'))).toEqual(result);
  for (const drill of result.drills.filter((d) => d.runDir)) {
    const { runId } = JSON.parse(readFileSync(join(dir, drill.runDir!, 'result.json'), 'utf8')) as { runId: string };
    expect(await waitForNoLeftovers(runId)).toEqual(nothingLeft);
  }
  return { exitCode: run.exitCode, result, stderr: run.stderr };
}

/** A sample's files as validate's options, and the further arguments its expect.json gives (files in it relative to the sample). */
function sampleArgs(dir: string): string[] {
  const files = ['postgresql.conf', 'pgbackrest.conf', 'topology.json'].filter((f) => existsSync(join(dir, f)));
  const flags: Record<string, string> = { 'postgresql.conf': '--postgres-conf', 'pgbackrest.conf': '--pgbackrest-conf', 'topology.json': '--topology' };
  const expected = JSON.parse(readFileSync(join(dir, 'expect.json'), 'utf8')) as { args?: string[] };
  const args = (expected.args ?? []).map((arg) => (existsSync(join(dir, arg)) ? join(dir, arg) : arg.replace(/=(\.\/)?([\w.-]+)$/, (whole, _dot, file: string) => (existsSync(join(dir, file)) ? `=${join(dir, file)}` : whole))));
  return [...files.flatMap((f) => [flags[f]!, join(dir, f)]), ...args];
}

describe('faultline validate', () => {
  // Every drill, the host-crash ones (power-loss, torn-write, fsync-error) among them.
  it('passes the safe configuration on every drill, three runs in a row', { timeout: 900_000 }, async () => {
    for (const seed of [1, 2, 3]) {
      const { exitCode, result } = await validate(['--postgres-conf', join(CONFIGS, 'safe/postgresql.conf'), '--seed', String(seed)]);
      // The backup host's power loss is drilled with archive_command and Barman; pg_receivewal's is said unavailable, with why.
      const failed = result.drills.filter((d) => d.status !== 'pass' && !(d.name === 'backup-power-loss' && d.status === 'unavailable')).map((d) => `${d.name}: ${d.status}: ${d.why}`);
      expect(failed, `seed ${seed}`).toEqual([]);
      expect(result.drills.map((d) => d.name)).toEqual(['crash', 'power-loss', 'torn-write', 'fsync-error', 'restore', 'lagging-failover', 'stale-snapshot', 'domain-loss', 'archive-outage', 'backup-power-loss']);
      expect(result.drills.at(-1)!.why).toMatch(/pg_receivewal on the archive node is not started again after a power loss here/);
      for (const drill of result.drills.filter((d) => d.status === 'pass')) {
        expect(drill.writes!.acknowledged, `${drill.name} acknowledged writes`).toBeGreaterThan(100);
        expect(drill.writes!.lost).toBe(0);
      }
      expect(result.drills.find((d) => d.name === 'restore')!.restoreCompleted).toBe(true);
      expect(exitCode, `seed ${seed}`).toBe(0);
    }
  });

  // A safe configuration per backup tool, run as written (pgBackRest's archive-push, Barman's
  // receive-wal and barman-wal-archive, rsync over SSH), on the drills its backup pipeline decides:
  // three runs in a row, never a false alarm. The arguments its expect.json gives (an RPO budget for
  // an archive fed by archive_command, the Barman files) are the user's.
  const safeTools = readdirSync(CONFIGS).filter((name) => {
    const expected = JSON.parse(readFileSync(join(CONFIGS, name, 'expect.json'), 'utf8')) as { danger: string | null };
    return expected.danger === null && name !== 'safe';
  });
  it.each(safeTools)('passes %s, three runs in a row, on the drills of its backup pipeline', { timeout: 900_000 }, async (name) => {
    const dir = join(CONFIGS, name);
    for (const seed of [1, 2, 3]) {
      const { exitCode, result } = await validate([...sampleArgs(dir), '--drill', 'restore', '--drill', 'backup-power-loss', '--seed', String(seed)]);
      // The backup host's power loss is drilled with archive_command; with pgBackRest and Barman the drill says why not.
      const skipped = (d: { name: string; status: string; why?: string }) => d.name === 'backup-power-loss' && d.status === 'unavailable' && /pgBackRest's repository server|Barman \(3\.13\) fsyncs/.test(d.why ?? '');
      const failed = result.drills.filter((d) => d.status !== 'pass' && !skipped(d)).map((d) => `${d.name}: ${d.status}: ${d.why}`);
      expect(failed, `${name} seed ${seed}`).toEqual([]);
      expect(result.drills.filter((d) => d.status === 'pass').map((d) => d.name)).toContain('restore');
      expect(result.drills.find((d) => d.name === 'restore')!.restoreCompleted).toBe(true);
      expect(exitCode, `${name} seed ${seed}`).toBe(0);
    }
  });

  // Unsafe configurations whose expect.json names the drill that exposes them: that drill fails,
  // and its one-sentence reason names the danger.
  const caught = readdirSync(CONFIGS).flatMap((name) => {
    const dir = join(CONFIGS, name);
    const expected = JSON.parse(readFileSync(join(dir, 'expect.json'), 'utf8')) as { drills?: Record<string, string> };
    return Object.entries(expected.drills ?? {}).map(([drill, why]) => ({ name, dir, drill, why }));
  });
  it.each(caught.map((c) => [c.name, c.drill, c] as const))('catches %s in the %s drill, and says why', async (_name, _drill, c) => {
    const { exitCode, result } = await validate([...sampleArgs(c.dir), '--drill', c.drill, '--seed', '4']);
    expect(exitCode).toBe(1);
    const [drill] = result.drills;
    expect(drill).toMatchObject({ name: c.drill, status: 'fail' });
    expect(drill!.why).toContain(c.why);
    // The power cut's evidence is lost writes (fsync = off, synchronous_commit = off), not only a reason.
    if (c.drill === 'power-loss') {
      expect(drill!.writes!.lost, drill!.why).toBeGreaterThan(0);
      expect(drill!.failedChecks).toContain('lost-writes');
    }
  });
});
