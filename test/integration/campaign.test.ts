import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { getEngine } from '../../harness/cluster/docker/engine.ts';
import { LABEL_APP, LABEL_RUN } from '../../harness/cluster/docker/labels.ts';
import type { CampaignSummary } from '../../harness/campaign/index.ts';
import type { ExperimentResult } from '../../harness/report/result.ts';
import { cli, historyOf, nothingLeft, out, waitForNoLeftovers } from '../helpers.ts';

const campaignOut = out('faultline-campaign-it-');
afterAll(() => rmSync(campaignOut, { recursive: true, force: true }));

interface Seen {
  runs: Set<string>;
  /** The runs with containers up, at each look. */
  snapshots: Array<Set<string>>;
  /** Container names seen for each run. */
  names: Map<string, Set<string>>;
}

/** Watches Docker while the campaign runs: which runs have containers up at once, and under what names. */
function watchContainers(): { stop: () => Promise<Seen> } {
  const seen: Seen = { runs: new Set(), snapshots: [], names: new Map() };
  let going = true;
  const loop = (async () => {
    const { docker } = await getEngine();
    while (going) {
      const containers = await docker.listContainers({ filters: JSON.stringify({ label: [`${LABEL_APP}=true`] }) });
      const up = new Set<string>();
      for (const c of containers) {
        const run = c.Labels[LABEL_RUN];
        if (!run) continue;
        up.add(run);
        seen.runs.add(run);
        const names = seen.names.get(run) ?? new Set<string>();
        for (const n of c.Names) names.add(n);
        seen.names.set(run, names);
      }
      seen.snapshots.push(up);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  return {
    stop: async () => {
      going = false;
      await loop;
      return seen;
    },
  };
}

describe('a campaign: one experiment over several seeds, two clusters at once', () => {
  it('runs every seed in its own isolated cluster, side by side, keeps each ledger to its own writes, and leaves nothing behind', async () => {
    const watch = watchContainers();
    const result = await cli(['run', 'healthy', '--seeds', '1..3', '--parallel', '2', '--out', campaignOut, '--json']);
    const seen = await watch.stop();
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stderr).toMatch(/3 run\(s\), 2 at a time/);
    expect(result.stderr).toMatch(/campaign: 3\/3 done, 0 running, 0 did not pass/);

    const results = JSON.parse(result.stdout) as ExperimentResult[];
    expect(results.map((r) => r.seed)).toEqual([1, 2, 3]);
    const runIds = results.map((r) => r.runId!);
    expect(new Set(runIds).size).toBe(3);
    // Two clusters were up at the same time, each under names of its own run.
    // (Counting only this campaign's runs: the engine may be shared.)
    expect(Math.max(...seen.snapshots.map((up) => runIds.filter((r) => up.has(r)).length))).toBe(2);
    for (const run of runIds) {
      expect(seen.runs.has(run)).toBe(true);
      for (const name of seen.names.get(run) ?? []) expect(name).toContain(`faultline-${run}-`);
    }
    // No cross-talk: each run's ledger holds exactly its own acknowledged writes (none lost, none
    // unexplained), and the runs are each checked against their own history.
    for (const r of results) {
      expect(r.verdict, JSON.stringify(r.checks.filter((c) => c.valid !== true))).toBe('pass');
      expect(r.writes.acknowledged).toBeGreaterThan(100);
      expect(r.writes.lost).toBe(0);
      expect(r.writes.anomalies).toBe(0);
      const final = JSON.parse(readFileSync(join(r.dir, 'final-state.json'), 'utf8')) as { primary: { rows: Record<string, string> } };
      const history = historyOf<{ type: string; f?: string; key?: number; value?: string }>(r);
      const invoked = new Map(history.filter((e) => e.type === 'invoke' && e.f === 'write').map((e) => [String(e.key), e.value]));
      for (const [key, value] of Object.entries(final.primary.rows)) expect(invoked.get(key), `row ${key} of run ${r.runId}`).toBe(value);
    }
    // The campaign's own summary, and nothing left in Docker or the kernel.
    const summary = JSON.parse(readFileSync(join(campaignOut, 'campaign.json'), 'utf8')) as CampaignSummary;
    expect(summary).toMatchObject({ pairs: 3, passed: 3, failed: 0, experiments: [{ experiment: 'healthy', runs: 3, passed: 3, passRate: 1 }] });
    for (const run of runIds) expect(await waitForNoLeftovers(run)).toEqual(nothingLeft);
  });

  it('on Ctrl-C stops every running cluster, starts no new one, and leaves nothing behind', async () => {
    const child = execa('node', ['harness/cli.ts', 'run', 'healthy', '--seeds', '1..6', '--parallel', '2', '--out', join(campaignOut, 'interrupted')], { reject: false, all: true });
    let output = '';
    const runs = new Set<string>();
    // Interrupt once both clusters have started their containers.
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        for (const m of output.matchAll(/run ([0-9a-f]{8}): starting/g)) runs.add(m[1]!);
        if (runs.size >= 2) resolve();
      });
      void child.then(() => reject(new Error(`the campaign ended before two clusters started:\n${output}`)));
    });
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode, result.all).toBe(130);
    expect(result.stderr).toMatch(/cleaning up 2 run\(s\)/);
    const started = new Set([...result.stderr.matchAll(/run ([0-9a-f]{8}): starting/g)].map((m) => m[1]!));
    expect(started.size).toBe(2); // no third cluster started after the interrupt
    for (const run of started) expect(await waitForNoLeftovers(run)).toEqual(nothingLeft);
  });
});

describe('campaign options on the command line', () => {
  it('--shard runs only its share, and report --merge joins the shards into one summary', async () => {
    const shards = [join(campaignOut, 'shard-1'), join(campaignOut, 'shard-2')];
    // healthy with seeds 4 and 5: shard 1/2 gets seed 4, shard 2/2 seed 5 (canonical order, dealt round-robin).
    for (const [i, dir] of shards.entries()) {
      const shard = await cli(['run', 'healthy', '--seeds', '4,5', '--shard', `${i + 1}/2`, '--out', dir]);
      expect(shard.exitCode, shard.all).toBe(0);
      expect(shard.stdout).toContain('campaign: 1 pair(s), 1 passed');
    }
    const merged = await cli(['report', '--merge', ...shards, '--out', join(campaignOut, 'merged')]);
    expect(merged.exitCode, merged.all).toBe(0);
    expect(merged.stdout).toContain('campaign: 2 pair(s), 2 passed, 0 did not');
    const summary = JSON.parse(readFileSync(join(campaignOut, 'merged', 'campaign.json'), 'utf8')) as CampaignSummary;
    expect(summary.entries.map((e) => e.seed)).toEqual([4, 5]);
    expect(readFileSync(join(campaignOut, 'merged', 'junit.xml'), 'utf8').match(/<testsuite /g)).toHaveLength(2);
  });
});
