// The power-loss verdicts that a fault layer unlike a disk used to get wrong, on safe setups that
// must pass: the primary's power loss under an asynchronous and a synchronous replica (a standby
// used to stop following, reading back as zeros WAL its primary had flushed, and a quorum then
// acknowledged commits no standby had), and the backup site's power loss just after a fresh base
// backup (the harness's own `sync -f` never reached faultfs, so the backup it took was dropped and
// the restore rehearsal blamed the configuration). Each over several seeds, side by side as
// `faultline run --seeds` runs them. Before the fixes, on this machine, 1 in 5 seeds of the
// synchronous drill and 1 in 5 of the backup-site drill failed (a standby stopped following), and
// with `sync -f` as the backup's durable step, the cut dropped the whole fresh backup (73 MB in 805
// files, seed 1).

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../../harness/campaign/index.ts';
import { readHistory } from '../../harness/history/index.ts';
import type { ExperimentDefinition, ExperimentResult } from '../../harness/experiment/index.ts';
import { powerLossAsyncReplica, powerLossBackupSite, powerLossSyncReplica } from '../../experiments/power-loss.ts';
import { check, nothingLeft, out, waitForNoLeftovers, why } from '../helpers.ts';

async function seeds(definition: ExperimentDefinition, count: number): Promise<ExperimentResult[]> {
  const plan = Array.from({ length: count }, (_, i) => ({ definition, source: definition.name, seed: i + 1 }));
  const outcomes = await runCampaign(plan, { parallel: 2, outDir: out('faultline-power-replicas-'), log: () => {} });
  for (const { result } of outcomes) expect(await waitForNoLeftovers(result.runId!)).toEqual(nothingLeft);
  return outcomes.map((o) => o.result);
}

/** The primary lost power with un-synced data, came back, and its replica follows it with the same rows. */
function expectFollowed(result: ExperimentResult): void {
  expect(result.verdict, why(result)).toBe('pass');
  expect(result.writes.acknowledged, why(result)).toBeGreaterThan(300);
  expect(result.writes.lost, why(result)).toBe(0);
  expect(result.faults[0]?.detail, why(result)).toMatch(/pg-primary: [1-9]\d* un-synced bytes/);
  expect(result.faults[0]?.detail, why(result)).toMatch(/pg-primary restarted \(crash recovery\)/);
  expect(check(result, 'replica-parity')?.valid, why(result)).toBe(true);
  expect(check(result, 'replica-parity')?.summary, why(result)).toMatch(/pg-replica: same rows as the primary/);
  expect(check(result, 'integrity')?.valid, why(result)).toBe(true);
}

describe("the primary's power loss under a replica on another SAN", () => {
  it('asynchronous replica, 10 seeds: the replica follows the restarted primary, same rows, nothing acknowledged lost', async () => {
    for (const result of await seeds(powerLossAsyncReplica, 10)) expectFollowed(result);
  }, 600_000);

  it('synchronous replica, 6 seeds: the replica follows, commits resume, nothing acknowledged lost', async () => {
    for (const result of await seeds(powerLossSyncReplica, 6)) expectFollowed(result);
  }, 600_000);
});

describe("the backup site's power loss after a fresh base backup", () => {
  it('4 seeds: the backup faultline took was made durable: the restore rehearsal restores it with every acknowledged write', async () => {
    for (const result of await seeds(powerLossBackupSite, 4)) {
      expect(result.verdict, why(result)).toBe('pass');
      // The fresh base backup was taken, and before the power went at the backup site.
      const events = readHistory(join(result.dir, 'history.jsonl')).events;
      const backup = events.find((e) => e.type === 'backup' && e.phase === 'end');
      const cutAt = events.find((e) => e.type === 'fault' && e.name === 'power-loss' && e.phase === 'start')?.time;
      expect(backup && 'outcome' in backup ? backup.outcome : undefined, why(result)).toBe('ok');
      expect(backup!.time, why(result)).toBeLessThan(cutAt!);
      const cut = result.faults.find((f) => f.name === 'power-loss');
      expect(cut?.detail, why(result)).toMatch(/power lost: pg-archive: \d+ un-synced bytes/);
      const rehearsal = check(result, 'restore-rehearsal');
      expect(rehearsal?.valid, why(result)).toBe(true);
      expect(rehearsal?.summary, why(result)).toMatch(/from base backup \d{8}T\d{6}Z/);
    }
  }, 600_000);
});
