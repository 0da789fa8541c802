// Barman as the backup tool on real containers (PostgreSQL 17, Barman from Debian): a Barman backup
// restored with `barman recover` after the primary's volume is lost, WAL streamed synchronously by
// receive-wal, loses no acknowledged write; Barman's own check is recorded.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { barmanRestore, barmanWalArchiveRestore } from '../../experiments/barman.ts';
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
    expect(integrity.summary).toContain('barman verify-backup (barman check recorded) on pg-archive');
    expect(integrity.valid).toBe(true);
    const runs = (integrity.details as { runs: Array<{ tool: string; node: string; output: string }> }).runs;
    const barman = runs.find((r) => r.node === 'pg-archive')!;
    expect(barman.output).toContain(`$ barman verify-backup main ${id} (exit 0)`);
    expect(barman.output).toMatch(/\$ barman check main \(exit 0: the tool's own opinion, recorded\)\nServer main:\n/);
    expect(barman.output).toMatch(/receive-wal running: OK/);
    expect(barman.output).toMatch(/backup successfully verified/);
    expect(result.writes.acknowledged).toBeGreaterThan(500);
    expect(result.writes.lost).toBe(0);
    expect(result.verdict).toBe('pass');
  });

  it('takes WAL pushed by barman-wal-archive over SSH beside the synchronous stream, and barman recover loses nothing', async () => {
    const result = await run(barmanWalArchiveRestore, 2);
    const events = historyOf<Event>(result);
    // The set-up gave the servers SSH to the Barman host as 'barman', under the name the command uses.
    const setUp = events.find((e) => e.type === 'run' && e.name?.startsWith('barman set up: '))!.name!;
    expect(setUp).toMatch(/as server 'pg'/);
    expect(setUp).toMatch(/SSH on pg-archive .* for barman from pg-primary; their known_hosts list pg-archive's key as pg-archive, backup-host/);
    // Barman's log shows segments the primary pushed with put-wal (barman-wal-archive's remote end).
    const log = readFileSync(join(result.dir, 'logs', 'pg-archive', 'barman.log'), 'utf8');
    expect(log).toMatch(/Received file '[0-9A-F]{24}' with checksum '[0-9a-f]+' by put-wal for server 'pg'/);
    const restore = events.find((e) => e.type === 'recovery' && e.name === 'restore' && e.phase === 'end')!;
    expect(restore.outcome).toBe('ok');
    expect(restore.detail).toMatch(/barman recover --target-tli latest of backup \d{8}T\d{6} on pg-archive/);
    expect(requireCheck(result, 'archive-continuity').valid).toBe(true);
    expect(result.writes.acknowledged).toBeGreaterThan(500);
    expect(result.writes.lost).toBe(0);
    expect(result.verdict).toBe('pass');
  });
});
