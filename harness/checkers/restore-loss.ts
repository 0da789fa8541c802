// Why a restore lost the writes it lost: what the restore recorded (the WAL the archive held past
// the base backup, how WAL reaches the archive, where replay ended), matched with when each lost
// write was acknowledged. Said only where that evidence shows it; otherwise nothing is said.

import type { HistoryEvent, Millis, RecoveryEvent, RehearsalEvent } from '../history/events.ts';
import type { ArchiveMode, FinalState, RestoreEvidence } from '../history/final-state.ts';
import { acknowledged, writeRecords, type WriteRecord } from './writes.ts';

export interface RestoreLoss {
  /**
   * `no-wal`: the archive held no WAL segment past the base backup, so the restore brought back
   * the backup alone. `after-archive`: WAL reaches the archive asynchronously, and lost writes were
   * acknowledged after the last write the restore brought back.
   */
  kind: 'no-wal' | 'after-archive';
  node: string;
  by: RestoreEvidence['by'];
  archive: ArchiveMode;
  backup?: string;
  walSegments?: number;
  lastSegment?: string;
  reachedLsn?: string;
  /** When the newest write the restored node holds, of those acknowledged before the restore began, was acknowledged. */
  lastRestoredAckMs: Millis | null;
  /** Lost writes acknowledged after that (all of them, with no such write). */
  after: number;
  lost: number;
  summary: string;
}

/**
 * Why `lost` (acknowledged writes the restored node lacks, sorted by acknowledgement) were lost by
 * `restore`, whose node holds `rows`, for a restore that began at `began`: undefined where the
 * evidence does not show it (a synchronous archive, no restore recorded, no lost write).
 */
export function restoreLoss(history: readonly HistoryEvent[], restore: RestoreEvidence | undefined, lost: readonly WriteRecord[], rows: Record<string, string>, began: Millis): RestoreLoss | undefined {
  if (!restore || lost.length === 0) return undefined;
  const restored = acknowledged(writeRecords(history)).filter((w) => (w.completeTime ?? Infinity) < began && rows[String(w.key)] === w.value);
  const lastRestoredAckMs = restored.reduce<Millis | null>((latest, w) => (latest === null || w.completeTime! > latest ? w.completeTime! : latest), null);
  const after = lost.filter((w) => w.completeTime !== undefined && w.completeTime < began && (lastRestoredAckMs === null || w.completeTime > lastRestoredAckMs)).length;
  const base = {
    node: restore.node,
    by: restore.by,
    archive: restore.archive,
    ...(restore.backup ? { backup: restore.backup } : {}),
    ...(restore.walSegments !== undefined ? { walSegments: restore.walSegments } : {}),
    ...(restore.lastSegment ? { lastSegment: restore.lastSegment } : {}),
    ...(restore.reachedLsn ? { reachedLsn: restore.reachedLsn } : {}),
    lastRestoredAckMs,
    after,
    lost: lost.length,
  };
  const which = after === lost.length ? `all ${after} lost writes were` : `${after} of the ${lost.length} lost writes were`;
  const past =
    lastRestoredAckMs === null
      ? `${restore.node} holds no write acknowledged before the restore began, and ${which} acknowledged before it`
      : `${which} acknowledged after the newest write ${restore.node} holds from before the restore (acknowledged at ${Math.round(lastRestoredAckMs)} ms)`;
  const others = after < lost.length ? `; the other ${lost.length - after} were not, which the archive does not explain` : '';
  if (restore.walSegments === 0) {
    const reached = restore.reachedLsn ? `, to the end of the WAL it holds (${restore.reachedLsn})` : '';
    return {
      kind: 'no-wal',
      ...base,
      summary: `the archive held no WAL segment after base backup ${restore.backup ?? '(unnamed)'} (${restore.how}): ${restore.node} was restored from the backup alone${reached}; ${past}${others}`,
    };
  }
  if ((restore.archive === 'archive_command' || restore.archive === 'streamed') && after > 0) {
    const newestSegment = restore.lastSegment ? `, the newest segment the archive held being ${restore.lastSegment}` : '';
    const replayed = restore.reachedLsn ? `; replay ended at ${restore.reachedLsn}` : '';
    return {
      kind: 'after-archive',
      ...base,
      summary: `${past}: they came after the last archived WAL the restore replayed${newestSegment}${replayed}. WAL reaches the archive asynchronously (${restore.how}), so what the primary had not archived yet was not there to restore${others}`,
    };
  }
  return undefined;
}

/** The recovery's restore (faultline's or a runbook's) whose node is the final primary, and when that recovery began. */
export function recoveryRestore(history: readonly HistoryEvent[], final: FinalState | null): { restore: RestoreEvidence; began: Millis } | undefined {
  const restore = [...(final?.restores ?? [])].reverse().find((r) => r.by !== 'rehearsal' && r.node === final?.primary?.node);
  if (!restore) return undefined;
  const start = [...history].reverse().find((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'start' && e.name === restore.by);
  return start ? { restore, began: start.time } : undefined;
}

/** The restore rehearsal's restore, and its cut-off (writes acknowledged before it are the ones the backup must hold). */
export function rehearsalRestore(history: readonly HistoryEvent[], final: FinalState | null): { restore: RestoreEvidence; began: Millis } | undefined {
  const restore = [...(final?.restores ?? [])].reverse().find((r) => r.by === 'rehearsal');
  const end = history.find((e): e is RehearsalEvent => e.type === 'rehearsal' && e.phase === 'end');
  return restore && end?.cutoff !== undefined ? { restore, began: end.cutoff } : undefined;
}
