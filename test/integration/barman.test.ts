// Barman as the backup tool on real containers (PostgreSQL 17, Barman from Debian): a Barman backup
// restored with `barman recover` after the primary's volume is lost, WAL streamed synchronously by
// receive-wal, loses no acknowledged write; Barman's own check is recorded.
import { describe, expect, it } from 'vitest';
import { barmanRestore } from '../../experiments/barman.ts';
import { historyOf, requireCheck, run } from '../helpers.ts';

type Event = { type: string; phase?: string; name?: string; outcome?: string; detail?: string };

describe('Barman (backupTool barman)', () => {
  it('restores the lost primary with barman recover and the WAL Barman streamed synchronously, losing nothing', async () => {
    const result = await run(barmanRestore, 1);
    const events = historyOf<Event>(result);
    const backup = events.find((e) => e.type === 'backup' && e.phase === 'end')!;
    expect(backup.detail).toMatch(/^barman backup main --wait: backup (\d{8}T\d{6}) of pg-primary .*status DONE/);
    const id = /backup (\d{8}T\d{6})/.exec(backup.detail!)![1]!;
    const restore = events.find((e) => e.type === 'recovery' && e.name === 'restore' && e.phase === 'end')!;
    expect(restore.outcome).toBe('ok');
    // The restore is Barman's own, of the backup the run took, with the segment receive-wal was writing.
    expect(restore.detail).toContain(`barman recover --target-tli latest of backup ${id} on pg-archive`);
    expect(restore.detail).toMatch(/barman get-wal --partial` \([0-9A-F]{24}, the \.partial receive-wal was writing\)/);
    expect(restore.detail).toMatch(/replay reached the end of the archive/);
    expect(result.restore.completed).toBe(true);
    expect(requireCheck(result, 'restore-completed').valid).toBe(true);
    // Barman's own opinion, recorded in the result: barman check and verify-backup of the backup the run took.
    const integrity = requireCheck(result, 'integrity');
    expect(integrity.summary).toContain('barman check + barman verify-backup on pg-archive');
    expect(integrity.valid).toBe(true);
    const runs = (integrity.details as { runs: Array<{ tool: string; node: string; output: string }> }).runs;
    const barman = runs.find((r) => r.node === 'pg-archive')!;
    expect(barman.output).toMatch(/^\$ barman check main \(exit 0\)\nServer main:\n/);
    expect(barman.output).toMatch(/receive-wal running: OK/);
    expect(barman.output).toContain(`$ barman verify-backup main ${id} (exit 0)`);
    expect(barman.output).toMatch(/backup successfully verified/);
    expect(result.writes.acknowledged).toBeGreaterThan(500);
    expect(result.writes.lost).toBe(0);
    expect(result.verdict).toBe('pass');
  });
});
