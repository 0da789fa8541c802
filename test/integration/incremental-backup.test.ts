// The incremental-backup drills on real containers (PostgreSQL 17, backupTool
// 'pg_basebackup-incremental'): an intact chain restores, a chain with an incremental removed
// fails to restore naming it, and a chain with an incremental taken after a failover is restored
// by the rehearsal, whose outcome is asserted from the run's own evidence.
import { describe, expect, it } from 'vitest';
import { incrementalAcrossFailover, incrementalMissing, incrementalRestore } from '../../experiments/incremental-backup.ts';
import { historyOf, requireCheck, run } from '../helpers.ts';

type Event = { type: string; phase?: string; name?: string; outcome?: string; detail?: string };
const DIR = '/var/lib/faultline/data/base/';
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The backups the fresh backup's chain holds, from its history event: [dir, node it was taken from]. */
function chainTaken(events: Event[]): Array<[string, string]> {
  const detail = events.find((e) => e.type === 'backup' && e.phase === 'end')!.detail!;
  expect(detail).toMatch(/^backup chain in pg-archive: /);
  return [...detail.matchAll(/(?:full|incremental) (\S+) \(of ([a-z-]+)\)/g)].map((m) => [m[1]!, m[2]!]);
}

describe('incremental backups (pg_basebackup --incremental, pg_combinebackup)', () => {
  it('restores the primary from a full + 2 incrementals and the archive, losing nothing', async () => {
    const result = await run(incrementalRestore, 1);
    const chain = chainTaken(historyOf<Event>(result));
    expect(chain.map(([dir]) => dir.slice(DIR.length).replace(/^\d+T\d+Z-/, ''))).toEqual(['full', 'incr', 'incr']);
    expect(result.restore.completed).toBe(true);
    const restore = historyOf<Event>(result).find((e) => e.type === 'recovery' && e.name === 'restore' && e.phase === 'end')!;
    expect(restore.outcome).toBe('ok');
    // The restore combined exactly the chain the backup took, in order.
    expect(restore.detail).toMatch(new RegExp(`from the chain ${chain.map(([dir, from]) => `${escape(dir)} \\(of ${from}\\)`).join(' \\+ ')} combined by pg_combinebackup and the WAL archive of pg-archive; replay reached the end of the archive`));
    expect(requireCheck(result, 'restore-completed').valid).toBe(true);
    expect(result.writes.acknowledged).toBeGreaterThan(500);
    expect(result.writes.lost).toBe(0);
    expect(result.verdict).toBe('pass');
  });

  it('fails the restore when an incremental in the middle of the chain is removed, with pg_combinebackup’s words and the missing one named', async () => {
    const result = await run(incrementalMissing, 2);
    const events = historyOf<Event>(result);
    expect(chainTaken(events)).toHaveLength(4);
    const removal = events.find((e) => e.type === 'fault' && e.name === 'remove-incremental' && e.phase === 'active')!;
    const removed = /removed the second incremental backup (\S+-incr) \(of 3\)/.exec(removal.detail!)![1]!;
    expect(result.restore.completed).toBe(false);
    const completed = requireCheck(result, 'restore-completed');
    expect(completed.valid).toBe(false);
    expect(completed.summary).toMatch(/restore: pg_combinebackup could not combine the backup chain on pg-archive \(.*\): pg_combinebackup: error: /);
    expect(completed.summary).toMatch(new RegExp(`incremental backup ${escape(removed)} \\(taken from pg-primary at [^)]+\\) is no longer in the repository on pg-archive`));
    expect(result.writes.lost).toBeGreaterThan(0);
    expect(result.verdict).toBe('fail');
    expect(result.documented.ok).toBe(true); // it fails as its `shows` says
  });

  it('continues the chain from the promoted replica after a failover, and the rehearsal reports what restoring it gives', async () => {
    const result = await run(incrementalAcrossFailover, 3);
    const events = historyOf<Event>(result);
    const before = chainTaken(events);
    expect(before.map(([, from]) => from)).toEqual(['pg-primary', 'pg-primary']);
    expect(events.find((e) => e.type === 'recovery' && e.name === 'failover' && e.phase === 'end')!.outcome).toBe('ok');
    const follow = events.find((e) => e.type === 'recovery' && e.name === 'archive-follow' && e.phase === 'end')!.detail!;
    const rehearsal = requireCheck(result, 'restore-rehearsal');
    const went = /the backup chain goes on from pg-replica: incremental (\S+) \(of pg-replica\)/.exec(follow);
    if (went) {
      // PostgreSQL took the incremental across the promotion: the rehearsal restored the chain with it.
      expect(rehearsal.summary).toMatch(new RegExp(`${before.map(([dir, from]) => `${escape(dir)} \\(of ${from}\\)`).join(' \\+ ')} \\+ ${escape(went[1]!)} \\(of pg-replica\\) combined by pg_combinebackup`));
    } else {
      // PostgreSQL refused it: the refusal is recorded, in its words, and a new full backup started a new chain.
      expect(follow).toMatch(/an incremental of pg-replica on top of \S+ was refused: pg_basebackup --incremental/);
      expect(follow).toMatch(/a new full backup \S+-full of pg-replica was taken instead|a new full backup of pg-replica failed too/);
    }
    // The rehearsal's verdict is what the restored rows show: every write acknowledged before the
    // last archived switch is there, or it fails (stale or missing rows).
    const rehearsed = result.restore.rehearsal!;
    expect(rehearsal.valid).toBe(rehearsed.completed === true && rehearsed.missing === 0);
    expect(result.writes.lost).toBe(0); // a synchronous replica: the failover itself loses nothing
    expect(result.verdict).toBe(rehearsal.valid === true ? 'pass' : 'fail');
  });
});
