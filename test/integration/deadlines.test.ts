// No run without a deadline, and a reason that is the real reason: a primary whose synchronous quorum
// can never be made up stops serving at its first commit, and the run ends within its bound with a
// failed availability check quoting the server's own view; a run where faultline itself fails is
// BROKEN (exit 3), never a failure blamed on the setup. Real containers, the product's own code path.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExperiment, type ExperimentDefinition } from '../../harness/experiment/index.ts';
import type { RunEvent } from '../../harness/history/events.ts';
import { cli, historyOf, nothingLeft, out, waitForNoLeftovers } from '../helpers.ts';

const unreachableQuorum: ExperimentDefinition = {
  name: 'unreachable-quorum',
  description: 'ANY 2 of a replica and a pgBackRest repository, which never streams: every commit waits forever',
  topology: {
    domains: ['san-a', 'san-b', 'backup-site'],
    postgres: {
      backupTool: 'pgbackrest',
      settings: { synchronous_standby_names: 'ANY 2 ("pg-archive", "pg-replica")' },
      nodes: [
        { name: 'pg-primary', role: 'primary', domain: 'san-a' },
        { name: 'pg-replica', role: 'replica', domain: 'san-b' },
        { name: 'pg-archive', role: 'archive', domain: 'backup-site' },
      ],
    },
  },
  workload: { duration: '3s', clients: 2 },
  deadlines: { prepare: '10s' },
};

describe('deadlines and availability', () => {
  it('ends a run whose primary stops serving within its bound, with a failed check naming what it waited for', async () => {
    const started = performance.now();
    const result = await runExperiment(unreachableQuorum, { outDir: out('faultline-deadline-'), seed: 1 });
    const tookMs = performance.now() - started;
    expect(await waitForNoLeftovers(result.runId!)).toEqual(nothingLeft);
    // Cluster start (a few seconds), the 10 s bound, the diagnosis and clean-up: far from a hang.
    expect(tookMs).toBeLessThan(90_000);
    expect(result.verdict).toBe('fail');
    expect(result.error).toBeUndefined();
    expect(result.deadlines).toMatchObject({ prepare: 10_000, clusterStart: 120_000, cleanup: 60_000 });
    const availability = result.checks.find((c) => c.name === 'availability')!;
    expect(availability.status).toBe('fail');
    expect(availability.summary).toMatch(/the ledger's set-up did not end within its bound of 10 s/);
    expect(availability.summary).toMatch(/waited [\d.]+ s on SyncRep \(IPC\) in 'CREATE TABLE/);
    expect(availability.summary).toMatch(/synchronous_standby_names 'ANY 2 \("pg-archive", "pg-replica"\)'; standbys connected: pg-replica \(streaming, quorum\)/);
    // Nothing else passes on nothing: no write was acknowledged, so lost-writes cannot tell.
    expect(result.checks.find((c) => c.name === 'lost-writes')!.status).toBe('unknown');
    const history = historyOf(result);
    const stalled = history.find((e): e is RunEvent => e.type === 'run' && e.phase === 'stalled')!;
    expect(stalled).toMatchObject({ deadline: "the ledger's set-up", boundMs: 10_000, awaited: "the primary to create the workload's ledger (its first commit)" });
    expect(stalled.lastSeen).toMatch(/cluster ready/);
  });

  it('calls a run broken (exit 3) when faultline itself fails, not failed', async () => {
    const dir = out('faultline-broken-');
    const drill = join(dir, 'broken-step.mjs');
    writeFileSync(
      drill,
      `export default {
  name: 'broken-step',
  description: 'a step of the harness that throws, faultline own failure',
  topology: { domains: ['san-a', 'san-b'], postgres: { nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }, { name: 'pg-replica', role: 'replica', domain: 'san-b' }] } },
  workload: { duration: '2s', clients: 2 },
  schedule: [{ at: '1s', name: 'harness step', run: async () => { throw new Error('the harness step fell over'); } }],
};
`,
    );
    const run = await cli(['run', drill, '--out', join(dir, 'out'), '--json', '--seed', '2', '--junit', join(dir, 'junit.xml')]);
    expect(run.exitCode, run.stderr).toBe(3);
    const [result] = JSON.parse(run.stdout) as Array<{ verdict: string; error: string; runId: string; checks: Array<{ name: string; status: string }> }>;
    expect(result!.verdict).toBe('broken');
    expect(result!.error).toMatch(/the harness step fell over/);
    // Its checks held (writes acknowledged, none lost): broken all the same, since the run did not do what it claims.
    expect(result!.checks.find((c) => c.name === 'lost-writes')!.status).toBe('pass');
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toMatch(/<error type="broken" message="faultline itself failed \(verdict broken\): step 'harness step' failed: the harness step fell over"/);
    expect(await waitForNoLeftovers(result!.runId)).toEqual(nothingLeft);
  });
});
