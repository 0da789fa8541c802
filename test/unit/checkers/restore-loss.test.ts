// Why a restore lost writes, only from what it recorded: no WAL past the base backup, or lost
// writes acknowledged after the last WAL an asynchronous archive held. A synchronous archive, or
// no restore recorded, explains nothing.
import { describe, expect, it } from 'vitest';
import { defaultExpectations as expectations, lostWritesChecker, type RestoreLoss } from '../../../harness/checkers/index.ts';
import type { HistoryEvent } from '../../../harness/history/events.ts';
import type { FinalState, RestoreEvidence } from '../../../harness/history/final-state.ts';
import { finalOf, historyOf, type SyntheticWrite } from './synthetic.ts';

// Writes 1..10 acknowledged on pg-primary at t = 1, 3, …, 19; the primary is lost; a restore runs
// from t = 30 to 40; writes 11 and 12 are acknowledged on the restored primary afterwards.
const before: SyntheticWrite[] = Array.from({ length: 10 }, (_, i) => ({ key: i + 1, outcome: 'ok', applied: true }));
const history: HistoryEvent[] = [
  ...historyOf(before),
  { type: 'recovery', phase: 'start', name: 'restore', time: 30 },
  { type: 'recovery', phase: 'end', name: 'restore', time: 40, outcome: 'ok', detail: 'restored pg-restored' },
  { type: 'invoke', process: 1, f: 'write', key: 11, value: 'v11', node: 'pg-restored', time: 41 },
  { type: 'ok', process: 1, f: 'write', key: 11, value: 'v11', node: 'pg-restored', time: 42 },
  { type: 'invoke', process: 2, f: 'write', key: 12, value: 'v12', node: 'pg-restored', time: 43 },
  { type: 'ok', process: 2, f: 'write', key: 12, value: 'v12', node: 'pg-restored', time: 44 },
];
const held = (keys: number[]) => Object.fromEntries([...keys, 11, 12].map((k) => [String(k), `v${k}`]));
const restore: RestoreEvidence = {
  node: 'pg-restored',
  by: 'restore',
  backup: '20261206T063114Z',
  walSegments: 3,
  lastSegment: '000000010000000000000005',
  reachedLsn: '0/50001A0',
  archive: 'archive_command',
  how: "the primary's archive_command pushes each WAL segment to the pgBackRest repository on pg-archive only once the segment is complete",
};
const finalWith = (keys: number[], evidence: RestoreEvidence | undefined): FinalState => ({
  ...finalOf([]),
  primary: { node: 'pg-restored', rows: held(keys), tables: { faultline_ledger: 'h' } },
  ...(evidence ? { restores: [evidence] } : {}),
});
const lostWrites = (final: FinalState) => lostWritesChecker({ history, final, expectations });

describe('why a restore lost writes', () => {
  it('says the lost writes came after the last WAL an asynchronous archive held', () => {
    const result = lostWrites(finalWith([1, 2, 3, 4, 5, 6], restore));
    expect(result.summary).toBe(
      '4 of 12 acknowledged writes are missing from the final state; all 4 lost writes were acknowledged after the newest write pg-restored holds from before the restore (acknowledged at 11 ms): ' +
        'they came after the last archived WAL the restore replayed, the newest segment the archive held being 000000010000000000000005; replay ended at 0/50001A0. ' +
        `WAL reaches the archive asynchronously (${restore.how}), so what the primary had not archived yet was not there to restore`,
    );
    expect(result.details.restoreLoss).toMatchObject({ kind: 'after-archive', after: 4, lost: 4, lastRestoredAckMs: 11 });
  });

  it('does not put a hole in the middle down to the archive’s lag', () => {
    const loss = lostWrites(finalWith([1, 2, 4, 5, 6], restore)).details.restoreLoss as RestoreLoss;
    expect(loss).toMatchObject({ after: 4, lost: 5 });
    expect(loss.summary).toMatch(/^4 of the 5 lost writes were acknowledged after .*; the other 1 were not, which the archive does not explain$/);
  });

  it('says the archive held no WAL past the base backup when it held none', () => {
    const none: RestoreEvidence = { ...restore, walSegments: 0, lastSegment: undefined, reachedLsn: '0/3000000', archive: 'none', how: 'pg-archive receives no WAL, only base backups, as behind an archive_command that copies nothing' };
    const loss = lostWrites(finalWith([1, 2], none)).details.restoreLoss as RestoreLoss;
    expect(loss.kind).toBe('no-wal');
    expect(loss.summary).toBe(
      `the archive held no WAL segment after base backup 20261206T063114Z (${none.how}): pg-restored was restored from the backup alone, to the end of the WAL it holds (0/3000000); ` +
        'all 8 lost writes were acknowledged after the newest write pg-restored holds from before the restore (acknowledged at 3 ms)',
    );
  });

  it('explains nothing for a synchronous archive, or without a recorded restore of the final primary', () => {
    expect(lostWrites(finalWith([1, 2, 3, 4, 5, 6], { ...restore, archive: 'synchronous' })).details.restoreLoss).toBeUndefined();
    expect(lostWrites(finalWith([1, 2, 3, 4, 5, 6], undefined)).details.restoreLoss).toBeUndefined();
    expect(lostWrites(finalWith([1, 2, 3, 4, 5, 6], { ...restore, node: 'pg-rehearsal', by: 'rehearsal' })).details.restoreLoss).toBeUndefined();
    expect(lostWrites(finalWith([1, 2, 3, 4, 5, 6], undefined)).summary).toBe('4 of 12 acknowledged writes are missing from the final state');
  });

  it("explains a runbook's restore into the empty node the same way", () => {
    const runbookHistory = history.map((e) => (e.type === 'recovery' ? { ...e, name: 'runbook' } : e));
    const runbook: RestoreEvidence = { node: 'pg-restored', by: 'runbook', archive: 'archive_command', how: restore.how };
    const result = lostWritesChecker({ history: runbookHistory, final: finalWith([1, 2, 3, 4, 5, 6], runbook), expectations });
    expect(result.details.restoreLoss).toMatchObject({ kind: 'after-archive', by: 'runbook', after: 4 });
    expect(result.summary).toContain('they came after the last archived WAL the restore replayed. WAL reaches the archive asynchronously');
  });
});
